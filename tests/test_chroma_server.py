"""Server mode: the same ingestion against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import chromadb
import pytest
from conftest import free_port, run_cli
from test_ingest import make_corpus

from caucasus_qa.errors import StoreError
from caucasus_qa.ingestion import ingest
from caucasus_qa.store import Store

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
