"""Faults with real processes (issue 2.4): an ingest killed with SIGKILL at chosen points, a full
disk, a read-only store, a Chroma server that dies and comes back. After each: `check` tells the
truth, the next run finishes only what was not finished, nothing stored before is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import VENV_BIN
from test_ingest import chunk_count, make_corpus, vector_count

from caucasus_qa import load_settings
from caucasus_qa.errors import CaucasusQAError
from caucasus_qa.faces.cli import main
from caucasus_qa.store.collections import Store
from caucasus_qa.store.ingestion import STOP_POINTS, ingest
from caucasus_qa.store.integrity import check

N = 24  # articles: batches of two (ceil(24 / 20)), so the second batch starts at article 3


def kill_at(point: str, corpus: Path, store: Path, sentence_vectors: str = "late") -> None:
    """Run `caucasus-qa ingest` until it reports ``point`` in its second batch, then SIGKILL it."""
    env = {**os.environ, "CAUCASUS_QA_STOP_AT": point, "CAUCASUS_QA_SENTENCE_VECTORS": sentence_vectors}
    cmd = [str(VENV_BIN / "caucasus-qa"), "ingest", str(corpus), "--store", str(store)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen, deadline = b"", time.time() + 300
    while f"stopped at {point}".encode() not in seen:
        assert proc.poll() is None and time.time() < deadline, seen.decode(errors="replace")
        seen += proc.stderr.read1(256)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def records(store: Store) -> dict[str, str]:
    return store.hashes(store.article_ids())


@pytest.mark.parametrize(
    ("point", "sentence_vectors"), [(p, "late") for p in STOP_POINTS] + [("vectors", "own")]
)  # own vectors are embedded in a step of their own, after the chunks
def test_an_ingest_killed_at_each_point_is_finished_by_the_next_run_and_loses_nothing(
    point, sentence_vectors, tmp_path
):
    corpus = make_corpus(tmp_path / "c", n=N, paragraphs=3)
    store_dir = tmp_path / "s"
    kill_at(point, corpus, store_dir, sentence_vectors)

    settings = load_settings(store=store_dir, sentence_vectors=sentence_vectors)
    store = Store(settings)
    before = records(store)
    chunks_before = {a: store.chunk_ids(a) for a in before}
    assert len(before) == 2 + (point == "records")  # the first batch, and one record of the second
    found = check(store)
    if point == "embedding":
        assert found.ok  # nothing of the second batch was written: nothing to clean up
    else:  # written parts of articles without their record: named, and `check` exits 1
        # own vectors: the sentences are embedded after the chunks; late: in the same step
        sentences_apart = point == "vectors" and store.sentence_vectors == "own"
        assert {f.kind for f in found.findings} == {"orphan-chunks", "orphan-sentences"} - (
            {"orphan-sentences"} if sentences_apart else set()
        )
    assert CliRunner().invoke(main, ["check", "--store", str(store_dir)]).exit_code == (0 if found.ok else 1)

    report = ingest(settings, [corpus])
    assert report.ok and len(report.unchanged) == len(before)  # only what was not finished is embedded
    assert sorted(report.added) == sorted(set(a.stem for a in corpus.iterdir()) - set(before))
    store = Store(settings)
    assert CliRunner().invoke(main, ["check", "--store", str(store_dir)]).exit_code == 0
    assert check(store).ok and len(store) == N and vector_count(store) == chunk_count(store)
    assert {a: h for a, h in records(store).items() if a in before} == before  # nothing stored lost
    assert {a: store.chunk_ids(a) for a in before} == chunks_before


def test_an_article_record_of_a_version_never_recorded_stays_out_of_answers_until_the_next_ingest(tmp_path):
    """Killed after one record of its second batch: that article is whole, but the version it was
    written for was never recorded, so indexes of the recorded version leave it out (a reader
    answers from one finished version); the next ingest records it."""
    from caucasus_qa import Assistant

    corpus = make_corpus(tmp_path / "c", n=N, paragraphs=3)
    store_dir = tmp_path / "s"
    kill_at("records", corpus, store_dir)
    settings = load_settings(store=store_dir)
    store = Store(settings)
    indexed = {n.ref_doc_id for n in store.all_chunks(upto=store.version)}
    assert store.unrecorded() and len(indexed) == 2 and indexed < set(store.article_ids())
    (lone,) = set(store.article_ids()) - indexed
    title = store.article(lone).metadata["title"]
    assert lone not in {p.node.ref_doc_id for p in Assistant(settings=settings).retrieve(title, top_k=5)}

    assert ingest(settings, [corpus]).ok
    store = Store(settings)
    assert not store.unrecorded() and lone in {n.ref_doc_id for n in store.all_chunks(upto=store.version)}
    assert lone in {p.node.ref_doc_id for p in Assistant(settings=settings).retrieve(title, top_k=5)}


# -- a full disk and a read-only store: real mounts (root needed; skipped where not allowed) ----
def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): this case needs root, as `make test` in CI has")


@pytest.fixture
def small_disk(tmp_path):
    """A 40 MB tmpfs."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=40m", "tmpfs", str(disk))
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def ask_ok(store_dir: Path, question: str) -> dict:
    from caucasus_qa import Assistant

    answer = Assistant(settings=load_settings(store=store_dir)).ask(question)
    return answer.to_dict()


