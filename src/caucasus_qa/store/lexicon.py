"""The lexicon: what is built from the words of every stored chunk. BM25 (bm25s, for
retrieval) and the document frequency of each content term (for the answer scorer's IDF and
its out-of-corpus check).

Both are O(corpus) to build, so they are built where the corpus changes, not where questions are
answered: an ingest into an embedded store saves the lexicon beside it (one folder per store
version), and a process loads it lazily (memory-mapped) on its first question. Each version is
saved with every chunk's words (``words.py``), so the next build reads and tokenizes only the
chunks of articles written since (``build_for``). A process that
sees a newer version than it holds (another process ingested) builds the new one in a
background thread; a question waits for it up to ``FRESH_WAIT_S`` (a small store's rebuild fits:
the new article answers at once) and is otherwise answered from the version it holds, its chunks
only (``retrieval.py``), never a mix of the two. Only a process with none at all
builds before answering (``Assistant.warm`` does that at startup, so `serve` is ready before its
first question). With a Chroma server the chunks live in the server and the lexicon is a cache
of them kept on each machine's disk (under the store folder, keyed by the server, the collection's
Chroma id and the version): an ingest saves it where it ran and also puts its files into the
server (``share``), and any other machine downloads them once per store version (``fetch``: 52 MB
for 5,384 news pages, where building it from the server's chunks took about two and a half
minutes), then loads them like an embedded store's. Only when the server holds no complete copy
(a store written by an older version, an upload cut short) does a machine build it, and then it
shares what it built.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.store.collections import record_chunk_ids
from caucasus_qa.store.words import FILES as WORD_FILES
from caucasus_qa.store.words import ChunkWords
from caucasus_qa.text import terms

BM25_K1 = 0.9
BM25_B = 0.4
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # llama-index BM25Retriever's
FRESH_WAIT_S = 2.0  # most a question waits for a newer version's lexicon (rebuild times: docs/reliability.md)
_META = ("title", "outlet", "author", "published")  # a question may name the article ("the DW piece")


class CorpusStats:
    """Document frequencies of terms over the stored chunks (for IDF and out-of-corpus terms)."""

    def __init__(self, texts: Iterable[str] = (), *, n: int = 0, df: dict[str, int] | None = None) -> None:
        self.df: dict[str, int] = dict(df or {})
        self.n = n
        for text in texts:
            self.n += 1
            for t in set(terms(text)):
                self.df[t] = self.df.get(t, 0) + 1

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 0.5))


class LexicalIndex:
    """BM25 over every stored chunk (bm25s, Lucene scoring), as one sparse matrix."""

    def __init__(self, ids: list[str], bm25: Any) -> None:
        import Stemmer

        self.stemmer = Stemmer.Stemmer("english")
        self.ids = ids
        self.row = {node_id: i for i, node_id in enumerate(ids)}
        self.bm25 = bm25

    @classmethod
    def build(cls, chunks: list, k1: float = BM25_K1, b: float = BM25_B) -> LexicalIndex:
        return cls.of_words(words_of(chunks), k1, b)

    @classmethod
    def of_words(cls, words: ChunkWords, k1: float = BM25_K1, b: float = BM25_B) -> LexicalIndex:
        """BM25 over chunks already tokenized: indexing from ids is the cheap part of a build."""
        import bm25s

        index = cls(words.ids, bm25s.BM25(k1=k1, b=b, method="lucene"))
        index.bm25.index(words.bm25_corpus(), show_progress=False)
        return index

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk (in ``self.ids`` order) for ``query``."""
        import bm25s

        tokens = bm25s.tokenize(
            [query], stopwords="english", stemmer=self.stemmer, token_pattern=TOKEN_PATTERN, return_ids=False,
            show_progress=False,
        )[0]  # fmt: skip
        ids = self.bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float32)

    def top(self, scores: np.ndarray, n: int) -> dict[str, float]:
        """The ``n`` best-scoring chunks with a positive score."""
        n = min(n, len(scores))
        if n <= 0:
            return {}
        best = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        return {self.ids[i]: float(scores[i]) for i in best if scores[i] > 0}


