"""`caucasus-qa eval --realtimeqa DIR`: real news-quiz questions over one store of scraped pages.

The kit (RealTime QA, Kasai et al., NeurIPS 2023; its README gives the format) holds weekly quiz
questions, their answers and the search-result pages each question came with. All pages go into
ONE store, so the system has to find the right ones among thousands. Each question falls in one
of three groups, judged against what the store actually holds: ``gold`` (one of its own pages
that contain the answer is stored), ``elsewhere`` (no gold page stored, but some stored page
contains the answer string) and ``nowhere`` (no stored page does: the right move is to decline).

Weeks 1-26 are for tuning; weeks 27-52 are never tuned on (``TUNE_WEEKS``).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.errors import ConfigError
from caucasus_qa.measuring.evaluate import run_settings

TUNE_WEEKS = 26  # issue 2.3: weeks 1-26 tune, weeks 27-52 are held back
TOP_PAGES = 5  # "a gold page in the top 5" (issue 2.3)
KIT_PAGES = "articles.jsonl.gz"  # the 2025 pages the questions came with
GROUPS = ("gold", "elsewhere", "nowhere")
COLUMNS = (*GROUPS, "all")
# The kit's matching rule (its README and build_rtqa_kit.py): curly quotes, dashes and the
# ellipsis mapped to ASCII, lower-cased, whitespace collapsed; a quote pair around the whole
# answer removed; then a substring test.
_MAP = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "−": "-"} | {chr(c): "-" for c in range(0x2010, 0x2016)}
)


def norm(text: str | None) -> str:
    return " ".join((text or "").translate(_MAP).lower().split())


def needle(answer: str) -> str:
    n = norm(answer)
    return n[1:-1].strip() if len(n) > 2 and n[0] == '"' and n[-1] == '"' else n


@dataclass(frozen=True)
class KitQuestion:
    id: str
    week: str  # YYYYMMDD of the quiz
    question: str
    answer: str
    gold: tuple[str, ...]
    split: str  # "tune" or "test"


def load_questions(kit: Path) -> list[KitQuestion]:
    path = kit / "questions.jsonl"
    if not path.is_file():
        raise ConfigError(f"{path} not found: --realtimeqa takes the kit folder (questions.jsonl, {KIT_PAGES})")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    weeks = sorted({r["week"] for r in rows})
    tune = set(weeks[:TUNE_WEEKS])
    return [
        KitQuestion(
            r["id"], r["week"], r["q"], r["answer"], tuple(r.get("gold") or ()), "tune" if r["week"] in tune else "test"
        )  # fmt: skip
        for r in rows
    ]


def kit_lines(kit: Path, files: Sequence[str] = (KIT_PAGES,)) -> Iterator[str]:
    """The kit's pages, one JSON line each, from ``files`` in order."""
    for name in files:
        with gzip.open(kit / name, "rt", encoding="utf-8") as lines:
            yield from lines


def write_corpus(kit: Path, out: Path, limit: int | None = None, files: Sequence[str] = (KIT_PAGES,)) -> Path:
    """The kit's pages (the first ``limit``) as one JSONL file for `caucasus-qa ingest`, ids kept
    so that gold pages match."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for n, line in enumerate(kit_lines(kit, files)):
            if limit is not None and n >= limit:
                break
            fh.write(corpus_line(line))
    return out


def corpus_line(kit_line: str) -> str:
    """One kit page as a line for `caucasus-qa ingest`: id, url, title, text (the week left out)."""
    row = json.loads(kit_line)
    return json.dumps({k: row[k] for k in ("id", "url", "title", "text") if row.get(k)}) + "\n"


def group_of(questions: Sequence[KitQuestion], texts: dict[str, str]) -> dict[str, str]:
    """Each question's group against the stored pages (see the module)."""
    joined = "\x00".join(norm(t) for t in texts.values())  # one search per question over every page
    groups = {}
    for q in questions:
        n = needle(q.answer)
        found = any(g in texts for g in q.gold)
        groups[q.id] = "gold" if found else "elsewhere" if n and n in joined else "nowhere"
    return groups


