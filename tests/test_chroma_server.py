"""Server mode: the same ingestion against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import chromadb
import pytest
from conftest import free_port, run_cli
from test_ingest import make_corpus

from caucasus_qa.errors import StoreError
from caucasus_qa.store.collections import Store
from caucasus_qa.store.ingestion import ingest

pytestmark = pytest.mark.slow


def test_ingest_into_a_chroma_server(chroma_server, settings, tmp_path):
    remote = settings.replace(chroma_url=chroma_server, collection="server-test")
    corpus = make_corpus(tmp_path / "c")
    first = ingest(remote, [corpus])
    assert first.ok and len(first.added) == 3
    host, port = chroma_server.rsplit(":", 1)
    client = chromadb.HttpClient(host=host.split("//")[1], port=int(port))
    assert client.get_collection("server-test").count() == first.chunks_total
    again = ingest(remote, [corpus])
    assert again.chunks_embedded == 0
    assert not (settings.store / "chroma").exists(), "server mode writes no local vectors"


def test_cli_server_mode(chroma_server, tmp_path):
    corpus = make_corpus(tmp_path / "c", n=2)
    out = run_cli(
        "ingest",
        str(corpus),
        "--chroma-url",
        chroma_server,
        "--collection",
        "cli-test",
        "--store",
        str(tmp_path / "state"),
    )
    assert out.returncode == 0, out.stderr
    assert "added 2" in out.stdout


def test_unreachable_server_is_one_clear_line(settings):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match="cannot reach the Chroma server at " + url):
        Store(settings.replace(chroma_url=url))


def _serve(chroma_url: str, collection: str, folder) -> tuple:
    import subprocess

    from conftest import VENV_BIN
    from test_ui import wait_for_http

    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "serve.log", "w")  # not a pipe: a full pipe would block the server
    cmd = [str(VENV_BIN / "caucasus-qa"), "serve", "--chroma-url", chroma_url, "--collection", collection]
    proc = subprocess.Popen([*cmd, "--port", str(port), "--store", str(folder / "local")], cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    wait_for_http(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}/"


def test_two_serve_processes_share_one_chroma_server(chroma_server, tmp_path):
    """Every piece of state lives in the server: what one process ingests, another answers from."""
    from conftest import write
    from gradio_client import Client

    first = make_corpus(tmp_path / "first", n=2)
    ingest_cmd = ["ingest", "--chroma-url", chroma_server, "--collection", "shared", "--store", str(tmp_path / "x")]
    assert run_cli(*ingest_cmd, str(first)).returncode == 0
    servers = [_serve(chroma_server, "shared", tmp_path / name) for name in ("a", "b")]
    try:
        later = write(tmp_path / "later" / "lighthouse.txt", "Keeper's lighthouse repainted\n\n"
                      "The old lighthouse on Gull Point was repainted in red and white stripes by volunteers, "
                      "the harbour trust said on Tuesday. The work took eleven days.")  # fmt: skip
        assert run_cli(*ingest_cmd, str(later.parent)).returncode == 0
        for _, url in servers:
            answer = Client(url, verbose=False).predict("Who repainted the lighthouse on Gull Point?", api_name="/ask")
            assert not answer["abstained"], answer
            assert any(c["article_id"] == "lighthouse" and "volunteers" in c["quote"] for c in answer["citations"])
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)


def test_a_servers_lexicon_is_in_the_server_and_other_machines_download_it(
    chroma_server, settings, tmp_path, monkeypatch
):
    import caucasus_qa.store.lexicon as lexicon
    from caucasus_qa.store.lexicon import LexiconCache, store_folder

    remote = settings.replace(chroma_url=chroma_server, collection="lexicon-test")
    ingest(remote, [make_corpus(tmp_path / "c", n=2)])
    store = Store(remote)
    assert (store_folder(store, store.version) / "stats.json").is_file(), "the ingesting machine keeps it"
    here = LexiconCache(store).get()

    def refuse(*args, **kwargs):
        raise AssertionError("built from every chunk of the server")

    monkeypatch.setattr(lexicon, "build", refuse)
    monkeypatch.setattr(lexicon, "SHARE_PAGE", 1)  # paged like a large store's download
    elsewhere = Store(remote.replace(store=tmp_path / "other-machine"))
    fetched = LexiconCache(elsewhere).get()  # the first process on another machine downloads it
    assert fetched.version == store.version and fetched.stats.df == here.stats.df
    assert fetched.bm25 is not None and fetched.bm25.ids == here.bm25.ids
    question = "rail strike story"
    assert fetched.bm25.top(fetched.bm25.scores(question), 5) == here.bm25.top(here.bm25.scores(question), 5)
    assert (store_folder(elsewhere, elsewhere.version) / "stats.json").is_file(), "then kept on its disk"
    assert store_folder(store, 1) != store_folder(Store(settings), 1), "server and embedded never share a folder"


def test_a_cut_short_lexicon_in_the_server_is_built_again_and_shared(chroma_server, settings, tmp_path):
    from caucasus_qa.store.lexicon import LexiconCache

    remote = settings.replace(chroma_url=chroma_server, collection="lexicon-cut")
    ingest(remote, [make_corpus(tmp_path / "c", n=2)])
    store = Store(remote)
    records = store.lexicon_collection.get(include=["metadatas"])
    assert len({m["file"] for m in records["metadatas"]}) >= 3  # stats, ids and bm25s's files
    lost = [i for i, m in zip(records["ids"], records["metadatas"], strict=True) if m["file"].startswith("bm25/")]
    store.lexicon_collection.delete(ids=lost[:1])  # an upload cut short: one file missing
    elsewhere = Store(remote.replace(store=tmp_path / "other-machine"))
    built = LexiconCache(elsewhere).get()
    assert built.version == store.version and built.stats.n > 0
    assert store.lexicon_collection.get(ids=lost[:1], include=[])["ids"], "shared again"
    third = Store(remote.replace(store=tmp_path / "third-machine"))
    assert LexiconCache(third).get().stats.df == built.stats.df
