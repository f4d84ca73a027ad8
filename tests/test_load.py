"""The load benchmark's verdict on answers given during an ingest (``load.Tally``, ``load._replay``)
and the store version an answer names."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write

from caucasus_qa.measuring.load import Tally, _replay
from caucasus_qa.store.ingestion import batch_size


def test_an_answer_is_torn_only_if_no_finished_state_gave_it() -> None:
    before = {"q": (False, "a", "one")}
    after = {"q": (False, "b", "two")}
    tally = Tally(seen=[("q", before["q"], 1), ("q", after["q"], 3), ("q", (False, "c", "three"), 2)])
    assert tally.torn(before, after) == ["q"]  # the third matches neither end
    assert tally.moved(before) == 2


def test_an_answer_must_be_the_replayed_answer_of_the_store_version_it_names() -> None:
    versions = {1: {"q": (False, "a", "one")}, 2: {"q": (False, "c", "three")}, 3: {"q": (False, "b", "two")}}
    right = Tally(seen=[("q", (False, "a", "one"), 1), ("q", (False, "c", "three"), 2), ("q", (False, "b", "two"), 3)])
    assert right.unreplayed(versions) == []
    # version 2's answer given by a process that says it read version 3: another version's answer is not enough
    wrong = Tally(seen=[("q", (False, "c", "three"), 3)])
    assert wrong.unreplayed(versions) == [("q", 3, (False, "c", "three"), (False, "b", "two"))]
    # an answer that names no replayed version must at least be one of theirs
    unnamed = Tally(seen=[("q", (False, "c", "three"), None), ("q", (True, None, None), None)])
    assert unnamed.unreplayed(versions) == [("q", None, (True, None, None), None)]


_ARTICLES = {
    "ferry": "Harbour ferry returns. The ferry between Portlow and Innis resumed on 3 March after a two-year pause.",
    "mill": "Mill closes. The Tarrow paper mill shut its doors on Friday, ending 140 years of paper making.",
}
_PAGES = [
    {
        "id": f"p{i}",
        "title": f"Bridge vote {i}",
        "text": f"The council of Innis voted {i} times on the bridge. "
        f"Councillor Maren Sol said the bridge would open in spring, and the vote number {i} was final.",
    }
    for i in range(3)
]


def test_the_replay_answers_at_every_version_an_ingest_records_and_answers_name_it(settings, tmp_path) -> None:
    from caucasus_qa import Assistant

    corpus = tmp_path / "corpus"
    for name, text in _ARTICLES.items():
        write(corpus / f"{name}.txt", text)
    pages = write(tmp_path / "pages.jsonl", "".join(json.dumps(p) + "\n" for p in _PAGES))
    questions = ["When did the ferry between Portlow and Innis resume?", "When will the bridge open?"]
    replay = settings.replace(store=tmp_path / "replay", corpus=corpus)
    versions = _replay(replay, pages, questions)

    # the same two ingests, run as a user would, record the same versions; each answer names the one it read
    qa = Assistant(settings=settings.replace(corpus=corpus))
    qa.ingest([corpus])
    first = qa.ask(questions[0])
    assert first.store_version == qa.store.version == min(versions)
    assert qa.ingest([Path(pages)]).ok
    last = qa.ask(questions[1])
    assert last.store_version == qa.store.version == max(versions)
    assert sorted(versions) == list(range(min(versions), max(versions) + 1))  # one per batch, the first before any
    assert len(versions) == 1 + len(range(0, len(_PAGES), batch_size(settings.batch_docs, len(_PAGES))))
    assert all(set(answers) == set(questions) for answers in versions.values())
    assert versions[max(versions)][questions[1]][1] in {p["id"] for p in _PAGES}  # the pages answer the bridge


def test_batches_are_small_for_a_small_ingest_and_capped_for_a_large_one() -> None:
    assert batch_size(64, 1) == 1
    assert batch_size(64, 64) == 4  # about 20 batches
    assert batch_size(64, 500) == 25
    assert batch_size(64, 10_000) == 64
