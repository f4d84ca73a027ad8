"""Grounded answers on articles written for these tests (a fictional town), through the public API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ingested

import caucasus_qa
from caucasus_qa import Assistant
from caucasus_qa.answering.answer import ABSTAIN_TEXT, Answer, Citation, Claim, verify
from caucasus_qa.answering.engine import compose, keep_verified
from caucasus_qa.assistant import MAX_QUESTION_CHARS, clean_question
from caucasus_qa.errors import QuestionError, StoreError

TOWN = Path(__file__).parent / "data" / "town"


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    return ingested(tmp_path_factory, TOWN)


def assert_grounded(qa: Assistant, answer: Answer) -> None:
    """Every citation stands verbatim at its offsets and every [n] marker points at one."""
    for c in answer.citations:
        assert qa.article(c.article_id).text[c.start : c.end] == c.quote
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}


def test_answer_quotes_the_article_with_outlet_author_and_date(qa):
    a = qa.ask("What did the mayor say about the closure?")
    assert not a.abstained and "unavoidable" in a.text
    assert_grounded(qa, a)
    top = a.citations[0]
    assert (top.outlet, top.author, top.published) == ("Coastal Times", "Maria Jensen", "2024-03-03")
    assert top.article_id == "bridge-coastal" and top.title.startswith("Lindenholm to close")


@pytest.mark.parametrize(
    "question",
    [
        "What is the recipe for apple pie?",
        "Where did the giraffe escape from?",  # a teaser on the ferry page: stripped at ingest
        "Who won the national bread award?",  # another teaser
    ],
)
def test_questions_the_articles_do_not_answer_are_declined(qa, question):
    a = qa.ask(question)
    assert a.abstained and a.text == ABSTAIN_TEXT and a.citations == []
    assert all("giraffe" not in c.quote.lower() for c in a.related)
    for c in a.related:
        assert verify(c, qa.article(c.article_id).text)


def test_conflicting_numbers_are_presented_with_both_outlets(qa):
    a = qa.ask("How many workers were injured at the bridge?")
    assert a.conflict and not a.abstained
    assert "Three workers" in a.text and "Two workers" in a.text
    assert "Valley Post" in a.text and "Coastal Times" in a.text
    assert_grounded(qa, a)


def test_when_question_prefers_dated_sentences_and_names_the_source(qa):
    a = qa.ask("When will the harbour bridge close?")
    assert "April 2024" in a.text and a.conflict
    assert re.search(r"According to (Valley Post \(2024-03-05\)|Coastal Times \(2024-03-03\))", a.text)


ACCOUNTS = Path(__file__).parent / "data" / "accounts"  # two outlets on one ferry accident


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    return ingested(tmp_path_factory, ACCOUNTS)


def test_a_disputed_cause_is_presented_as_different_accounts(accounts):
    a = accounts.ask("How did the ferry captain die?")
    assert a.conflict and not a.abstained and "different accounts" in a.text
    assert "Harbourside Herald" in a.text and "North Coast Daily" in a.text
    assert "heart attack" in a.text and "head injuries" in a.text
    assert_grounded(accounts, a)


def test_when_question_answered_by_a_relative_date_brings_the_calendar_date(accounts):
    a = accounts.ask("When did the ferry Solvik strike the cargo barge in fog?")
    assert "late last week" in a.text and "June 13, 2024" in a.text
    assert "According to North Coast Daily (2024-06-18)" in a.text
    assert_grounded(accounts, a)


def test_possessives_and_question_words_do_not_count_as_missing_topics(accounts):
    a = accounts.ask("What caused the captain's death?")
    assert not a.abstained and "post-mortem" in a.text


def test_instructions_inside_articles_are_just_text(qa):
    a = qa.ask("How many visitors came to the lantern festival?")
    assert "12,000" in a.text and "PWNED" not in a.text
    assert_grounded(qa, a)


def test_markup_in_articles_is_stored_as_text_and_renders_inert(qa):
    text = qa.article("festival").text
    start = text.index("<script>")
    end = text.index("onerror=alert(1)>") + len("onerror=alert(1)>")
    cite = Citation(1, text[start:end], "festival", "T", "O", None, None, start, end)
    assert verify(cite, text)
    answer = Answer("q", f"{cite.quote} [1]", False, citations=[cite])
    html_out = answer._repr_html_()
    assert "<script>" not in html_out and "<img" not in html_out and "&lt;script&gt;" in html_out
    md = answer._repr_markdown_()
    assert "](javascript:" not in md and "<script>" not in md and "<img" not in md


def test_query_engine_returns_llamaindex_response_with_cited_sources(qa):
    response = qa.query_engine.query("How often will the ferry run on weekdays?")
    answer = response.metadata["answer"]
    assert str(response) == answer.text and "twenty minutes" in answer.text
    for c in answer.citations:
        assert any(c.quote in n.node.get_content() for n in response.source_nodes)


def test_retrieve_gives_scored_passages_from_both_retrievers(qa):
    passages = qa.retrieve("lantern festival visitors", top_k=2)
    assert len(passages) == 2 and passages[0].article_id == "festival"
    assert passages[0].score >= passages[1].score
    assert passages[0].dense is not None and passages[0].bm25 is not None


def test_articles_lists_metadata_and_chunks(qa):
    arts = {a.id: a for a in qa.articles()}
    assert set(arts) == {"bridge-coastal", "bridge-valley", "festival", "ferry-page"}
    assert arts["bridge-valley"].published == "2024-03-05" and arts["ferry-page"].chunks >= 1
    assert "Giraffe" not in arts["ferry-page"].text


def test_answer_to_dict_has_the_documented_shape(qa):
    d = qa.ask("How often will the ferry run on weekdays?").to_dict()
    assert {"question", "answer", "abstained", "citations", "timings_ms"} <= set(d)
    assert set(d["citations"][0]) == {
        "n",
        "quote",
        "article_id",
        "title",
        "outlet",
        "published",
        "author",
        "start",
        "end",
    }
    assert d["timings_ms"]["total"] > 0


def test_a_quote_that_fails_verification_is_never_shown():
    text = "Alpha beta gamma. Delta epsilon zeta."
    good = Citation(1, "Alpha beta gamma.", "a", None, None, None, None, 0, 17)
    bad = Citation(2, "Delta epsilon", "a", None, None, None, None, 0, 13)  # wrong offsets
    draft = Answer(
        "q", "", False, citations=[good, bad], claims=[Claim("Alpha beta gamma.", (1,)), Claim("Delta epsilon", (2,))]
    )
    out = compose(keep_verified(draft, lambda _: text))
    assert out.text == "Alpha beta gamma. [1]" and [c.n for c in out.citations] == [1]
    only_bad = Answer("q", "", False, citations=[bad], claims=[Claim("Delta epsilon", (2,))])
    assert compose(keep_verified(only_bad, lambda _: text)).abstained


def test_questions_are_cleaned():
    assert clean_question("  Who\x00 won\t\tthe\u200b race? \x1b[31m")[0] == "Who won the race?"
    assert clean_question("\x1b]0;title\x07Who \x1b[1;31mwon\x1b[0m?")[0] == "Who won?"  # terminal codes, whole
    with pytest.raises(QuestionError):
        clean_question(" \n\t ")
    text, notes = clean_question("why " * 1000)
    assert len(text) == MAX_QUESTION_CHARS and "truncated" in notes[0]


def test_empty_store_says_to_ingest(tmp_path):
    with pytest.raises(StoreError, match="no articles ingested yet: run caucasus-qa ingest"):
        Assistant(store=tmp_path / "empty").ask("Anything?")


def test_public_surface_is_small_and_pinned():
    assert sorted(caucasus_qa.__all__) == [
        "Answer",
        "Article",
        "Assistant",
        "CaucasusQAError",
        "Citation",
        "Settings",
        "__version__",
        "load_settings",
    ]
    verbs = {n for n in vars(Assistant) if not n.startswith("_") and callable(getattr(Assistant, n))}
    assert {"ask", "retrieve", "ingest", "articles", "article"} <= verbs


class Declines:
    """An answer backend of the caller's own: declines every question."""

    name = "declines"

    def stream(self, question, passages, **context):
        yield Answer(question, ABSTAIN_TEXT, True, backend=self.name)


