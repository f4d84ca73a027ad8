"""Declining: when no candidate of the asked kind is tied to what was asked.

The question is answered by its best candidate only when a second fitted model, reading that
candidate's ties (the predicate in its sentence or elsewhere in its article, the topic near it,
how far it leads the next different answer), says it likely answers the question; below the
threshold chosen on the tuning split (``scoring.best_threshold``) it is declined, as is a
question with no candidate of the asked kind at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from caucasus_qa.reading.candidates import FEATURES, Candidate
from caucasus_qa.reading.scoring import QUESTION_FEATURES, Model

_AT = {name: FEATURES.index(name) for name in QUESTION_FEATURES if name in FEATURES}


def question_features(candidates: Sequence[Candidate], clause: float) -> list[float]:
    """What the decline model reads (``QUESTION_FEATURES``) of candidates sorted best first;
    ``clause``: the cosine of the question and the clause that states the best one."""
    best = candidates[0]
    other = next((c.p for c in candidates[1:] if c.key != best.key), 0.0)
    values = {"p": best.p, "margin": best.p - other, "clause": clause, **{n: best.x[i] for n, i in _AT.items()}}
    return [values[n] for n in QUESTION_FEATURES]


def clause_similarity(question: str, best: Candidate, encode: Callable[[list[str]], Any] | None) -> float:
    """Cosine of the question and the clause stating ``best`` (the embedding model), 0 without one:
    a sentence about the topic can hold a span of the asked kind in a clause about something else."""
    if encode is None:
        return 0.0
    vectors = encode([question, best.clause or best.sentence.text])
    return float(vectors[0] @ vectors[1])


def declines(
    question: str, candidates: Sequence[Candidate], model: Model, encode: Callable[[list[str]], Any] | None = None
) -> tuple[float, str | None]:
    """How likely the best candidate answers, and why the question is declined (None: answer)."""
    if not candidates:
        return 0.0, "no sentence of the retrieved passages holds a candidate of the asked kind"
    clause = clause_similarity(question, candidates[0], encode)
    answers = model.answers(question_features(candidates, clause))
    if answers < model.threshold:
        return answers, f"the best candidate answers with {answers:.2f}, below the reader's {model.threshold:.2f}"
    return answers, None