@dataclass
class Lexicon:
    """The lexicon of one store version; ``bm25`` is None for an empty store. ``words``: each
    chunk's words, when this process built it (saved with it, for the next version's build)."""

    version: int
    bm25: LexicalIndex | None
    stats: CorpusStats
    words: ChunkWords | None = None


def words_of(chunks: list) -> ChunkWords:
    """The words of these chunks, tokenized as the lexicon reads them."""
    import Stemmer

    return ChunkWords.of(chunks, Stemmer.Stemmer("english"), TOKEN_PATTERN, _META)


def build(chunks: list, version: int, k1: float = BM25_K1, b: float = BM25_B) -> Lexicon:
    """The lexicon of these chunks, tokenizing every one."""
    return of_words(words_of(chunks), version, k1, b)


def of_words(words: ChunkWords, version: int, k1: float = BM25_K1, b: float = BM25_B) -> Lexicon:
    bm25 = LexicalIndex.of_words(words, k1, b) if words.ids else None
    return Lexicon(version, bm25, CorpusStats(n=len(words.ids), df=words.terms.counts()), words)


def build_for(store: Any, version: int, k1: float = BM25_K1, b: float = BM25_B) -> Lexicon:
    """The lexicon of ``store`` at ``version``. When this machine saved an older version with its
    words, only the chunks of articles written since are read and tokenized (``words.py``);
    otherwise every chunk is."""
    from caucasus_qa.store.collections import WRITTEN

    older = _older_words(store, version)
    if older is None:
        return build(store.all_chunks(upto=version), version, k1, b)
    before, words = older
    rows = [r for r in store.catalog() if int(r.get(WRITTEN, 0)) <= version]  # as all_chunks reads them
    held = words.article_rows()
    kept = {r["id"] for r in rows if int(r.get(WRITTEN, 0)) <= before and r["id"] in held}
    fresh = words_of(store.nodes([c for r in rows if r["id"] not in kept for c in record_chunk_ids(r["id"], r)]))
    added = {article: at + len(words.ids) for article, at in fresh.article_rows().items()}
    order = [held[r["id"]] if r["id"] in kept else added.get(r["id"]) for r in rows]  # the catalog's order
    picked = np.concatenate([o for o in order if o is not None] or [np.zeros(0, dtype=np.int64)])
    return of_words(words.plus(fresh).take(picked), version, k1, b)


def _older_words(store: Any, version: int) -> tuple[int, ChunkWords] | None:
    """The newest version before ``version`` saved on this machine with its words."""
    parent = store_folder(store, version).parent
    found = [int(p.name[1:]) for p in parent.glob("v*") if p.name[1:].isdigit() and int(p.name[1:]) < version]
    for older in sorted(found, reverse=True):
        words = ChunkWords.load(parent / f"v{older}")
        if words is not None:
            return older, words
    return None


def folder(store_dir: Path, collection: str, version: int) -> Path:
    return store_dir / f"{collection}.lexicon" / f"v{version}"


def store_folder(store: Any, version: int) -> Path:
    """Where the lexicon of ``store`` at ``version`` is saved on this machine. For a server, the
    folder names the server and the articles collection's Chroma id, so a store deleted and
    created again (versions start over) never meets an old lexicon."""
    s = store.settings
    if not s.chroma_url:
        return folder(s.store, s.collection, version)
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", s.chroma_url.split("//")[-1]).strip("_")
    return folder(s.store / "server-cache" / server / str(store.article_collection.id), s.collection, version)


