"""Which-country and which-state questions prefer sentences that name one (places.py), on articles
written here."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import ingested, write

from caucasus_qa.answering.places import asked_kind, named


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which country will host the summit?", "country"),
        ("Which European country banned the sale of the drink?", "country"),
        ("What countries signed the accord?", "country"),
        ("Which US state passed the law?", "state"),
        ("Which state sued the company?", "state"),
        ("Who visited the country this week?", None),
        ("What did the state governor say?", None),
    ],
)
def test_the_kind_of_place_a_question_asks_for(question, kind):
    assert asked_kind(question) == kind


def test_places_named_in_a_sentence():
    text = "Talks between Russia and Ukraine in Saudi Arabia went on while Texas and New Mexico voted."
    assert named("country", text) == {"Russia", "Ukraine", "Saudi Arabia"}
    assert named("state", text) == {"Texas", "New Mexico"}
    assert named("country", "Korea, Republic of") == set()  # ISO's inverted names never match running text


SUMMIT = """Harbour summit set for the spring

Delegates from the coastal states agreed that the harbour summit will be hosted next spring, the
organisers said on Tuesday, after long talks about which country would host the harbour summit.
The summit will be held in Portugal, in the city of Porto, according to the organisers.
Ministers will discuss fishing quotas and port fees at the meeting.
"""


@pytest.fixture(scope="module")
def summit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summit")
    write(folder / "summit.txt", SUMMIT)
    return ingested(tmp_path_factory, folder)


def test_a_which_country_question_is_answered_by_the_sentence_naming_the_country(summit):
    question = "Which country will host the harbour summit?"
    blind = replace(summit.extractive.weights, place_named=0.0)
    # sentence scoring alone (the reader off): without the place weight the restatement wins on words
    without = summit.using(extractive=replace(summit.extractive, weights=blind, reader=None))
    assert "Portugal" not in without.ask(question).citations[0].quote
    answer = summit.ask(question)
    assert not answer.abstained and "Portugal" in answer.citations[0].quote