@dataclass
class KitRecord:
    """One question's outcome."""

    id: str
    week: str
    split: str
    group: str
    question: str
    expected: str
    answer: str
    abstained: bool
    strict: bool  # the answer string in the first sentence or its quote
    lenient: bool  # anywhere in the answer or its quotes
    page_rank: int | None  # 1-based rank of the first gold page among the retrieved pages
    cited_gold: bool
    citations: int
    verbatim: int
    latency_ms: float
    evidence: float = 0.0  # the answer's evidence score (what the abstention threshold cuts)
    sources: dict[str, int] = field(default_factory=dict)  # citation metadata counts (source_counts)
    short: str | None = None  # the answer's short answer (Answer.span), if it has one
    short_equal: bool = False  # ... equal to the kit's answer under its matching rule


def _first_claim(answer: Any) -> tuple[str, list[str]]:
    from caucasus_qa.measuring.evaluate import claim_text

    if not answer.claims:
        return claim_text(answer.text), [c.quote for c in answer.citations]
    first = answer.claims[0]
    return claim_text(first.text), [c.quote for c in answer.citations if c.n in first.cites]


def score(q: KitQuestion, answer: Any) -> tuple[bool, bool]:
    """(strict, lenient) under the kit's matching rule; an abstention is never correct, and the
    "According to <title>:" attribution is metadata, not answer text."""
    from caucasus_qa.measuring.evaluate import claim_text

    if answer.abstained:
        return False, False
    n = needle(q.answer)
    first, quotes = _first_claim(answer)
    strict = any(n in norm(t) for t in (first, *quotes))
    claims = [claim_text(c.text) for c in answer.claims] or [claim_text(answer.text)]
    return strict, strict or any(n in norm(t) for t in (*claims, *(c.quote for c in answer.citations)))


def source_counts(citations: Sequence[Any]) -> dict[str, int]:
    """How many citations show a title, an outlet, a date, and how many show something that is not
    a source at all (a dateline, the article's id, site chrome: ``boilerplate.metadata_flaw``)."""
    from caucasus_qa.articles.boilerplate import metadata_flaw

    return {
        "titled": sum(bool(c.title) for c in citations),
        "with_outlet": sum(bool(c.outlet) for c in citations),
        "dated": sum(bool(c.published) for c in citations),
        "flawed": sum(
            any(metadata_flaw(v, c.article_id) for v in (c.title, c.outlet, c.author) if v) for c in citations
        ),
    }


def page_rank(passages: Sequence[Any], gold: Sequence[str]) -> int | None:
    pages = list(dict.fromkeys(p.article_id for p in passages))
    return next((i for i, page in enumerate(pages, start=1) if page in gold), None)


def ask_one(qa: Any, q: KitQuestion, group: str, dated: bool = True) -> KitRecord:
    """Ask as of the quiz's week (``dated``), as its readers did, and score the answer."""
    from caucasus_qa.answering.answer import verify

    as_of = f"{q.week[:4]}-{q.week[4:6]}-{q.week[6:]}" if dated else None
    started = time.perf_counter()
    answer = qa.ask(q.question, as_of=as_of)
    latency = (time.perf_counter() - started) * 1e3
    strict, lenient = score(q, answer)
    rank = page_rank(qa.retrieve(q.question, as_of=as_of), q.gold) if group == "gold" else None
    verbatim = sum(verify(c, qa.article_text(c.article_id)) for c in answer.citations)
    short = answer.span.text if answer.span is not None and not answer.abstained else None
    return KitRecord(
        q.id, q.week, q.split, group, q.question, q.answer, answer.text, answer.abstained, strict, lenient,
        rank, any(c.article_id in q.gold for c in answer.citations), len(answer.citations), verbatim, latency,
        answer.score, source_counts(answer.citations), short, short is not None and norm(short) == needle(q.answer),
    )  # fmt: skip


def _share(num: float, den: int) -> float | None:
    return num / den if den else None