def save(lexicon: Lexicon, path: Path) -> None:
    """Write the lexicon to ``path`` (a fresh folder), then remove other versions beside it."""
    tmp = _scratch(path)
    try:
        tmp.mkdir(parents=True)
        (tmp / "stats.json").write_text(json.dumps({"n": lexicon.stats.n, "df": lexicon.stats.df}), encoding="utf-8")
        if lexicon.bm25 is not None:
            lexicon.bm25.bm25.save(str(tmp / "bm25"))
            (tmp / "ids.json").write_text(json.dumps(lexicon.bm25.ids), encoding="utf-8")
        if lexicon.words is not None:
            lexicon.words.save(tmp)
    except OSError:  # a full disk: leave no half-written folder behind (the old version stays)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _put_in_place(tmp, path)


def _scratch(path: Path) -> Path:
    """An empty folder name beside ``path``, this process's and thread's own, to write into first."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _put_in_place(tmp: Path, path: Path) -> None:
    """Move a fully written folder to ``path``, then remove older versions beside it."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        tmp.rename(path)
    except OSError:  # another process saved the same version first
        shutil.rmtree(tmp, ignore_errors=True)
    for other in path.parent.glob("v*"):
        older = other.name[1:].isdigit() and int(other.name[1:]) < int(path.name[1:])
        if older:  # never a newer one another process saved meanwhile, nor its work in progress
            shutil.rmtree(other, ignore_errors=True)


def load(path: Path, version: int) -> Lexicon | None:
    """The saved lexicon of ``version``, or None when there is none (or it cannot be read)."""
    import bm25s

    try:
        stats = json.loads((path / "stats.json").read_text(encoding="utf-8"))
        bm25 = None
        if (path / "ids.json").is_file():
            ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
            bm25 = LexicalIndex(ids, bm25s.BM25.load(str(path / "bm25"), mmap=True))
    except (OSError, ValueError, KeyError):
        return None  # built again from the chunks
    return Lexicon(version, bm25, CorpusStats(n=int(stats["n"]), df=stats["df"]))


# Raw bytes of a lexicon file per server record (base64 in a metadata value: 5.3 MB). Chroma 1.5
# stores an 8 MB metadata string in 0.4 s; a document of 4 MB took 7 s (its full-text index), so
# the files travel as metadata, on records with a placeholder vector like the articles'.
SHARE_PART_BYTES = 4_000_000
SHARE_PAGE = 4  # records written or fetched at once (about 21 MB per request)


def share(store: Any, version: int, path: Path) -> None:
    """Put the saved lexicon at ``path`` (of ``version``) into the server, then drop older versions
    there. Each file goes in parts with its digest, so a cut-short upload is never taken whole."""
    import base64
    import hashlib

    ids, metas = [], []
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name not in WORD_FILES)  # words: this machine's
    for file in files:
        data, name = file.read_bytes(), file.relative_to(path).as_posix()
        digest, parts = hashlib.sha256(data).hexdigest(), max(1, math.ceil(len(data) / SHARE_PART_BYTES))
        for i in range(parts):
            chunk = data[i * SHARE_PART_BYTES : (i + 1) * SHARE_PART_BYTES]
            ids.append(f"v{version}:{name}:{i}")
            metas.append({"version": version, "files": len(files), "file": name, "part": i, "parts": parts,
                          "sha256": digest, "data": base64.b64encode(chunk).decode("ascii")})  # fmt: skip
    from caucasus_qa.store.collections import write_batched

    collection = store.lexicon_collection
    write_batched(collection, SHARE_PAGE, ids=ids, metadatas=metas, embeddings=[[0.0]] * len(ids))
    collection.delete(where={"version": {"$lt": version}})