def test_a_full_disk_stops_the_ingest_before_chroma_fails_and_the_store_still_answers(small_disk, tmp_path):
    from test_answers import TOWN

    store_dir = small_disk / "s"
    ingest(load_settings(store=store_dir), [TOWN])
    town = records(Store(load_settings(store=store_dir)))
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler = small_disk / "filler"
    with open(filler, "wb") as f:  # leave 22 MB: the reserve and a batch or so
        os.posix_fallocate(f.fileno(), 0, free - 22_000_000)
    corpus = make_corpus(tmp_path / "c", n=60, paragraphs=6)
    result = CliRunner().invoke(main, ["ingest", str(corpus), "--store", str(store_dir)])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "the disk is nearly full" in result.stderr

    store = Store(load_settings(store=store_dir))  # while the disk is still full:
    assert check(store).ok and 4 < len(store) < 64  # no half-written batch
    assert {a: records(store)[a] for a in town} == town
    stored = sorted(set(store.article_ids()) - set(town))[-1]
    answer = ask_ok(store_dir, f"What does “{store.article(stored).metadata['title']}” report?")
    assert answer["citations"] and all(c["quote"] for c in answer["citations"])  # it still answers

    filler.unlink()
    report = ingest(load_settings(store=store_dir), [corpus])
    store = Store(load_settings(store=store_dir))
    assert report.ok and len(store) == 64 and check(store).ok


def test_a_read_only_store_is_one_clear_line_and_stays_as_it_was(tmp_path):
    from test_answers import TOWN

    writable, read_only = tmp_path / "s", tmp_path / "ro"
    ingest(load_settings(store=writable), [TOWN])
    before = records(Store(load_settings(store=writable)))
    read_only.mkdir()
    mount("--bind", str(writable), str(read_only))
    try:
        mount("-o", "remount,ro,bind", str(read_only))
        for args in (["ask", "What did the mayor say about the closure?"], ["ingest", str(TOWN)], ["check"]):
            result = CliRunner().invoke(main, [*args, "--store", str(read_only)])
            assert result.exit_code == 1 and result.stderr.count("\n") == 1, (args, result.stderr)
            assert "read-only" in result.stderr and "pass the copy as --store" in result.stderr
    finally:
        subprocess.run(["umount", "-l", str(read_only)], check=False)
    store = Store(load_settings(store=writable))
    assert records(store) == before and check(store).ok
    assert not ask_ok(writable, "What did the mayor say about the closure?")["abstained"]


