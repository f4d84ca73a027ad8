"""Ingestion into a real Chroma store: incremental, offsets exact, safe to interrupt."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CORPUS, VENV_BIN, write
from test_boilerplate import PARAGRAPHS

from caucasus_qa.errors import StoreMismatchError
from caucasus_qa.store.collections import SCHEMA_VERSION, Store
from caucasus_qa.store.ingestion import ingest, token_counter

TOPICS = ["harbour bridge", "school meals", "rail strike", "forest fire", "museum reopening"]


def make_corpus(folder: Path, n: int = 3, paragraphs: int = 4) -> Path:
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        body = "\n\n".join(
            f"Paragraph {j} about the {topic} story number {i}: " + PARAGRAPHS[j % 4] for j in range(paragraphs)
        )
        write(folder / f"story{i:03d}.txt", f"News about the {topic} {i}\n\n{body}")
    return folder


def vector_count(store: Store) -> int:
    return store.collection.count()


def chunk_count(store: Store) -> int:
    return sum(len(store.chunk_ids(a)) for a in store.article_ids())


def test_ingest_stores_articles_and_chunks_with_exact_offsets(settings, tmp_path):
    report = ingest(settings, [make_corpus(tmp_path / "c")])
    assert report.ok and sorted(report.added) == ["story000", "story001", "story002"]
    store = Store(settings)
    assert vector_count(store) == chunk_count(store) == report.chunks_total > 0
    for article_id in store.article_ids():
        text = store.article(article_id).text
        for node in store.chunks(article_id):
            assert text[node.start_char_idx : node.end_char_idx] == node.text
            assert node.ref_doc_id == article_id


def test_chunks_respect_the_token_budget_and_overlap(settings, tmp_path):
    settings = settings.replace(chunk_size=64, chunk_overlap=16)
    sentences = " ".join(f"Item {k} of the list is short." for k in range(60))
    ingest(settings, [write(tmp_path / "c" / "list.txt", "A list story\n\n" + sentences)])
    store = Store(settings)
    count = token_counter()
    chunks = store.chunks("list")
    assert len(chunks) > 3
    assert all(len(count(c.text)) <= 64 for c in chunks)
    assert all(a.end_char_idx > b.start_char_idx for a, b in zip(chunks, chunks[1:])), "chunks overlap"
    assert all(c.text.rstrip().endswith(".") for c in chunks), "chunks end at sentence boundaries"


def test_reingest_unchanged_embeds_nothing(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c")
    first = ingest(settings, [corpus])
    again = ingest(settings, [corpus])
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == sorted(first.added)
    assert again.chunks_total == first.chunks_total


def test_changed_article_replaces_its_chunks(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    write(corpus / "story001.txt", "Short update on rail\n\n" + PARAGRAPHS[0])
    report = ingest(settings, [corpus])
    assert report.updated == ["story001"] and not report.added
    store = Store(settings)
    assert vector_count(store) == chunk_count(store)
    assert [n.text for n in store.chunks("story001")] == ["Short update on rail\n\n" + PARAGRAPHS[0]]
    hits = store.collection.get(where={"document_id": "story001"})
    assert hits["documents"] == ["Short update on rail\n\n" + PARAGRAPHS[0]]


def test_removed_file_is_deleted_only_with_sync(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    (corpus / "story002.txt").unlink()
    assert ingest(settings, [corpus]).deleted == []
    assert "story002" in Store(settings).article_ids()
    report = ingest(settings, [corpus], sync=True)
    store = Store(settings)
    assert report.deleted == ["story002"] and "story002" not in store.article_ids()
    assert vector_count(store) == chunk_count(store)


def test_sync_keeps_articles_whose_file_is_now_bad(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    (corpus / "story000.txt").write_bytes(b"\x00\x01binary now")
    report = ingest(settings, [corpus], sync=True)
    assert not report.ok and report.deleted == []
    assert "story000" in Store(settings).article_ids()


def test_sync_only_touches_articles_from_the_paths_given(settings, tmp_path):
    corpus, other = make_corpus(tmp_path / "c"), make_corpus(tmp_path / "o", n=1, paragraphs=2)
    (other / "story000.txt").rename(other / "elsewhere.txt")
    ingest(settings, [corpus, other])
    report = ingest(settings, [corpus / "story001.txt"], sync=True)  # one file named: the rest still exist
    assert report.deleted == [] and len(Store(settings)) == 4
    (corpus / "story002.txt").unlink()
    report = ingest(settings, [corpus], sync=True)
    assert report.deleted == ["story002"]
    assert Store(settings).article_ids() == ["elsewhere", "story000", "story001"]


def test_sync_with_a_missing_path_deletes_nothing(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    report = ingest(settings, [tmp_path / "typo"], sync=True)
    assert report.deleted == [] and len(Store(settings)) == 3 and report.notes


def test_reset_empties_the_store(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c")])
    report = ingest(settings, [make_corpus(tmp_path / "d", n=1)], reset=True)
    assert report.articles_total == 1 and report.chunks_total == vector_count(Store(settings))


def test_other_embedding_model_is_a_clear_error(settings, tmp_path):
    ingest(settings, [make_corpus(tmp_path / "c", n=1)])
    with pytest.raises(StoreMismatchError, match="--reset"):
        Store(settings.replace(embed_model="some/other-model"))


def test_other_chunking_needs_reset(settings, tmp_path):
    corpus = make_corpus(tmp_path / "c", n=1)
    ingest(settings, [corpus])
    with pytest.raises(StoreMismatchError, match="chunk_size"):
        ingest(settings.replace(chunk_size=120), [corpus])
    assert ingest(settings.replace(chunk_size=120), [corpus], reset=True).ok


def test_leftover_vectors_from_an_interrupted_run_do_not_duplicate(settings, tmp_path):
    """A run killed after writing vectors but before writing the article records leaves orphans."""
    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    store = Store(settings)
    sentences = store.sentence_collection.count()
    store.article_collection.delete(ids=store.article_ids())  # as if the records were never written
    ingest(settings, [corpus])
    store = Store(settings)
    assert vector_count(store) == chunk_count(store) and len(store) == 3
    assert store.sentence_collection.count() == sentences


@pytest.mark.slow
def test_killed_ingest_is_completed_by_the_next_run(tmp_path):
    corpus = make_corpus(tmp_path / "c", n=120, paragraphs=6)
    store_dir = tmp_path / "s"
    cmd = [str(VENV_BIN / "caucasus-qa"), "ingest", str(corpus), "--store", str(store_dir)]
    proc = subprocess.Popen([*cmd, "--progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # kill once a batch or two are stored
        seen += proc.stderr.read1(256)
        done = [int(n) for n in re.findall(rb"(\d+)/120", seen)]
        if done and max(done) >= 12:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from caucasus_qa import load_settings

    store = Store(load_settings(store=store_dir))
    assert len(store) == 120 and vector_count(store) == chunk_count(store)


def test_default_corpus_ingests_with_metadata(settings):
    report = ingest(settings, [CORPUS])
    assert report.ok and len(report.added) == 5
    store = Store(settings)
    meta = {a: store.article(a).metadata for a in store.article_ids()}
    by_prefix = {a[:3]: m for a, m in meta.items()}
    assert by_prefix["001"]["outlet"] == "Fakti" and by_prefix["001"]["published"] == "2025-07-05"
    assert by_prefix["002"]["outlet"] == "Al Jazeera via DNYUZ" and by_prefix["002"]["published"] == "2025-07-10"
    assert by_prefix["003"]["outlet"] == "DW" and by_prefix["003"]["author"] == "Lisa Lewis"
    assert by_prefix["004"]["outlet"] == "Charter97.org quoting Deutsche Welle"
    assert by_prefix["004"]["author"] == "Ivan Preobrazhensky"
    assert "published" not in by_prefix["004"] and "clock" in by_prefix["004"]["date_note"]


def test_sentence_vectors_are_stored_at_ingest_and_answering_only_reads_them(settings, tmp_path, monkeypatch):
    from caucasus_qa import Assistant
    from caucasus_qa.articles.evidence import split_sentences

    corpus = make_corpus(tmp_path / "c")
    report = ingest(settings, [corpus])
    store = Store(settings)
    expected = sum(len(split_sentences(a, store.article(a).text)) for a in store.article_ids())
    assert report.sentences_embedded == expected == sum(len(store.sentence_records(a)[0]) for a in store.article_ids())
    qa = Assistant(settings=settings)
    qa.ask("What happened with the harbour bridge?")  # loads the model

    def refuse(self, texts, **kwargs):
        raise AssertionError(f"encoded {len(texts)} texts while answering")

    # the question itself goes through get_query_embedding; any batch of texts would be sentences
    monkeypatch.setattr(type(qa.embed_model), "get_text_embedding_batch", refuse)
    qa.sentences.clear()
    a = qa.ask("What happened at the school meals?")
    assert a.citations or a.related


def test_a_line_repeated_across_articles_is_embedded_once_and_stored_for_each(settings, tmp_path):
    import numpy as np

    # sentences embedded on their own: a late-pooled vector carries its passage, so no two are one
    settings = replace(settings, sentence_vectors="own")

    line = "The weather office expects heavy rain across the whole valley later this week."
    folder = tmp_path / "c"
    for k in range(40):  # batches of two articles (one progress step in twenty)
        body = f"Engineers inspected bridge number {k} on Tuesday and found cracks in its {k}th support beam."
        write(folder / f"a{k:02}.txt", f"Bridge {k} inspection\n\n{body} {line}")
    report = ingest(settings, [folder])
    store = Store(settings)
    stored = sum(len(store.sentence_records(a)[0]) for a in store.article_ids())  # title, body, shared line
    assert stored == 120 and report.sentences_embedded < stored
    records = [store.sentence_records(a) for a in store.article_ids()[:2]]
    last = [vectors[[r["index"] for r in recs].index(len(recs) - 1)] for recs, vectors in records]
    assert np.allclose(last[0], last[1]) and not np.allclose(records[0][1][0], records[1][1][0])


def test_a_store_without_sentence_vectors_says_what_to_run_and_ingest_adds_them(settings, tmp_path):
    from caucasus_qa import Assistant
    from caucasus_qa.errors import StoreError

    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    store = Store(settings)
    store.client.delete_collection(f"{settings.collection}-sentence-vectors")  # as a store of an older version
    with pytest.raises(StoreError, match="run `caucasus-qa ingest`"):
        Assistant(settings=settings).ask("What happened with the harbour bridge?")
    again = ingest(settings, [corpus])
    assert again.chunks_embedded == 0 and again.sentences_embedded > 0
    assert not Assistant(settings=settings).ask("What happened with the harbour bridge?").abstained


def test_one_article_without_sentence_vectors_is_left_out_of_answers_not_fatal(settings, tmp_path, caplog):
    from caucasus_qa import Assistant

    corpus = make_corpus(tmp_path / "c")
    ingest(settings, [corpus])
    store = Store(settings)
    gone = store.article_ids()[0]
    store.sentence_collection.delete(ids=[store.sentence_record_id(gone)])  # as a lost write
    qa = Assistant(settings=settings)
    qa.warm()  # what `serve` does before taking questions
    answer = qa.ask("What happened with the harbour bridge?")
    assert all(c.article_id != gone for c in answer.citations + answer.related)
    assert any("has no sentence vectors: run `caucasus-qa ingest`" in r.message for r in caplog.records)


def test_writes_above_chroma_s_maximum_batch_size_are_split(settings):
    from caucasus_qa.store.collections import write_batched

    store = Store(settings)
    n = store.max_batch + 539  # one call of this size is refused by Chroma
    collection = store.client.get_or_create_collection("batch-test", embedding_function=None)
    write_batched(collection, store.max_batch, ids=[f"r{i}" for i in range(n)], embeddings=[[i, 1.0] for i in range(n)])
    assert collection.count() == n
    vs = store.vector_store
    assert vs._max_batch == store.max_batch  # chunk writes go through the same limit


def test_a_store_of_an_older_schema_says_how_to_rebuild_it(settings, tmp_path):
    from caucasus_qa import Assistant
    from caucasus_qa.errors import StoreError

    corpus = make_corpus(tmp_path / "c", n=2)
    ingest(settings, [corpus])
    store = Store(settings)  # made to look like round one's: chunks in Chroma, articles elsewhere
    store.client.delete_collection(f"{settings.collection}-articles")
    meta = {k: v for k, v in (store.collection.metadata or {}).items() if not k.startswith("hnsw:")}
    store.collection.modify(metadata={**meta, "schema": 1})
    for call in (lambda: Assistant(settings=settings).ask("What happened?"), lambda: ingest(settings, [corpus])):
        with pytest.raises(StoreError, match=r"older caucasus-qa \(schema 1.*ingest --reset"):
            call()
    rebuilt = ingest(settings, [corpus], reset=True)
    assert len(rebuilt.added) == 2 and Store(settings).collection.metadata["schema"] == SCHEMA_VERSION


def test_sentences_are_one_record_per_article_outside_any_vector_index(settings, tmp_path):
    """Chroma loads a collection's whole vector index on its first read: answering reads one
    article's sentences, so they are packed per article with a one-dimensional placeholder."""
    import numpy as np

    from caucasus_qa.articles.evidence import split_sentences
    from caucasus_qa.store.embedding import load_embed_model

    settings = replace(settings, sentence_vectors="own")  # compared below with each sentence's own vector
    corpus = make_corpus(tmp_path / "c", n=3)
    ingest(settings, [corpus])
    store = Store(settings)
    assert store.sentence_collection.count() == len(store) == 3
    got = store.sentence_collection.get(ids=[store.sentence_record_id(store.article_ids()[0])], include=["embeddings"])
    assert len(got["embeddings"][0]) == 1
    article_id = store.article_ids()[0]
    records, vectors = store.sentence_records(article_id)
    text = store.article(article_id).text
    assert [(r["start"], r["end"]) for r in records] == [(s.start, s.end) for s in split_sentences(article_id, text)]
    fresh = np.asarray(
        load_embed_model(settings.embed_model, settings.embed_batch_size).get_text_embedding_batch(
            [text[r["start"] : r["end"]] for r in records]
        )
    )
    assert vectors.shape == fresh.shape and np.abs(vectors - fresh).max() < 2e-3  # float16


