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
from dataclasses import asdict, astuple, dataclass, replace
from typing import Any


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

    def values(self) -> tuple[float, ...]:
        return tuple(asdict(self).values())


FEATURES = tuple(EvidenceFeatures.__dataclass_fields__)
AGREEING = 10  # the best sentences whose pages count for ``agree`` (the shipped model was fitted so)


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

    def risk(self, features: EvidenceFeatures) -> float:
        z = self.intercept + sum(
            c * (v - m) / s for c, v, m, s in zip(self.coef, features.values(), self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def applies(self, chunks: int) -> bool:
        """Whether the model is used on a corpus of ``chunks`` chunks (see ``min_chunks``)."""
        return chunks >= self.min_chunks

    def declines(self, features: EvidenceFeatures, chunks: int) -> bool:
        """Whether to decline an answer over a corpus of ``chunks`` chunks."""
        return self.applies(chunks) and self.risk(features) >= self.cut


# Fitted by `scripts/abstain_features.py --fit` (its printout, pasted): docs/evaluation.md.
NEWS = RiskModel(
    mean=(0.5940, 0.0090, 0.6530, 0.5877, 0.4709, 0.0451, 0.9734, 1.3006),
    scale=(0.1535, 0.0414, 0.1311, 0.1294, 0.2077, 0.0476, 0.0829, 0.8262),
    coef=(-0.1626, 0.3703, -1.1273, -0.0451, 0.1233, 0.0160, 0.1429, -0.3305),
    intercept=-0.7317,
    cut=0.5431,
    calibrated_for="07c9aa4122a6",
    source="scripts/abstain_features.py --fit: RealTime QA tune weeks over all 5,384 kit pages, gold vs nowhere",
    min_chunks=30_000,  # the smallest store it was checked on: 1,898 news pages, 31k chunks
)
MODELS: dict[str, RiskModel | None] = {"auto": NEWS, "news": replace(NEWS, min_chunks=0), "off": None}


def fingerprint(*params: Any) -> str:
    """A short name for frozen parameter objects' values (what a model was calibrated for)."""
    return hashlib.sha256(repr([astuple(p) for p in params]).encode()).hexdigest()[:12]
