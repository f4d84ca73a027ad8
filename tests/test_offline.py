"""A full ingest works with every network address but loopback refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS

GUARD = """
import ipaddress, socket
LOG = {log!r}
def _loopback(address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX paths are local
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
def _refuse(address):
    with open(LOG, "a") as fh:
        fh.write(repr(address) + "\\n")
    raise OSError(101, "Network is unreachable (test guard)")
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
def connect(self, address):
    return _connect(self, address) if _loopback(address) else _refuse(address)
def connect_ex(self, address):
    return _connect_ex(self, address) if _loopback(address) else _refuse(address)
def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost") and not _loopback((host,)):
        _refuse((host,))
    return _getaddrinfo(host, *args, **kwargs)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
"""


def test_full_ingest_needs_no_network(tmp_path: Path):
    log = tmp_path / "attempts.log"
    log.touch()
    (tmp_path / "netguard.py").write_text(GUARD.format(log=str(log)))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "TRANSFORMERS_", "TIKTOKEN_", "CAUCASUS_QA_", "SENTENCE_TRANSFORMERS"))
    }
    env["PYTHONPATH"] = str(tmp_path)
    env["HOME"] = str(tmp_path / "home")  # no model caches from earlier runs
    code = "import netguard, sys; from caucasus_qa.faces.cli import main; sys.argv[0] = 'caucasus-qa'; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "ingest", str(CORPUS), "--store", str(tmp_path / "s"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert '"chunks_embedded": ' in out.stdout and '"articles_total": 5' in out.stdout
    assert log.read_text() == "", f"network was attempted: {log.read_text()}"
