"""`caucasus-qa bench load`: questions under load while an ingest runs (issue 2.4).

One store of the default corpus; `serve` over it; then, at once: an ingest of kit pages in another
process, waves of 50 concurrent questions through the chat's API (gradio_client) and 4 Python API
readers (separate processes, as notebooks would be), all asking the eval set's questions about
the default articles until the ingest ends. Counted: errors, refusals saying to wait for the
ingest (an embedded store), answers whose quotes are not at their offsets, and answers that
differ from the ones given before the ingest (first citation, or a decline). Afterwards the same
ingest is replayed alone, asking every question at each batch boundary: an answer given under
load must be the replayed answer of the store version it names, else it is a torn read. With ``server``
everything goes through a private `chroma run` instead. A benchmark that prints figures, not a
timed test; it stops every process it starts.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caucasus_qa.measuring.scale import percentile
from caucasus_qa.settings import Settings

LOAD_KIT_FILES = ("articles-scale.jsonl.gz",)  # 2024 pages: other news than the default articles
WAVE_PAUSE_S = 5.0  # between waves of chat questions: 2 cores must still ingest meanwhile
READER_PAUSE_S = 1.0  # between one Python API reader's questions
# How long a chat client waits for the server to take and answer a question. gradio_client's
# default is httpx's 5 s, which no browser uses (Gradio's page waits in its queue, showing the
# position): with it, 50 questions at once on 2 cores during an ingest counted as errors.
CLIENT_TIMEOUT_S = 300.0


Versions = dict[int, dict[str, tuple]]  # store version -> question -> answer signature (``_replay``)
Unreplayed = tuple[str, int | None, tuple, tuple | None]  # question, version, answer, replayed answer


@dataclass
class Tally:
    """What one face saw: latencies (s), errors, unverified quotes and changed answers."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waits: int = 0  # "another process is ingesting": an embedded store's refusal, by design
    unverified: int = 0
    seen: list[tuple[str, tuple, int | None]] = field(default_factory=list)  # (question, signature, store version)

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.waits += other.waits
        self.unverified += other.unverified
        self.seen += [(q, tuple(sig), version) for q, sig, version in other.seen]

    def torn(self, before: dict, after: dict) -> list[str]:
        """Questions answered, during the ingest, as neither before it nor after it."""
        return [q for q, sig, _ in self.seen if sig not in (before[q], after[q])]

    def unreplayed(self, versions: Versions) -> list[Unreplayed]:
        """Answers that are not the replayed answer of the store version they name, as
        (question, version, answer, replayed answer); an answer naming no replayed version must be
        that of one of them (see ``_replay``)."""
        out: list[Unreplayed] = []
        for q, sig, version in self.seen:
            if version in versions:
                if versions[version][q] != sig:
                    out.append((q, version, sig, versions[version][q]))
            elif all(answers[q] != sig for answers in versions.values()):
                out.append((q, version, sig, None))
        return out

    def moved(self, before: dict) -> int:
        return sum(sig != before[q] for q, sig, _ in self.seen)


def signature(answer: dict[str, Any]) -> tuple:
    """What must not change for a question about an untouched article: a decline, or the first quote."""
    first = answer["citations"][0] if answer["citations"] and not answer["abstained"] else {}
    return answer["abstained"], first.get("article_id"), first.get("quote")


def judge(tally: Tally, question: str, answer: dict, seconds: float, text_of: Callable) -> None:
    """Count one answer: its time; an error; a quote not at its offsets; what it said."""
    if "error" in answer:
        if "is ingesting into this store" in answer["error"]:
            tally.waits += 1
        else:
            tally.errors.append(f"{question[:60]}: {answer['error']}")
        return
    tally.latencies.append(seconds)
    for c in answer["citations"]:
        text = text_of(c["article_id"])  # None: an article the ingest added (not known to the judge)
        if text is not None and text[c["start"] : c["end"]] != c["quote"]:
            tally.unverified += 1
    tally.seen.append((question, signature(answer), answer.get("store_version")))


def _reader(settings: Settings, questions: list[str], done: Any, out: Any) -> None:
    """One Python API reader (its own process): a question a second until the ingest is done."""
    from caucasus_qa import Assistant

    qa = Assistant(settings=settings)
    tally = Tally()
    while not done.is_set():
        for q in questions:
            done.wait(READER_PAUSE_S)
            started = time.perf_counter()
            try:
                answer = qa.ask(q).to_dict()
            except Exception as exc:  # counted, not fatal: the point is to see them
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            judge(tally, q, answer, time.perf_counter() - started, qa.article_text)
            if done.is_set():
                break
    out.put(vars(tally))


