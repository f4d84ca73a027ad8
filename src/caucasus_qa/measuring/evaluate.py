"""The eval: are answers right, grounded and correctly abstaining? One command, a report people read.

Every question goes through the public ``Assistant`` API, the path users take. Gold evidence
is stored as verbatim quotes with article ids, located in the stored article text at run
time, so it survives any change of chunking.

Citation quality follows ALCE (Gao et al., 2023): a claim is *supported* when its cited
quotes entail it; a citation is *precise* unless removing it keeps support while it alone
does not support. No NLI model can be installed offline, so the default judge is a
documented alignment (:class:`AlignmentJudge`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.answering.answer import CONFLICT_TEXT, Answer
from caucasus_qa.answering.support import AlignmentJudge
from caucasus_qa.errors import ConfigError

DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
_ATTRIBUTION = re.compile(rf"^({re.escape(CONFLICT_TEXT)} )?According to [^:]{{1,200}}: ")


@dataclass(frozen=True)
class Question:
    id: str
    split: str
    category: str
    question: str
    answerable: bool
    accepted: tuple[str, ...] = ()
    gold: tuple[tuple[str, str], ...] = ()
    history: tuple[str, ...] = ()
    standalone: str | None = None

    @property
    def is_followup(self) -> bool:
        return bool(self.history)


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """Read the JSONL eval set (lines with ``_comment`` are documentation)."""
    if not path.is_file():
        raise ConfigError(f"no eval questions at {path}: pass --questions FILE")
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if "_comment" in row:
            continue
        out.append(
            Question(
                id=row["id"],
                split=row.get("split", "test"),
                category=row.get("category", "fact"),
                question=row["question"],
                answerable=bool(row.get("answerable", True)),
                accepted=tuple(row.get("accepted", ())),
                gold=tuple((g["article_id"], g["quote"]) for g in row.get("gold", ())),
                history=tuple(row.get("history", ())),
                standalone=row.get("standalone"),
            )
        )
    return [q for q in out if split in (None, "all") or q.split == split]


def claim_text(text: str) -> str:
    """A claim without the "According to X (date): " attribution, which is metadata."""
    return _ATTRIBUTION.sub("", text)


def citation_quality(
    answer: Answer, judge: AlignmentJudge, text_of: Callable[[str], str | None] | None = None
) -> tuple[int, int, int, int]:
    """(supported claims, claims, precise citations, citations) for one answer, ALCE-style.
    ``text_of``: article text by id, for the text around the quotes (as the verifier saw it)."""
    from caucasus_qa.answering.support import surroundings

    quotes = {c.n: c.quote for c in answer.citations}
    question = answer.standalone or answer.question  # what the claims answer (as the verifier saw it)
    supported = precise = total_cites = 0
    for claim in answer.claims:
        text = claim_text(claim.text)
        cited = [quotes[n] for n in claim.cites if n in quotes]
        around = surroundings([c for c in answer.citations if c.n in claim.cites], text_of) if text_of else ""
        ok = judge.supported(text, cited, question, around)
        supported += ok
        for n in claim.cites:
            total_cites += 1
            others = [quotes[m] for m in claim.cites if m != n and m in quotes]
            redundant = (
                ok
                and judge.supported(text, others, question, around)
                and not judge.supported(text, [quotes.get(n, "")], question, around)
            )
            precise += not redundant
    return supported, len(answer.claims), precise, total_cites


# -- running -------------------------------------------------------------------------------
@dataclass
class Record:
    """One question's outcome."""

    id: str
    split: str
    category: str
    question: str
    answerable: bool
    abstained: bool
    correct: bool
    score: float
    answer: str
    accepted: list[str]
    rank: int | None  # 1-based rank of the first retrieved passage overlapping a gold quote
    citations: int
    verbatim: int
    claims: int
    supported: int
    precise: int
    latency_ms: float
    skipped: str | None = None
    dropped: int = 0
    first_token_ms: float | None = None
    backend: str = "extractive"
    cites: int | None = None  # citation markers over all claims (a quote cited by two claims counts twice)
    in_evidence: bool | None = None  # generative: an accepted answer stood in the sources the model read