def summarize(records: Sequence[KitRecord]) -> dict[str, Any]:
    """The figures of one split and group."""
    ranks = [r.page_rank for r in records if r.group == "gold"]
    lat = [r.latency_ms for r in records]
    n = len(records)
    return {
        "questions": n,
        "strict_accuracy": _share(sum(r.strict for r in records), n),
        "lenient_accuracy": _share(sum(r.lenient for r in records), n),
        "short_answer_is_the_answer": _share(sum(r.short_equal for r in records), n),
        "abstained": _share(sum(r.abstained for r in records), n),
        f"gold_page_top{TOP_PAGES}": _share(sum(x is not None and x <= TOP_PAGES for x in ranks), len(ranks)),
        "mrr_by_page": _share(sum(1 / x for x in ranks if x), len(ranks)),
        "cited_a_gold_page": _share(sum(r.cited_gold for r in records if r.group == "gold"), len(ranks)),
        "verbatim_quotes": _share(sum(r.verbatim for r in records), sum(r.citations for r in records)),
        **{
            f"citations_{key}": _share(sum(r.sources.get(key, 0) for r in records), sum(r.citations for r in records))
            for key in ("titled", "with_outlet", "dated", "flawed")
        },
        "latency_p50_ms": float(np.percentile(lat, 50)) if lat else None,
        "latency_p95_ms": float(np.percentile(lat, 95)) if lat else None,
    }


def table(records: Sequence[KitRecord]) -> dict[str, dict[str, dict[str, Any]]]:
    """summary[split][group] for every split and group present, plus "all" of each split."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for split in ("tune", "test"):
        rows = [r for r in records if r.split == split]
        if rows:
            out[split] = {g: summarize([r for r in rows if r.group == g]) for g in GROUPS}
            out[split]["all"] = summarize(rows)
    return out


@dataclass
class KitReport:
    run: str
    store: str
    stored_pages: int
    kit_pages: int
    summary: dict[str, dict[str, dict[str, Any]]]
    records: list[KitRecord]
    settings: dict[str, Any]
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    dated: bool = True  # each question asked as of its quiz week
    abstention: str = ""  # how answers declined (abstention_note)
    group: str | None = None  # only this group's questions were asked (None: all)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["records"] = [asdict(r) for r in self.records]
        return data


ROWS = [  # the report's rows: (label, summary key, groups it is shown for)
    ("questions", "questions", ("gold", "elsewhere", "nowhere", "all")),
    ("strict accuracy (first sentence or its quote)", "strict_accuracy", ("gold", "elsewhere")),
    ("lenient accuracy (anywhere in answer and quotes)", "lenient_accuracy", ("gold", "elsewhere")),
    ("short answer = the kit's answer", "short_answer_is_the_answer", ("gold", "elsewhere")),
    ("declined", "abstained", ("gold", "elsewhere", "nowhere", "all")),
    (f"a gold page in the top {TOP_PAGES} retrieved", f"gold_page_top{TOP_PAGES}", ("gold",)),
    ("MRR by page", "mrr_by_page", ("gold",)),
    ("cited a gold page", "cited_a_gold_page", ("gold",)),
    ("quotes verbatim", "verbatim_quotes", ("all",)),
    ("citations with a title", "citations_titled", ("all",)),
    ("citations with an outlet", "citations_with_outlet", ("all",)),
    ("citations with a date", "citations_dated", ("all",)),
    ("citations showing a dateline, id or chrome as a source", "citations_flawed", ("all",)),
    ("latency p50 (ms)", "latency_p50_ms", ("all",)),
    ("latency p95 (ms)", "latency_p95_ms", ("all",)),
]


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def render(report: KitReport) -> str:
    """Tuning weeks and held-back weeks side by side, per group."""
    splits = list(report.summary)
    heads = [f"{s} {g}" for s in splits for g in COLUMNS]
    lines = [
        f"# RealTime QA run {report.run}",
        "",
        f"Store `{report.store}`: {report.stored_pages:,} pages, of the kit's {report.kit_pages:,}. "
        f"Weeks 1-{TUNE_WEEKS} are `tune`, the rest `test` (never tuned on). "
        f"{'Each question asked as of its quiz week' if report.dated else 'Asked without a date'}; "
        f"{report.seconds:.0f} s." + (f" Only the {report.group} questions were asked." if report.group else ""),
        "",
        f"Abstention: {report.abstention}",
        "",
        "| measure | " + " | ".join(heads) + " |",
        "| --- |" + " --- |" * len(heads),
    ]
    for label, key, groups in ROWS:
        cells = [_fmt(report.summary[s][g][key]) if g in groups else "" for s in splits for g in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(report: KitReport, folder: Path) -> KitReport:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    (folder / "report.md").write_text(render(report), encoding="utf-8")
    report.files = [str(folder / "report.md"), str(folder / "report.json")]
    try:
        report.files.append(plot(report, folder))
    except ImportError:
        pass  # the plot extra is optional; the tables say it all
    return report


def plot(report: KitReport, folder: Path) -> str:
    """Strict accuracy and declines per group, tuning and held-back weeks side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, key, title in ((axes[0], "strict_accuracy", "strict accuracy"), (axes[1], "abstained", "declined")):
        for offset, split in enumerate(report.summary):
            values = [report.summary[split][g][key] or 0 for g in GROUPS]
            ax.bar(np.arange(len(GROUPS)) + 0.38 * offset, values, width=0.36, label=split)
        ax.set_xticks(np.arange(len(GROUPS)) + 0.19, GROUPS)
        ax.set_ylim(0, 1)
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    path = folder / "realtimeqa.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def spread(questions: Sequence[KitQuestion], limit: int | None) -> list[KitQuestion]:
    """Every question, or ``limit`` of them spread evenly over the weeks."""
    if not limit or limit >= len(questions):
        return list(questions)
    return [questions[int(i * len(questions) / limit)] for i in range(limit)]


