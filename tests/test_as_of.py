"""Questions asked as of a date: later pages left out, recent ones preferred, undated ones kept."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import write

from caucasus_qa import Assistant
from caucasus_qa.answering.retrieval import Recency, published_on, recency
from caucasus_qa.errors import QuestionError
from caucasus_qa.store.ingestion import ingest


def test_recency_drops_later_pages_raises_recent_ones_and_keeps_undated_ones():
    as_of = date(2024, 6, 1)
    fused = {"old": 0.5, "recent": 0.5, "late": 0.9, "undated": 0.5}
    dates = {"old": date(2019, 6, 1), "recent": date(2024, 5, 31), "late": date(2024, 6, 2), "undated": None}
    got = recency(fused, dates, as_of, weight=0.2, days=60)
    assert "late" not in got and got["undated"] == 0.5
    assert got["recent"] > got["old"] > 0.5 - 1e-9 and got["recent"] <= 0.5 + 0.2
    assert recency(fused, dates, as_of, weight=0.0, days=60) == {k: 0.5 for k in ("old", "recent", "undated")}


def test_a_question_about_the_asker_s_present_gets_the_stronger_shorter_recency():
    r = Recency(weight=0.1, days=365, present_weight=0.4, present_days=14)
    for question in ("Which app surged this week?", "Who resigned on Monday?", "What did the court rule today?",
                     "Which team won last weekend?", "What was announced recently?"):  # fmt: skip
        assert r.for_question(question) == (0.4, 14), question
    for question in ("Which app is the most popular?", "What happens every Monday morning?", "Who won in 2019?"):
        assert r.for_question(question) == (0.1, 365), question
    assert Recency(weight=0.3, present_weight=0.1).for_question("Who left this week?")[0] == 0.3  # never weaker


def test_a_page_s_date_comes_from_its_metadata_or_else_its_url():
    assert published_on({"published": "2024-03-09", "url": "https://x.example/2020/01/01/a"}) == date(2024, 3, 9)
    assert published_on({"url": "https://x.example/news/2020/01/02/a"}) == date(2020, 1, 2)
    assert published_on({"url": "https://x.example/news/a"}) is None and published_on({}) is None


STORY = (
    "The {city} marathon was won by {winner}, who finished in two hours and nine minutes. "
    "Organisers said a record field of runners took part in the {city} marathon this year."
)


@pytest.fixture
def dated_store(settings, tmp_path):
    rows = [
        {"id": "m2019", "title": "Marathon result", "url": "https://news.example/2019/04/14/marathon",
         "text": STORY.format(city="Lakeport", winner="Tomas Rielly")},
        {"id": "m2024", "title": "Marathon result", "url": "https://news.example/2024/04/14/marathon",
         "text": STORY.format(city="Lakeport", winner="Anya Brenner")},
    ]  # fmt: skip
    ingest(settings, [write(tmp_path / "c" / "pages.jsonl", "\n".join(map(json.dumps, rows)))])
    return Assistant(settings=settings)


@pytest.mark.slow
def test_asking_as_of_a_date_answers_from_the_pages_of_that_time(dated_store):
    question = "Who won the Lakeport marathon?"
    then = dated_store.ask(question, as_of="2019-05-01")
    assert {c.article_id for c in then.citations} == {"m2019"} and "Rielly" in then.text
    assert then.citations[0].published == "2019-04-14"
    now = dated_store.ask(question, as_of=date(2024, 5, 1))
    assert now.citations and now.citations[0].article_id == "m2024" and "Brenner" in now.text
    before_both = dated_store.retrieve(question, as_of="2018-01-01")
    assert before_both == []
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        dated_store.ask(question, as_of="last spring")


@pytest.mark.slow
def test_the_chat_s_as_of_date_reaches_the_answer(dated_store):
    from caucasus_qa.faces.chat import Handlers

    *_, last = Handlers(dated_store).respond("Who won the Lakeport marathon?", [], [], 3, "extractive", "2019-05-01")
    chat, panel, _, _ = last
    assert "Rielly" in chat[-1]["content"] and "Brenner" not in chat[-1]["content"] and "2019-04-14" in panel
