"""The ``caucasus-qa`` command line: a thin face over the Python API.

Errors from the package print as one line (``error: …``) with a non-zero exit code; set
``CAUCASUS_QA_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from caucasus_qa import offline

offline.apply()

from caucasus_qa.errors import explain  # noqa: E402
from caucasus_qa.settings import BACKENDS, BUNDLED_MODEL, JUDGES, Settings, load_settings  # noqa: E402


def store_options(func: Callable) -> Callable:
    """Options shared by every command that touches the store."""
    options = [
        click.option(
            "--store",
            type=click.Path(path_type=Path, file_okay=False),
            help=f"Store folder (default: {Settings.store}/).",
        ),
        click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000."),
        click.option("--collection", help=f"Chroma collection name (default: {Settings.collection})."),
        click.option("--embed-model", help=f"Embedding model: a local folder (default: the bundled {BUNDLED_MODEL})."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def answer_options(func: Callable) -> Callable:
    """Options that choose the answer backend (see README: Generative answers)."""
    options = [
        click.option("--llm", type=click.Choice(BACKENDS), help=f"Answer backend (default: {Settings.llm})."),
        click.option("--llm-model", help="GGUF file (llamacpp) or model name (openai)."),
        click.option("--llm-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1."),
        click.option(
            "--llm-fallback",
            type=int,
            flag_value=1,
            default=None,
            help="If the model cannot be reached, answer extractively instead of failing.",
        ),
        click.option(
            "--judge",
            type=click.Choice(JUDGES),
            help=f"Support judge for generated sentences and the eval (default: {Settings.judge}; llm asks the model).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    return load_settings(config=ctx.obj.get("config"), **flags)


def friendly_errors(func: Callable) -> Callable:
    """Turn package errors and Ctrl-C into one line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted: what was stored so far is kept; run the same command again to finish", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:  # every failure is one line; the traceback only on request
            if os.environ.get("CAUCASUS_QA_DEBUG"):
                raise
            known = explain(exc)
            message = str(known) if known else f"unexpected {type(exc).__name__}: {exc} (CAUCASUS_QA_DEBUG=1 shows it)"
            click.echo(f"error: {' '.join(message.split())}", err=True)
            sys.exit(known.exit_code if known else 1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file (default: ./caucasus-qa.toml if present).",
)
@click.version_option(package_name="caucasus-qa")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Answers from news articles, every claim backed by a verified verbatim quote."""
    ctx.ensure_object(dict)["config"] = config


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@store_options
@click.option("--reset", is_flag=True, help="Delete everything in the store first.")
@click.option("--sync", is_flag=True, help="Also delete stored articles whose files are gone.")
@click.option("--chunk-size", type=int, help="Chunk size in tokens (tiktoken cl100k).")
@click.option("--chunk-overlap", type=int, help="Chunk overlap in tokens.")
@click.option("--max-file-mb", type=float, help=f"Skip files larger than this (default {Settings.max_file_mb:g}).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal)."
)
@click.pass_context
@friendly_errors
def ingest(
    ctx: click.Context, paths: tuple[Path, ...], reset: bool, sync: bool, as_json: bool, progress: bool | None,
    **flags: Any,
) -> None:  # fmt: skip
    """Clean, chunk, embed and store articles (.txt .md .html .jsonl files or folders).

    With no PATHS, ingests the configured corpus folder (default: ingest/articles).
    Exit status 1 if any file could not be ingested; the rest are stored anyway.
    """
    from caucasus_qa.store.ingestion import ingest as run_ingest

    settings = settings_from(ctx, **flags)
    show = sys.stderr.isatty() and not as_json if progress is None else progress
    report = run_ingest(settings, list(paths) or None, reset=reset, sync=sync, progress=show)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print_report(report)
    sys.exit(0 if report.ok else 1)


def print_report(report) -> None:
    for skip in report.skipped:
        click.echo(f"{'failed' if skip.failed else 'skipped'}: {skip}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
        f"deleted {len(report.deleted)}, skipped {len(report.skipped)} ({len(report.failed)} failed); "
        f"{report.chunks_embedded} chunks embedded; store: {report.articles_total} articles, "
        f"{report.chunks_total} chunks; {report.seconds:.1f} s"
    )


@main.command()
@store_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article.")
@click.pass_context
@friendly_errors
def articles(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """List the stored articles with their metadata and chunk counts, and how much is unknown."""
    from caucasus_qa.articles.dates import shown
    from caucasus_qa.articles.metadata import coverage, coverage_line, unknown
    from caucasus_qa.store.collections import Store

    store = Store(settings_from(ctx, **flags))
    keys = ("title", "outlet", "published", "author", "url", "date_note", "notes")
    # the catalog holds metadata only: listing never reads the articles' text
    catalog = store.catalog()
    rows = [{"id": r["id"], "chunks": int(r.get("chunks", 0)), **{k: r.get(k) for k in keys}, "unknown": unknown(r)}
            for r in catalog]  # fmt: skip
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        click.echo(json.dumps({"coverage": coverage(catalog)}))  # the last line: what is unknown, in all
        return
    if not rows:
        click.echo("no articles ingested yet: run caucasus-qa ingest")
        return
    for row in rows:
        date = shown(row["published"]) or "date unknown"
        click.echo(
            f"{row['id']}  {row['title'] or '(title unknown)'}\n    {row['outlet'] or 'outlet unknown'}, "
            f"{date}{', by ' + row['author'] if row['author'] else ''}; {row['chunks']} chunks"
            + (f"\n    note: {row['date_note']}" if row["date_note"] else "")
            + "".join(f"\n    note: {n}" for n in (row["notes"] or "").split("; ") if n)
        )
    click.echo(coverage_line(coverage(catalog)))


@main.command()
@store_options
@click.option("--repair", is_flag=True, help="Delete leftovers and embed again what an article lacks.")
@click.option("--quick", is_flag=True, help="Skip re-reading every chunk and sentence at its offsets.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@friendly_errors
def check(ctx: click.Context, repair: bool, quick: bool, as_json: bool, **flags: Any) -> None:
    """Verify the store: every article complete, nothing left over, every offset still true.

    Exit status 1 if something is wrong (after --repair: if something is still wrong).
    """
    from caucasus_qa.articles.metadata import coverage_line
    from caucasus_qa.store import integrity
    from caucasus_qa.store.collections import Store

    store = Store(settings_from(ctx, **flags))
    store.check_schema()
    report = integrity.check(store, offsets=not quick)
    if repair and not report.ok:
        repaired = integrity.repair(store, report).repaired
        report = integrity.check(store, offsets=not quick)
        report.repaired = repaired
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for line in report.repaired:
            click.echo(f"repaired: {line}", err=True)
        for finding in report.findings:
            click.echo(f"problem: {finding}", err=True)
        verdict = "ok" if report.ok else f"{len(report.findings)} problems: run `caucasus-qa check --repair`"
        if report.findings and all(f.kind == "settings" for f in report.findings):
            verdict = "the settings differ from the store's: use the store's settings, or `caucasus-qa ingest --reset`"
        click.echo(f"{report.articles} articles, {report.chunks} chunks, "
                   f"{report.sentence_records} sentence records: {verdict}")  # fmt: skip
        click.echo(coverage_line(report.metadata))
        from caucasus_qa.store.pooling import BUILT

        click.echo(f"sentence vectors: {BUILT.get(report.sentence_vectors, report.sentence_vectors)}")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("question", required=False)
@store_options
@answer_options
@click.option("--top-k", type=int, help="Passages retrieved per question.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (one per line with '-').")
@click.option("--as-of", help="Answer as of this date (YYYY-MM-DD): pages published later are left out.")
@click.pass_context
@friendly_errors
def ask(ctx: click.Context, question: str | None, as_json: bool, as_of: str | None, **flags: Any) -> None:
    """Answer QUESTION from the stored articles, with numbered verbatim quotes.

    QUESTION '-' reads one question per line from stdin (batch): with --json, one JSON object
    per line is written; a bad line gets {"question", "error"} and the exit status becomes 1.
    """
    from caucasus_qa.assistant import Assistant, as_date, clean_question
    from caucasus_qa.errors import QuestionError

    if question is None:
        raise QuestionError('give a question, e.g. caucasus-qa ask "Who mediated the agreement?"')
    if question != "-":
        clean_question(question)  # fail fast on an empty question, before loading anything
    day = as_date(as_of)
    qa = Assistant(settings=settings_from(ctx, **flags))
    if question != "-":
        answer = qa.ask(question, as_of=day) if as_json else stream_to_terminal(qa, question, as_of=day)
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else render_sources(answer))
        return
    failed = False
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = qa.ask(line, as_of=day)
        except QuestionError as exc:
            failed = True
            click.echo(
                json.dumps({"question": line.strip(), "error": str(exc)}, ensure_ascii=False)
                if as_json
                else f"error: {exc}"
            )
            continue
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else render_answer(answer) + "\n")
    sys.exit(1 if failed else 0)


def stream_to_terminal(qa, question: str, history: tuple = (), as_of=None):
    """Print verified sentences as they complete; return the final answer."""
    shown = ""
    answer = None
    for answer in qa.stream(question, history=history, as_of=as_of):
        if answer.abstained:
            continue
        if not answer.text.startswith(shown):  # rewritten (e.g. duplicates merged): show it again, whole
            click.echo("\n" + answer.text, nl=False)
        else:
            click.echo(answer.text[len(shown) :], nl=False)
        shown = answer.text
    if answer is not None and answer.abstained:
        click.echo(("\n" if shown else "") + answer.text, nl=False)
    click.echo()
    return answer


def render_sources(answer) -> str:
    return render_answer(answer, with_text=False)


def render_answer(answer, with_text: bool = True) -> str:
    """The answer, then each numbered quote with its title, outlet, date and author."""
    lines = [answer.text, ""] if with_text else [""]
    cites = answer.related if answer.abstained else answer.citations
    if answer.abstained and cites:
        lines.append("Related passages (not an answer):")
    for c in cites:
        byline = f", by {c.author}" if c.author else ""
        lines.append(f"[{c.n}] \u201c{c.quote}\u201d")
        lines.append(f"    \u2014 {c.title or c.article_id}; {c.source_line}{byline}")
    for note in answer.notes:
        lines.append(f"note: {note}")
    if answer.model:
        lines.append(f"({answer.backend}: {answer.model}; {answer.dropped} unsupported sentence(s) removed)")
    return "\n".join(lines).rstrip()


@main.command()
@store_options
@answer_options
@click.pass_context
@friendly_errors
def chat(ctx: click.Context, **flags: Any) -> None:
    """Chat in the terminal: follow-up questions understand the conversation. Empty line or Ctrl-D ends."""
    from caucasus_qa.answering.conversation import turn
    from caucasus_qa.assistant import Assistant
    from caucasus_qa.errors import QuestionError

    qa = Assistant(settings=settings_from(ctx, **flags))
    history: list[tuple[str, str]] = []  # (question, answer text): the answer tells who "he" is
    click.echo("Ask about the articles (empty line to quit).", err=True)
    while True:
        try:
            question = input("> ")
        except EOFError:
            break
        if not question.strip():
            break
        try:
            answer = stream_to_terminal(qa, question, tuple(history))
        except QuestionError as exc:
            click.echo(f"error: {exc}", err=True)
            continue
        if answer.standalone:
            click.echo(f"(understood as: {answer.standalone})", err=True)
        click.echo(render_sources(answer) + "\n")
        history.append(turn(question, answer))


@main.command()
@store_options
@answer_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes it.")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--share", is_flag=True, help="Also open a public Gradio link (off unless asked).")
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, host: str, port: int, share: bool, **flags: Any) -> None:
    """Start the chat UI (login with CAUCASUS_QA_AUTH=user:password if set)."""
    from caucasus_qa.assistant import Assistant
    from caucasus_qa.faces.chat import launch

    qa = Assistant(settings=settings_from(ctx, **flags))
    qa.warm()
    click.echo(f"caucasus-qa chat on http://{host}:{port} (Ctrl-C to stop)", err=True)
    launch(qa, host=host, port=port, share=share)


@main.command("eval")
@store_options
@answer_options
@click.option(
    "--questions",
    type=click.Path(path_type=Path, dir_okay=False),
    default="eval/questions.jsonl",
    show_default=True,
    help="Eval set (JSONL).",
)
@click.option(
    "--split",
    type=click.Choice(["test", "dev", "tune", "all"]),
    default="test",
    show_default=True,
    help="dev (or tune) is for tuning; test is never tuned on. With --realtimeqa the default is all.",
)
@click.option(
    "--realtimeqa",
    "kit",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Evaluate on a RealTime QA kit folder instead: its pages in one store (ingested if the store is empty).",
)
@click.option(
    "--reading",
    "reading_set",
    is_flag=False,
    flag_value="eval/reading",
    type=click.Path(path_type=Path, file_okay=False),
    help="Evaluate the answer step on the reading-basics set (default eval/reading): dev and test side by side.",
)
@click.option("--fit", is_flag=True, help="With --reading: refit the reader's model on the dev split and save it.")
@click.option("--misses", is_flag=True, help="With --reading: list every question answered wrong.")
@click.option("--undated", is_flag=True, help="With --realtimeqa: ask without the quiz week as the as-of date.")
@click.option(
    "--group",
    type=click.Choice(["gold", "elsewhere", "nowhere"]),
    help="With --realtimeqa: ask only this group's questions (say, gold on a store that holds part of the kit).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Reports folder (default: eval/reports); each run gets a subfolder.",
)
@click.option("--limit", type=int, help="Evaluate an evenly spread subset of N questions (fast check).")
@click.option("--calibrate", is_flag=True, help="Also report the abstention threshold that fits this split best.")
@click.option("--tune", is_flag=True, help="Grid-search the answer-scoring weights on this split and print them.")
@click.option(
    "--weight",
    "weights",
    multiple=True,
    metavar="NAME=VALUE",
    help="Run with one answer-scoring parameter changed (repeatable; names: extractive.Weights and Selection).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Measure chunk size x top-k on temporary stores of the corpus and print "
    "a table (for choosing defaults on the dev split).",
)
@click.option("--min-accuracy", type=float, help="Fail (exit 1) below this answer accuracy.")
@click.option("--min-abstention-recall", type=float, help="Fail below this abstention recall.")
@click.option("--min-abstention-precision", type=float, help="Fail below this abstention precision.")
@click.option("--max-false-abstention", type=float, help="Fail above this share of answerable questions declined.")
@click.option("--min-citation-precision", type=float, help="Fail below this ALCE citation precision.")
@click.option("--min-citation-recall", type=float, help="Fail below this ALCE citation recall.")
@click.option("--min-verbatim", type=float, help="Fail below this share of quotes verbatim at their offsets.")
@click.pass_context
@friendly_errors
def eval_command(
    ctx: click.Context,
    questions: Path,
    split: str,
    report_dir: Path | None,
    limit: int | None,
    calibrate: bool,
    tune: bool,
    sweep: bool,
    kit: Path | None,
    undated: bool,
    group: str | None,
    weights: tuple[str, ...],
    **flags: Any,
) -> None:
    """Run the eval set through the Python API and write report.md, report.json and plots.
    Exits 1 when a --min-*/--max-* threshold is missed, so CI can gate on it."""
    from caucasus_qa.assistant import Assistant
    from caucasus_qa.measuring.evaluate import GATES, load_questions, spread, sweep_report, tune_report

    gates = {name: flags.pop(name) for name in GATES}
    reading_set, fit, misses = (flags.pop(name) for name in ("reading_set", "fit", "misses"))
    settings = settings_from(ctx, **flags)
    split = "dev" if split == "tune" else split
    default = ctx.get_parameter_source("split") == click.core.ParameterSource.DEFAULT
    if reading_set is not None:
        return _reading(settings, reading_set, "all" if default else split, fit, misses, gates, kit)
    if kit is not None:
        chosen = "all" if default else {"dev": "tune"}.get(split, split)
        return _realtimeqa(with_weights(Assistant(settings=settings), weights), kit, chosen, report_dir, limit,
                           not undated, calibrate, group)  # fmt: skip
    if split == "test" and (calibrate or tune or sweep):
        click.echo("warning: tuning on the test split makes its figures optimistic; use --split dev", err=True)
    if sweep:  # temporary stores only: the configured one is never opened
        return click.echo(sweep_report(settings, spread(load_questions(questions, split), limit), [settings.corpus]))
    qa = with_weights(Assistant(settings=settings), weights)
    if tune:
        click.echo(tune_report(qa, load_questions(questions, split), progress=sys.stderr.isatty()))
        return
    _gated_eval(qa, questions, split, report_dir, limit, calibrate, gates)


def _reading(
    settings: Settings, folder: Path, split: str, fit: bool, misses: bool, gates: dict, kit: Path | None = None
) -> None:
    """The reading-basics eval (``basics.py``); ``fit`` refits the reader on the dev splits first
    (with ``kit``, also on the RealTime QA tune weeks over the store ``--store`` names)."""
    from caucasus_qa.answering.reading.scoring import FITTED
    from caucasus_qa.measuring import basics

    if fit:
        model = basics.fit(*basics.tuning_rows(folder, settings, kit, settings.store if kit else None))
        FITTED.write_text(model.to_json(), encoding="utf-8")
        click.echo(f"fitted on {model.counts}; threshold {model.threshold:.3f}; written to {FITTED}")
        from caucasus_qa.answering.reading.scoring import shipped

        shipped.cache_clear()
    summary, outcomes = basics.evaluate(folder, split, settings)
    click.echo(basics.render(summary, outcomes, misses))
    missed = [
        f"{name} {summary[s][key]} < {floor}"
        for name, (key, floor) in _reading_gates(gates).items()
        for s in summary
        if s != "dev" and summary[s][key] is not None and summary[s][key] < floor
    ]
    if missed:
        raise SystemExit(1)


def _reading_gates(gates: dict) -> dict[str, tuple[str, float]]:
    """The --min-* gates that the reading-basics eval checks (on every split but dev)."""
    names = {"min_accuracy": "short answer right", "min_abstention_recall": "unanswerable declined"}
    return {n: (key, gates[n]) for n, key in names.items() if gates.get(n) is not None}


def _gated_eval(
    qa: Any, questions: Path, split: str, report_dir: Path | None, limit: int | None, calibrate: bool, gates: dict
) -> None:
    """The eval set's run and report; exits 1 when a gate is missed."""
    from caucasus_qa.measuring.evaluate import evaluate, missed_gates

    report = evaluate(
        qa, questions, split, report_dir, progress=sys.stderr.isatty(), calibrate_threshold=calibrate, limit=limit
    )
    click.echo(summary_text(report))
    missed = missed_gates(report.summary, gates)
    for line in missed:
        click.echo(f"missed: {line}", err=True)
    sys.exit(1 if missed else 0)