def test_an_answerer_handed_in_answers_instead_of_the_built_one(qa):
    question = "What did the mayor say about the closure?"
    assert not qa.ask(question).abstained
    for other in (Assistant(settings=qa.settings, answerer=Declines()), qa.using(answerer=Declines())):
        a = other.ask(question)
        assert a.abstained and a.backend == "declines"
    assert qa.ask(question).backend == "extractive"  # the original is untouched


def test_using_shares_the_loaded_model_and_rebuilds_what_depends_on_the_replacement(qa):
    from dataclasses import replace

    # with the reader on it decides, not the threshold: an answerer with neither answers nothing
    strict = qa.using(extractive=replace(qa.extractive, threshold=float("inf"), reader=None))
    assert strict.embed_model is qa.embed_model and strict.store is qa.store
    assert strict.answerer.threshold == float("inf") and qa.answerer.threshold == qa.settings.abstain_threshold
    assert strict.ask("How often will the ferry run on weekdays?").abstained
    assert not qa.ask("How often will the ferry run on weekdays?").abstained
    with pytest.raises(TypeError, match="store"):
        qa.using(store="elsewhere")


def test_article_text_is_the_text_quotes_point_into(qa):
    a = qa.ask("What did the mayor say about the closure?")
    c = a.citations[0]
    assert qa.article_text(c.article_id)[c.start : c.end] == c.quote
    assert qa.article_text("no-such-article") is None