def test_a_schema_2_store_s_sentence_vectors_are_packed_without_re_embedding(settings, tmp_path):
    from caucasus_qa import Assistant

    corpus = make_corpus(tmp_path / "c", n=3)
    ingest(settings, [corpus])
    store = Store(settings)
    question = "What happened with the harbour bridge?"
    before = Assistant(settings=settings).ask(question)
    legacy = store.client.create_collection(f"{settings.collection}-sentences", embedding_function=None)
    for article_id in store.article_ids():  # the schema-2 layout: one vector-indexed record per sentence
        records, vectors = store.sentence_records(article_id)
        legacy.add(ids=[f"{article_id}#s{r['index']}" for r in records], embeddings=vectors.tolist(),
                   metadatas=[{"article_id": article_id, **r} for r in records])  # fmt: skip
    store.client.delete_collection(f"{settings.collection}-sentence-vectors")
    again = ingest(settings, [corpus])
    assert again.chunks_embedded == again.sentences_embedded == 0 and "3 articles" in again.notes[0]
    migrated = Store(settings)
    assert migrated.sentence_collection.count() == 3
    assert f"{settings.collection}-sentences" not in [c.name for c in migrated.client.list_collections()]
    after = Assistant(settings=settings).ask(question)
    assert after.text == before.text and [c.quote for c in after.citations] == [c.quote for c in before.citations]


