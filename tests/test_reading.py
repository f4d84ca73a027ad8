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


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory):
    from caucasus_qa import Assistant

    folder = tmp_path_factory.mktemp("reading-articles")
    write(folder / "cycle-lanes.txt", CYCLE_LANES)
    write(folder / "canal-tunnel.md", CANAL_TUNNEL)
    write(folder / "bus-strike.html", BUS_STRIKE)
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
