"""The risk model that declines beyond the evidence threshold (abstention.py), on articles written here."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import ingested

from caucasus_qa.answering.abstention import (
    DATED_FEATURES,
    FEATURES,
    MODELS,
    NEWS,
    EvidenceFeatures,
    RiskModel,
    fingerprint,
    staleness,
)
from caucasus_qa.answering.extractive import Selection, Weights

TOWN = Path(__file__).parent / "data" / "town"


def _model(coef: dict[str, float], cut: float, min_chunks: int = 0, names: tuple[str, ...] = FEATURES) -> RiskModel:
    """A model whose risk rises with the named features (unit scale, zero mean)."""
    return RiskModel(
        mean=(0.0,) * len(names),
        scale=(1.0,) * len(names),
        coef=tuple(coef.get(name, 0.0) for name in names),
        intercept=0.0,
        cut=cut,
        calibrated_for=fingerprint(Weights(), Selection()),
        source="written for this test",
        min_chunks=min_chunks,
        features=names,
    )


def _features(**values: float) -> EvidenceFeatures:
    dated = {name: values.get(name) for name in DATED_FEATURES if name not in FEATURES}
    return EvidenceFeatures(**{name: values.get(name, 0.0) for name in FEATURES}, **dated)


def test_risk_is_the_logistic_of_the_standardised_features():
    model = _model({"oov": 2.0, "agree": -1.0}, cut=0.5)
    assert model.risk(_features()) == pytest.approx(0.5)
    assert model.risk(_features(oov=1.0)) == pytest.approx(1 / (1 + 2.718281828**-2))
    assert model.declines(_features(oov=1.0), chunks=10) and not model.declines(_features(agree=1.0), chunks=10)


def test_a_model_is_not_used_on_a_corpus_smaller_than_it_was_fitted_for():
    model = _model({"oov": 2.0}, cut=0.5, min_chunks=1_000)
    assert not model.declines(_features(oov=1.0), chunks=999)
    assert model.declines(_features(oov=1.0), chunks=1_000)


def test_the_shipped_model_names_its_source_and_the_weights_it_was_fitted_under():
    assert len(NEWS.mean) == len(NEWS.scale) == len(NEWS.coef) == len(FEATURES)
    assert NEWS.source and NEWS.min_chunks > 0 and 0 < NEWS.cut < 1
    assert NEWS.calibrated_for == fingerprint(Weights(), Selection()), "refit: scripts/abstain_features.py --fit"
    assert MODELS["off"] is None and MODELS["news"].min_chunks == 0 and MODELS["auto"] is NEWS


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    return ingested(tmp_path_factory, TOWN)


def test_the_risk_model_declines_an_answer_the_threshold_alone_gives(town):
    question = "What did the mayor say about the closure?"
    assert not town.ask(question).abstained  # the threshold alone answers
    weak_top = _model({"top": -1.0}, cut=0.0)  # every answer is risky at cut 0: declines
    cautious = town.using(extractive=replace(town.extractive, risk_model=weak_top))
    declined = cautious.ask(question)
    assert declined.abstained and declined.citations == []
    lenient = town.using(extractive=replace(town.extractive, risk_model=_model({"top": -1.0}, cut=1.0)))
    assert not lenient.ask(question).abstained


def test_the_default_model_leaves_a_small_store_to_the_threshold(town):
    assert town.settings.abstain_model == "auto"
    assert town.extractive.risk_model is NEWS and town.corpus_stats().n < NEWS.min_chunks
    question = "What did the mayor say about the closure?"
    off = town.using(extractive=replace(town.extractive, risk_model=None))
    assert town.ask(question).text == off.ask(question).text


def test_features_come_from_the_scored_evidence(town):
    seen = {}
    extractive = town.extractive

    class Recording(type(extractive)):  # type: ignore[misc]
        def risky(self, question, scored, oov, passages, confidence, as_of):  # asked with or without the reader
            seen["f"] = self.features(question, scored, oov, passages, confidence, as_of)
            seen["confidence"] = confidence
            return super().risky(question, scored, oov, passages, confidence, as_of)

    recording = Recording(**{f: getattr(extractive, f) for f in extractive.__dataclass_fields__})
    town.using(extractive=recording).ask("What did the mayor say about the closure?")
    f = seen["f"]
    assert f.evidence == seen["confidence"] and 0 < f.top and -1 <= f.cos <= 1 and 0 <= f.lex <= 1
    assert f.oov == 0.0 and f.gap >= 0 and f.agree >= 1  # the best sentence's own page agrees with it
    assert f.stale is None and f.present_stale is None  # not asked as of a date
    town.using(extractive=recording).ask("What did the mayor say about the zeppelinworks closure?")
    assert seen["f"].oov > 0  # a word found nowhere in the corpus


def test_staleness_is_the_log_age_of_the_newest_quoted_page_and_a_year_when_none_is_dated():
    day = date(2025, 3, 10)
    assert staleness(day, ["2025-03-03", "2024-12-01", None], present=False) == (pytest.approx(math.log1p(7)), 0.0)
    year = pytest.approx(math.log1p(365))
    assert staleness(day, [None, "not a date"], present=True) == (year, year)
    assert staleness(day, ["2025-03-20"], present=False)[0] == 0.0  # a later page counts as today's


def test_a_question_asked_as_of_a_date_is_judged_by_the_dated_model():
    dated = _model({"stale": 1.0}, cut=1 / (1 + math.exp(-5.0)), names=DATED_FEATURES)  # stale >= 5: ~5 months
    model = replace(_model({"oov": 2.0}, cut=0.9), dated=dated)
    assert model.chosen(_features()) is model and model.chosen(_features(stale=0.0)) is dated
    assert model.declines(_features(stale=6.0), chunks=10) and not model.declines(_features(stale=1.0), chunks=10)
    assert not model.declines(_features(oov=6.0, stale=1.0), chunks=10)  # the dated model ignores what the other weighs
    assert model.declines(_features(oov=6.0), chunks=10)
    assert NEWS.dated is not None and NEWS.dated.features == DATED_FEATURES and NEWS.dated.min_chunks == NEWS.min_chunks
    assert MODELS["news"].dated.min_chunks == 0


def test_the_age_of_the_quoted_page_as_of_the_asker_s_date_can_decline(town):
    question = "What are shop owners near the harbour bridge preparing for?"  # the Valley Post, 2024-03-05
    dated = _model({"stale": 1.0}, cut=1 / (1 + math.exp(-5.0)), names=DATED_FEATURES)
    aware = town.using(extractive=replace(town.extractive, risk_model=replace(_model({}, cut=0.9), dated=dated)))
    assert not aware.ask(question).abstained  # undated: the undated model
    assert not aware.ask(question, as_of="2024-03-10").abstained  # five days old
    late = aware.ask(question, as_of="2026-01-01")  # two years old
    assert late.abstained and late.citations == []