def test_new_metadata_alone_is_stored_in_place_and_a_removed_date_is_gone(settings, tmp_path):
    import json

    body = ("Workers repaired the harbour wall in Quelltown after the winter storms. "
            "The council said the northern section would reopen to walkers in May.")  # fmt: skip
    line = {"id": "a1", "title": "Harbour wall repaired", "text": body, "outlet": "Quell Post",
            "published": "2024-03-01"}  # fmt: skip
    path = write(tmp_path / "c" / "news.jsonl", json.dumps(line) + "\n")
    ingest(settings, [path])
    store = Store(settings)
    chunk_ids = store.chunk_ids("a1")
    vectors = store.collection.get(ids=chunk_ids, include=["embeddings"])["embeddings"].tolist()
    line = {k: v for k, v in line.items() if k != "published"} | {"outlet": "Quell Times"}
    write(path, json.dumps(line) + "\n")
    report = ingest(settings, [path])
    assert report.updated == ["a1"] and report.relabelled == 1
    assert report.chunks_embedded == report.sentences_embedded == 0 and "in place" in report.notes[0]
    store = Store(settings)
    record = store.article("a1").metadata
    assert record["outlet"] == "Quell Times" and "published" not in record  # unknown stays unknown
    chunk_meta = store.collection.get(ids=chunk_ids, include=["metadatas"])["metadatas"]
    assert all(m["outlet"] == "Quell Times" and "published" not in m for m in chunk_meta)
    assert store.chunks("a1")[0].metadata["outlet"] == "Quell Times"
    assert store.collection.get(ids=chunk_ids, include=["embeddings"])["embeddings"].tolist() == vectors
    assert ingest(settings, [path]).unchanged == ["a1"]
    write(path, json.dumps(line | {"title": "Harbour wall reopens"}) + "\n")  # the title is embedded
    assert ingest(settings, [path]).chunks_embedded > 0
    store = Store(settings)
    store.sentence_collection.delete(
        ids=[store.sentence_record_id("a1")]
    )  # incomplete: new metadata must not hide that
    write(path, json.dumps(line | {"title": "Harbour wall reopens", "outlet": "Quell Post"}) + "\n")
    again = ingest(settings, [path])
    assert again.relabelled == 0 and again.sentences_embedded > 0