def with_weights(qa: Any, pairs: tuple[str, ...]) -> Any:
    """The assistant with answer-scoring parameters changed ("vote=0.3", "max_sentences=2": a field
    of ``Weights`` or ``Selection``), or itself."""
    from dataclasses import fields, replace

    from caucasus_qa.answering.extractive import Selection, Weights
    from caucasus_qa.errors import ConfigError

    kinds = {f.name: (group, f.type) for group, cls in (("weights", Weights), ("selection", Selection))
             for f in fields(cls)}  # fmt: skip
    changed: dict[str, dict[str, float]] = {"weights": {}, "selection": {}}
    for pair in pairs:
        name, _, value = (part.strip() for part in pair.partition("="))
        try:
            group, kind = kinds[name]
            changed[group][name] = int(value) if kind in (int, "int") else float(value)
        except (KeyError, ValueError):
            raise ConfigError(f"--weight {pair!r}: give NAME=NUMBER, NAME one of {', '.join(sorted(kinds))}") from None
    if not any(changed.values()):
        return qa
    ex = qa.extractive
    return qa.using(
        extractive=replace(ex, weights=replace(ex.weights, **changed["weights"]),
                           selection=replace(ex.selection, **changed["selection"]))
    )  # fmt: skip


def _realtimeqa(
    qa: Any,
    kit: Path,
    split: str,
    report_dir: Path | None,
    limit: int | None,
    dated: bool,
    calibrate: bool,
    group: str | None = None,
) -> None:
    from caucasus_qa.measuring.realtimeqa import evaluate, never_abstaining, text_summary, threshold_table

    settings = qa.settings
    if calibrate and split != "tune":
        click.echo("warning: calibrating on held-back weeks makes their figures optimistic; use --split tune", err=True)
    asked = never_abstaining(qa) if calibrate else qa
    report = evaluate(asked, kit, split, report_dir, limit, progress=sys.stderr.isatty(), dated=dated, group=group)
    click.echo(text_summary(report))
    if calibrate:
        click.echo(f"\nabstention threshold (now {settings.abstain_threshold}), from answers given regardless:")
        click.echo(threshold_table(report.records))


