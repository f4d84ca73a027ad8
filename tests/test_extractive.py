"""The extractive answerer's pieces that need no store."""

from __future__ import annotations


def test_an_attribution_never_shows_an_article_id():
    from caucasus_qa.answering.answer import Citation

    bare = Citation(1, "A quote.", "a1b2c3d4e5f6", None, None, None, None, 0, 8)
    assert bare.attribution is None  # issue 3.2: no outlet, no title: no "According to" at all
    dated = Citation(1, "A quote.", "a1b2c3d4e5f6", "Bridge reopens", None, "2024-03-07", None, 0, 8)
    assert dated.attribution == "According to “Bridge reopens” (2024-03-07)"


def _scored(article_id: str, text: str, score: float):
    from caucasus_qa.answering.extractive import Scored
    from caucasus_qa.articles.evidence import Sentence

    return Scored(Sentence(article_id, 0, len(text), text, 0), score, score, score, score, False)


def test_a_name_several_pages_give_outvotes_one_page_s_better_scored_sentence():
    from caucasus_qa.answering.extractive import vote

    scored = [
        _scored("a", "The ministers of Fooland met the delegation to sign the river treaty.", 0.56),
        _scored("b", "Barland signed the river treaty after a decade of talks, officials said.", 0.50),
        _scored("c", "The river treaty was signed by Barland on Friday in the capital.", 0.48),
        _scored("b", "Talks on the river treaty began ten years ago.", 0.40),
    ]
    question = "Which country signed the river treaty?"
    voted = vote(question, scored, weight=0.3)
    assert "Barland" in voted[0].sentence.text and voted[0].score > scored[1].score
    assert vote(question, scored, weight=0.0) == scored  # off: unchanged
    assert vote("How many years did the river treaty talks take?", scored, weight=0.3) == scored  # not a name


def test_names_a_sentence_adds_to_the_question_leave_out_asked_words_and_calendar_words():
    from caucasus_qa.answering.names import names_in
    from caucasus_qa.text import terms

    asked = set(terms("Which company did Maria Lopez sell to Northwind Holdings?"))
    got = names_in("On Monday, Maria Lopez sold Eastgate Works to Northwind Holdings in January.", asked)
    assert got == {" ".join(terms("Eastgate Works"))}