def test_an_update_that_drops_a_field_removes_it_from_the_record(settings, tmp_path):
    import json

    line = {"id": "b1", "text": "The ferry to Quell island resumed service on Monday after repairs.",
            "author": "Dana Roe", "published": "2024-04-02"}  # fmt: skip
    path = write(tmp_path / "c" / "news.jsonl", json.dumps(line) + "\n")
    ingest(settings, [path])
    line = {"id": "b1", "text": line["text"] + " Tickets cost the same as last year."}
    write(path, json.dumps(line) + "\n")
    assert ingest(settings, [path]).chunks_embedded > 0
    record = Store(settings).article("b1").metadata
    assert "author" not in record and "published" not in record


def test_an_update_killed_before_its_record_keeps_the_old_version_whole_and_answerable(settings, tmp_path, monkeypatch):
    """An update writes its chunks and sentences under new ids beside the old ones and switches
    the record last: killed before the switch, the old version still answers, `check` names the
    new version's leftovers, and the next ingest finishes the update and removes the old parts."""
    from caucasus_qa import Assistant
    from caucasus_qa.answering.answer import verify
    from caucasus_qa.store import integrity

    corpus = make_corpus(tmp_path / "c", n=2)
    ingest(settings, [corpus])
    store = Store(settings)
    article_id = store.article_ids()[0]  # story000, about the harbour bridge
    old_text, old_chunks = store.article(article_id).text, store.chunk_ids(article_id)
    old_sentences = store.sentence_records(article_id)[0]
    source = next(p for p in corpus.iterdir() if p.stem == article_id)
    source.write_text(source.read_text() + "\n\nA late paragraph says the ferry will also stop at Quell island.")

    def killed(self, doc, chunks, tag):
        raise KeyboardInterrupt  # as a kill after the chunks and sentences, before the record

    monkeypatch.setattr(Store, "put_article", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings, [corpus])
    monkeypatch.undo()
    store = Store(settings)
    assert store.article(article_id).text == old_text and store.chunk_ids(article_id) == old_chunks
    assert store.sentence_records(article_id)[0] == old_sentences and old_sentences  # the old version's, whole
    assert all(old_text[n.start_char_idx : n.end_char_idx] == n.text for n in store.chunks(article_id))
    found = {(f.kind, f.article_id) for f in integrity.check(store).findings}
    assert found == {("orphan-chunks", article_id), ("orphan-sentences", article_id)}  # the new version's parts
    answer = Assistant(settings=settings).ask("What happened with the harbour bridge?")
    assert not answer.abstained and article_id in {c.article_id for c in answer.citations}
    assert all(verify(c, store.article(c.article_id).text) for c in answer.citations)

    again = ingest(settings, [corpus])
    store = Store(settings)
    assert again.updated == [article_id] and integrity.check(store).ok
    assert vector_count(store) == chunk_count(store) and not set(old_chunks) & set(store.all_ids(store.collection))
    ferry = Assistant(settings=settings).ask("Where will the ferry also stop?")
    assert any("Quell island" in c.quote and c.article_id == article_id for c in ferry.citations)


