"""The lexicon (BM25 and term statistics) is built at ingest, never while answering."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from conftest import write
from test_ingest import make_corpus

from caucasus_qa import Assistant
from caucasus_qa.store import lexicon
from caucasus_qa.store.collections import Store
from caucasus_qa.store.ingestion import ingest
from caucasus_qa.store.lexicon import LexiconCache, folder


def test_ingest_saves_the_lexicon_and_answering_never_reads_every_chunk(settings, tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    store = Store(settings)
    assert (folder(settings.store, settings.collection, store.version) / "stats.json").is_file()

    def refuse(self):
        raise AssertionError("read every chunk while answering")

    monkeypatch.setattr(Store, "all_chunks", refuse)
    qa = Assistant(settings=settings)
    answer = qa.ask("What happened with the harbour bridge?")
    assert answer.citations and any(p.bm25 for p in qa.retrieve("harbour bridge"))


def test_a_newer_store_version_is_built_in_the_background_while_the_old_one_answers(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(lexicon, "FRESH_WAIT_S", 0.0)  # a rebuild longer than a question waits
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    cache = LexiconCache(store)
    old = cache.get()
    assert old.version == store.version and old.stats.n > 0
    ingest(settings, [make_corpus(tmp_path / "more", n=4)])  # another process's ingest, say
    assert store.refresh()
    shutil.rmtree(folder(settings.store, settings.collection, store.version))  # as on a Chroma server
    started = time.perf_counter()
    assert cache.get() is old  # no waiting for the rebuild
    assert time.perf_counter() - started < 1.0
    deadline = time.time() + 120
    while cache.get().version != store.version and time.time() < deadline:
        time.sleep(0.1)
    assert cache.get().version == store.version and cache.get().stats.n > old.stats.n


def test_a_question_waits_for_a_short_rebuild_and_no_longer(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(lexicon, "FRESH_WAIT_S", 60.0)
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    cache = LexiconCache(store)
    old = cache.get()
    ingest(settings, [make_corpus(tmp_path / "more", n=4)])
    assert store.refresh()
    shutil.rmtree(folder(settings.store, settings.collection, store.version))
    started = time.perf_counter()
    fresh = cache.get()  # built in the background, waited for: the new articles answer at once
    assert fresh.version == store.version and fresh.stats.n > old.stats.n
    assert time.perf_counter() - started < 30  # returned when built, not at the end of the wait


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_damaged_saved_lexicon_is_built_again(settings, tmp_path, damage):
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    path = folder(settings.store, settings.collection, store.version)
    if damage == "missing":
        shutil.rmtree(path)
    else:
        (path / "stats.json").write_text("{not json", encoding="utf-8")
    lexicon = LexiconCache(store).get()
    assert lexicon.version == store.version and lexicon.bm25 is not None and lexicon.stats.n > 0


_KAYAKERS = (
    "Kayakers rescued at Port Elwen\n\nThe lighthouse keeper of Port Elwen, Mara Quist, rescued three"
    " stranded kayakers on Sunday after their boats overturned near the harbour wall."
)


def test_while_the_new_lexicon_is_built_answers_come_from_the_chunks_of_the_held_one(settings, tmp_path, monkeypatch):
    """New vectors are not mixed with old word statistics: until the process holds the lexicon
    of the newer version, the chunks that version added are not retrieved (dense included)."""
    ingest(settings, [make_corpus(tmp_path / "c", n=3)])
    qa = Assistant(settings=settings)
    question = "Which lighthouse keeper rescued the stranded kayakers near Port Elwen?"
    assert all(p.node.ref_doc_id != "kayak" for p in qa.retrieve(question))
    held, rebuild = qa.lexicon.get(), LexiconCache._rebuild
    monkeypatch.setattr(LexiconCache, "_rebuild", lambda self, version, built: None)  # the rebuild has not finished
    monkeypatch.setattr(lexicon, "FRESH_WAIT_S", 0.0)
    new = write(tmp_path / "new" / "kayak.txt", _KAYAKERS)
    ingest(settings, [new])  # another process's ingest, say
    shutil.rmtree(folder(settings.store, settings.collection, Store(settings).version))  # as on a Chroma server
    assert qa.store.refresh() and qa.lexicon.get() is held
    assert qa.retriever.dense(qa._query_bundle(question), within=None), "the new vectors are in Chroma"
    stale = qa.retrieve(question)
    assert stale and all(p.node.ref_doc_id != "kayak" for p in stale)
    rebuild(qa.lexicon, qa.store.version, threading.Event())  # the rebuild finishes
    assert qa.retrieve(question)[0].node.ref_doc_id == "kayak"


class _CountedBefore:
    """A chunk collection whose count was taken before another process's batch landed."""

    def __init__(self, collection, count: int) -> None:
        self._collection, self._count = collection, count

    def count(self) -> int:
        return self._count

    def __getattr__(self, name: str):
        return getattr(self._collection, name)