def gold_spans(qa: Any, question: Question) -> list[tuple[str, int, int]]:
    spans = []
    for article_id, quote in question.gold:
        text = qa.article_text(article_id) or ""
        start = text.find(quote)
        if start >= 0:
            spans.append((article_id, start, start + len(quote)))
    return spans


def first_hit(passages: Sequence[Any], spans: list[tuple[str, int, int]]) -> int | None:
    for rank, p in enumerate(passages, start=1):
        s, e = p.node.start_char_idx or 0, p.node.end_char_idx or 0
        if any(p.article_id == a and s < ge and gs < e for a, gs, ge in spans):
            return rank
    return None


def is_correct(question: Question, answer: Answer) -> bool:
    if not question.answerable:
        return answer.abstained
    text = answer.text.lower()
    return not answer.abstained and any(a.lower() in text for a in question.accepted)


def conversation(qa: Any, questions: Sequence[str]) -> list[tuple[str, str]]:
    """A follow-up's earlier turns as the chat would hold them: each question asked in order
    (with the turns before it) and paired with its answer, so "he" can be resolved."""
    from caucasus_qa.answering.conversation import turn

    turns: list[tuple[str, str]] = []
    for q in questions:
        turns.append(turn(q, qa.ask(q, history=turns)))
    return turns


def in_evidence(question: Question, answer: Answer) -> bool | None:
    """For a generative answer to an answerable question: whether an accepted answer stood in
    the sources the model read (None otherwise). Its share over a split is what a perfect model
    could score on this evidence; a question abstained before the model ran counts as outside."""
    if answer.backend == "extractive" or not question.answerable:
        return None
    quotes = " ".join(c.quote for c in answer.evidence).lower()
    return any(a.lower() in quotes for a in question.accepted)


def evaluate_one(qa: Any, question: Question, judge: AlignmentJudge) -> Record:
    from caucasus_qa.answering.answer import verify

    history = conversation(qa, question.history)
    started = time.perf_counter()
    answer = qa.ask(question.question, history=history)
    latency = (time.perf_counter() - started) * 1e3
    passages = qa.retrieve(answer.standalone or question.question)
    verbatim = sum(verify(c, qa.article_text(c.article_id)) for c in answer.citations)
    supported, claims, precise, cites = citation_quality(answer, judge, qa.article_text)
    return Record(
        question.id,
        question.split,
        question.category,
        question.question,
        question.answerable,
        answer.abstained,
        is_correct(question, answer),
        answer.score,
        answer.text,
        list(question.accepted),
        first_hit(passages, gold_spans(qa, question)),
        len(answer.citations),
        verbatim,
        claims,
        supported,
        precise,
        latency,
        dropped=answer.dropped,
        first_token_ms=answer.timings_ms.get("first_token"),
        backend=answer.backend,
        cites=cites,
        in_evidence=in_evidence(question, answer),
    )


def run(qa: Any, questions: Sequence[Question], progress: bool = True) -> list[Record]:
    from tqdm.auto import tqdm

    judge = qa.judge
    qa.ask("warm-up: which articles are stored?")  # load the model and caches outside the timings
    qa.sentences.warm(qa.store.article_ids())
    return [
        evaluate_one(qa, q, judge) for q in tqdm(questions, desc="Evaluating", unit="question", disable=not progress)
    ]


