"""Names a sentence gives and how well they fit what a question asks for (names.py), with the
bundled embedding model on sentences written for these tests."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest


@lru_cache(maxsize=1)
def _model():
    from caucasus_qa.store.embedding import BUNDLED_MODEL, load_embed_model

    return load_embed_model(BUNDLED_MODEL)


def _encode(texts: list[str]) -> np.ndarray:
    return np.asarray(_model().get_text_embedding_batch(texts), dtype=np.float32)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which streaming platform raised its prices this week?", "streaming platform"),
        ("Which automaker is facing a new inquiry?", "automaker"),
        ("What kind of dog won the show?", "dog"),
        ("Who opened the new bridge?", "person"),
        ("Where did the ferry run aground?", "place"),
        ("How many people crossed the bridge?", None),
        ("What is the new toll?", None),  # "what is": no kind named
        ("What happened to the old ferry?", None),
    ],
)
def test_the_kind_of_name_a_question_asks_for_comes_from_its_own_words(question: str, kind: str | None):
    from caucasus_qa.answering.names import asked_for

    assert asked_for(question) == kind


def test_the_sentence_whose_new_name_fits_the_asked_for_kind_scores_highest():
    from caucasus_qa.answering.names import fits

    question = "Which carmaker recalled half a million vehicles over faulty brakes?"
    texts = [
        "Regulators in Brussels said on Tuesday that the recall covers vehicles sold since 2021.",  # premise, a city
        "Toyota said it would replace the brake units free of charge.",  # the answer, sentence-initial
        "Shares of the company fell 4% in early trading.",  # no name at all
    ]
    got = fits(question, texts, _encode)
    assert got[1] == 1.0 and got[1] > got[0] and got[2] == 0.0
    assert fits("How many vehicles were recalled?", texts, _encode) == [0.0, 0.0, 0.0]  # no kind asked


def test_names_the_question_gives_do_not_count_as_new():
    from caucasus_qa.answering.names import fits

    question = "Which carmaker did Toyota overtake in sales?"
    texts = ["Toyota sold more cars than ever.", "Toyota overtook Volkswagen in global sales, analysts in Tokyo said."]
    got = fits(question, texts, _encode)
    assert got[0] == 0.0 and got[1] == 1.0  # the first sentence's only name is the question's own
    one_candidate = texts[:1] + ["Toyota overtook Volkswagen."]
    assert fits(question, one_candidate, _encode) == [0.0, 0.0]  # nothing to tell it from


def test_name_fit_reorders_the_best_sentences_and_is_off_at_weight_zero():
    from caucasus_qa.answering.extractive import Scored, fit_names
    from caucasus_qa.articles.evidence import Sentence

    def scored(text: str, score: float) -> Scored:
        return Scored(Sentence("a", 0, len(text), text, 0), score, score, score, score, False)

    question = "Which airline cancelled hundreds of flights after the storm?"
    ranked = [
        scored("Hundreds of flights were cancelled in Chicago after the storm on Sunday.", 0.60),
        scored("Delta Air Lines cancelled most of its flights out of the city.", 0.55),
    ]
    assert "Delta" in fit_names(question, ranked, 0.2, _encode, depth=20)[0].sentence.text
    assert fit_names(question, ranked, 0.0, _encode, depth=20) == ranked
    assert fit_names(question, ranked, 0.2, _encode, depth=1) == ranked  # only the best one may gain
    assert fit_names("Which year did the airline cancel flights?", ranked, 0.2, _encode, depth=20) == ranked


def test_name_vectors_are_encoded_once_and_the_oldest_are_let_go():
    from caucasus_qa.answering.names import NameVectors

    calls: list[list[str]] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return _encode(texts)

    kept = NameVectors(counting, size=3)
    first = kept(["Oslo", "Lagos", "Oslo"])
    assert calls == [["Oslo", "Lagos"]] and np.allclose(first[0], first[2])
    again = kept(["Lagos", "Quito", "Perth"])  # Lagos kept; Quito and Perth new; Oslo let go (size 3)
    assert calls[1] == ["Quito", "Perth"] and np.allclose(again[0], first[1])
    kept(["Oslo"])
    assert calls[2] == ["Oslo"]
    assert np.abs(kept(["Perth"])[0] - _encode(["Perth"])[0]).max() < 1e-4  # batched with others, same vector
