"""The reader (reading/): questions analysed by the real spaCy pipeline, candidates of the asked
kind read against the question, the short answer first, declines when nothing of the asked kind
is tied to what was asked. Articles written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write

# Three short articles in the shapes users drop; each detail sits after a lead that shares the
# question's topic words, so quoting the lead is the typical wrong answer.
CYCLE_LANES = (
    "Brackwater approves riverside cycle lanes\n"
    "By Tomasz Wren, Brackwater Post, June 3, 2025\n"
    "\n"
    "The Brackwater town council voted 6-3 on Monday to approve nine miles of protected cycle lanes "
    "along the river.\n"
    "\n"
    "Construction of the lanes will cost about $3.1 million, paid for by a regional transport grant. "
    "Work is expected to begin in September and last eight months.\n"
    "\n"
    "Councillor Ada Pryce, who proposed the plan, said the lanes would link the station with the new "
    "university campus.\n"
)

CANAL_TUNNEL = (
    "# Canal tunnel reopens after a year of repairs\n"
    "\n"
    "The Harrowgate canal tunnel reopened to boats on Friday after a year of repairs to its brick lining.\n"
    "\n"
    "The work was done by Quillon Marine Works, a firm from Dunmere that specialises in old waterways. "
    "About 140 volunteers helped clear silt from the approach channels. "
    "The restoration trust said that 2,300 boats passed through the tunnel in its last full year "
    "before it closed.\n"
)

BUS_STRIKE = (
    "<html><head><title>Bus drivers in Ostley end two-week strike</title></head><body>\n"
    "<h1>Bus drivers in Ostley end two-week strike</h1>\n"
    "<p>Bus drivers in Ostley returned to work on Thursday, ending a two-week strike over pay.</p>\n"
    "<p>The drivers' union accepted a pay rise of 6 percent over two years. "
    "The strike was led by union organiser Benedikt Soames, who said the deal protected weekend rates. "
    "About 420 drivers took part in the walkout, which halted every route in the city.</p>\n"
    "</body></html>\n"
)

# Counts of other things, lengths beside points in time, a sum after its currency sign, and
# common nouns beside a who-question nobody in the article answers.
HARVEST_PARADE = (
    "Eastmoor harvest parade returns after a break\n"
    "By Lena Hartigan, Eastmoor Echo, October 6, 2025\n"
    "\n"
    "The Eastmoor harvest parade returned to the town centre on Saturday after a break of three years.\n"
    "\n"
    "About 3,000 cars were parked in fields around the town during the parade, the police said. "
    "The parade committee met for two hours on Monday evening to agree the route for the coming year.\n"
    "\n"
    "The procession, its first in three years, set off from the market square at noon. It ended in a "
    "meadow beside the river, where a brass band played until dusk. The meadow covers about 30 acres.\n"
    "\n"
    "Tickets for the evening dance cost £12, and the committee said every penny of the profit would go "
    "to the town's food bank.\n"
    "\n"
    "Eastmoor, a market town in the Marsh Ferry district, has held the parade since 1951. The brass band "
    "came from the village of Low Sallow, twelve miles to the north. The evening dance was held in the barn "
    "of Hollin Farm, whose owner, retired baker Ada Quill, lent it free of charge.\n"
)


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory):
    from caucasus_qa import Assistant

    folder = tmp_path_factory.mktemp("reading-articles")
    write(folder / "cycle-lanes.txt", CYCLE_LANES)
    write(folder / "canal-tunnel.md", CANAL_TUNNEL)
    write(folder / "bus-strike.html", BUS_STRIKE)
    write(folder / "harvest-parade.txt", HARVEST_PARADE)
    assistant = Assistant(store=tmp_path_factory.mktemp("reading-store"))
    assert assistant.ingest([folder]).ok
    return assistant


@pytest.mark.parametrize(
    ("question", "short", "quote_holds"),
    [
        ("How much will the cycle lanes cost?", "$3.1 million", "will cost about $3.1 million"),
        ("Which company carried out the tunnel repairs?", "Quillon Marine Works", "The work was done by Quillon"),
        ("Who led the bus strike?", "Benedikt Soames", "The strike was led by"),
        ("How many drivers took part in the strike?", "420", "About 420 drivers took part"),
        ("How many volunteers helped with the tunnel?", "140", "About 140 volunteers"),
        ("How many cars were parked around Eastmoor during the parade?", "3,000", "About 3,000 cars"),
        ("How long was the break before the Eastmoor parade returned?", "three years", "after a break of"),
        ("How many hours did the Eastmoor parade committee meet?", "two hours", "met for two hours"),
        ("When did the Eastmoor harvest parade return?", "Saturday", "returned to the town centre"),
        ("How much do tickets for the Eastmoor evening dance cost?", "£12", "cost £12"),
        ("Who played until dusk after the Eastmoor parade?", "brass band", "where a brass band played"),  # a doer
        ("In which district is the market town of Eastmoor?", "Marsh Ferry", "in the Marsh Ferry district"),  # a name
        ("From which village did the Eastmoor brass band come?", "Low Sallow", "the village of Low Sallow"),
        ("Who owns the barn where the Eastmoor evening dance was held?", "Ada Quill", "whose owner"),  # owner: owns
    ],
)
def test_the_short_answer_comes_first_inside_the_quote_that_states_it(qa, question, short, quote_holds):
    answer = qa.ask(question)
    assert not answer.abstained, answer.notes
    assert answer.span is not None and short in answer.span.text
    first = answer.citations[0]
    assert quote_holds in first.quote  # not the lead that shares the topic words
    assert answer.span.cite == first.n and first.quote[answer.span.start : answer.span.end] == answer.span.text
    assert answer.text.startswith(answer.span.text + " — ")
    assert answer.to_dict()["short_answer"] == {
        "text": answer.span.text,
        "cite": first.n,
        "start": answer.span.start,
        "end": answer.span.end,
    }


@pytest.mark.parametrize(
    "question",
    [
        "How much did the new bus depot cost?",  # the strike article mentions no depot
        "Who was the architect of the canal tunnel?",  # no architect is named
        "How many people watched the Eastmoor harvest parade?",  # 3,000 counts cars, not people
        "Who owns the meadow where the Eastmoor parade ended?",  # "a brass band" owns nothing
        "How many stalls stood in the Eastmoor meadow?",  # "about 30 acres" counts acres, not stalls
        "What is Eastmoor's GDP?",  # a possessed attribute: no sum or number in the article
        pytest.param(
            "How much will the Eastmoor committee donate to the food bank?",  # £12 is what tickets cost
            marks=pytest.mark.xfail(
                strict=True,
                reason="known miss: the topic stands in the £12 sentence and nothing reads that 'donate' is not "
                "'cost' (word vectors of the bundled embedder were tried: no gain, docs/evaluation.md)",
            ),
        ),
    ],
)
def test_an_on_topic_question_the_articles_do_not_answer_is_declined(qa, question):
    answer = qa.ask(question)
    assert answer.abstained, answer.text
    assert answer.span is None and answer.to_dict()["short_answer"] is None


def test_ask_json_shows_the_short_answer(qa, tmp_path: Path):
    from tests.conftest import run_cli

    store = qa.settings.store
    out = run_cli("ask", "--json", "--store", str(store), "How much will the cycle lanes cost?")
    assert out.returncode == 0, out.stderr
    import json

    data = json.loads(out.stdout)
    assert "$3.1 million" in data["short_answer"]["text"]
    quote = data["citations"][0]["quote"]
    assert quote[data["short_answer"]["start"] : data["short_answer"]["end"]] == data["short_answer"]["text"]


# -- the parts, on sentences written here --------------------------------------------------
@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much will the harbour wall cost?", "money"),
        ("What will tickets for the gala cost?", "money"),
        ("By how much did ridership grow?", "amount"),
        ("How many nurses signed the letter?", "count"),
        ("Which firm designed the new library?", "org"),
        ("Who chaired the inquiry?", "person"),
        ("In which town did the festival open?", "place"),
        ("When did the ferry service resume?", "date"),
        ("How long will the closure last?", "duration"),
        ("What percentage of voters backed the plan?", "percent"),
        ("Why did the mill close?", "description"),
        ("What was the turnout?", "thing"),
        ("How much money will the cuts save?", "money"),
        ("How much federal funding did the port receive?", "money"),
        ("What weekly wage will the striker earn?", "money"),
        ("How many hours did the hearing last?", "duration"),
        ("How many league goals did she score?", "count"),
    ],
)
def test_a_question_is_read_for_the_kind_of_answer_it_asks_for(question, kind):
    from caucasus_qa.answering.reading import analyse
    from caucasus_qa.answering.reading.language import parser

    assert analyse(question, parser()).kind == kind


def test_the_predicate_and_topic_are_told_apart():
    from caucasus_qa.answering.reading import analyse
    from caucasus_qa.answering.reading.language import parser

    asked = analyse("Which company carried out the tunnel repairs?", parser())
    assert asked.focus == "company" and {"carry", "out"} <= asked.predicate
    assert {"tunnel", "repair"} <= asked.topic
    asked = analyse("How many league goals did she score?", parser())
    assert asked.focus == "goal" and "goal" not in asked.predicate  # what is counted, read by "unit"
    asked = analyse("Who is the principal of Ashgrove Primary?", parser())
    assert "principal" in asked.predicate and "ashgrove primary" in asked.named


@pytest.mark.parametrize(
    ("question", "verb"),
    [
        ("How many households does the Lowmere water board supply?", "supply"),
        ("When does the Corran choir's autumn tour start?", "start"),
        ("In which village did the Ashby Four record their album?", "record"),
        ("How many goals did Ines Calder score last season?", "score"),
        ("In which town did the Ashby Four record Silver Lanes?", "record"),
    ],
)
def test_a_do_question_keeps_its_verb_as_the_predicate(question, verb):
    from caucasus_qa.answering.reading import analyse
    from caucasus_qa.answering.reading.language import parser
    from caucasus_qa.text import terms

    asked = analyse(question, parser())  # the small pipeline tags a question's last bare verb a noun
    assert verb in asked.predicate and terms(verb)[0] not in asked.topic


def test_a_why_question_gets_the_reason_clause_as_its_short_answer():
    from caucasus_qa.answering.reading.composition import reason_clause
    from caucasus_qa.answering.reading.language import parser

    text = "The mill closed in May because its owners could no longer afford the repairs."
    start, end = reason_clause(parser().one(text))
    assert text[start:end] == "because its owners could no longer afford the repairs"
    assert reason_clause(parser().one("The mill closed in May after a long dispute.")) is None


def test_the_decline_threshold_keeps_answerable_questions():
    from caucasus_qa.answering.reading.scoring import best_threshold

    # (probability, best candidate right, answerable): one cut separates them
    best = [(0.9, True, True), (0.8, True, True), (0.7, True, True), (0.3, False, False), (0.2, False, False)]
    cut = best_threshold(best)
    assert 0.3 < cut <= 0.7
    # a cut that declines more than 5% of the answerable questions is never chosen
    assert best_threshold([*best, (0.25, True, True)]) <= 0.25


def test_the_decline_threshold_holds_each_sources_own_limit():
    from caucasus_qa.answering.reading.scoring import best_threshold

    # 30 answerable (one of them, of source B, at 0.35) and 5 unanswerable at 0.4: pooled, a cut
    # above 0.4 declines 1 of 30 answerable (3%); B's own limit (5% of its 10) forbids it
    best = [(0.9, True, True)] * 29 + [(0.35, True, True)] + [(0.4, False, False)] * 5
    sources = ["A"] * 20 + ["B"] * 10 + ["A"] * 5
    assert best_threshold(best) > 0.4
    assert best_threshold(best, sources, {"B": 0.05}) <= 0.35


def test_a_missing_reader_model_names_what_to_install():
    from caucasus_qa.answering.reading.language import load
    from caucasus_qa.errors import ConfigError

    with pytest.raises(ConfigError, match="not installed: pip install"):
        load("en_core_web_nonexistent")


def test_a_missing_reader_model_is_one_line_from_the_cli(qa):
    from tests.conftest import run_cli

    env = {"CAUCASUS_QA_READER_MODEL": "en_core_web_nonexistent"}
    out = run_cli("ask", "--store", str(qa.settings.store), "Who led the bus strike?", env=env)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "pip install" in out.stderr


def test_the_short_answer_is_bold_inside_the_highlighted_quote(qa):
    from caucasus_qa.faces.chat import chat_text, sources_html

    answer = qa.ask("Who led the bus strike?")
    page = sources_html(answer, qa.article_text)
    assert '<strong class="cqa-answer">Benedikt Soames</strong>' in page
    assert chat_text(answer).startswith("**Benedikt Soames** — ")


def test_a_short_answer_that_is_not_verbatim_is_dropped():
    from dataclasses import replace

    from caucasus_qa.answering.answer import Answer, AnswerSpan, Citation, Claim
    from caucasus_qa.answering.engine import keep_verified

    text = "The ferry was built by Lorne Yards in 1998."
    cite = Citation(1, text, "a", None, None, None, None, 0, len(text))
    good = Answer("q", "", False, [cite], claims=[Claim(text, (1,))], span=AnswerSpan("Lorne Yards", 1, 23, 34))
    assert keep_verified(good, lambda _: text).span == good.span
    bad = replace(good, span=AnswerSpan("Lorne Shipyards", 1, 23, 38))
    assert keep_verified(bad, lambda _: text).span is None


@pytest.mark.parametrize(
    ("sentence", "point"),
    [
        ("The fire at the Corran mill started on Tuesday afternoon near the loading bay.", "Tuesday afternoon"),
        ("The Lowmere ferry sailed again on Sunday morning after the storm.", "Sunday morning"),
        ("Voting in the Ashby by-election closed at 10 p.m. on Thursday.", "10 p.m. on Thursday"),
    ],
)
def test_a_day_and_its_time_of_day_are_one_point_in_time(sentence, point):
    from caucasus_qa.answering.reading import analyse
    from caucasus_qa.answering.reading.candidates import spans
    from caucasus_qa.answering.reading.language import parser

    asked = analyse("When did it happen?", parser())
    doc = parser().one(sentence)
    found = [sentence[s:e] for s, e, _ in spans(asked, doc, set())]
    assert point in found, found  # the recogniser labels "Tuesday" a DATE and "afternoon" a TIME


@pytest.mark.parametrize(
    ("question", "sentence", "not_a_candidate", "candidate"),
    [
        ("Which city raised its fee?", "The famed Italian city of Orvanto raised its fee.", "Italian", "Orvanto"),
        ("Which app did Montana ban?", "Montana banned the Chinese-owned video app Flicker.", "Chinese", "Flicker"),
        ("Which chain ended the policy?", "The Ashby-based chain Brewline ended the policy.", "Ashby", "Brewline"),
        ("Who won the Corran relay?", "The Danish won the Corran relay, and the Dutch came second.", None, "Danish"),
    ],
)
def test_a_nationality_or_base_describing_a_noun_is_not_a_name_answer(question, sentence, not_a_candidate, candidate):
    from caucasus_qa.answering.reading import analyse
    from caucasus_qa.answering.reading.candidates import spans
    from caucasus_qa.answering.reading.language import parser

    asked = analyse(question, parser())
    found = [sentence[s:e] for s, e, _ in spans(asked, parser().one(sentence), set())]
    assert any(candidate in f for f in found), found  # a name the sentence gives, or a people who did it
    assert not_a_candidate is None or not_a_candidate not in found  # "the Italian city": which city is not "Italian"