def test_a_store_written_before_tagged_ids_answers_and_its_updates_replace_the_untagged_parts(
    settings, tmp_path, monkeypatch
):
    """Stores written before chunk and sentence ids were tagged ("<id>#<n>", "<id>") need no
    migration: they check clean and answer; an updated article gets tagged parts and its
    untagged ones are removed."""
    from caucasus_qa import Assistant
    from caucasus_qa.store import integrity

    corpus = make_corpus(tmp_path / "c", n=2)
    monkeypatch.setattr("caucasus_qa.store.ingestion.parts_tag", lambda doc: "")  # as older versions wrote
    ingest(settings, [corpus])
    monkeypatch.undo()
    store = Store(settings)
    article_id = store.article_ids()[0]
    assert store.chunk_ids(article_id)[0] == f"{article_id}#0" and store.sentence_record_id(article_id) == article_id
    assert integrity.check(store).ok
    assert article_id in {
        c.article_id for c in Assistant(settings=settings).ask("What happened with the harbour bridge?").citations
    }

    source = next(p for p in corpus.iterdir() if p.stem == article_id)
    source.write_text(source.read_text() + "\n\nA late paragraph says the ferry will also stop at Quell island.")
    assert ingest(settings, [corpus]).updated == [article_id]
    store = Store(settings)
    assert store.chunk_ids(article_id)[0] != f"{article_id}#0" and store.sentence_record_id(article_id) != article_id
    stored = set(store.all_ids(store.collection)) | set(store.all_ids(store.sentence_collection))
    assert not {f"{article_id}#0", article_id} & stored and integrity.check(store).ok


