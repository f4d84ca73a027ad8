"""Late chunking (pooling.py): sentence vectors pooled from the chunk pass, on articles written
here, in a real Chroma store with the bundled model."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import write

FERRY = (
    "Lowmere ferry returns after repairs\n\n"
    "The Lowmere ferry sailed again on Sunday after six weeks in dry dock. "
    "The repairs were carried out by Tarrant Marine, a yard in Port Ellis, and cost about £800,000. "
    "About 1,200 passengers used the service on its first day back.\n\n"
    "The operator said timetables would return to normal by the end of the month.\n"
)
LIBRARY = (
    "# Ashgrove library reopens\n\n"
    "The Ashgrove library reopened on Monday after a year of building work. "
    "Its new reading room was designed by the architect Mira Solberg. "
    "Opening hours will be extended to 8 p.m. on weekdays.\n"
)


def _store(tmp_path, **overrides):
    from caucasus_qa import Assistant

    folder = tmp_path / "articles"
    write(folder / "ferry.txt", FERRY)
    write(folder / "library.md", LIBRARY)
    qa = Assistant(store=tmp_path / "store", **overrides)
    assert qa.ingest([folder]).ok
    return qa


def test_late_sentences_are_pooled_from_the_chunk_pass(tmp_path):
    from llama_index.core.schema import MetadataMode

    from caucasus_qa.store.embedding import load_embed_model

    qa = _store(tmp_path, sentence_vectors="late")
    store = qa.store
    assert store.sentence_vectors == "late"
    model = load_embed_model(qa.settings.embed_model, qa.settings.embed_batch_size)
    for article_id in store.article_ids():
        chunks = store.chunks(article_id)
        own = np.asarray(
            model.get_text_embedding_batch([c.get_content(metadata_mode=MetadataMode.EMBED) for c in chunks])
        )
        stored = np.asarray(store.collection.get(ids=[c.node_id for c in chunks], include=["embeddings"])["embeddings"])
        assert np.allclose((own * stored).sum(axis=1), 1.0, atol=1e-4)  # the chunk vector is the model's own
        records, vectors = store.sentence_records(article_id)
        text = store.article(article_id).text
        assert records and len(vectors) == len(records)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        alone = np.asarray(model.get_text_embedding_batch([text[r["start"] : r["end"]] for r in records]))
        # pooled in its passage, not a pass of its own: near the sentence's own vector, not equal to it
        cos = (alone * vectors).sum(axis=1)
        assert (cos > 0.3).all() and (cos < 0.999).any()
    answer = qa.ask("Which company carried out the ferry repairs?")
    assert not answer.abstained and "Tarrant Marine" in answer.citations[0].quote


def test_a_store_keeps_the_way_it_was_built(tmp_path):
    from caucasus_qa import Assistant

    _store(tmp_path, sentence_vectors="own")  # as every store built before late chunking
    write(tmp_path / "more" / "strike.md", LIBRARY.replace("Ashgrove", "Corran"))
    later = Assistant(store=tmp_path / "store")  # the default now: late
    assert later.settings.sentence_vectors == "late"
    assert later.ingest([tmp_path / "more"]).ok
    assert later.store.sentence_vectors == "own"  # never two kinds of sentence vector in one store


def test_check_names_how_the_store_was_built(tmp_path):
    from click.testing import CliRunner

    from caucasus_qa.faces.cli import main

    _store(tmp_path, sentence_vectors="late")
    result = CliRunner().invoke(main, ["check", "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "sentence vectors: late" in result.output
    result = CliRunner().invoke(main, ["check", "--store", str(tmp_path / "store"), "--json"])
    assert json.loads(result.output.strip().splitlines()[-1])["sentence_vectors"] == "late"


def test_a_sentence_past_the_models_length_limit_is_embedded_alone():
    from llama_index.core import Document

    from caucasus_qa.articles.evidence import split_sentences
    from caucasus_qa.settings import Settings
    from caucasus_qa.store.embedding import load_embed_model
    from caucasus_qa.store.ingestion import splitter
    from caucasus_qa.store.pooling import pool

    settings = Settings(chunk_size=600, chunk_overlap=0)  # more tokens than the model reads (256)
    text = " ".join(f"The Corran choir sang hymn number {i} at the harvest service." for i in range(40))
    doc = Document(id_="choir", text=text, metadata={"title": "Choir"}, excluded_embed_metadata_keys=[])
    nodes = splitter(settings).get_nodes_from_documents([doc])
    model = load_embed_model(settings.embed_model)._model
    pooled = pool(model, nodes, {"choir": text})
    sentences = split_sentences("choir", text)
    assert 0 < pooled.alone < len(sentences)
    own = model.encode([s.text for s in sentences], normalize_embeddings=True)
    same = (own * pooled.sentences["choir"]).sum(axis=1) > 1 - 1e-4
    assert int(same.sum()) == pooled.alone  # those past the limit: their own vector; the rest pooled


def test_a_sentence_cut_by_a_chunk_boundary_takes_the_chunk_holding_most_of_it():
    from caucasus_qa.store.pooling import _best_node

    chunks = [(0, 0, 100), (1, 80, 200)]  # (index, start, end) in the article: they overlap by 20
    assert _best_node((70, 110), chunks) == 0  # 30 characters in the first, 30 in the second: the first
    assert _best_node((90, 150), chunks) == 1  # 10 in the first, 60 in the second
    assert _best_node((300, 320), chunks) is None  # in no chunk: embedded on its own
