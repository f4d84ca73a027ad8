"""The reading-basics eval: short articles written for it (``eval/reading/``) in the shapes users
drop (plain text with a byline or a wire dateline, Markdown, HTML), plain factual questions each
answered by one sentence (never the lead), and on-topic questions the articles do not answer.

It measures the answer step, not retrieval: whether the first quote is the sentence that states
the answer, whether the short answer is the answer, and what is declined. Splits are by article
(dev for fitting the reader, test never fitted on). ``fit`` refits the reader's model on dev.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from caucasus_qa.measuring.labels import SPAN_SLACK, Labelled, readings
from caucasus_qa.settings import Settings

READING_SET = Path("eval/reading")


@dataclass(frozen=True)
class BasicQuestion:
    id: str
    split: str
    article: str  # file name in ``articles/``; its stem is the article id
    question: str
    answerable: bool
    kind: str
    answer: str = ""
    sentence: str = ""

    @property
    def article_id(self) -> str:
        return Path(self.article).stem


def load(folder: Path = READING_SET, split: str = "all") -> list[BasicQuestion]:
    """The questions of ``split`` (dev, test or all)."""
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [BasicQuestion(**r) for r in rows if split in ("all", r["split"])]


def articles(folder: Path, pattern: str = "articles/*") -> list[Path]:
    """The set's article files (every split's: a question must be told apart from all of them)."""
    return sorted(p for p in folder.glob(pattern) if p.is_file())


@contextmanager
def assistant(folder: Path, settings: Settings | None = None, pattern: str = "articles/*") -> Iterator[Any]:
    """An Assistant over a temporary store of every article of the set (``folder/pattern``)."""
    from caucasus_qa.assistant import Assistant
    from caucasus_qa.store.ingestion import ingest

    with tempfile.TemporaryDirectory(prefix="cqa-reading-") as tmp:
        staged = Path(tmp) / "articles"
        staged.mkdir()
        for path in articles(folder, pattern):
            (staged / path.name).write_bytes(path.read_bytes())
        base = settings or Settings()
        s = replace(base, store=Path(tmp) / "store", corpus=staged, chroma_url=None)
        ingest(s, [staged])
        yield Assistant(settings=s)


_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    return _SPACE.sub(" ", text.lower().replace("’", "'").replace("“", '"').replace("”", '"')).strip()


def holds_answer(q: BasicQuestion, text: str) -> bool:
    """``text`` (a quote) is the gold sentence, or holds it, or lies inside it holding the answer."""
    t, s = norm(text), norm(q.sentence)
    return (s in t) or (t in s and norm(q.answer) in t)


def short_right(q: BasicQuestion, short: str | None, first_right: bool) -> bool:
    """The short answer is the answer: holds it with at most ``SPAN_SLACK`` words more; a
    description answered by its sentence alone counts when that sentence is right."""
    if short is None:
        return q.kind == "description" and first_right
    s, a = norm(short), norm(q.answer)
    if q.kind == "description":
        return first_right and (a in s or s in a)
    return a in s and len(s.split()) <= len(a.split()) + SPAN_SLACK


@dataclass(frozen=True)
class Outcome:
    id: str
    split: str
    kind: str
    answerable: bool
    declined: bool
    right_article: bool  # the first quote is from the question's article
    first_right: bool  # the first quote is the sentence that states the answer
    short_right: bool
    question: str
    short: str | None
    first_quote: str


def judge(q: BasicQuestion, answer: Any) -> Outcome:
    first = answer.citations[0] if answer.citations and not answer.abstained else None
    right = first is not None and first.article_id == q.article_id and q.answerable and holds_answer(q, first.quote)
    short = answer.span.text if answer.span is not None and not answer.abstained else None
    return Outcome(
        q.id, q.split, q.kind, q.answerable, answer.abstained,
        first is not None and first.article_id == q.article_id,
        right, q.answerable and not answer.abstained and short_right(q, short, right),
        q.question, short, first.quote if first else "",
    )  # fmt: skip


def run(qa: Any, questions: Sequence[BasicQuestion]) -> list[Outcome]:
    return [judge(q, qa.ask(q.question)) for q in questions]


def _share(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Per split: the shares that the issue's goals name, and per answer kind."""
    out: dict[str, Any] = {}
    for split in sorted({o.split for o in outcomes}):
        mine = [o for o in outcomes if o.split == split]
        ans = [o for o in mine if o.answerable]
        una = [o for o in mine if not o.answerable]
        kinds = {
            k: f"{sum(o.first_right for o in ans if o.kind == k)}/{sum(o.short_right for o in ans if o.kind == k)} "
            f"of {n}"
            for k, n in sorted(Counter(o.kind for o in ans).items())
        }
        out[split] = {
            "answerable": len(ans),
            "unanswerable": len(una),
            "right article": _share(sum(o.right_article for o in ans), len(ans)),
            "first sentence right": _share(sum(o.first_right for o in ans), len(ans)),
            "short answer right": _share(sum(o.short_right for o in ans), len(ans)),
            "answerable declined": _share(sum(o.declined for o in ans), len(ans)),
            "unanswerable declined": _share(sum(o.declined for o in una), len(una)),
            "by kind (first sentence / short answer right)": kinds,
        }
    return out


