"""`caucasus-qa bench scale`: one store of real news per size, measured end to end.

Each size is a slice of the RealTime QA kit (2025 pages first, then 2024's), ingested through the
normal CLI path into a fresh store that is deleted afterwards. Every figure is printed next to
its anchor: ingest next to the embedding floor (every text the ingest embeds, chunks and
sentences, through the bare model in one call, no store), and retrieval and cold start next to
plain LlamaIndex (``VectorStoreIndex.from_vector_store`` over the same Chroma collection, top-5).
Servers and children started here are stopped before it returns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.settings import Settings

KIT_FILES = ("articles.jsonl.gz", "articles-scale.jsonl.gz")  # 5,384 pages of 2025, then 8,324 of 2024
# The default must finish in about 15 minutes on 2 cores: the embedding floor alone is about 1.4 s
# per kit article here (chunks and sentences, 150-article run), so 1,000 articles take about an hour.
DEFAULT_SIZES = (200,)
FULL_SIZES = (1000, 5000, 13708)
SERVER_QUESTIONS = 30  # asked of the embedded store and of `chroma run` over the same files
# A news desk's day, appended to the slice's JSONL after everything else is measured: the kit has
# about 100 pages a week (5,384 over 52 weeks).
DAILY_PAGES = 20


@dataclass
class SizeRun:
    """What one size measured (seconds unless named otherwise)."""

    articles: int
    ingest: float = 0.0
    floor: float = 0.0
    texts: int = 0
    store_mb: float = 0.0
    again: float = 0.0
    again_embedded: int = 0
    cold_first_answer: float = 0.0
    cold_plain: float = 0.0
    answer_ms: list[float] = field(default_factory=list)
    retrieve_ms: list[float] = field(default_factory=list)
    plain_ms: list[float] = field(default_factory=list)
    serve_rss_mb: float = 0.0
    server_first: float = 0.0  # a `chroma run` client's batch of questions, lexicon build included
    server_again: float = 0.0  # the same batch from a second client process (lexicon cached)
    server_elsewhere: float = 0.0  # the same from a client on a fresh folder (another machine: downloads it)
    same_elsewhere: int = 0  # of its answers, how many equal the embedded store's
    same_answers: int = 0
    compared: int = 0
    daily_pages: int = 0  # appended to the slice's JSONL, then one more ingest
    daily: float = 0.0
    daily_chunks: int = 0
    daily_new_lines_only: bool = False  # whether that ingest read only the appended lines


def kit_slice(kit: Path, n: int, folder: Path) -> Path:
    """The first ``n`` kit pages as one JSONL file (id, url, title, text) for `caucasus-qa ingest`."""
    from caucasus_qa.measuring.realtimeqa import write_corpus

    return write_corpus(kit, folder / "kit.jsonl", n, KIT_FILES)


def kit_questions(kit: Path, limit: int) -> list[str]:
    rows = [json.loads(line) for line in (kit / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [r["q"] for r in rows][:limit]


def _wall(cmd: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, **kwargs)
    return time.perf_counter() - started


def _ingest_cmd(settings: Settings, corpus: Path) -> list[str]:
    exe = str(Path(sys.executable).parent / "caucasus-qa")
    return [exe, "ingest", str(corpus), "--store", str(settings.store), "--collection", settings.collection, "--json"]


def _ingest(run: SizeRun, settings: Settings, corpus: Path) -> None:
    run.ingest = _wall(_ingest_cmd(settings, corpus))
    _again(run, settings, corpus)


def _again(run: SizeRun, settings: Settings, corpus: Path) -> None:
    """Ingest the unchanged corpus again (nothing to embed), and the store's size on disk."""
    started = time.perf_counter()
    again = json.loads(subprocess.run(_ingest_cmd(settings, corpus), capture_output=True, text=True).stdout)
    run.again = time.perf_counter() - started
    run.again_embedded = again["chunks_embedded"] + again.get("sentences_embedded", 0)
    run.store_mb = sum(p.stat().st_size for p in settings.store.rglob("*") if p.is_file()) / 1e6


def _floor(run: SizeRun, settings: Settings) -> None:
    """Every text the ingest embedded, through the bare model in one call."""
    from llama_index.core.schema import MetadataMode

    from caucasus_qa.articles.evidence import split_sentences
    from caucasus_qa.store.collections import Store
    from caucasus_qa.store.embedding import load_embed_model

    store = Store(settings)
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in store.all_chunks()]
    sentences = [s.text for a in store.article_ids() for s in split_sentences(a, store.article(a).text)]
    texts += list(dict.fromkeys(sentences))  # each distinct sentence once (the ingest: once per batch)
    model = load_embed_model(settings.embed_model, settings.embed_batch_size)
    started = time.perf_counter()
    model._model.encode(texts, batch_size=settings.embed_batch_size)
    run.floor, run.texts = time.perf_counter() - started, len(texts)