def prepare(qa: Any, kit: Path, progress: bool) -> None:
    """An empty store gets every kit page (one ingest, with a progress bar); a store that holds
    articles is used as it is (say, a slice kept by `bench scale --keep`)."""
    from caucasus_qa.store.ingestion import ingest

    if len(qa.store):
        return
    corpus = write_corpus(kit, qa.settings.store / "realtimeqa-kit" / "pages.jsonl")
    report = ingest(qa.settings, [corpus], progress=progress, store=qa.store)
    if not report.articles_total:
        raise ConfigError(f"no kit page could be ingested from {corpus}; see `caucasus-qa ingest {corpus}`")


def evaluate(
    qa: Any,
    kit: Path,
    split: str,
    report_dir: Path | None,
    limit: int | None = None,
    progress: bool = True,
    dated: bool = True,
    group: str | None = None,
) -> KitReport:
    """Ingest the kit if the store is empty, ask every question of the split (of one ``group``
    only, if given: on a store of part of the kit most questions have no gold page), write the
    report."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    questions = [q for q in load_questions(kit) if split in ("all", q.split)]
    prepare(qa, kit, progress)
    texts = {i: qa.article_text(i) or "" for i in qa.store.article_ids()}
    groups = group_of(questions, texts)
    asked = spread([q for q in questions if group in (None, groups[q.id])], limit)
    qa.ask("warm-up")
    bar = tqdm(asked, desc="Asking", unit="question", disable=not progress)
    records = [ask_one(qa, q, groups[q.id], dated) for q in bar]
    run = datetime.now().strftime("%Y%m%d-%H%M%S") + f"-realtimeqa-{split}"
    report = KitReport(
        run, str(qa.settings.chroma_url or qa.settings.store), len(texts), sum(1 for _ in kit_lines(kit)),
        table(records), records, run_settings(qa), time.perf_counter() - started,
        dated=dated, abstention=abstention_note(qa), group=group,
    )  # fmt: skip
    return write(report, (report_dir or Path("eval/reports")) / run)


# Of the tuning weeks' questions that no stored page answers ("nowhere"), how many join the
# reader's fit as unanswerable ones (spread over the weeks): about as many as the gold ones, so
# that declining does not swamp answering.
NOWHERE_FIT = 40


def labelled(qa: Any, kit: Path) -> tuple[list[Any], str]:
    """The tuning weeks' questions over ``qa``'s store of kit pages, for fitting the reader
    (``basics.fit``): every gold question, each candidate labelled 1 where it holds the kit's
    answer (its matching rule) within ``labels.SPAN_SLACK`` words, and ``NOWHERE_FIT`` questions
    no stored page answers, as unanswerable. Each is read as of its quiz week."""
    from caucasus_qa.measuring.labels import SPAN_SLACK, Labelled, readings

    questions = [q for q in load_questions(kit) if q.split == "tune"]
    texts = {i: qa.article_text(i) or "" for i in qa.store.article_ids()}
    groups = group_of(questions, texts)
    gold = [q for q in questions if groups[q.id] == "gold"]
    nowhere = spread([q for q in questions if groups[q.id] == "nowhere"], NOWHERE_FIT)
    asked = gold + nowhere
    days = [date(int(q.week[:4]), int(q.week[4:6]), int(q.week[6:])) for q in asked]
    out = []
    for q, r in zip(asked, readings(qa, [q.question for q in asked], days)):
        cands = r.candidates if r is not None else []
        n = needle(q.answer)
        answerable = groups[q.id] == "gold"
        short = [c.label == "SENTENCE" or len(c.text.split()) <= len(n.split()) + SPAN_SLACK for c in cands]
        labels = [int(answerable and n in norm(c.text) and ok) for c, ok in zip(cands, short)]
        out.append(Labelled(q.question, answerable, cands, labels, "realtimeqa"))
    return out, f"RealTime QA tune weeks over {len(texts):,} stored pages ({len(gold)} gold, {len(nowhere)} nowhere)"


def abstention_note(qa: Any) -> str:
    """What declined in this run: the threshold, and the risk model where it applied (with a
    warning when it was fitted under other answer-scoring weights than these)."""
    from caucasus_qa.answering.abstention import fingerprint

    extractive = qa.extractive
    model = extractive.risk_model
    reader = extractive.reader
    note = (
        f"the reader: no tied candidate, or its decline model below {reader.model.threshold:.3f}"
        if reader is not None
        else f"evidence score below {extractive.threshold:g}"
    )
    if model is None or not model.applies(qa.corpus_stats().n):
        return note + " (no risk model on this store)"
    note += f", or risk model (`abstain_model` {qa.settings.abstain_model}) at or above {model.cut:.3f}"
    if model.dated is not None:
        note += f" ({model.dated.cut:.3f} for a question asked as of a date, with the evidence's age)"
    if model.calibrated_for != fingerprint(extractive.weights, extractive.selection):
        note += "; warning: the model was fitted under other answer-scoring parameters: refit it"
    return note


def never_abstaining(qa: Any) -> Any:
    """The assistant with no abstention threshold: every question's answer and evidence score."""
    return qa.using(extractive=qa.extractive.never_declining())