def summary_text(report) -> str:
    s = report.summary
    k = next(key for key in s if key.startswith("hit@"))
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [
        f"eval {report.run}: {s['questions']} questions ({s['skipped']} skipped) in {report.seconds:.0f} s",
        f"  accuracy {fmt(s['accuracy'])}  abstention P/R {fmt(s['abstention_precision'])}/"
        f"{fmt(s['abstention_recall'])}  false abstention {fmt(s['false_abstention'])}",
        f"  {k} {fmt(s[k])}  MRR {fmt(s['mrr'])}  verbatim {fmt(s['verbatim_citations'])}  "
        f"citation P/R {fmt(s['citation_precision'])}/{fmt(s['citation_recall'])}",
        f"  latency p50 {s['latency_p50_ms']:.1f} ms  p95 {s['latency_p95_ms']:.1f} ms  "
        f"(judge: {report.judge.split(' ')[0]})",
    ]
    if s.get("first_token_p50_ms") is not None:
        lines.append(
            f"  first token p50 {s['first_token_p50_ms']:.0f} ms  sentences dropped as unsupported "
            f"{fmt(s['dropped_sentences'])}  answer in the model's sources {fmt(s.get('answer_in_evidence'))}"
        )
    if report.calibrated:
        lines.append(
            f"  calibrated threshold on this split: {report.calibrated[0]:.3f} "
            f"(accuracy {report.calibrated[1]:.3f}; current {report.threshold:.3f})"
        )
    lines += [f"  report: {path}" for path in report.files] + [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


@main.group()
def bench() -> None:
    """Benchmarks that print figures (never pass/fail)."""


@bench.command("ingest")
@click.option("--corpus", type=click.Path(path_type=Path, exists=True), help="Folder to ingest (default: the corpus).")
@click.option("--repeat", type=int, default=3, show_default=True, help="Runs of each measurement.")
@click.pass_context
@friendly_errors
def bench_ingest(ctx: click.Context, corpus: Path | None, repeat: int) -> None:
    """Full ingest vs embedding alone (the floor), and re-ingest of an unchanged corpus."""
    from caucasus_qa.measuring.benchmarks import ingest_benchmark

    settings = load_settings(config=ctx.obj.get("config"))
    click.echo(ingest_benchmark(settings, corpus or settings.corpus, repeat))


@bench.command("answer")
@store_options
@click.option(
    "--questions",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default="eval/questions.jsonl",
    show_default=True,
    help="Eval questions to time.",
)
@click.option("--rounds", type=int, default=3, show_default=True, help="Passes over the questions.")
@click.pass_context
@friendly_errors
def bench_answer(ctx: click.Context, questions: Path, rounds: int, **flags: Any) -> None:
    """Warm answer latency vs plain LlamaIndex dense retrieval; cold start vs bare imports."""
    from caucasus_qa.measuring.benchmarks import answer_benchmark

    click.echo(answer_benchmark(settings_from(ctx, **flags), questions, rounds))


@bench.command("scale")
@click.option("--kit", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True,
              help="The RealTime QA kit folder, e.g. ../shared/benchmarks/realtimeqa.")  # fmt: skip
@click.option("--sizes", help="Comma-separated article counts (default 200: about 15 min on 2 cores).")
@click.option("--full", is_flag=True, help="Sizes 1000, 5000 and 13708 (hours on 2 cores).")
@click.option("--questions", type=int, default=100, show_default=True, help="Kit questions timed per size.")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False),
              help="Keep each size's store and corpus under DIR/<size> (for `eval --store`).")  # fmt: skip
