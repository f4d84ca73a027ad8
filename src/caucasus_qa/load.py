"""`caucasus-qa bench load`: questions under load while an ingest runs (issue 2.4).

One store of the default corpus; `serve` over it; then, at once: an ingest of kit pages in another
process, 50 concurrent questions through the chat's API (gradio_client) and 4 Python API readers
(separate processes, as notebooks would be), all asking the eval set's questions about the
default articles until the ingest ends. Counted: errors, answers whose quotes are not at their
offsets, and answers that differ from the ones given before the ingest (first citation, or a
decline). A benchmark that prints figures, not a timed test; it stops every process it starts.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
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

from caucasus_qa.settings import Settings

LOAD_KIT_FILES = ("articles-scale.jsonl.gz",)  # 2024 pages: other news than the default articles


@dataclass
class Tally:
    """What one face saw: latencies (s), errors, unverified quotes and changed answers."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unverified: int = 0
    changed: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.unverified += other.unverified
        self.changed += other.changed


def signature(answer: dict[str, Any]) -> tuple:
    """What must not change for a question about an untouched article: a decline, or the first quote."""
    first = answer["citations"][0] if answer["citations"] and not answer["abstained"] else {}
    return answer["abstained"], first.get("article_id"), first.get("quote")


def judge(tally: Tally, question: str, answer: dict, seconds: float, baseline: dict, text_of: Callable) -> None:
    """Count one answer: its time; an error; a quote not at its offsets; a change from the baseline."""
    tally.latencies.append(seconds)
    if "error" in answer:
        tally.errors.append(f"{question[:60]}: {answer['error']}")
        return
    for c in answer["citations"]:
        if (text_of(c["article_id"]) or "")[c["start"] : c["end"]] != c["quote"]:
            tally.unverified += 1
    if signature(answer) != baseline[question]:
        tally.changed.append(question)


def _reader(store: str, questions: list[str], baseline: dict, done: Any, out: Any) -> None:
    """One Python API reader (its own process): ask round after round until the ingest is done."""
    from caucasus_qa import Assistant, load_settings

    qa = Assistant(settings=load_settings(store=Path(store)))
    tally = Tally()
    while not done.is_set():
        for q in questions:
            started = time.perf_counter()
            try:
                answer = qa.ask(q).to_dict()
            except Exception as exc:  # counted, not fatal: the point is to see them
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            judge(tally, q, answer, time.perf_counter() - started, baseline, qa.article_text)
            if done.is_set():
                break
    out.put(vars(tally))


def _chat_clients(url: str, questions: list[str], clients: int, baseline: dict, done: threading.Event,
                  text_of: Callable) -> Tally:  # fmt: skip
    """``clients`` threads, each asking through the chat's /ask API until ``done``."""
    from gradio_client import Client

    tallies = [Tally() for _ in range(clients)]

    def run(i: int) -> None:
        client = Client(url, verbose=False)
        k = i
        while not done.is_set():
            q = questions[k % len(questions)]
            k += 1
            started = time.perf_counter()
            try:
                answer = client.predict(q, api_name="/ask")
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            judge(tallies[i], q, answer, time.perf_counter() - started, baseline, text_of)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(run, range(clients)))
    total = Tally()
    for t in tallies:
        total.add(t)
    return total


def _eval_questions(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if "question" in r and not r.get("history")]


def load_benchmark(settings: Settings, kit: Path, articles: int = 500, clients: int = 50, readers: int = 4,
                   questions_file: Path = Path("eval/questions.jsonl")) -> str:  # fmt: skip
    """Run the load benchmark in a temporary folder; the report as Markdown."""
    from caucasus_qa import Assistant
    from caucasus_qa.realtimeqa import write_corpus
    from caucasus_qa.scale import free_port, wait_for_http

    exe = str(Path(sys.executable).parent / "caucasus-qa")
    questions = _eval_questions(questions_file)
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        root = Path(tmp)
        s = Settings(**{**vars(settings.replace(store=root / "store")), "chroma_url": None})
        subprocess.run([exe, "ingest", str(settings.corpus), "--store", str(s.store)], check=True, capture_output=True)
        qa = Assistant(settings=s)
        baseline = {q: signature(qa.ask(q).to_dict()) for q in questions}
        pages = write_corpus(kit, root / "kit" / "kit.jsonl", articles, LOAD_KIT_FILES)
        port = free_port()
        procs: list[Any] = []
        try:
            serve = subprocess.Popen([exe, "serve", "--store", str(s.store), "--port", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            procs.append(serve)
            wait_for_http(f"http://127.0.0.1:{port}/", serve)
            ctx = multiprocessing.get_context("spawn")
            done, out = ctx.Event(), ctx.Queue()
            workers = [ctx.Process(target=_reader, args=(str(s.store), questions, baseline, done, out))
                       for _ in range(readers)]  # fmt: skip
            procs += workers
            for w in workers:
                w.start()
            started = time.perf_counter()
            ingest = subprocess.Popen([exe, "ingest", str(pages), "--store", str(s.store)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            procs.append(ingest)
            chat_done = threading.Event()
            chat: dict[str, Tally] = {}
            thread = threading.Thread(target=lambda: chat.update(tally=_chat_clients(
                f"http://127.0.0.1:{port}/", questions, clients, baseline, chat_done, qa.article_text)))  # fmt: skip
            thread.start()
            stdout, stderr = ingest.communicate()
            ingest_s = time.perf_counter() - started
            done.set()
            chat_done.set()
            thread.join()
            api = Tally()
            for _ in workers:
                api.add(Tally(**out.get(timeout=600)))
        finally:
            for p in procs:
                p.terminate() if isinstance(p, subprocess.Popen) else p.kill()
            for p in procs:
                p.wait(timeout=60) if isinstance(p, subprocess.Popen) else p.join(timeout=60)
        return render(articles, ingest_s, ingest.returncode, stdout.strip().splitlines()[-1:] or [stderr.strip()],
                      {f"chat API ({clients} clients)": chat["tally"], f"Python API ({readers} readers)": api},
                      len(questions))  # fmt: skip


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def render(articles: int, ingest_s: float, status: int, last: list[str], faces: dict[str, Tally], n: int) -> str:
    lines = [
        f"Load: {n} eval questions about the default articles, asked round after round while "
        f"`caucasus-qa ingest` of {articles} kit pages ran in another process (exit {status}, {ingest_s:.0f} s: "
        f"{last[0] if last else ''}).",
        "",
        "| face | answers | errors | quotes not at their offsets | answers changed | p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, t in faces.items():
        lines.append(
            f"| {name} | {len(t.latencies)} | {len(t.errors)} | {t.unverified} | {len(t.changed)} | "
            f"{_p(t.latencies, 50) * 1000:.0f} ms | {_p(t.latencies, 95) * 1000:.0f} ms |"
        )
    for name, t in faces.items():
        for e in sorted(set(t.errors))[:5]:
            lines.append(f"- {name} error: {e}")
        for q in sorted(set(t.changed))[:5]:
            lines.append(f"- {name} changed: {q}")
    return "\n".join(lines)