_PLAIN = (
    "import sys; from llama_index.core import VectorStoreIndex; "
    "from caucasus_qa.store.embedding import load_embed_model; "
    "from caucasus_qa.settings import load_settings; from caucasus_qa.store.collections import Store; "
    "s = load_settings(store=sys.argv[1], collection=sys.argv[2]); st = Store(s); "
    "m = load_embed_model(s.embed_model, s.embed_batch_size); "
    "VectorStoreIndex.from_vector_store(st.vector_store, embed_model=m).as_retriever(similarity_top_k=5)"
    ".retrieve(sys.argv[3])"
)


def _cold(run: SizeRun, settings: Settings, question: str) -> None:
    """A new process's first answer, next to a new process's plain LlamaIndex import and first query."""
    exe = str(Path(sys.executable).parent / "caucasus-qa")
    run.cold_first_answer = _wall([exe, "ask", question, "--store", str(settings.store), "--collection",
                                   settings.collection])  # fmt: skip
    run.cold_plain = _wall([sys.executable, "-c", _PLAIN, str(settings.store), settings.collection, question])


def _warm(run: SizeRun, settings: Settings, questions: list[str]) -> None:
    """Per question: our answer, our retrieval alone, and plain LlamaIndex top-5 dense retrieval."""
    from llama_index.core import VectorStoreIndex

    from caucasus_qa.assistant import Assistant
    from caucasus_qa.store.embedding import load_embed_model

    qa = Assistant(settings=settings)
    plain_model = load_embed_model(settings.embed_model, settings.embed_batch_size)  # plain: sentence-transformers
    plain = VectorStoreIndex.from_vector_store(qa.store.vector_store, embed_model=plain_model).as_retriever(
        similarity_top_k=5
    )
    qa.ask(questions[0])
    plain.retrieve(questions[0])
    for question in questions:
        for bucket, call in ((run.answer_ms, qa.ask), (run.retrieve_ms, qa.retrieve), (run.plain_ms, plain.retrieve)):
            started = time.perf_counter()
            call(question)
            bucket.append((time.perf_counter() - started) * 1e3)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a server this benchmark, or a test, starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    """Wait until ``url`` answers; fail at once if the process serving it exits."""
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def _serve_rss(run: SizeRun, settings: Settings, questions: list[str]) -> None:
    """Peak resident memory of `caucasus-qa serve` after answering the questions through its API."""
    from gradio_client import Client

    port = free_port()
    exe = str(Path(sys.executable).parent / "caucasus-qa")
    cmd = [exe, "serve", "--store", str(settings.store), "--collection", settings.collection, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for question in questions:
            client.predict(question, api_name="/ask")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        run.serve_rss_mb = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _ask_batch(flags: list[str], questions: list[str]) -> tuple[float, list[tuple[str, list[str]]]]:
    """One `caucasus-qa ask - --json` process over the questions: its wall time, and per question
    the answer text and the cited article ids."""
    exe = str(Path(sys.executable).parent / "caucasus-qa")
    started = time.perf_counter()
    out = subprocess.run([exe, "ask", "-", "--json", *flags], input="\n".join(questions) + "\n", text=True,
                         capture_output=True, check=True).stdout  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return time.perf_counter() - started, [(r["answer"], [c["article_id"] for c in r["citations"]]) for r in rows]


def _server(run: SizeRun, settings: Settings, questions: list[str]) -> None:
    """The same store served by `chroma run`: do clients of the server answer as the embedded
    store does? The first client builds the lexicon (the store was built embedded, so the
    server holds no copy) and shares it; the second loads it from its machine's disk; a third on
    a fresh folder, as on another machine, downloads it from the server."""
    _, embedded = _ask_batch(["--store", str(settings.store), "--collection", settings.collection], questions)
    port = free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    cmd = [chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(settings.store / "chroma")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, timeout=120)
        flags = ["--chroma-url", f"http://127.0.0.1:{port}", "--collection", settings.collection,
                 "--store", str(settings.store.parent / "client")]  # fmt: skip
        run.server_first, served = _ask_batch(flags, questions)
        run.server_again, _ = _ask_batch(flags, questions)
        flags[-1] = str(settings.store.parent / "client-elsewhere")
        run.server_elsewhere, elsewhere = _ask_batch(flags, questions)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    run.compared = len(questions)
    run.same_answers = sum(a == b for a, b in zip(embedded, served))
    run.same_elsewhere = sum(a == b for a, b in zip(embedded, elsewhere))


def _daily(run: SizeRun, settings: Settings, kit: Path, corpus: Path) -> None:
    """Append the next ``DAILY_PAGES`` kit pages to the slice's JSONL and ingest it once more: a
    day's pages into the whole store (the archive read from where it stopped, the lexicon from
    the words of the chunks already stored)."""
    import itertools

    from caucasus_qa.measuring.realtimeqa import corpus_line, kit_lines
    from caucasus_qa.store.sources import RACY_S

    more = list(itertools.islice(kit_lines(kit, KIT_FILES), run.articles, run.articles + DAILY_PAGES))
    if not more:
        return
    with corpus.open("a", encoding="utf-8") as fh:
        fh.writelines(corpus_line(line) for line in more)
    time.sleep(RACY_S + 0.5)  # a file written in the last RACY_S seconds is read whole (sources.py)
    started = time.perf_counter()
    out = subprocess.run(_ingest_cmd(settings, corpus), capture_output=True, text=True, check=True).stdout
    run.daily = time.perf_counter() - started
    report = json.loads(out)
    run.daily_pages, run.daily_chunks = len(more), report["chunks_embedded"]
    run.daily_new_lines_only = any("new lines only" in note for note in report["notes"])


def measure(settings: Settings, kit: Path, n: int, questions: list[str], keep: Path | None = None) -> SizeRun:
    """One size, in a fresh embedded store that is deleted afterwards (kept under ``keep`` if given)."""
    run = SizeRun(articles=n)
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        root = keep / f"{n}" if keep else Path(tmp)
        s = settings.replace(store=root / "store")
        s = Settings(**{**vars(s), "chroma_url": None})  # always embedded: the same machine, no network
        corpus = kit_slice(kit, n, root / "corpus")
        _ingest(run, s, corpus)
        _floor(run, s)
        _cold(run, s, questions[0])
        _warm(run, s, questions)
        _serve_rss(run, s, questions[:20])
        _server(run, s, questions[:SERVER_QUESTIONS])
        _daily(run, s, kit, corpus)
    return run


def measure_store(settings: Settings, corpus: Path, questions: list[str]) -> SizeRun:
    """A store built beforehand from ``corpus`` (an ingest stopped and resumed over days, say):
    everything but the ingest and its floor, which need a fresh store."""
    from caucasus_qa.store.collections import Store

    s = Settings(**{**vars(settings), "chroma_url": None})
    run = SizeRun(articles=len(Store(s)))
    _again(run, s, corpus)
    _cold(run, s, questions[0])
    _warm(run, s, questions)
    _serve_rss(run, s, questions[:20])
    _server(run, s, questions[:SERVER_QUESTIONS])
    return run


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, NaN for no values (the benchmarks' p50 and p95)."""
    return float(np.percentile(values, q)) if values else float("nan")


def render(runs: list[SizeRun], questions: int) -> str:
    lines: list[str | None] = [
        f"machine: {os.cpu_count()} cores; {questions} kit questions per size; embedded Chroma",
        "",
    ]
    for r in runs:
        timings = (r.answer_ms, r.retrieve_ms, r.plain_ms)
        a50, a95, r50, r95, p50, p95 = (percentile(v, q) for v in timings for q in (50, 95))
        lines += [
            f"## {r.articles:,} articles",
            "| measure | value | anchor | ratio |",
            "| --- | --- | --- | --- |",
            f"| ingest (whole `caucasus-qa ingest`) | {r.ingest:.0f} s | floor {r.floor:.0f} s | "
            f"{r.ingest / r.floor:.2f} |"
            if r.floor
            else "| ingest | not measured: a store built beforehand | | |",
            f"| texts embedded per article | {r.texts / r.articles:.1f} | | |" if r.texts else None,
            f"| store on disk | {r.store_mb:.0f} MB | | |",
            f"| re-ingest unchanged | {r.again:.1f} s, {r.again_embedded} embedded | | |",
            f"| cold start to first answer | {r.cold_first_answer:.1f} s | plain {r.cold_plain:.1f} s | "
            f"{r.cold_first_answer / r.cold_plain:.2f} |",
            f"| warm answer p50 / p95 | {a50:.0f} / {a95:.0f} ms | | |",
            f"| retrieval only p50 / p95 | {r50:.0f} / {r95:.0f} ms | plain {p50:.0f} / {p95:.0f} ms | "
            f"{r50 / p50:.2f} / {r95 / p95:.2f} |",
            f"| `serve` peak RSS | {r.serve_rss_mb:.0f} MB | | |",
            f"| `chroma run`: same answers as embedded (first client; another machine's) | {r.same_answers} "
            f"of {r.compared}; {r.same_elsewhere} of {r.compared} | | |",
            f"| `chroma run`: {r.compared} questions, first client (builds, shares) / second / another machine "
            f"(downloads) | {r.server_first:.1f} / {r.server_again:.1f} / {r.server_elsewhere:.1f} s | | |",
            f"| a day's ingest: {r.daily_pages} more kit pages appended to the JSONL | {r.daily:.1f} s, "
            f"{r.daily_chunks} chunks embedded; {'new lines only' if r.daily_new_lines_only else 'read whole'} "
            "| | |"
            if r.daily_pages
            else None,
            "",
        ]
    return "\n".join(line for line in lines if line is not None)


def scale_benchmark(
    settings: Settings,
    kit: Path,
    sizes: tuple[int, ...],
    questions: int = 100,
    keep: Path | None = None,
    built: tuple[Path, Path] | None = None,
) -> str:
    """Each size in a fresh store; or, given ``built`` (a store folder and the corpus it was
    ingested from), that store alone."""
    asked = kit_questions(kit, questions)
    if built is not None:
        return render([measure_store(settings.replace(store=built[0]), built[1], asked)], len(asked))
    return render([measure(settings, kit, n, asked, keep) for n in sizes], len(asked))