def _chat_clients(url: str, questions: list[str], clients: int, done: threading.Event, text_of: Callable) -> Tally:
    """``clients`` threads asking through the chat's /ask API in waves: all at once, then a pause."""
    from gradio_client import Client

    tallies = [Tally() for _ in range(clients)]
    wave = threading.Barrier(clients)

    def run(i: int) -> None:
        client = Client(url, verbose=False, httpx_kwargs={"timeout": CLIENT_TIMEOUT_S})
        k = i
        while not done.is_set():
            try:
                wave.wait(timeout=900)  # the questions of a wave are in flight together
            except threading.BrokenBarrierError:
                break
            q = questions[k % len(questions)]
            k += clients
            started = time.perf_counter()
            try:
                answer = client.predict(q, api_name="/ask")
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            judge(tallies[i], q, answer, time.perf_counter() - started, text_of)
            done.wait(WAVE_PAUSE_S)
        wave.abort()  # release the others from their next wave

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(run, range(clients)))
    total = Tally()
    for t in tallies:
        total.add(t)
    return total


def _eval_questions(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if "question" in r and not r.get("history")]


@dataclass
class Run:
    """One load run: the ingest's time, status and last line, and what each face saw."""

    ingest_s: float
    status: int
    last: str
    faces: dict[str, Tally]


def load_benchmark(settings: Settings, kit: Path, articles: int = 500, clients: int = 50, readers: int = 4,
                   server: bool = False, questions_file: Path = Path("eval/questions.jsonl")) -> str:  # fmt: skip
    """Run the load benchmark in a temporary folder; the report as Markdown."""
    from caucasus_qa.measuring.realtimeqa import write_corpus

    exe = str(Path(sys.executable).parent / "caucasus-qa")
    questions = _eval_questions(questions_file)
    procs: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        root = Path(tmp)
        try:
            url = _private_chroma(root, procs) if server else None
            s = Settings(**{**vars(settings.replace(store=root / "store")), "chroma_url": url})
            flags = ["--store", str(s.store)] + (["--chroma-url", url] if url else [])
            subprocess.run([exe, "ingest", str(settings.corpus), *flags], check=True, capture_output=True)
            before, texts = _baseline(s, questions)
            pages = write_corpus(kit, root / "kit" / "kit.jsonl", articles, LOAD_KIT_FILES)
            run = _under_load(s, flags, pages, questions, texts.get, clients, readers, procs)
            after, _ = _baseline(s, questions)  # the store as the ingest left it
        finally:
            _stop(procs)
        embedded = Settings(**{**vars(settings.replace(store=root / "replay")), "chroma_url": None})
        versions = _replay(embedded, pages, questions)
    mode = "a private `chroma run`" if server else "the embedded store"
    return render(mode, articles, run, len(questions), before, after, versions)


