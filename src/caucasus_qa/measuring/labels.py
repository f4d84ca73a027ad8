"""The rows a fit of the reader reads: each tuning question's candidates, labelled 1 where a
candidate is the answer. Shared by the reading-basics eval (``basics``) and the RealTime QA
tune weeks (``realtimeqa``), so neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SPAN_SLACK = 3  # words a short answer may have beyond the gold answer ("about $4.2 million")


def readings(qa: Any, questions: Sequence[str], as_of: Sequence[Any] | None = None) -> list[Any]:
    """Each question's reading with nothing declined before it (every candidate, for fitting),
    read by a reader with a neutral model (the shipped one may be for other features)."""
    from caucasus_qa.answering.reading import Reader
    from caucasus_qa.answering.reading.language import parser
    from caucasus_qa.answering.reading.scoring import Model

    if "reader" not in qa.__dict__ and "extractive" not in qa.__dict__:  # before the Assistant builds its own
        qa.__dict__["reader"] = Reader(parser(qa.settings.reader_model), Model.neutral())
    engine, extractive = qa.query_engine, qa.extractive.never_declining()
    out = []
    for i, question in enumerate(questions):
        day = as_of[i] if as_of is not None else None
        context, passages, _, _ = engine._retrieve(question, None, day)
        weighed = extractive.scoring_with(context["stats"]).weigh(question, context["q_emb"], passages, day)
        out.append(weighed.reading)
    return out


@dataclass
class Labelled:
    """One tuning question's candidates, each labelled 1 where it is the answer."""

    question: str
    answerable: bool
    candidates: list[Any]
    labels: list[int]
    source: str = ""  # which tuning set: "reading", "five-article", "realtimeqa" (``scoring.DECLINE_LIMITS``)
