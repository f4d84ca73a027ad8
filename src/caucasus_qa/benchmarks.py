"""Benchmarks that print figures; goals are stated beside the numbers, never asserted."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from caucasus_qa.settings import Settings


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ingest_benchmark(settings: Settings, corpus: Path, repeat: int = 3) -> str:
    """Full ingest into a fresh store vs sentence-transformers embedding the same chunks.

    The model is loaded once before timing, so both figures exclude model load time.
    """
    from llama_index.core.schema import MetadataMode

    from caucasus_qa.embedding import load_embed_model
    from caucasus_qa.ingestion import ingest
    from caucasus_qa.store import Store

    model = load_embed_model(settings.embed_model, settings.embed_batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(repeat))

        def full() -> None:
            ingest(settings.replace(store=Path(tmp) / f"run{next(runs)}"), [corpus])

        t_full = _median_seconds(full, repeat)
        store = Store(settings.replace(store=Path(tmp) / "run0"))
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in store.all_chunks()]
        t_floor = _median_seconds(
            lambda: model._model.encode(texts, batch_size=settings.embed_batch_size), repeat)
        again = settings.replace(store=Path(tmp) / "run0")
        reports = []
        t_again = _median_seconds(lambda: reports.append(ingest(again, [corpus])), repeat)
    embedded_again = max(r.chunks_embedded for r in reports)
    return "\n".join([
        f"corpus: {corpus} ({len(store)} articles, {len(texts)} chunks, model {settings.embed_model})",
        f"full ingest (fresh store)      {t_full * 1000:8.0f} ms   median of {repeat}",
        f"embedding alone (the floor)    {t_floor * 1000:8.0f} ms",
        f"ratio full / floor             {t_full / t_floor:8.2f}      goal <= 1.2",
        f"re-ingest, unchanged corpus    {t_again * 1000:8.0f} ms   goal <= 2000 ms; "
        f"{embedded_again} chunks embedded (goal 0)",
    ])