def render(summary: dict[str, Any], outcomes: Sequence[Outcome], misses: bool = False) -> str:
    """Dev and test side by side, then (with ``misses``) every miss."""
    splits = list(summary)
    keys = [k for k in summary[splits[0]] if not k.startswith("by kind")]
    lines = ["| reading basics | " + " | ".join(splits) + " |", "| --- |" + " --- |" * len(splits)]
    lines += [f"| {k} | " + " | ".join(str(summary[s][k]) for s in splits) + " |" for k in keys]
    kinds = sorted({k for s in splits for k in summary[s]["by kind (first sentence / short answer right)"]})
    lines += ["", "| kind: first sentence / short answer right | " + " | ".join(splits) + " |"]
    lines += ["| --- |" + " --- |" * len(splits)]
    for k in kinds:
        lines.append(f"| {k} | " + " | ".join(summary[s]["by kind (first sentence / short answer right)"].get(k, "-")
                                              for s in splits) + " |")  # fmt: skip
    if misses:
        lines.append("")
        for o in outcomes:
            wrong = (o.answerable and not o.short_right) or (not o.answerable and not o.declined)
            if wrong:
                lines.append(f"- {o.id} [{o.kind}] {o.question} -> {o.short!r} | {o.first_quote[:120]!r}")
    return "\n".join(lines)


# -- fitting the reader -------------------------------------------------------------------
def candidate_label(q: BasicQuestion, cand: Any) -> int:
    """1 where a candidate is the gold answer: in the question's article, and the span holds the
    answer (a whole sentence: is the gold sentence)."""
    if not q.answerable or cand.sentence.article_id != q.article_id:
        return 0
    if cand.label == "SENTENCE":
        return int(holds_answer(q, cand.sentence.text))
    return int(short_right(q, cand.text, True))


def labelled(qa: Any, questions: Sequence[BasicQuestion]) -> list[Labelled]:
    """The reading-basics questions' candidates, labelled by ``candidate_label``."""
    out = []
    for q, r in zip(questions, readings(qa, [q.question for q in questions])):
        cands = r.candidates if r is not None else []
        out.append(Labelled(q.question, q.answerable, cands, [candidate_label(q, c) for c in cands], "reading"))
    return out


def labelled_eval(qa: Any, questions: Sequence[Any]) -> list[Labelled]:
    """The five-article eval set's questions (``evaluate.Question``; follow-ups left out): a
    candidate is the answer where it holds an accepted string within ``SPAN_SLACK`` words (a
    sentence: where it holds one and lies in a gold quote's article)."""
    asked = [q for q in questions if not q.is_followup]
    out = []
    for q, r in zip(asked, readings(qa, [q.question for q in asked])):
        cands = r.candidates if r is not None else []
        gold = {a for a, _ in q.gold}
        labels = []
        for c in cands:
            text = norm(c.text)
            hit = any(
                norm(a) in text and (c.label == "SENTENCE" or len(text.split()) <= len(a.split()) + SPAN_SLACK)
                for a in q.accepted
            )
            labels.append(int(q.answerable and hit and (not gold or c.sentence.article_id in gold)))
        out.append(Labelled(q.question, q.answerable, cands, labels, "five-article"))
    return out


