"""The load benchmark's verdict on answers given during an ingest (``load.Tally``)."""

from __future__ import annotations

from caucasus_qa.ingestion import batch_size
from caucasus_qa.load import Tally


def test_an_answer_is_torn_only_if_no_finished_state_gave_it() -> None:
    before = {"q": (False, "a", "one")}
    after = {"q": (False, "b", "two")}
    tally = Tally(seen=[("q", before["q"]), ("q", after["q"]), ("q", (False, "c", "three"))])
    assert tally.torn(before, after) == ["q"]  # the third matches neither end
    assert tally.torn(before, after, {"q": {(False, "c", "three")}}) == []  # a batch boundary gave it
    assert tally.torn(before, after, {"q": {(True, None, None)}}) == ["q"]
    assert tally.moved(before) == 2


def test_batches_are_small_for_a_small_ingest_and_capped_for_a_large_one() -> None:
    assert batch_size(64, 1) == 1
    assert batch_size(64, 64) == 4  # about 20 batches
    assert batch_size(64, 500) == 25
    assert batch_size(64, 10_000) == 64