def fetch(store: Any, version: int, path: Path) -> bool:
    """Download the server's copy of the lexicon of ``version`` into ``path``; False when the server
    holds no complete, intact copy (then it is built here)."""
    import base64
    import hashlib

    parts: dict[str, dict[int, bytes]] = {}
    expected: dict[str, tuple[int, str]] = {}
    count = -1  # files in the version, as each record says
    collection, offset = store.lexicon_collection, 0
    while True:
        page = collection.get(where={"version": version}, include=["metadatas"], limit=SHARE_PAGE, offset=offset)
        for meta in page["metadatas"]:
            name = str(meta["file"])
            parts.setdefault(name, {})[int(meta["part"])] = base64.b64decode(str(meta["data"]))
            expected[name] = (int(meta["parts"]), str(meta["sha256"]))
            count = int(meta["files"])
        offset += len(page["ids"])
        if len(page["ids"]) < SHARE_PAGE:
            break
    files = {name: b"".join(got[i] for i in sorted(got)) for name, got in parts.items()}
    intact = all(len(parts[n]) == expected[n][0] and hashlib.sha256(d).hexdigest() == expected[n][1]
                 for n, d in files.items())  # fmt: skip
    if not files or len(files) != count or not intact:
        return False
    tmp = _scratch(path)
    for name, data in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    _put_in_place(tmp, path)
    return True


class LexiconCache:
    """The lexicon for a store's current version, as cheaply as it can be had (see the module)."""

    def __init__(self, store: Any, k1: float = BM25_K1, b: float = BM25_B) -> None:
        self.store = store
        self.k1, self.b = k1, b
        self._current: Lexicon | None = None
        self._building: int | None = None
        self._built = threading.Event()  # set when the rebuild of ``_building`` is done
        self._lock = threading.Lock()

    def _saved(self, version: int) -> Lexicon | None:
        """The lexicon of ``version`` saved on this machine, or else the server's copy."""
        path = store_folder(self.store, version)
        saved = load(path, version)
        if saved is None and self.store.settings.chroma_url and fetch(self.store, version, path):
            saved = load(path, version)
        return saved

    def get(self) -> Lexicon:
        version = self.store.version
        current = self._current
        if current is not None and current.version == version:
            return current
        with self._lock:
            held = self._current
            if held is not None and held.version == version:
                return held
            saved = self._saved(version)
            if saved is None and held is None:  # nothing to answer with: build it now, once
                saved = build_for(self.store, version, self.k1, self.b)
                self._keep(saved)
            if saved is not None:
                self._current = saved
                return saved
            assert held is not None  # the case above built one
            if self._building != version:
                self._building, self._built = version, threading.Event()
                threading.Thread(target=self._rebuild, args=(version, self._built), daemon=True).start()
            built = self._built
        built.wait(FRESH_WAIT_S)
        current = self._current
        return current if current is not None and current.version >= held.version else held

    def _keep(self, lexicon: Lexicon) -> None:
        """Save a lexicon built here, for the next process on this machine (and, with a server,
        for every other machine)."""
        try:
            save_and_share(self.store, lexicon)
        except OSError:
            pass  # a read-only store folder still answers; the next process builds it again
        lexicon.words = None  # saved for the next build; answering never needs them (memory)

    def _rebuild(self, version: int, built: threading.Event) -> None:
        try:
            fresh = build_for(self.store, version, self.k1, self.b)
        except Exception:  # the server went away, say: the next question tries again
            with self._lock:
                self._building = None
            raise
        finally:
            built.set()
        with self._lock:
            if self._current is None or self._current.version < fresh.version:
                self._current = fresh
        self._keep(fresh)


def save_for(store: Any, k1: float = BM25_K1, b: float = BM25_B) -> None:
    """After an ingest: build and save the lexicon of the store's version on this machine, unless
    it is saved already (nothing changed)."""
    if not (store_folder(store, store.version) / "stats.json").is_file():
        save_and_share(store, build_for(store, store.version, k1, b))


def save_and_share(store: Any, lexicon: Lexicon) -> None:
    """Save ``lexicon`` on this machine and, with a server, put it there for every other machine."""
    path = store_folder(store, lexicon.version)
    save(lexicon, path)
    if store.settings.chroma_url:
        share(store, lexicon.version, path)