def fit(rows: Sequence[Labelled], fitted_on: str) -> Any:
    """The reader's model fitted on labelled candidates: the candidate model, then the decline
    model on each question's best candidate under it, then the decline threshold."""
    from caucasus_qa.answering.reading.abstention import question_features
    from caucasus_qa.answering.reading.scoring import DECLINE_LIMITS, Model, best_threshold, logistic
    from caucasus_qa.answering.reading.scoring import fit as fit_model

    x = [c.x for r in rows for c in r.candidates]
    y = [v for r in rows for v in r.labels]
    model: Model = fit_model(x, y, fitted_on)
    tops, sources = [], []
    for r in rows:
        if not r.candidates:
            continue
        for c in r.candidates:
            c.p = model.probability(c.x)
        order = sorted(range(len(r.candidates)), key=lambda i: -r.candidates[i].p)
        ranked = [r.candidates[i] for i in order]
        tops.append((question_features(ranked), r.labels[order[0]], r.answerable))
        sources.append(r.source)
    q_coef, q_intercept = logistic([f for f, _, _ in tops], [y for _, y, _ in tops])
    model = replace(model, q_coef=q_coef, q_intercept=q_intercept)
    best = [(model.answers(f), bool(y), a) for f, y, a in tops]
    counts = {
        **model.counts,
        "questions": len(rows),
        "unanswerable": sum(not r.answerable for r in rows),
        "without a candidate": len(rows) - len(tops),
        "right at best": sum(y for _, y, _ in tops),
    }
    return replace(model, threshold=best_threshold(best, sources, DECLINE_LIMITS), counts=counts)


def tuning_rows(
    folder: Path, settings: Settings | None = None, kit: Path | None = None, kit_store: Path | None = None
) -> tuple[list[Labelled], str]:
    """Every tuning question the reader is fitted on, labelled, and what they are: the
    reading-basics dev split, the five-article eval set's dev split over its corpus, and with a
    RealTime QA ``kit`` its tuning weeks over the store ``kit_store`` (``realtimeqa.labelled``)."""
    from caucasus_qa.measuring.evaluate import DEFAULT_QUESTIONS, load_questions

    dev = load(folder, "dev")
    with assistant(folder, settings) as qa:
        rows = labelled(qa, dev)
    five = [q for q in load_questions(DEFAULT_QUESTIONS, "dev") if not q.is_followup]
    with assistant(Path("ingest"), settings, pattern="articles/*") as qa:
        rows += labelled_eval(qa, five)
    what = f"{folder} dev split ({len(dev)} questions) + {DEFAULT_QUESTIONS} dev split ({len(five)}, no follow-ups)"
    what += f", {(settings or Settings()).sentence_vectors} sentence vectors"
    if kit is not None and kit_store is not None:
        from caucasus_qa.assistant import Assistant
        from caucasus_qa.measuring.realtimeqa import labelled as kit_labelled

        base = settings or Settings()
        kit_qa = Assistant(settings=replace(base, store=kit_store))
        kit_rows, kit_what = kit_labelled(kit_qa, kit)
        rows += kit_rows
        what += f" + {kit_what} ({kit_qa.store.sentence_vectors} sentence vectors)"
    return rows, what


def evaluate(folder: Path, split: str, settings: Settings | None = None) -> tuple[dict[str, Any], list[Outcome]]:
    """Every question of ``split`` over a store of its articles."""
    questions = load(folder, split)
    with assistant(folder, settings) as qa:
        outcomes = run(qa, questions)
    return summarize(outcomes), outcomes


def to_json(summary: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    return json.dumps({"summary": summary, "outcomes": [asdict(o) for o in outcomes]}, indent=1)