def _under_load(s: Settings, flags: list[str], pages: Path, questions: list[str], text_of: Callable, clients: int,
                readers: int, procs: list) -> Run:  # fmt: skip
    """`serve`, the readers, the ingest and the chat clients at once, until the ingest ends."""
    from caucasus_qa.measuring.scale import free_port, wait_for_http

    exe = str(Path(sys.executable).parent / "caucasus-qa")
    port = free_port()
    procs.append(subprocess.Popen([exe, "serve", *flags, "--port", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))  # fmt: skip
    wait_for_http(f"http://127.0.0.1:{port}/", procs[-1])
    ctx = multiprocessing.get_context("spawn")
    done, out = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_reader, args=(s, questions, done, out)) for _ in range(readers)]
    procs += workers
    for w in workers:
        w.start()
    started = time.perf_counter()
    ingest = subprocess.Popen([exe, "ingest", str(pages), *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)  # fmt: skip
    procs.append(ingest)
    chat_done, chat = threading.Event(), Tally()
    url = f"http://127.0.0.1:{port}/"
    thread = threading.Thread(target=lambda: chat.add(_chat_clients(url, questions, clients, chat_done, text_of)))
    thread.start()
    stdout, stderr = ingest.communicate()
    ingest_s = time.perf_counter() - started
    done.set()
    chat_done.set()
    thread.join()
    api = Tally()
    for _ in workers:
        api.add(Tally(**out.get(timeout=600)))
    last = (stdout.strip().splitlines() or [stderr.strip()])[-1]
    return Run(ingest_s, ingest.returncode, last, {f"chat API ({clients} clients)": chat,
                                                   f"Python API ({readers} readers)": api})  # fmt: skip


def _baseline(settings: Settings, questions: list[str]) -> tuple[dict, dict]:
    """Each question's answer signature before the ingest, and the stored articles' texts."""
    from caucasus_qa import Assistant

    qa = Assistant(settings=settings)
    baseline = {q: signature(qa.ask(q).to_dict()) for q in questions}
    return baseline, {a: qa.article_text(a) for a in qa.store.article_ids()}


def _replay(settings: Settings, pages: Path, questions: list[str]) -> Versions:
    """Every question's answer at each store version of the same ingest, replayed alone into a
    fresh embedded store of the default corpus: the same file in one ingest, so the same batches
    and the same version numbers, every question asked after each batch. An answer given under
    load must be the replayed answer of the version it names (``Answer.store_version``); one that
    is not read a state no finished batch left, or answered differently for another reason (a torn
    read: docs/reliability.md). One ingest, not one per batch: the embedder pads each batch to its
    longest text, so a chunk's stored vector depends, in its last bits, on the batch it was
    embedded with. The embedded and server stores give the same answers (`bench scale` checks it)."""
    from caucasus_qa import Assistant
    from caucasus_qa.store.ingestion import ingest
    from caucasus_qa.store.lexicon import save_for

    Assistant(settings=settings).ingest([settings.corpus])
    reader = Assistant(settings=settings)  # same process: it reads each batch as soon as it is recorded
    versions: Versions = {}

    def at_boundary(done: int, total: int) -> None:
        reader.store.refresh()
        save_for(reader.store)  # this version's lexicon now (an ingest saves it at its end only)
        answers = {q: reader.ask(q).to_dict() for q in questions}
        versions[answers[questions[0]]["store_version"]] = {q: signature(a) for q, a in answers.items()}

    ingest(settings, [pages], progress=at_boundary)  # called before the first batch too: the version before
    return versions


def _private_chroma(root: Path, procs: list) -> str:
    from caucasus_qa.measuring.scale import free_port, wait_for_http

    port = free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen([chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(root / "chroma")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    procs.append(proc)
    wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, timeout=120)
    return f"http://127.0.0.1:{port}"


def _stop(procs: list) -> None:
    """Stop every process the benchmark started (servers, the ingest, the readers)."""
    for p in procs:
        p.terminate() if isinstance(p, subprocess.Popen) else p.kill()
    for p in procs:
        p.wait(timeout=60) if isinstance(p, subprocess.Popen) else p.join(timeout=60)


def render(mode: str, articles: int, run: Run, n: int, before: dict, after: dict, versions: Versions) -> str:
    faces = run.faces
    lines = [
        f"Load on {mode}: {n} eval questions about the default articles, asked while `caucasus-qa ingest` of "
        f"{articles} kit pages ran in another process (exit {run.status}, {run.ingest_s:.0f} s: {run.last}).",
        "",
        "| face | answers | errors | told to wait | quotes not at their offsets | neither the answer before "
        "nor after the ingest | not the replayed answer of its store version | differs from before | p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, t in faces.items():
        lines.append(
            f"| {name} | {len(t.latencies)} | {len(t.errors)} | {t.waits} | {t.unverified} | "
            f"{len(t.torn(before, after))} | {len(t.unreplayed(versions))} | {t.moved(before)} | "
            f"{percentile(t.latencies, 50) * 1000:.0f} ms | {percentile(t.latencies, 95) * 1000:.0f} ms |"
        )
    for name, t in faces.items():
        for e in sorted(set(t.errors))[:5]:
            lines.append(f"- {name} error: {e}")
        for q, version, got, replayed in sorted(set(t.unreplayed(versions)), key=str)[:5]:
            lines.append(f"- {name}, store version {version}: {q} answered {_short(got)}, replayed {_short(replayed)}")
    return "\n".join(lines)


def _short(sig: tuple | None) -> str:
    if sig is None:
        return "(no replayed version)"
    declined, article, quote = sig
    return "(declined)" if declined else f"{article}: {str(quote)[:60]!r}"