def test_a_machine_summary_label_never_opens_a_quoted_sentence(settings, tmp_path):
    """A feed that glues "AI-assisted summary" to the first summary sentence: the sentence (and so
    any quote of it) starts after the label; a label on its own line is no sentence at all."""
    import json

    from caucasus_qa import Assistant
    from caucasus_qa.articles.evidence import split_sentences

    text = (
        "AI-assisted summary The harbour ferry strike in Port Aldane ended on Friday after a pay deal.\n\n"
        "AI-generated key points:\n\n"
        "Crossings to the islands resume on Monday morning, the operator Blue Wake Lines said."
    )
    sentences = split_sentences("a", text)
    assert [s.text for s in sentences] == [
        "The harbour ferry strike in Port Aldane ended on Friday after a pay deal.",
        "Crossings to the islands resume on Monday morning, the operator Blue Wake Lines said.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)
    feed = write(tmp_path / "feed.jsonl", json.dumps({"id": "ferry", "title": "Ferry strike ends", "text": text}))
    ingest(settings, [feed])
    answer = Assistant(settings=settings).ask("When did the ferry strike in Port Aldane end?")
    assert answer.citations and not any("summary" in c.quote.lower() for c in answer.citations)
    assert "Friday" in answer.text


# -- files left unread (sources.py) ---------------------------------------------------------
def age(folder: Path) -> None:
    """Date every file back to one day, as files of an earlier day are (one written just now is
    read again: ``sources.RACY_S``)."""
    for path in folder.rglob("*"):
        os.utime(path, (1.7e9, 1.7e9))


@pytest.fixture
def files_read(monkeypatch) -> list[str]:
    """The names of the files ingest reads, in order."""
    import caucasus_qa.articles.formats as articles

    read: list[str] = []
    real = articles.read_file

    def reading(path, max_bytes, part=None):
        read.append(path.name if not part or not part[0] else f"{path.name}@{part[0]}")  # @: from that byte
        return real(path, max_bytes, part)

    monkeypatch.setattr(articles, "read_file", reading)
    return read


def test_reingest_leaves_unchanged_files_unread_and_reads_what_changed(settings, tmp_path, files_read):
    corpus = age_corpus(tmp_path)
    first = ingest(settings, [corpus])
    files_read.clear()
    again = ingest(settings, [corpus], sync=True)
    assert files_read == [] and sorted(again.unchanged) == sorted(first.added) and not again.deleted
    assert again.chunks_embedded == 0 and "3 files unchanged" in " ".join(again.notes)
    write(corpus / "story001.txt", "Short update on rail\n\n" + PARAGRAPHS[0])  # just now: read
    write(corpus / "story009.txt", "A new story on trams\n\n" + PARAGRAPHS[1])
    third = ingest(settings, [corpus])
    assert files_read == ["story001.txt", "story009.txt"]
    assert third.updated == ["story001"] and third.added == ["story009"] and "story000" in third.unchanged
    age(corpus)
    write(corpus / "story000.meta.toml", 'outlet = "Quell Post"\n')  # what the file gives changes
    files_read.clear()
    ingest(settings, [corpus])
    assert files_read == ["story000.txt", "story001.txt", "story009.txt"]  # the last two: recorded while racy
    assert Store(settings).article("story000").metadata["outlet"] == "Quell Post"


def _jsonl_lines(first: int, n: int) -> str:
    """``n`` JSONL articles (every other one without an id: named by its line number)."""
    rows = [{"text": f"Dispatch {i} on the {TOPICS[i % 5]}.\n\n" + PARAGRAPHS[i % 4], "title": f"Dispatch {i}"}
            | ({"id": f"d{i}"} if i % 2 else {}) for i in range(first, first + n)]  # fmt: skip
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_a_growing_jsonl_archive_is_read_from_where_the_last_ingest_stopped(settings, tmp_path, files_read):
    archive = write(tmp_path / "feed" / "archive.jsonl", _jsonl_lines(0, 3))
    age(archive.parent)
    first = ingest(settings, [archive.parent])
    size = archive.stat().st_size
    archive.write_text(archive.read_text() + _jsonl_lines(3, 2))
    age(archive.parent)
    files_read.clear()
    grown = ingest(settings, [archive.parent], sync=True)
    assert files_read == [f"archive.jsonl@{size}"] and "new lines only" in " ".join(grown.notes)
    assert sorted(grown.added) == ["archive-5", "d3"] and sorted(grown.unchanged) == sorted(first.added)
    assert not grown.deleted and Store(settings).article("archive-5").metadata["source_path"].endswith(":5")
    files_read.clear()
    assert ingest(settings, [archive.parent]).chunks_embedded == 0 and files_read == []  # unchanged since
    whole = ingest(settings.replace(store=tmp_path / "other"), [archive.parent])
    assert sorted(whole.added) == sorted(first.added + grown.added)  # the same articles as one read
    archive.write_text(archive.read_text().replace("Dispatch 0", "Dispatch zero", 1) + _jsonl_lines(5, 1))
    age(archive.parent)
    files_read.clear()
    edited = ingest(settings, [archive.parent])
    assert files_read == ["archive.jsonl"] and edited.updated == ["archive-1"] and edited.added == ["d5"]


def test_a_jsonl_file_without_a_final_newline_is_read_whole_when_it_grows(settings, tmp_path, files_read):
    archive = write(tmp_path / "feed" / "archive.jsonl", _jsonl_lines(0, 2).rstrip("\n"))  # a line may be unfinished
    age(archive.parent)
    ingest(settings, [archive.parent])
    archive.write_text(archive.read_text() + "\n" + _jsonl_lines(2, 1))
    age(archive.parent)
    files_read.clear()
    report = ingest(settings, [archive.parent])
    assert files_read == ["archive.jsonl"] and report.added == ["archive-3"] and len(report.unchanged) == 2


def age_corpus(tmp_path: Path) -> Path:
    corpus = make_corpus(tmp_path / "c")
    age(corpus)
    return corpus


def test_a_file_is_read_again_when_its_article_is_gone_or_the_reading_code_changed(
    settings, tmp_path, files_read, monkeypatch
):
    corpus = age_corpus(tmp_path)
    ingest(settings, [corpus])
    store = Store(settings)
    store.delete_article("story002")
    store.persist()
    files_read.clear()
    assert ingest(settings, [corpus]).added == ["story002"] and files_read == ["story002.txt"]
    store = Store(settings)
    store.sentence_collection.delete(ids=[store.sentence_record_id("story001")])  # incomplete: read to complete it
    files_read.clear()
    assert ingest(settings, [corpus]).sentences_embedded > 0 and files_read == ["story001.txt"]
    monkeypatch.setattr("caucasus_qa.store.sources.reader_fingerprint", lambda: "other code")
    files_read.clear()
    assert ingest(settings, [corpus]).chunks_embedded == 0 and len(files_read) == 3
    files_read.clear()
    ingest(settings, [corpus], reset=True)
    assert len(files_read) == 3


def test_a_file_that_gave_a_skip_or_was_written_just_now_is_always_read(settings, tmp_path, files_read):
    import json

    rows = [{"id": "j1", "text": "The ferry to Quell island resumed on Monday after repairs."}, {"text": ""}]
    write(tmp_path / "c" / "mixed.jsonl", "\n".join(map(json.dumps, rows)) + "\n")
    fresh = write(tmp_path / "c" / "fresh.txt", "Trams run late\n\n" + PARAGRAPHS[2])
    age(tmp_path / "c")
    fresh.write_text(fresh.read_text(encoding="utf-8"), encoding="utf-8")  # rewritten now, same size
    for _ in range(2):
        files_read.clear()
        report = ingest(settings, [tmp_path / "c"])
        assert files_read == ["fresh.txt", "mixed.jsonl"] and len(report.failed) == 1