def test_chunks_written_between_the_count_and_the_search_do_not_take_the_held_chunks_places(
    settings, tmp_path, monkeypatch
):
    """Another process may write its next batch between a question's count of the stored chunks
    and its nearest-neighbour search: the held lexicon's chunks still fill every dense place (before,
    the new chunks took some and were then left out, so the question had fewer dense candidates
    than at any finished version: an answer under load that no batch boundary gave)."""
    ingest(settings, [make_corpus(tmp_path / "c", n=3)])
    qa = Assistant(settings=settings)
    held = qa.lexicon.get()
    assert held.bm25 is not None
    counted = qa.store.collection.count()
    new = write(tmp_path / "new" / "kayak.txt", _KAYAKERS)
    ingest(settings, [new])  # another process's batch, between the count and the search
    qa.store.refresh()
    monkeypatch.setattr(qa.store, "collection", _CountedBefore(qa.store.collection, counted))
    bundle = qa._query_bundle("Which lighthouse keeper rescued the stranded kayakers near Port Elwen?")
    assert any(i not in held.bm25.row for i in qa.retriever.dense(bundle, counted)), "the new chunks are nearest"
    dense = qa.retriever.dense(bundle, counted, within=held.bm25)
    assert len(dense) == counted and set(dense) == set(held.bm25.ids)


def test_one_question_reads_one_lexicon_from_retrieval_to_answer(settings, tmp_path):
    """The answer step scores with the term statistics retrieval used, not whatever is current
    by the time it runs (a background rebuild may finish in between)."""
    import numpy as np

    from caucasus_qa.store.lexicon import CorpusStats

    ingest(settings, [make_corpus(tmp_path / "c", n=3)])
    qa = Assistant(settings=settings)
    question = "What happened with the harbour bridge?"
    context, passages, _, _ = qa._extractive_engine._retrieve(question, None)
    assert context["stats"] is qa.lexicon.get().stats and passages
    q_emb = np.asarray(context["q_emb"])
    usual = qa.extractive.answer(question, passages, q_emb=q_emb, stats=context["stats"])
    unknown = qa.extractive.answer(question, passages, q_emb=q_emb, stats=CorpusStats())  # no term known
    assert usual.score == qa.extractive.answer(question, passages, q_emb=q_emb).score
    assert unknown.score < usual.score


def test_the_per_question_copies_of_the_retriever_share_one_vector_cache_per_store_version(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c", n=3)])
    qa = Assistant(settings=settings)
    qa.ask("What happened with the harbour bridge?", as_of="2030-01-01")  # a dated, lexicon-holding copy
    cache = qa.retriever._cache
    assert cache.version == qa.store.version and cache.vectors
    ingest(settings, [make_corpus(tmp_path / "more", n=5)])
    qa.ask("What happened with the harbour bridge?")
    assert qa.retriever._cache is cache and cache.version == qa.store.version and cache.vectors


def _same_lexicon(built, full, queries) -> None:
    """Two lexicons of one version are the same: rows, term statistics and BM25 scores."""
    import numpy as np

    assert built.bm25.ids == full.bm25.ids
    assert (built.stats.n, built.stats.df) == (full.stats.n, full.stats.df)
    for query in queries:
        assert np.allclose(built.bm25.scores(query), full.bm25.scores(query), atol=1e-6), query


def test_an_ingest_tokenizes_only_what_it_wrote_and_saves_what_a_full_build_gives(settings, tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "c", n=4)
    ingest(settings, [corpus])
    story = "News about the {0}\n\nThe {0} was the talk of the town this week. " * 2
    (corpus / "story001.txt").write_text(story.format("flooded quarry") + (corpus / "story001.txt").read_text())
    (corpus / "story003.txt").unlink()
    (corpus / "story009.txt").write_text(story.format("ferry at dawn") + (corpus / "story002.txt").read_text())
    asked: list[list[str]] = []
    nodes = Store.nodes
    monkeypatch.setattr(Store, "nodes", lambda self, ids: asked.append(list(ids)) or nodes(self, ids))
    ingest(settings, [corpus], sync=True)
    store = Store(settings)
    assert {i.rsplit("#", 1)[0] for batch in asked for i in batch} == {"story001", "story009"}  # updated, added
    saved = lexicon.load(folder(settings.store, settings.collection, store.version), store.version)
    full = lexicon.build(store.all_chunks(upto=store.version), store.version)
    assert not any(i.startswith("story003") for i in full.bm25.ids) and saved.stats.n == full.stats.n > 0
    _same_lexicon(saved, full, ["quarry storm", "ferry dawn", "harbour bridge story", "paragraph number", "zzz"])


def test_words_saved_by_other_code_or_damaged_are_not_reused(settings, tmp_path, monkeypatch):
    from caucasus_qa.store import words

    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store = Store(settings)
    assert lexicon._older_words(store, store.version + 1)[0] == store.version
    monkeypatch.setattr(words, "fingerprint", lambda: "other code")
    assert lexicon._older_words(store, store.version + 1) is None  # so the next version reads every chunk
    monkeypatch.undo()
    saved = folder(settings.store, settings.collection, store.version) / words.FILE_ARRAYS
    saved.write_bytes(saved.read_bytes()[:100])  # cut short: a full disk, say
    assert lexicon._older_words(store, store.version + 1) is None
    ingest(settings, [make_corpus(tmp_path / "more", n=1)])  # builds in full, and saves whole words again
    store.refresh()
    assert lexicon._older_words(store, store.version + 1)[0] == store.version
