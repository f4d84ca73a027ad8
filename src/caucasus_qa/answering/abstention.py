"""When an answer declines beyond the evidence score: a small logistic model over the evidence.

On real news the evidence score alone does not separate questions the store answers from ones it
does not: their scores overlap (docs/evaluation.md, RealTime QA). What else the answer step already
knows helps: how much of the question the corpus lacks, how the best sentence scores and how far it
leads, how well the best passage was retrieved, and whether other pages name what the best sentence
names. A logistic model over these, fitted on the tuning weeks of RealTime QA and checked on the
held-back weeks (`scripts/abstain_features.py`), gives each answer a risk of being unanswerable;
at or above the model's cut it declines. The script fits it with scikit-learn; here it is applied
by a few lines of arithmetic instead of a pickled estimator (scikit-learn is no dependency of the
app, and its pickles are tied to its version): the coefficients are data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from caucasus_qa.articles.dates import as_date


@dataclass(frozen=True)
class EvidenceFeatures:
    """What the answer step knows about its evidence, the model's inputs."""

    evidence: float  # the evidence score (ExtractiveAnswerer.evidence_score)
    oov: float  # share of the question's IDF weight found nowhere in the corpus
    top: float  # the best sentence's score
    cos: float  # its cosine with the question
    lex: float  # its share of the question's terms
    gap: float  # its lead over the second-best sentence
    passage: float  # the best retrieved passage's fused score
    agree: float  # pages among the best 10 sentences that name a name the best sentence names
    # Asked as of a date only (None otherwise): log(1 + days) from the newest page the answer
    # would quote to that date (a year when no page has a date), and the same again when the
    # question is about the asker's present ("this week"), else 0.
    stale: float | None = None
    present_stale: float | None = None

    def values(self, names: tuple[str, ...]) -> tuple[float, ...]:
        return tuple(float(getattr(self, name) or 0.0) for name in names)


FEATURES = tuple(f for f in EvidenceFeatures.__dataclass_fields__ if f not in ("stale", "present_stale"))
DATED_FEATURES = (*FEATURES, "stale", "present_stale")
AGREEING = 10  # the best sentences whose pages count for ``agree`` (the shipped model was fitted so)
UNDATED_DAYS = 365  # the age taken for evidence whose pages have no date (as fitted)


def staleness(as_of: date, published: Iterable[str | None], present: bool) -> tuple[float, float]:
    """``stale`` and ``present_stale`` for evidence from pages published on these dates."""
    ages = []
    for value in published:
        day = as_date(value)
        if day is not None:
            ages.append((as_of - day).days)
    stale = math.log1p(max(min(ages, default=UNDATED_DAYS), 0))
    return stale, stale if present else 0.0


@dataclass(frozen=True)
class RiskModel:
    """A fitted logistic model: standardised features, coefficients, and the cut at which to
    decline; ``source`` says where it was fitted, ``calibrated_for`` the answer-scoring parameters
    (``Weights``, ``Selection``) it was fitted under (under others, the features are distributed
    differently)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    cut: float
    calibrated_for: str
    source: str
    # Used on corpora of at least this many chunks: on a handful of articles a word absent from the
    # corpus, or pages that agree, mean something else (on the five-article eval set this model
    # declined a third of the answerable questions).
    min_chunks: int = 0
    features: tuple[str, ...] = FEATURES  # the inputs, in the order of ``mean``, ``scale``, ``coef``
    dated: RiskModel | None = None  # used instead for a question asked as of a date

    def chosen(self, features: EvidenceFeatures) -> RiskModel:
        """The model for these features: ``dated`` for a question asked as of a date, if any."""
        return self.dated if self.dated is not None and features.stale is not None else self

    def risk(self, features: EvidenceFeatures) -> float:
        model = self.chosen(features)
        z = model.intercept + sum(
            c * (v - m) / s
            for c, v, m, s in zip(model.coef, features.values(model.features), model.mean, model.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def applies(self, chunks: int) -> bool:
        """Whether the model is used on a corpus of ``chunks`` chunks (see ``min_chunks``)."""
        return chunks >= self.min_chunks

    def declines(self, features: EvidenceFeatures, chunks: int) -> bool:
        """Whether to decline an answer over a corpus of ``chunks`` chunks."""
        model = self.chosen(features)
        return model.applies(chunks) and model.risk(features) >= model.cut


# Fitted by `scripts/abstain_features.py --fit [--with-age]` (its printouts, pasted): docs/evaluation.md.
NEWS_DATED = RiskModel(
    mean=(0.5912, 0.0090, 0.6706, 0.5866, 0.4664, 0.0465, 0.9734, 1.3160, 4.0955, 1.0696),
    scale=(0.1540, 0.0414, 0.1458, 0.1298, 0.2089, 0.0488, 0.0829, 0.8298, 2.4655, 2.1633),
    coef=(-0.0753, 0.4622, -1.5485, 0.0526, 0.3110, 0.0307, 0.3256, -0.2189, 0.3720, 0.0676),
    intercept=-0.8104,
    cut=0.5606,
    calibrated_for="3bbcd91ba076",  # fitted as "63990cc61ac0", which counted the re-ranking parameters too
    source="scripts/abstain_features.py --fit --with-age: RealTime QA tune weeks over all 5,384 kit pages, "
    "each asked as of its quiz week, gold vs nowhere; cut as NEWS's",
    min_chunks=30_000,
    features=DATED_FEATURES,
)
NEWS = RiskModel(
    mean=(0.5912, 0.0090, 0.6706, 0.5866, 0.4664, 0.0465, 0.9734, 1.3160),
    scale=(0.1540, 0.0414, 0.1458, 0.1298, 0.2089, 0.0488, 0.0829, 0.8298),
    coef=(-0.1040, 0.4108, -1.5718, 0.0335, 0.3227, 0.0360, 0.1582, -0.2681),
    intercept=-0.7938,
    cut=0.5667,
    calibrated_for="3bbcd91ba076",
    source="scripts/abstain_features.py --fit: RealTime QA tune weeks over all 5,384 kit pages, gold vs nowhere; "
    "cut: at most 10% of gold declined, the threshold's declines included",
    min_chunks=30_000,  # the smallest store it was checked on: 1,898 news pages, 31k chunks
    dated=NEWS_DATED,
)
MODELS: dict[str, RiskModel | None] = {
    "auto": NEWS,
    "news": replace(NEWS, min_chunks=0, dated=replace(NEWS_DATED, min_chunks=0)),
    "off": None,
}


# Field metadata of an answer-scoring parameter that only re-ranks sentences after the decline
# decision (``ExtractiveAnswerer.rank``): the risk model's features never see it.
RERANKS = {"reranks": True}


def fingerprint(*params: Any) -> str:
    """A short name for frozen parameter objects' values (what a model was calibrated for),
    leaving out those marked ``RERANKS``: changing them needs no refit."""
    values = [tuple(getattr(p, f.name) for f in fields(p) if not f.metadata.get("reranks")) for p in params]
    return hashlib.sha256(repr(values).encode()).hexdigest()[:12]
