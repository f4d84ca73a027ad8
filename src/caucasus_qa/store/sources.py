"""Sources: the files an ingest read, so that the next ingest leaves the unchanged ones unread.

Re-reading an unchanged year of news was most of a re-ingest (5,384 kit pages: 16.5 s, of which
cleaning and the check for text addressed to an assistant took about half and reading the file
16%; docs/performance.md). A file is left unread when its size and modification time, those
of its metadata sidecar and its folder's manifest, and the code that turns files into articles
are all what they were when every article read from it was stored, and all those articles are
still stored. Anything else is read again as before, and the content hashes then decide what is
embedded: leaving a file unread can only save work, never change what is stored.

A JSONL archive that grows every day is read from where the last ingest stopped: the record
keeps the size, line count and SHA-1 of the bytes that ingest read (``Prefix``); when they are
still the file's first bytes (checked in one pass, ~0.1 s for 50 MB), only the lines after them
are read, numbered as a whole read numbers them. A file edited anywhere else is read whole.

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

from caucasus_qa.articles.formats import JSONL_TYPES, MANIFEST, SIDECAR_SUFFIX, Article, Skip, Unread, copy_hash

# The modules whose code decides which articles a file gives, and their hashes: a change to any
# of them reads every file again (once), so a fixed cleaning rule reaches stored articles.
READER_MODULES = (
    "articles.formats", "articles.boilerplate", "articles.dates", "articles.metadata", "articles.evidence",
    "text", "store.ingestion", "store.collections",
)  # fmt: skip


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


# Separates a JSONL file's signature from the part of it the ingest read (``Prefix``).
PREFIX = "#"


@dataclass(frozen=True)
class Prefix:
    """The first ``size`` bytes of a JSONL file as an ingest read them: ``lines`` lines, SHA-1."""

    size: int
    lines: int
    digest: str

    def __str__(self) -> str:
        return f"{self.size}:{self.lines}:{self.digest}"

    @classmethod
    def parse(cls, recorded: str) -> Prefix | None:
        size, _, rest = recorded.partition(PREFIX)[2].partition(":")
        lines, _, digest = rest.partition(":")
        return cls(int(size), int(lines), digest) if size.isdigit() and lines.isdigit() and digest else None


def scan(path: Path, before: Prefix | None) -> tuple[Prefix | None, bool]:
    """One pass over ``path``: its ``Prefix`` if it ends with a whole line (else None: a line may
    still be being written), and whether ``before`` is still its beginning."""
    digest, lines, size, last, grew = hashlib.sha1(), 0, 0, b"", False
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                cut = before.size - size if before is not None and size <= before.size < size + len(block) else -1
                if cut >= 0 and before is not None:  # the old end falls in this block
                    digest.update(block[:cut])
                    at = lines + block[:cut].count(b"\n")
                    grew = (at, digest.hexdigest()) == (before.lines, before.digest)
                    digest.update(block[cut:])
                else:
                    digest.update(block)
                lines, size, last = lines + block.count(b"\n"), size + len(block), block[-1:]
    except OSError:
        return None, False
    if before is not None and before.size == size:  # touched, not appended to: compare the whole
        grew = (lines, digest.hexdigest()) == (before.lines, before.digest)
    return (Prefix(size, lines, digest.hexdigest()) if last == b"\n" else None), grew


def _same_but_file(recorded: str, now: str) -> bool:
    """Whether two signatures differ at most in the file's own size, time and inode."""
    old, new = recorded.partition(PREFIX)[0].split("|"), now.split("|")
    return len(old) == len(new) == 5 and old[:2] + old[3:] == new[:2] + new[3:]


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
    resumed_files: int = 0  # JSONL files read from where the last ingest stopped
    unread_ids: list[str] = field(default_factory=list)  # articles of the files left unread

    def unread(self, path: Path) -> Unread | None:
        """``Unread`` for a file that need not be read again, or only in part (a JSONL file that
        grew: ``Unread.rest``), else None (read it)."""
        key = source_key(path)
        known = self.stored.get(key)
        now = signature(path, self.max_bytes)  # before reading: a file changed while read is read again next time
        kept = known is not None and bool(known[1]) and all(a in self.articles for a, _ in known[1])
        if now is None:
            return None
        if kept and known is not None and known[0].partition(PREFIX)[0] == now:
            self.unread_files += 1
            return Unread(key, tuple((a, k) for a, k in known[1]))
        if path.suffix.lower() not in JSONL_TYPES:
            self.signatures[key] = now
            return None
        resumable = kept and known is not None and _same_but_file(known[0], now)
        return self._jsonl(path, key, now, known if resumable else None)

    def _jsonl(self, path: Path, key: str, now: str, known: tuple[str, list[list[str]]] | None) -> Unread | None:
        """A JSONL file to read: from where the last ingest stopped when the bytes it read are
        still the file's first ones (an archive appended to), up to where the file ends now."""
        before = Prefix.parse(known[0]) if known is not None else None
        whole, grew = scan(path, before)
        self.signatures[key] = now + (f"{PREFIX}{whole}" if whole else "")
        end = whole.size if whole else None
        if not grew or known is None or before is None:
            return Unread(key, (), rest=(0, 0, end)) if end is not None else None
        self.read[key] = [list(a) for a in known[1]]
        self.resumed_files += 1
        return Unread(key, tuple((a, k) for a, k in known[1]), rest=(before.size, before.lines, end))

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
