"""Declining: when no candidate of the asked kind is tied to what was asked.

The question is answered by its best candidate only when a second fitted model, reading that
candidate's ties (the predicate in its sentence or elsewhere in its article, the topic near it,
how far it leads the next different answer), says it likely answers the question; below the
threshold chosen on the tuning split (``scoring.best_threshold``) it is declined, as is a
question with no candidate of the asked kind at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from caucasus_qa.answering.reading.candidates import FEATURES, Candidate
from caucasus_qa.answering.reading.scoring import QUESTION_FEATURES, Model

_AT = {name: FEATURES.index(name) for name in QUESTION_FEATURES if name in FEATURES}


def question_features(candidates: Sequence[Candidate]) -> list[float]:
    """What the decline model reads (``QUESTION_FEATURES``) of candidates sorted best first."""
    best = candidates[0]
    other = next((c.p for c in candidates[1:] if c.key != best.key), 0.0)
    values = {"p": best.p, "margin": best.p - other, **{n: best.x[i] for n, i in _AT.items()}}
    return [values[n] for n in QUESTION_FEATURES]


def declines(candidates: Sequence[Candidate], model: Model) -> tuple[float, str | None]:
    """How likely the best candidate answers, and why the question is declined (None: answer)."""
    if not candidates:
        return 0.0, "no sentence of the retrieved passages holds a candidate of the asked kind"
    answers = model.answers(question_features(candidates))
    if answers < model.threshold:
        return answers, f"the best candidate answers with {answers:.2f}, below the reader's {model.threshold:.2f}"
    return answers, None
