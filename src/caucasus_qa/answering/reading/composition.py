"""The answer says it first: the short answer, verbatim inside the quote that supports it.

For a name, a number or a date the short answer is the candidate span. For a why-question it is
the clause that gives the reason ("because the old pipes had corroded") where the parse finds
one; otherwise a description is answered by its sentence alone (no short answer).
"""

from __future__ import annotations

from typing import Any

from caucasus_qa.answering.answer import AnswerSpan
from caucasus_qa.answering.reading.candidates import Candidate
from caucasus_qa.answering.reading.question import Asked

# Words that open a reason clause ("because …", "due to …"): the subordinators English uses for
# causes, read from the parse (a mark or a preposition), not matched as strings in the sentence.
_REASON_OPENERS = {"because", "due", "since", "as", "after", "following"}


def reason_clause(doc: Any) -> tuple[int, int] | None:
    """(start, end) of the reason clause a sentence's parse holds, if any."""
    for t in doc:
        if t.lower_ not in _REASON_OPENERS or t.dep_ not in ("mark", "prep", "amod", "advmod"):
            continue
        head = t.head if t.dep_ == "mark" else t
        last = max(x.idx + len(x.text) for x in head.subtree)
        if t.lower_ in ("as", "after", "since") and t.dep_ != "mark":
            continue  # "as a result", "after Monday": time or manner, not a cause
        return t.idx, last
    return None


def span_of(asked: Asked, best: Candidate, doc: Any, cite: int) -> AnswerSpan | None:
    """The short answer for the quote numbered ``cite`` (offsets within that quote)."""
    if best.label != "SENTENCE":
        return AnswerSpan(best.text, cite, best.start, best.end)
    if asked.wh == "why" or "reason" in asked.predicate or "cause" in asked.predicate:
        found = reason_clause(doc)
        if found:
            start, end = found
            return AnswerSpan(best.sentence.text[start:end], cite, start, end)
    return None
