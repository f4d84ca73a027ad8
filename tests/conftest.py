"""Shared fixtures: isolated env and working folder, real settings on a tmp store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caucasus_qa.measuring.scale import free_port  # noqa: F401  (the tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "ingest" / "articles"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CAUCASUS_QA_* from the developer's shell, and a private working folder."""
    for key in list(os.environ):
        if key.startswith("CAUCASUS_QA_"):
            monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def settings(tmp_path: Path):
    from caucasus_qa import load_settings

    return load_settings(store=tmp_path / "store")


def ingested(tmp_path_factory: pytest.TempPathFactory, folder: Path):
    """An Assistant over a fresh store holding the articles of ``folder`` (tests/data/...)."""
    from caucasus_qa import Assistant

    assistant = Assistant(store=tmp_path_factory.mktemp(f"{folder.name}-store"))
    assert assistant.ingest([folder]).ok
    return assistant


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(
    *args: str, env: dict | None = None, cwd: Path | None = None, input: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAUCASUS_QA_")}
    full_env.update(env or {})
    return subprocess.run(
        [str(VENV_BIN / "caucasus-qa"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=input,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` on 127.0.0.1, stopped after the session."""
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(VENV_BIN / "chroma"), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