# -- metrics -------------------------------------------------------------------------------
def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def metrics(records: Iterable[Record], k: int) -> dict[str, Any]:
    rows = [r for r in records if not r.skipped]
    ans = [r for r in rows if r.answerable]
    un = [r for r in rows if not r.answerable]
    abstained = [r for r in rows if r.abstained]
    ranks = [r.rank for r in ans]
    lat = sorted(r.latency_ms for r in rows)
    return {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(un),
        "accuracy": _ratio(sum(r.correct for r in ans), len(ans)),
        "overall_accuracy": _ratio(sum(r.correct for r in rows), len(rows)),
        "abstention_precision": _ratio(sum(not r.answerable for r in abstained), len(abstained)),
        "abstention_recall": _ratio(sum(r.abstained for r in un), len(un)),
        "false_abstention": _ratio(sum(r.abstained for r in ans), len(ans)),
        f"hit@{k}": _ratio(sum(x is not None for x in ranks), len(ranks)),
        "mrr": _ratio(sum(1 / x for x in ranks if x), len(ranks)),
        "verbatim_citations": _ratio(sum(r.verbatim for r in rows), sum(r.citations for r in rows)),
        "citation_recall": _ratio(sum(r.supported for r in rows), sum(r.claims for r in rows)),
        "citation_precision": _ratio(
            sum(r.precise for r in rows), sum(r.citations if r.cites is None else r.cites for r in rows)
        ),
        "dropped_sentences": _ratio(sum(r.dropped for r in rows), sum(r.dropped + r.claims for r in rows)),
        "first_token_p50_ms": _median([r.first_token_ms for r in rows if r.first_token_ms is not None]),
        "answer_in_evidence": _ratio(
            sum(bool(r.in_evidence) for r in ans if r.in_evidence is not None),
            sum(r.in_evidence is not None for r in ans),
        ),
        "latency_p50_ms": float(np.percentile(lat, 50)) if lat else None,
        "latency_p95_ms": float(np.percentile(lat, 95)) if lat else None,
        "skipped": sum(1 for r in records if r.skipped),
    }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def per_category(records: Iterable[Record]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.skipped:
            continue
        row = out.setdefault(r.category, {"n": 0, "correct": 0})
        row["n"] += 1
        row["correct"] += r.correct
    for row in out.values():
        row["accuracy"] = row["correct"] / row["n"]
    return dict(sorted(out.items()))


def _scores_without_abstaining(qa: Any, questions: Sequence[Question]) -> list[tuple[Question, float, bool]]:
    """Each question's evidence score and whether its answer would be right if given."""
    never_abstains = qa.using(extractive=qa.extractive.never_declining())
    out = []
    for q in questions:
        answer = never_abstains.ask(q.question, history=conversation(never_abstains, q.history))
        text = answer.text.lower()
        out.append((q, answer.score, any(a.lower() in text for a in q.accepted)))
    return out


def best_threshold(scored: Sequence[tuple[Question, float, bool]]) -> tuple[float, float]:
    """The threshold with the best accuracy over all questions (answerable answered right,
    unanswerable declined), placed mid-way in the widest gap between scores among equally good ones.

    Overall rather than balanced accuracy: on a small dev split, balancing the classes lets a
    handful of unanswerable questions push the threshold up and cost many right answers."""
    ans = [(s, ok) for q, s, ok in scored if q.answerable]
    un = [s for q, s, _ in scored if not q.answerable]
    if not ans or not un:
        raise ConfigError("calibration needs answerable and unanswerable questions in the split")
    values = sorted({s for _, s, _ in scored})
    cuts = [(a + b) / 2 for a, b in zip(values, values[1:])] or values
    gaps = [b - a for a, b in zip(values, values[1:])] or [0.0]
    best = (-1.0, -1.0, 0.0)
    for t, gap in zip(cuts, gaps):
        balanced = (sum(ok and s >= t for s, ok in ans) + sum(s < t for s in un)) / (len(ans) + len(un))
        if (round(balanced, 9), gap) > (round(best[0], 9), best[1]):
            best = (balanced, gap, t)
    return round(best[2], 4), best[0]


def calibrate(qa: Any, questions: Sequence[Question]) -> tuple[float, float]:
    """Calibrate the abstention threshold on ``questions`` (use the dev split, never test)."""
    return best_threshold(_scores_without_abstaining(qa, questions))


def tune(
    qa: Any, questions: Sequence[Question], grid: Mapping[str, Sequence[float]], progress: bool = True
) -> list[tuple[float, float, dict[str, float]]]:
    """Grid search of answer-scoring weights on ``questions``; best (balanced, threshold, weights) first."""
    import itertools

    from tqdm.auto import tqdm

    base = qa.extractive
    results = []
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    for combo in tqdm(combos, desc="Tuning", disable=not progress):
        variant = qa.using(extractive=replace(base, weights=replace(base.weights, **combo)))
        threshold, balanced = calibrate(variant, questions)
        results.append((balanced, threshold, combo))
    return sorted(results, key=lambda r: r[0], reverse=True)


def run_settings(qa: Any) -> dict[str, str]:
    """What a report records of the run: the settings and the answer-scoring weights, so that a
    threshold calibrated in it is kept with the parameters it was calibrated for."""
    settings = {k: str(v) for k, v in vars(qa.settings).items() if not k.startswith("_")}
    return {**settings, "weights": str(asdict(qa.extractive.weights))}


# -- thresholds ----------------------------------------------------------------------------
GATES = {
    "min_accuracy": ("accuracy", 1),
    "min_abstention_recall": ("abstention_recall", 1),
    "min_abstention_precision": ("abstention_precision", 1),
    "max_false_abstention": ("false_abstention", -1),
    "min_citation_precision": ("citation_precision", 1),
    "min_citation_recall": ("citation_recall", 1),
    "min_verbatim": ("verbatim_citations", 1),
}


def missed_gates(summary: dict[str, Any], gates: dict[str, float | None]) -> list[str]:
    missed = []
    for name, limit in gates.items():
        if limit is None:
            continue
        key, sign = GATES[name]
        value = summary.get(key)
        if value is None or (value < limit if sign > 0 else value > limit):
            missed.append(f"{key} {_fmt(value)} {'<' if sign > 0 else '>'} {limit} (--{name.replace('_', '-')})")
    return missed


def _fmt(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


# -- report --------------------------------------------------------------------------------
@dataclass
class Report:
    run: str
    split: str
    summary: dict[str, Any]
    categories: dict[str, dict[str, Any]]
    records: list[Record]
    settings: dict[str, Any]
    judge: str
    threshold: float
    calibrated: tuple[float, float] | None = None
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["records"] = [asdict(r) for r in self.records]
        return data


def write_report(report: Report, folder: Path) -> Report:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    try:
        plots = write_plots(report, folder)
    except ImportError:
        plots = []
        report.notes.append(PLOT_HINT)
    report.files = [str(folder / "report.json"), *plots]
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    report.files.insert(0, str(folder / "report.md"))
    return report


PLOT_HINT = "no plot: matplotlib is not installed; pip install 'caucasus-qa[plot]' (make eval and make test install it)"


def write_plots(report: Report, folder: Path) -> list[str]:
    """The accuracy-by-category and score-distribution figure (needs the ``plot`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    cats = list(report.categories)
    left.barh(cats, [report.categories[c]["accuracy"] for c in cats], color="#3a6ea5")
    left.set_xlim(0, 1)
    left.set_xlabel("share correct")
    left.set_title("Accuracy by category")
    for i, c in enumerate(cats):
        left.text(
            0.01,
            i,
            f"{report.categories[c]['correct']}/{report.categories[c]['n']}",
            va="center",
            color="white",
            fontsize=8,
        )
    rows = [r for r in report.records if not r.skipped]
    bins = np.linspace(min([r.score for r in rows] + [0]), max([r.score for r in rows] + [1]), 25)
    right.hist([r.score for r in rows if r.answerable], bins=bins, alpha=0.7, label="answerable", color="#3a6ea5")
    right.hist([r.score for r in rows if not r.answerable], bins=bins, alpha=0.7, label="unanswerable", color="#d1495b")
    right.axvline(report.threshold, color="black", linestyle="--", label=f"threshold {report.threshold:.3f}")
    right.set_xlabel("abstention score (evidence strength)")
    right.set_title("Answer vs abstain")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "accuracy_and_abstention.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [str(path)]


# The report's measures table: (label, summary key); "hit@k" stands for the run's own k.
MEASURES = [
    ("answer accuracy (answerable)", "accuracy"),
    ("accuracy, all questions", "overall_accuracy"),
    ("abstention precision", "abstention_precision"),
    ("abstention recall", "abstention_recall"),
    ("false abstentions (answerable)", "false_abstention"),
    ("retrieval hit@k", "hit@k"),
    ("retrieval MRR", "mrr"),
    ("quotes verbatim at their offsets", "verbatim_citations"),
    ("citation recall (ALCE)", "citation_recall"),
    ("citation precision (ALCE)", "citation_precision"),
    ("generated sentences dropped as unsupported", "dropped_sentences"),
    ("accepted answer in the sources the model read (its ceiling)", "answer_in_evidence"),
    ("time to first token p50 (ms)", "first_token_p50_ms"),
    ("latency p50 (ms)", "latency_p50_ms"),
    ("latency p95 (ms)", "latency_p95_ms"),
]


def render_markdown(report: Report) -> str:
    return "\n".join(
        [*_summary_lines(report), *_category_lines(report), *_miss_lines(report), *_settings_lines(report)]
    )


def _summary_lines(report: Report) -> list[str]:
    s = report.summary
    k = next(key for key in s if key.startswith("hit@"))
    backends = sorted({r.backend for r in report.records if not r.skipped})
    lines = [
        f"# Eval report — {report.run}",
        "",
        f"Split **{report.split}**, {s['questions']} questions ({s['answerable']} answerable, "
        f"{s['unanswerable']} not), {s['skipped']} skipped; {report.seconds:.0f} s. "
        f"Support judge: {report.judge}. Abstention threshold {report.threshold:.3f}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| {name.replace('hit@k', k)} | {_fmt(s[key.replace('hit@k', k)])} |" for name, key in MEASURES),
        "",
        f"Answer backend: {', '.join(backends)}. With the extractive backend every claim is its own quote, "
        "so citation recall and precision check the judge and the plumbing rather than the answerer; they "
        "bite for generative backends.",
        "",
    ]
    if report.calibrated:
        lines += [
            f"Calibrated on this split: threshold {report.calibrated[0]:.3f} gives balanced accuracy "
            f"{report.calibrated[1]:.3f} (answerable answered right vs unanswerable declined).",
            "",
        ]
    return lines


def _category_lines(report: Report) -> list[str]:
    lines = ["## By category", "", "| category | correct | n | accuracy |", "| --- | --- | --- | --- |"]
    lines += [f"| {c} | {v['correct']} | {v['n']} | {v['accuracy']:.2f} |" for c, v in report.categories.items()]
    if report.notes:
        return lines + ["", *(f"Note: {note}" for note in report.notes)]
    return lines + ["", "![accuracy and abstention](accuracy_and_abstention.png)"]


def _miss_lines(report: Report) -> list[str]:
    misses = [r for r in report.records if not r.skipped and not r.correct]
    where = {True: " (the answer was in the model's sources)", False: " (not in the model's sources)", None: ""}
    lines = ["", "## Misses", ""]
    lines += [
        f"- **{r.id}** ({r.category}) {r.question}  \n  expected: "
        f"{', '.join(r.accepted) if r.answerable else 'an abstention'}{where[r.in_evidence]}; got: {r.answer[:300]}"
        for r in misses
    ] or ["None."]
    skipped = [r for r in report.records if r.skipped]
    if skipped:
        lines += ["", f"{len(skipped)} questions skipped: {skipped[0].skipped}."]
    return lines


def _settings_lines(report: Report) -> list[str]:
    return ["", "## Settings", "", "```json", json.dumps(report.settings, indent=2, default=str), "```", ""]


def spread(questions: Sequence[Question], limit: int | None) -> list[Question]:
    """An evenly spaced subset (the file interleaves categories, so every category stays in)."""
    if not limit or limit >= len(questions):
        return list(questions)
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


TUNE_GRID = {"cos": (0.35, 0.5), "lex": (0.35, 0.5, 0.65), "type": (0.05, 0.15), "oov": (0.2, 0.3, 0.4)}


def tune_report(qa: Any, questions: Sequence[Question], progress: bool = True) -> str:
    results = tune(qa, questions, TUNE_GRID, progress)
    lines = ["accuracy  threshold  weights (best first; put the threshold in caucasus-qa.toml as abstain_threshold)"]
    lines += [f"{acc:8.3f}  {thr:9.4f}  {weights}" for acc, thr, weights in results[:8]]
    return "\n".join(lines)


SWEEP_CHUNKS = (128, 200, 300, 400)
SWEEP_TOP_K = (3, 5, 8)


def sweep_report(
    settings: Any,
    questions: Sequence[Question],
    corpus: Sequence[Path],
    chunk_sizes: Sequence[int] = SWEEP_CHUNKS,
    top_ks: Sequence[int] = SWEEP_TOP_K,
) -> str:
    """Chunk size x top-k on fresh temporary stores of ``corpus`` (overlap a fifth of the chunk):
    accuracy, hit@k and MRR per cell. For choosing defaults on the dev split, never on test."""
    import dataclasses
    import tempfile

    from caucasus_qa.assistant import Assistant

    lines = [f"{'chunk':>5} {'overlap':>7} {'top_k':>5} {'accuracy':>8} {'hit@k':>6} {'MRR':>6}"]
    for size in chunk_sizes:
        with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
            for top_k in top_ks:
                qa = Assistant(
                    settings=dataclasses.replace(
                        settings,
                        store=Path(tmp),
                        chroma_url=None,
                        chunk_size=size,
                        chunk_overlap=size // 5,
                        top_k=top_k,
                        candidates=max(settings.candidates, top_k),
                    )
                )
                if not qa.store.article_ids():
                    qa.ingest(corpus)
                m = metrics(run(qa, questions, progress=False), top_k)
                lines.append(
                    f"{size:5} {size // 5:7} {top_k:5} {_fmt(m['accuracy']):>8} {_fmt(m[f'hit@{top_k}']):>6} "
                    f"{_fmt(m['mrr']):>6}"
                )
    return "\n".join(lines)


def evaluate(
    qa: Any,
    questions_path: Path,
    split: str,
    report_dir: Path | None,
    progress: bool = True,
    calibrate_threshold: bool = False,
    limit: int | None = None,
) -> Report:
    """Run the eval and write the report; see ``caucasus-qa eval --help``."""
    started = time.perf_counter()
    questions = spread(load_questions(questions_path, split), limit)
    if not questions:
        raise ConfigError(f"no questions in split {split!r} of {questions_path}")
    calibrated = calibrate(qa, questions) if calibrate_threshold else None
    records = run(qa, questions, progress)
    run_name = datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{split}"
    settings = run_settings(qa)
    report = Report(
        run=run_name,
        split=split,
        summary=metrics(records, qa.settings.top_k),
        categories=per_category(records),
        records=records,
        settings=settings,
        judge=qa.judge.name,
        threshold=qa.settings.abstain_threshold,
        calibrated=calibrated,
        seconds=time.perf_counter() - started,
    )
    return write_report(report, (report_dir or Path("eval/reports")) / run_name)
