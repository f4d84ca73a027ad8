"""Benchmarks that print figures; goals are stated beside the numbers, never asserted."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from caucasus_qa.settings import Settings

if TYPE_CHECKING:
    from caucasus_qa.store.collections import Store


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ingest_benchmark(settings: Settings, corpus: Path, repeat: int = 3) -> str:
    """Full ingest into a fresh store vs sentence-transformers embedding the same texts (every chunk
    and every sentence: the floor).

    The model is loaded once before timing, so both figures exclude model load time.
    """
    from caucasus_qa.store.collections import Store
    from caucasus_qa.store.embedding import load_embed_model
    from caucasus_qa.store.ingestion import ingest

    model = load_embed_model(settings.embed_model, settings.embed_batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(repeat))

        def full() -> None:
            ingest(settings.replace(store=Path(tmp) / f"run{next(runs)}"), [corpus])

        t_full = _median_seconds(full, repeat)
        store = Store(settings.replace(store=Path(tmp) / "run0"))
        chunks, sentences = _embedded_texts(store)
        texts = chunks + sentences
        t_floor = _median_seconds(lambda: model._model.encode(texts, batch_size=settings.embed_batch_size), repeat)
        again = settings.replace(store=Path(tmp) / "run0")
        reports = []
        t_again = _median_seconds(lambda: reports.append(ingest(again, [corpus])), repeat)
    embedded_again = max(r.chunks_embedded + r.sentences_embedded for r in reports)
    return "\n".join(
        [
            f"corpus: {corpus} ({len(store)} articles, {len(chunks)} chunks + {len(sentences)} sentences embedded, "
            f"model {settings.embed_model})",
            f"full ingest (fresh store)      {t_full * 1000:8.0f} ms   median of {repeat}",
            f"embedding alone (the floor)    {t_floor * 1000:8.0f} ms",
            f"ratio full / floor             {t_full / t_floor:8.2f}      goal <= 1.2",
            f"re-ingest, unchanged corpus    {t_again * 1000:8.0f} ms   goal <= 2000 ms; "
            f"{embedded_again} chunks embedded (goal 0)",
        ]
    )


def _embedded_texts(store: Store) -> tuple[list[str], list[str]]:
    """Every text an ingest of ``store``'s articles embeds: its chunks (as embedded, with their
    metadata) and its sentences."""
    from llama_index.core.schema import MetadataMode

    from caucasus_qa.articles.evidence import split_sentences

    chunks = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in store.all_chunks()]
    sentences = [s.text for a in store.article_ids() for s in split_sentences(a, store.article(a).text)]
    return chunks, sentences


def _percentiles(values: list[float]) -> tuple[float, float]:
    import numpy as np

    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def answer_benchmark(settings: Settings, questions: Path, rounds: int = 3, cold_runs: int = 3) -> str:
    """Warm answer latency over the eval questions next to plain LlamaIndex dense retrieval over
    the same store (same process, interleaved), then cold start of `caucasus-qa ask` as a whole
    process next to a bare `import llama_index.core, chromadb` + one Chroma query."""
    from caucasus_qa.measuring.evaluate import load_questions

    texts = [q.question for q in load_questions(questions) if not q.is_followup]
    ours, base = _warm_latencies(settings, texts, rounds)
    (o50, o95), (b50, b95) = _percentiles(ours), _percentiles(base)
    t_ask, t_bare = _cold_starts(settings, texts[0], cold_runs)
    return "\n".join(
        [
            f"questions: {len(texts)} x {rounds} rounds, top_k {settings.top_k}, store {settings.store}",
            "warm latency                          p50 ms    p95 ms",
            f"caucasus-qa ask (extractive answer) {o50:8.1f}  {o95:8.1f}   goal p50 <= 60, p95 <= 150",
            f"plain LlamaIndex dense retrieval    {b50:8.1f}  {b95:8.1f}",
            f"ratio ours / plain                  {o50 / b50:8.2f}  {o95 / b95:8.2f}",
            f"cold start, whole process (median of {cold_runs}):",
            f'  caucasus-qa ask "..."               {t_ask:8.2f} s',
            f"  bare import llama_index.core, chromadb + query {t_bare:5.2f} s",
            f"  ratio                               {t_ask / t_bare:8.2f}",
        ]
    )


def _warm_latencies(settings: Settings, texts: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds per question: our answer, and plain LlamaIndex top-k dense retrieval."""
    from llama_index.core import VectorStoreIndex

    from caucasus_qa.assistant import Assistant
    from caucasus_qa.store.embedding import load_embed_model

    qa = Assistant(settings=settings)
    plain_model = load_embed_model(settings.embed_model, settings.embed_batch_size)  # plain: sentence-transformers
    plain = VectorStoreIndex.from_vector_store(qa.store.vector_store, embed_model=plain_model).as_retriever(
        similarity_top_k=settings.top_k
    )
    qa.ask(texts[0])
    qa.sentences.warm(qa.store.article_ids())
    plain.retrieve(texts[0])
    ours, base = [], []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            qa.ask(text)
            ours.append((time.perf_counter() - started) * 1e3)
            started = time.perf_counter()
            plain.retrieve(text)
            base.append((time.perf_counter() - started) * 1e3)
    return ours, base


def _cold_starts(settings: Settings, question: str, runs: int) -> tuple[float, float]:
    """Median wall seconds of `caucasus-qa ask` as a new process, and of a bare Chroma query."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "caucasus-qa"
    store_flags = ["--chroma-url", settings.chroma_url] if settings.chroma_url else ["--store", str(settings.store)]
    cold_ask = [str(exe), "ask", question, *store_flags]
    bare = [
        sys.executable,
        "-c",
        "import llama_index.core, chromadb, sys; c = chromadb.PersistentClient(path=sys.argv[1]); "
        "c.get_collection(sys.argv[2]).query(query_embeddings=[[0.1] * 384], n_results=5)",
        str(settings.store / "chroma"),
        settings.collection,
    ]

    def wall(cmd: list[str]) -> float:
        return _median_seconds(lambda: subprocess.run(cmd, capture_output=True, check=True), runs)

    return wall(cold_ask), wall(bare)
