"""The reader: one question's candidate sentences in, the candidate answers ranked and the
decision to answer or decline out. Both answer backends read through it (``extractive.weigh``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from caucasus_qa.answering.answer import AnswerSpan
from caucasus_qa.answering.reading.abstention import declines
from caucasus_qa.answering.reading.candidates import Candidate, Context, Ranked, gather
from caucasus_qa.answering.reading.composition import span_of
from caucasus_qa.answering.reading.language import DEFAULT_MODEL, Parser, parser
from caucasus_qa.answering.reading.question import Asked, analyse
from caucasus_qa.answering.reading.scoring import Model, shipped

# The best sentences of sentence scoring that the reader parses: each new one costs ~3-5 ms on
# 2 cores; reading-basics dev split and RealTime QA tune weeks (docs/evaluation.md).
DEPTH = 12

R = TypeVar("R", bound=Ranked)


@dataclass(frozen=True)
class Reading:
    """What the reader made of one question: candidates best first; ``declined`` says why not."""

    asked: Asked
    candidates: list[Candidate]
    declined: str | None
    answers: float = 0.0  # how likely the best candidate answers the question (abstention.py)
    docs: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates and self.declined is None else None

    def span(self, cite: int) -> AnswerSpan | None:
        """The short answer, for the quote numbered ``cite`` that holds the best candidate."""
        best = self.best
        if best is None:
            return None
        return span_of(self.asked, best, self.docs[(best.sentence.article_id, best.sentence.start)], cite)

    def reorder(self, ranked: Sequence[R]) -> list[R]:
        """``ranked`` with the sentences that hold the best candidates first, in candidate order
        (what a language model reads first), the rest as they were."""
        order: dict[tuple[str, int], int] = {}
        for c in self.candidates:
            order.setdefault((c.sentence.article_id, c.sentence.start), len(order))
        first = sorted((r for r in ranked if _key(r) in order), key=lambda r: order[_key(r)])
        return first + [r for r in ranked if _key(r) not in order]


def _key(r: Ranked) -> tuple[str, int]:
    return r.sentence.article_id, r.sentence.start


@dataclass
class Reader:
    """Reads the best ``depth`` sentences of a question with a spaCy pipeline and a fitted model."""

    parse: Parser
    model: Model
    depth: int = DEPTH

    @classmethod
    def default(cls, name: str = DEFAULT_MODEL) -> Reader:
        return cls(parser(name), shipped())

    def analyse(self, question: str) -> Asked:
        return analyse(question, self.parse)

    def read(self, question: str, ranked: Sequence[Ranked], ctx: Context) -> Reading:
        asked = self.analyse(question)
        top = [r for r in ranked[: self.depth] if not r.sentence.is_heading]
        docs = self.parse([r.sentence.text for r in top])
        cands = gather(asked, top, docs, ctx)
        for c in cands:
            c.p = self.model.probability(c.x)
        cands.sort(key=lambda c: -c.p)
        by_sentence = {_key(r): d for r, d in zip(top, docs)}
        answers, why = declines(cands, self.model)
        return Reading(asked, cands, why, answers, by_sentence)