@click.option("--store", "built", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Measure this store, built beforehand, instead of ingesting sizes (needs --corpus).")  # fmt: skip
@click.option("--corpus", type=click.Path(path_type=Path, exists=True),
              help="With --store: what it was ingested from (re-ingested unchanged).")  # fmt: skip
@click.pass_context
@friendly_errors
def bench_scale(
    ctx: click.Context, kit: Path, sizes: str | None, full: bool, questions: int, keep: Path | None,
    built: Path | None, corpus: Path | None,
) -> None:  # fmt: skip
    """Ingest, store size, re-ingest, cold start, warm latency, serve memory and server mode per size."""
    from caucasus_qa.measuring.scale import DEFAULT_SIZES, FULL_SIZES, scale_benchmark

    if (built is None) != (corpus is None):
        raise click.UsageError("--store and --corpus go together: the store, and what it was ingested from")
    chosen = FULL_SIZES if full else tuple(int(x) for x in sizes.split(",")) if sizes else DEFAULT_SIZES
    pair = (built, corpus) if built is not None and corpus is not None else None
    click.echo(scale_benchmark(load_settings(config=ctx.obj.get("config")), kit, chosen, questions, keep, pair))


@bench.command("metadata")
@click.option("--kit", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True,
              help="The RealTime QA kit folder, e.g. ../shared/benchmarks/realtimeqa.")  # fmt: skip
@click.option("--limit", type=int, help="Only the first N kit pages (default: all 5,384, about a minute).")
@friendly_errors
def bench_metadata(kit: Path, limit: int | None) -> None:
    """The kit's pages as a folder of .txt files (headline, blank line, text; no URL), read as
    `ingest` reads them (nothing embedded): titles, dates and outlets their citations show."""
    from caucasus_qa.measuring.kitpages import check_kit, render

    click.echo(render(check_kit(kit, limit)))


@bench.command("load")
@click.option("--kit", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True,
              help="The RealTime QA kit folder, e.g. ../shared/benchmarks/realtimeqa.")  # fmt: skip
@click.option("--articles", type=int, default=500, show_default=True, help="Kit pages ingested during the load.")
@click.option("--clients", type=int, default=50, show_default=True, help="Concurrent chat API clients.")
@click.option("--readers", type=int, default=4, show_default=True, help="Python API reader processes.")
@click.option("--server", is_flag=True, help="Through a private `chroma run` instead of the embedded store.")
@click.pass_context
@friendly_errors
def bench_load(ctx: click.Context, kit: Path, articles: int, clients: int, readers: int, server: bool) -> None:
    """Questions through the chat API and the Python API while an ingest runs: errors, unverified
    quotes, changed answers, latency. Run it alone (it starts serve, an ingest and readers)."""
    from caucasus_qa.measuring.load import load_benchmark

    settings = load_settings(config=ctx.obj.get("config"))
    click.echo(load_benchmark(settings, kit, articles, clients, readers, server))


@bench.command("retrieval")
@click.option(
    "--beir",
    "beir_zip",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="BEIR SciFact CSV export, e.g. ../shared/benchmarks/scifact/scifact.zip.",
)
@click.option(
    "--split",
    type=click.Choice(["test", "train"]),
    default="test",
    show_default=True,
    help="train is for tuning (adds a dense-weight sweep); test is for reporting.",
)
@click.option("--candidates", type=int, default=300, show_default=True, help="Chunks per retriever per query.")
@click.option("--embed-model", help=f"Embedding model (default: the bundled {BUNDLED_MODEL}).")
@click.pass_context
@friendly_errors
def bench_retrieval(ctx: click.Context, beir_zip: Path, split: str, candidates: int, embed_model: str | None) -> None:
    """nDCG@10 and recall@100 of dense, BM25 and the fused retriever on BEIR SciFact.

    The abstracts go through the normal ingestion into a temporary store (deleted afterwards);
    chunking and fusion settings come from the configuration, as for the real store.
    """
    from caucasus_qa.measuring.beir import retrieval_benchmark

    settings = load_settings(config=ctx.obj.get("config"), embed_model=embed_model)
    click.echo(retrieval_benchmark(settings, beir_zip, split, candidates=candidates, progress=sys.stderr.isatty()))


if __name__ == "__main__":
    main()
