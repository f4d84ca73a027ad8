"""How likely a candidate is the answer: a logistic model over ``candidates.FEATURES``.

The weights are fitted, not set by hand: ``caucasus-qa eval --reading --fit`` collects every
candidate of the reading-basics dev split (``eval/reading``), labels each by whether it is the
gold answer, and fits scikit-learn's logistic regression; the decline threshold is chosen on the
same split. The result, with what it was fitted on, is ``fitted.json`` beside this module.
Answering needs only numpy (a dot product); scikit-learn is needed to fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from caucasus_qa.answering.reading.candidates import FEATURES

FITTED = Path(__file__).with_name("fitted.json")
# The L2 strength of the fit (scikit-learn's C): the default; 19 features, a few thousand candidates.
REGULARISATION = 1.0


# The most of a tuning source's answerable questions the decline threshold may decline: the
# goals of issue 3.1 (reading basics: answerable declined ≤ 0.05; RealTime QA: "nowhere" declined
# measured at gold declined ≤ 0.10); all tuning questions together: 0.05.
DECLINE_LIMITS = {"reading": 0.05, "realtimeqa": 0.10}


# What the decline model reads of a question's best candidate (``abstention.question_features``).
QUESTION_FEATURES = (
    "p", "margin", "primary", "cos", "pred", "pred_elsewhere", "topic_sent", "topic_ctx", "elsewhere",
    "near", "role", "unit", "named_near", "evidence",
    "description",
)  # fmt: skip


def _logistic(coef: Sequence[float], intercept: float, x: Sequence[float]) -> float:
    z = intercept + sum(w * v for w, v in zip(coef, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Model:
    """Two fitted logistic models: which candidate is the answer (``coef`` over ``features``),
    and whether a question's best candidate answers it at all (``q_coef`` over
    ``question_features``); below ``threshold`` the question is declined."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    question_features: tuple[str, ...] = QUESTION_FEATURES
    q_coef: tuple[float, ...] = (0.0,) * len(QUESTION_FEATURES)
    q_intercept: float = 0.0
    fitted_on: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def neutral(cls) -> Model:
        """Every candidate even, nothing declined: what a reader fits a new model with."""
        return cls(FEATURES, (0.0,) * len(FEATURES), 0.0, 0.0, fitted_on="nothing (neutral)")

    def probability(self, x: Sequence[float]) -> float:
        return _logistic(self.coef, self.intercept, x)

    def answers(self, q: Sequence[float]) -> float:
        """The probability that the best candidate answers the question."""
        return _logistic(self.q_coef, self.q_intercept, q)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


@lru_cache(maxsize=1)
def shipped() -> Model:
    """The model fitted on the reading-basics dev split (``fitted.json``)."""
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    tuples = {k: tuple(data[k]) for k in ("features", "coef", "question_features", "q_coef") if k in data}
    model = Model(**{**data, **tuples})
    if model.features != FEATURES or model.question_features != QUESTION_FEATURES:
        raise RuntimeError(f"{FITTED} was fitted for other features: run `caucasus-qa eval --reading --fit`")
    return model


def logistic(x: Sequence[Sequence[float]], y: Sequence[int], balanced: bool = False) -> tuple[tuple[float, ...], float]:
    """scikit-learn's logistic regression: (coefficients, intercept). ``balanced`` weighs the
    classes equally (one answer among ~20 candidates a question)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=REGULARISATION, max_iter=2000, class_weight="balanced" if balanced else None)
    clf.fit([list(v) for v in x], list(y))
    return tuple(float(w) for w in clf.coef_[0]), float(clf.intercept_[0])


def fit(x: Sequence[Sequence[float]], y: Sequence[int], fitted_on: str) -> Model:
    """The candidate model fitted on labelled candidates (the decline model is fitted after it,
    on each question's best candidate under this model: ``basics.fit``)."""
    # unweighted: balanced classes put the answer first about as often in 5-fold cross-validation
    # over the tuning questions (0.824 against 0.813) but declined fewer unanswerable ones (0.35
    # against 0.38) and, fitted on all of them, half as many on the reading-basics dev split
    coef, intercept = logistic(x, y)
    counts = {"candidates": len(y), "positive": int(sum(y))}
    return Model(FEATURES, coef, intercept, 0.0, fitted_on=fitted_on, counts=counts)


def best_threshold(
    best: Sequence[tuple[float, bool, bool]],
    sources: Sequence[str] | None = None,
    limits: Mapping[str, float] | None = None,
    max_false_decline: float = 0.05,
) -> float:
    """The decline threshold that answers most questions right on a tuning split, declining at
    most ``max_false_decline`` of the answerable ones, and of a named source's answerable ones at
    most its own limit (``limits``, by the name in ``sources``: one per question). ``best``: per
    question, the best candidate's probability, whether it is right, whether it is answerable."""
    groups = _answerable_by_source(best, sources)
    limit_of = {"": max_false_decline, **(limits or {})}
    groups = {g: probs for g, probs in groups.items() if g in limit_of}
    cuts = sorted({p for p, _, _ in best} | {0.0})
    score_of = {}
    for cut in cuts:
        if any(sum(p < cut for p in probs) / len(probs) > limit_of[g] for g, probs in groups.items()):
            continue
        score_of[cut] = sum((p >= cut and ok) if a else p < cut for p, ok, a in best)
    top = max(score_of.values())  # a cut of 0 declines nothing: there is always one
    # the least declining of the best cuts, moved halfway down to the next probability below it
    # (a cut at a tuning question's own probability sits on that question's edge)
    least = min(c for c, v in score_of.items() if v == top)
    below = max((c for c in cuts if c < least), default=0.0)
    return (least + below) / 2


def _answerable_by_source(
    best: Sequence[tuple[float, bool, bool]], sources: Sequence[str] | None
) -> dict[str, list[float]]:
    """The answerable questions' probabilities: all of them (key ""), and by source."""
    groups: dict[str, list[float]] = {"": [p for p, _, a in best if a]}
    for (p, _, a), source in zip(best, sources, strict=True) if sources is not None else []:
        if a:
            groups.setdefault(source, []).append(p)
    return {g: probs for g, probs in groups.items() if probs}