def threshold_table(records: Sequence[KitRecord], cuts: Sequence[float] = ()) -> str:
    """From a never-abstaining run: what each abstention threshold would give, per group. For
    choosing the threshold on the tuning weeks (issue 2.3's goals: nowhere declined >= 0.80 with
    gold declined <= 0.10)."""
    scores = sorted(r.evidence for r in records)
    cuts = cuts or sorted({round(float(np.percentile(scores, q)), 3) for q in range(0, 100, 10)})
    by = {g: [r for r in records if r.group == g] for g in GROUPS}
    lines = ["| threshold | gold strict | gold declined | elsewhere strict | nowhere declined |", "| --- " * 5 + "|"]
    for t in cuts:
        answered_right = {g: _fmt(_share(sum(r.strict and r.evidence >= t for r in by[g]), len(by[g]))) for g in GROUPS}
        declined = {g: _fmt(_share(sum(r.evidence < t for r in by[g]), len(by[g]))) for g in GROUPS}
        lines.append(
            f"| {t:.3f} | {answered_right['gold']} | {declined['gold']} | {answered_right['elsewhere']} | "
            f"{declined['nowhere']} |"
        )
    return "\n".join(lines)


def text_summary(report: KitReport) -> str:
    """A few lines for the terminal: per split, the headline figures of each group."""
    lines = [f"realtimeqa {report.run}: {report.stored_pages:,} stored pages, {len(report.records)} questions"]
    for split, groups in report.summary.items():
        g, e, n, a = (groups[x] for x in (*GROUPS, "all"))
        lines.append(
            f"  {split}: gold strict {_fmt(g['strict_accuracy'])} (lenient {_fmt(g['lenient_accuracy'])}, "
            f"n={g['questions']}), top{TOP_PAGES} {_fmt(g[f'gold_page_top{TOP_PAGES}'])}, "
            f"declined {_fmt(g['abstained'])} | elsewhere strict {_fmt(e['strict_accuracy'])} (n={e['questions']}) "
            f"| nowhere declined {_fmt(n['abstained'])} (n={n['questions']}) | p95 {_fmt(a['latency_p95_ms'])} ms"
        )
    return "\n".join(lines + [f"  abstention: {report.abstention}"] + [f"  report: {f}" for f in report.files])
