"""Sources: the files an ingest read, so that the next ingest leaves the unchanged ones unread.

Re-reading an unchanged year of news was most of a re-ingest (5,384 kit pages: 16.5 s, of which
cleaning and the check for text addressed to an assistant took about half and reading the file
16%; docs/performance.md). A file is left unread when its size and modification time, those
of its metadata sidecar and its folder's manifest, and the code that turns files into articles
are all what they were when every article read from it was stored, and all those articles are
still stored. Anything else is read again as before, and the content hashes then decide what is
embedded: leaving a file unread can only save work, never change what is stored.

Nothing here is a library's job: LlamaIndex's ``SimpleDirectoryReader`` and docstore dedupe by
document hash, which needs the file read first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

from caucasus_qa.articles import MANIFEST, SIDECAR_SUFFIX, Article, Skip, Unread, copy_hash

# The modules whose code decides which articles a file gives, and their hashes: a change to any
# of them reads every file again (once), so a fixed cleaning rule reaches stored articles.
READER_MODULES = ("articles", "boilerplate", "evidence", "text", "ingestion", "store")


@cache
def reader_fingerprint() -> str:
    """A digest of the reading code (``READER_MODULES``)."""
    return code_fingerprint(READER_MODULES)


def code_fingerprint(modules: tuple[str, ...]) -> str:
    """A digest of these modules' source files (of this package)."""
    import importlib.util

    digest = hashlib.sha1()
    for name in modules:
        spec = importlib.util.find_spec(f"caucasus_qa.{name}")
        digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else name.encode())
    return digest.hexdigest()[:16]


# A file modified this recently is read again next time whatever its signature says: a second
# write within the file system's timestamp granularity (a few ms; seconds on some) can leave
# size and time unchanged. Git treats such "racily clean" files the same way.
RACY_S = 2.0


def _stat(path: Path, racy_after_ns: int) -> str | None:
    """ "size:mtime:inode", "-" if there is no such file, None if it changed too recently to trust."""
    try:
        st = path.stat()
    except OSError:
        return "-"
    return None if st.st_mtime_ns > racy_after_ns else f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def signature(path: Path, max_bytes: int) -> str | None:
    """What must be unchanged for ``path`` to give the same articles without being read; None
    if it (or its sidecar or manifest) was modified in the last ``RACY_S`` seconds."""
    racy_after_ns = time.time_ns() - int(RACY_S * 1e9)
    files = (path, path.with_name(path.stem + SIDECAR_SUFFIX), path.parent / MANIFEST)
    parts = [_stat(f, racy_after_ns) for f in files]
    if None in parts:
        return None
    return f"{reader_fingerprint()}|{max_bytes}|{'|'.join(cast(list[str], parts))}"


def source_key(path: Path) -> str:
    return str(path.expanduser().resolve())


@dataclass
class Sources:
    """The stored sources (path → signature, articles) and this ingest's record of files read."""

    max_bytes: int
    stored: dict[str, tuple[str, list[list[str]]]]  # what the store recorded
    articles: set[str]  # ids of articles the store holds now
    signatures: dict[str, str] = field(default_factory=dict)  # files read this run, as they were before
    read: dict[str, list[list[str]]] = field(default_factory=dict)  # path → [id, copy hash], this run
    spoilt: set[str] = field(default_factory=set)  # files that gave a skip: never left unread
    unread_files: int = 0
    unread_ids: list[str] = field(default_factory=list)  # articles of the files left unread

    def unread(self, path: Path) -> Unread | None:
        """``Unread`` for a file that need not be read again, else None (read it)."""
        key = source_key(path)
        known = self.stored.get(key)
        now = signature(path, self.max_bytes)  # before reading: a file changed while read is read again next time
        same = now is not None and known is not None and known[0] == now
        if not same or not known or not known[1] or any(a not in self.articles for a, _ in known[1]):
            if now is not None:
                self.signatures[key] = now
            return None
        self.unread_files += 1
        return Unread(key, tuple((a, k) for a, k in known[1]))

    def note(self, item: Article | Skip) -> None:
        """Record one item read this run (an article or a skip) under the file it came from."""
        path = file_of(item.source_path if isinstance(item, Article) else item.path)
        if isinstance(item, Skip):
            self.spoilt.add(path)
        else:
            self.read.setdefault(path, []).append([item.id, copy_hash(item)])

    def finished(self, stored: set[str]) -> dict[str, tuple[str, list[list[str]]]]:
        """Records for the files read this run that gave only articles, all ``stored`` now."""
        done = {}
        for path, articles in self.read.items():
            if path in self.signatures and path not in self.spoilt and all(a in stored for a, _ in articles):
                done[path] = (self.signatures[path], articles)
        return done


def file_of(source_path: str) -> str:
    """The file an article was read from ("path" or "path:line" for JSONL), resolved."""
    head, sep, tail = source_path.rpartition(":")
    return source_key(Path(head if sep and tail.isdigit() else source_path))


def encode(articles: Iterable[list[str]]) -> str:
    return json.dumps(list(articles), separators=(",", ":"))


def decode(value: str) -> list[list[str]]:
    try:
        rows = json.loads(value)
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, list) and len(r) == 2] if isinstance(rows, list) else []