# -- a Chroma server that dies mid-session and comes back ------------------------------------
def start_chroma(port: int, data: Path) -> subprocess.Popen:
    from caucasus_qa.measuring.scale import wait_for_http

    proc = subprocess.Popen(
        [str(VENV_BIN / "chroma"), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, timeout=60)
    return proc


def test_a_chroma_server_that_dies_is_named_and_used_again_when_back_without_a_restart(tmp_path):
    from gradio_client import Client
    from test_answers import TOWN

    from caucasus_qa import Assistant
    from caucasus_qa.measuring.scale import free_port, wait_for_http

    port, data = free_port(), tmp_path / "chroma"
    url = f"http://127.0.0.1:{port}"
    chroma = start_chroma(port, data)
    question = "How often will the ferry run on weekdays?"
    serve = None
    try:
        settings = load_settings(store=tmp_path / "state", chroma_url=url)
        ingest(settings, [TOWN])
        qa = Assistant(settings=settings)
        expected = qa.ask(question).to_dict()
        ui_port = free_port()
        log = open(tmp_path / "serve.log", "w")
        serve = subprocess.Popen(
            [str(VENV_BIN / "caucasus-qa"), "serve", "--store", str(tmp_path / "state"), "--chroma-url", url,
             "--port", str(ui_port)], stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_http(f"http://127.0.0.1:{ui_port}/", serve)
        client = Client(f"http://127.0.0.1:{ui_port}/", verbose=False)
        assert client.predict(question, api_name="/ask")["citations"] == expected["citations"]

        chroma.kill()  # SIGKILL, mid-session
        chroma.wait(timeout=30)
        with pytest.raises(CaucasusQAError, match=f"cannot reach the Chroma server at {url}"):
            qa.ask(question)
        down = client.predict(question, api_name="/ask")
        assert url in down["error"] and "Traceback" not in down["error"] and "answering resumes" in down["error"]

        chroma = start_chroma(port, data)  # back, same data: both answer again, nobody restarted
        assert qa.ask(question).to_dict()["citations"] == expected["citations"]
        assert client.predict(question, api_name="/ask")["citations"] == expected["citations"]
    finally:
        chroma.kill()
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)


# -- an embedded store read by one process while another ingests ----------------------------
def test_a_reader_process_is_told_to_wait_during_another_process_s_ingest_then_sees_its_articles(tmp_path):
    """Chroma's embedded client is not process-safe: a long-lived reader (the chat, a notebook)
    whose store another process wrote failed with "Error finding id" until restarted."""
    from test_answers import TOWN

    from caucasus_qa import Assistant
    from caucasus_qa.errors import StoreError

    store_dir = tmp_path / "s"
    ingest(load_settings(store=store_dir), [TOWN])
    qa = Assistant(settings=load_settings(store=store_dir))
    ferry = "How often will the ferry run on weekdays?"
    before = qa.ask(ferry).to_dict()["citations"]
    corpus = make_corpus(tmp_path / "c", n=N, paragraphs=3)
    kill_at("sentences", corpus, store_dir)  # leaves its pid file: a dead ingest does not block
    assert qa.ask(ferry).to_dict()["citations"] == before

    env = {**os.environ, "CAUCASUS_QA_STOP_AT": "records"}
    cmd = [str(VENV_BIN / "caucasus-qa"), "ingest", str(corpus), "--store", str(store_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    while b"stopped at records" not in seen:
        assert proc.poll() is None, seen
        seen += proc.stderr.read1(256)
    for read in (lambda: qa.ask(ferry), qa.catalog):  # the chat's Articles tab reads the store too
        with pytest.raises(StoreError, match=rf"another process \(pid {proc.pid}\) is ingesting into this store"):
            read()
    proc.kill()
    proc.wait(timeout=30)

    assert subprocess.run(cmd, capture_output=True, timeout=600).returncode == 0  # finished by another process
    assert qa.ask(ferry).to_dict()["citations"] == before  # same process, no restart
    new = qa.retrieve("News about the rail strike 12", top_k=3)
    assert "story012" in [n.node.ref_doc_id for n in new]
    fresh = Assistant(settings=load_settings(store=store_dir))  # a new one in this process sees them too
    assert "story012" in [n.node.ref_doc_id for n in fresh.retrieve("News about the rail strike 12", top_k=3)]


READER = """
import json, sys, time
from pathlib import Path
from caucasus_qa import Assistant, load_settings
store, flag = sys.argv[1], Path(sys.argv[2])
qa = Assistant(settings=load_settings(store=store))
ask = lambda: qa.ask("How often will the ferry run on weekdays?").to_dict()["citations"]
before = ask()
print(json.dumps({"ready": True}), flush=True)
while not flag.exists():
    time.sleep(0.05)
after = ask()  # every reader reopens the store at once, the first thing after the other's ingest
found = [n.node.ref_doc_id for n in qa.retrieve("News about the rail strike 12", top_k=3)]
print(json.dumps({"same": after == before, "found": found}), flush=True)
"""


def test_several_readers_reopen_the_store_at_once_after_another_process_s_ingest(tmp_path):
    """Chroma applies an embedded store's pending log in whichever process opens it next: three
    long-lived readers that all reopen at the same moment after another process's ingest each
    answer as before and see the new articles, with no error."""
    from test_answers import TOWN

    store_dir, flag = tmp_path / "s", tmp_path / "go"
    ingest(load_settings(store=store_dir), [TOWN])
    cmd = [str(VENV_BIN / "python"), "-c", READER, str(store_dir), str(flag)]
    readers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        for r in readers:
            assert '"ready"' in r.stdout.readline(), r.stderr.read()
        corpus = make_corpus(tmp_path / "c", n=N, paragraphs=3)
        ingest_cmd = [str(VENV_BIN / "caucasus-qa"), "ingest", str(corpus), "--store", str(store_dir)]
        assert subprocess.run(ingest_cmd, capture_output=True, timeout=600).returncode == 0
        flag.touch()
        outs = [r.communicate(timeout=300) for r in readers]
    finally:
        for r in readers:
            r.kill()
    for r, (out, err) in zip(readers, outs, strict=True):
        assert r.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["same"] and "story012" in result["found"], result


def test_an_article_read_while_another_thread_starts_a_new_store_version_is_returned(tmp_path):
    """The chat's threads share the store's cache of article records; a thread that notices a new
    version (another process's batch) right after another thread cached a record must not make
    that thread's read fail (before: KeyError, the record gone from the cache it was returned from)."""
    settings = load_settings(store=tmp_path / "store")
    ingest(settings, [make_corpus(tmp_path / "c", n=2)])
    store, writer = Store(settings), Store(settings)
    article_id = store.article_ids()[0]

    class NewVersionRightAfterTheWrite(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            writer.persist()  # another writer records a version...
            assert store.refresh()  # ...and another thread of this process notices it, there and then

    store._articles = NewVersionRightAfterTheWrite()
    doc = store.article(article_id)
    assert doc is not None and doc.text == Store(settings).article(article_id).text
