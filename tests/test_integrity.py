"""`caucasus-qa check [--repair]`: a store's faults are found, named, and repaired from the records."""

from __future__ import annotations

import json

from conftest import run_cli
from test_ingest import chunk_count, make_corpus

from caucasus_qa.store import integrity
from caucasus_qa.store.collections import Store, chunk_id
from caucasus_qa.store.ingestion import ingest


def test_a_sound_store_checks_ok(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c")])
    report = integrity.check(Store(settings))
    assert report.ok and report.articles == 3 == report.sentence_records and report.chunks >= 3


def test_leftovers_missing_parts_and_moved_offsets_are_found_and_repaired(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c", n=4)])
    store = Store(settings)
    a, b, c, d = store.article_ids()
    chunks_b = int(store.article(b).metadata["chunks"])
    first_a = store.chunk_ids(a)[0]
    before_a = list(store.collection.get(ids=[first_a], include=["embeddings"])["embeddings"][0])
    dim = len(before_a)
    past_count = chunk_id(a, 99, store.parts(a))
    store.collection.add(ids=["ghost#0", past_count], embeddings=[[0.1] * dim] * 2, documents=["x", "y"])
    store.sentence_collection.add(ids=["ghost"], embeddings=[[0.0]], metadatas=[{"count": 0}])
    store.collection.delete(ids=[store.chunk_ids(b)[0]])  # as a write that never finished
    store.sentence_collection.delete(ids=[store.sentence_record_id(c)])
    first_d = store.chunk_ids(d)[0]
    vec = store.collection.get(ids=[first_d], include=["embeddings"])["embeddings"][0]
    store.collection.update(ids=[first_d], documents=["text that is not in the article"], embeddings=[vec])

    found = integrity.check(store)
    kinds = {(f.kind, f.article_id) for f in found.findings}
    assert kinds == {("orphan-chunks", "ghost"), ("orphan-chunks", a), ("orphan-sentences", "ghost"),
                     ("missing-chunks", b), ("missing-sentences", c), ("bad-offsets", d)}  # fmt: skip

    integrity.repair(store, found)
    again = integrity.check(Store(settings))
    assert again.ok, [str(f) for f in again.findings]
    assert int(store.article(b).metadata["chunks"]) == chunks_b
    assert list(store.collection.get(ids=[first_a], include=["embeddings"])["embeddings"][0]) == before_a  # kept
    assert chunk_count(store) == store.collection.count()


def test_the_command_exits_1_on_a_fault_and_0_once_repaired(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    store.sentence_collection.delete(ids=[store.sentence_record_id(store.article_ids()[0])])
    flags = ["--store", str(settings.store)]
    found = run_cli("check", *flags)
    assert found.returncode == 1 and "missing-sentences" in found.stderr and "check --repair" in found.stdout
    fixed = run_cli("check", "--repair", "--json", *flags)
    assert fixed.returncode == 0, fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["ok"] and len(report["repaired"]) == 1 and report["sentence_records"] == 2


def test_sentence_vectors_cut_from_another_text_are_found_and_repaired(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    article_id = store.article_ids()[0]
    spans = [(r["start"], r["end"]) for r in store.sentence_records(article_id)[0]]
    vectors = store.sentence_records(article_id)[1]
    store.put_sentences(article_id, spans, vectors, "an updated text that was never stored", store.parts(article_id))
    found = integrity.check(store)
    assert [(f.kind, f.article_id) for f in found.findings] == [("bad-offsets", article_id)]
    integrity.repair(store, found)
    assert integrity.check(Store(settings)).ok
