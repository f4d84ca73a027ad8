"""The store: Chroma collections, embedded under ``settings.store`` or on a server.

* ``<collection>``: the chunks (text, offsets in their article, vectors) that retrieval searches;
* ``<collection>-sentence-vectors``: each article's sentence offsets and vectors, computed at
  ingest so that answering looks them up, packed into one record per article (see ``pack``);
* ``<collection>-articles``: each cleaned article whole, with its metadata and content hash, so
  that quotes are checked against it by character offsets;
* ``<collection>-sources``: the files ingests read, so unchanged ones are not read again (``sources.py``);
* ``<collection>-lexicon``: with a server, the saved BM25 and term statistics (``lexicon.share``).

Everything lives in Chroma, so with ``--chroma-url`` any number of processes on any machine
share one store. Writes add records (nothing is rewritten whole) in batches below Chroma's
maximum batch size; a version number in the articles collection tells other processes' caches
that the store changed. Embedded Chroma serves one process at a time: share a store through
a server.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from caucasus_qa import offline
from caucasus_qa.articles.formats import Article
from caucasus_qa.errors import StoreError, StoreMismatchError, explain, server_down
from caucasus_qa.settings import Settings

SCHEMA_VERSION = 3  # 2: articles and sentences in Chroma (was a docstore file); 3: sentences packed
SENTENCE_DTYPE = "float16"  # packed sentence vectors: half the bytes; scores move by < 0.001 (unit vectors)
LEGACY_BLOCK = 1024  # sentence ids asked for at once when packing a schema-2 store
ARTICLE_CACHE = 4096  # article records kept in memory per process (quotes are checked against them)
# Chroma's local store rescans a collection's unsynced log on every write, and keeps up to
# ``sync_threshold`` records there (default 1,000). Whole articles and packed sentences are large
# records: at the default, writing 500 of 77 KB took 78 s (quadratic); at 10, 9 s (measured,
# Chroma 1.5.9). Their one-dimensional placeholder index costs next to nothing to sync.
RECORD_SYNC_THRESHOLD = 10


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def connect(settings: Settings):
    """A Chroma client: on disk under the store folder, or the server at ``chroma_url``."""
    offline.apply()
    import chromadb

    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "//" in settings.chroma_url else f"http://{settings.chroma_url}")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"--chroma-url {settings.chroma_url!r} is not an http(s) URL like http://127.0.0.1:8000")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=_chroma_settings(),
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises a variety of connection errors
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}): "
                "start it with `chroma run --host 127.0.0.1 --port 8000` or fix --chroma-url"
            ) from None
        return client
    try:
        settings.store.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store / "chroma"), settings=_chroma_settings())
    except OSError as exc:
        raise StoreError(
            f"cannot open the store at {settings.store}: {exc.strerror or exc}; choose another folder with --store DIR"
        ) from None
    except Exception as exc:  # a damaged database file: say so in one line, not as a Rust traceback
        from chromadb.api.shared_system_client import SharedSystemClient

        # Chroma caches the half-started client per path: forget it, or every later open in this
        # process (a notebook retrying) fails with an AttributeError instead of this message
        SharedSystemClient._identifier_to_system.pop(str(settings.store / "chroma"), None)
        known = explain(exc)
        raise (known or StoreError(f"cannot open the store at {settings.store}: {exc}")) from None


def is_unreachable(exc: BaseException) -> bool:
    """A connection that failed or broke (httpx, as the Chroma client uses it), not a refusal."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "RemoteProtocolError", "ReadError", "ReadTimeout"}) or (
        "connection refused" in str(exc).lower()
    )


def write_batched(collection: Any, size: int, **columns: list) -> None:
    """Upsert in batches of at most ``size`` records, the Chroma client's maximum batch size
    (5,461 in Chroma 1.5, embedded and server alike): one larger call is refused, writing nothing."""
    total = len(next(iter(columns.values())))
    for start in range(0, total, size):
        collection.upsert(**{k: v[start : start + size] for k, v in columns.items()})


@lru_cache(maxsize=1)
def _batched_store_class() -> type:
    from llama_index.vector_stores.chroma import ChromaVectorStore
    from pydantic import PrivateAttr

    class BatchedChromaVectorStore(ChromaVectorStore):
        """ChromaVectorStore whose ``add`` stays below Chroma's maximum batch size (its own limit,
        41,665 records in llama-index-vector-stores-chroma 0.5, is far above Chroma's 5,461) and
        *replaces* records with the same ids: its ``collection.add`` keeps an existing record and
        drops the new one, so an updated article's chunks would keep their old text. The rows are
        built as LlamaIndex builds them."""

        _max_batch: int = PrivateAttr(default=5000)

        def add(self, nodes: Sequence[Any], **kwargs: Any) -> list[str]:
            from llama_index.core.schema import MetadataMode
            from llama_index.core.vector_stores.utils import node_to_metadata_dict

            ids: list[str] = []
            for start in range(0, len(nodes), self._max_batch):
                batch = list(nodes[start : start + self._max_batch])
                batch_ids = [n.node_id for n in batch]
                fresh = [node_to_metadata_dict(n, remove_text=True, flat_metadata=self.flat_metadata) for n in batch]
                self._collection.upsert(
                    ids=batch_ids,
                    embeddings=[n.get_embedding() for n in batch],
                    metadatas=replacing_stored(
                        self._collection, batch_ids, [{k: "" if v is None else v for k, v in m.items()} for m in fresh]
                    ),
                    documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in batch],
                )
                ids += batch_ids
            return ids

    return BatchedChromaVectorStore


def writer() -> str:
    """This process, as recorded with each version of a store (who wrote it)."""
    return f"{socket.gethostname()}:{os.getpid()}"


INGEST_PID = ".ingest.pid"
WRITTEN = "written"  # an article record's field: the store version it was written for (``all_chunks``)
# An article record's field: the tag of the chunk and sentence ids it counts (``parts_tag``). An
# update writes its chunks and sentences under a new tag beside the old ones and switches the
# record last, so an ingest killed before the switch leaves the old version whole and answerable
# (docs/reliability.md). Records written before it have no tag: their ids are untagged.
PARTS = "parts"
_SEEN: dict[str, int] = {}  # per embedded store path: the version this process's Chroma client has seen


class Store:
    """Open (or create) the collections named by ``settings``: chunks, sentences, articles."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = connect(settings)
        self.collection = self._open_collection()
        self.max_batch = self.client.get_max_batch_size()
        self.vector_store = self._vector_store()
        self.sentence_collection = self._open_sentences()
        self.article_collection = self._open_articles()
        self.version = self._stored_version()  # bumped by every write; caches key on it
        if _SEEN.get(self._path, self.version) != self.version and self._written_elsewhere(self.article_collection):
            self._reopen()  # this process's cached Chroma client predates another process's writes
        _SEEN[self._path] = self.version
        self._articles: dict[str, Any] = {}  # article records read so far (a new dict for a new version)
        self._catalog: tuple[int, list[dict[str, Any]]] | None = None
        self._refresh_lock = threading.Lock()
        self._sources: Any = None  # the files ingests read (sources.py), opened by ingest only
        self._lexicon: Any = None  # the lexicon's files, with a server (lexicon.share)

    def _stored_version(self) -> int:
        return int((self.article_collection.metadata or {}).get("version", 0))

    def refresh(self) -> bool:
        """Notice writes by another process (or another Store): True if the store changed."""
        with self._refresh_lock:  # the chat's threads ask at once: one of them reopens
            return self._refresh()

    def _refresh(self) -> bool:
        try:
            current = self.client.get_collection(self.article_collection.name, embedding_function=None)
        except Exception as exc:  # server gone, or the collection deleted by a reset elsewhere
            if self.settings.chroma_url and is_unreachable(exc):
                raise server_down(self.settings.chroma_url, exc) from None
            raise StoreError(f"the store changed under this process ({type(exc).__name__}): open it again") from None
        version = int((current.metadata or {}).get("version", 0))
        if version == self.version:
            return False
        if self._written_elsewhere(current):
            self._reopen()  # another process wrote the files: this process's Chroma holds stale indexes
        else:
            self.article_collection = current
        self.version = _SEEN[self._path] = version
        self._articles = {}
        return True

    @property
    def _path(self) -> str:
        return str(self.settings.store / "chroma")

    def _written_elsewhere(self, articles: Any) -> bool:
        """Whether another process wrote the version ``articles`` (the article collection) records,
        to the files this process's embedded Chroma client has cached (a server has no such cache)."""
        return not self.settings.chroma_url and (articles.metadata or {}).get("writer") != writer()

    def _reopen(self) -> None:
        """A fresh embedded Chroma client over the same files. Chroma caches one client per path,
        indexes included, and that cache does not see another process's writes (its queries then
        fail with "Error finding id"): drop it from the cache and open again. The old client is
        not stopped, so objects still holding it finish what they do."""
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(self._path, None)
        self.client = connect(self.settings)
        self.collection = self._open_collection()
        self.vector_store = self._vector_store()
        self.sentence_collection = self._open_sentences()
        self.article_collection = self._open_articles()
        self._catalog = None
        self._sources = self._lexicon = None

    def ingesting_elsewhere(self) -> int | None:
        """The process id of an ingest running in another process on this embedded store, if any
        (it writes its id to ``.ingest.pid`` while it holds the ingest lock)."""
        if self.settings.chroma_url:
            return None
        try:
            pid = int((self.settings.store / INGEST_PID).read_text())
            os.kill(pid, 0)  # alive? (a killed ingest leaves its file behind)
        except (OSError, ValueError):
            return None
        return pid if pid != os.getpid() else None

    def next_version(self) -> int:
        """The version the next ``persist`` records: the one an article record written now belongs to."""
        return max(self.version, self._stored_version()) + 1

    def unrecorded(self) -> bool:
        """Whether article records were written for a version that was never recorded (an ingest
        killed between its writes and ``persist``): indexes of recorded versions leave them out."""
        got = self.article_collection.get(where={WRITTEN: {"$gt": self._stored_version()}}, limit=1, include=[])
        return bool(got["ids"])

    def persist(self) -> None:
        """Record that the store changed, and who changed it, so that other processes' caches
        notice (see refresh)."""
        self.version = self.next_version()
        meta = {k: v for k, v in (self.article_collection.metadata or {}).items() if not k.startswith("hnsw:")}
        self.article_collection.modify(metadata={**meta, "version": self.version, "writer": writer()})
        _SEEN[self._path] = self.version
        self._articles = {}

    # -- collection ---------------------------------------------------------------------
    def expected_metadata(self) -> dict[str, Any]:
        s = self.settings
        return {
            "embed_model": s.embed_model,
            "chunk_size": s.chunk_size,
            "chunk_overlap": s.chunk_overlap,
            "schema": SCHEMA_VERSION,
            "sentence_vectors": s.sentence_vectors,
        }

    @property
    def sentence_vectors(self) -> str:
        """How this store's sentence vectors are made (``pooling``): as it was built, whatever the
        settings say now, so that one store never mixes the two; a store built before the
        setting embedded each sentence on its own."""
        return str((self.collection.metadata or {}).get("sentence_vectors") or "own")

    def _open_collection(self):
        try:
            collection = self.client.get_or_create_collection(
                self.settings.collection,
                metadata={**self.expected_metadata(), "hnsw:space": "cosine"},
                embedding_function=None,
            )
        except Exception as exc:  # name validation, server errors
            raise StoreError(f"cannot open collection {self.settings.collection!r}: {exc}") from None
        built_with = (collection.metadata or {}).get("embed_model")
        if built_with and built_with != self.settings.embed_model:
            raise StoreMismatchError(
                f"the store was built with embedding model {built_with!r}, not {self.settings.embed_model!r}: "
                f"use --embed-model {built_with!r}, or rebuild with `caucasus-qa ingest --reset`"
            )
        return collection

    def _vector_store(self) -> Any:
        vector_store = _batched_store_class()(chroma_collection=self.collection)
        vector_store._max_batch = self.max_batch
        return vector_store

    def _open_articles(self):
        """The cleaned articles (text and metadata). Chroma needs a vector for every record:
        articles get a constant one-dimensional one, as they are looked up by id only."""
        return self._open_records(f"{self.settings.collection}-articles")

    def _open_records(self, name: str):
        """A collection of records looked up by id only (see ``RECORD_SYNC_THRESHOLD``)."""
        try:
            collection = self.client.get_or_create_collection(
                name,
                metadata=self.expected_metadata(),
                configuration={"hnsw": {"sync_threshold": RECORD_SYNC_THRESHOLD}},
                embedding_function=None,
            )
            if (collection.configuration_json or {}).get("hnsw", {}).get("sync_threshold") != RECORD_SYNC_THRESHOLD:
                collection.modify(configuration={"hnsw": {"sync_threshold": RECORD_SYNC_THRESHOLD}})  # older stores
            return collection
        except Exception as exc:  # name validation, server errors
            raise StoreError(f"cannot open collection {name!r}: {exc}") from None

    def _open_sentences(self):
        """Each article's sentences, one record per article with a constant one-dimensional vector
        like the articles'. Answering reads them by article id and never searches them, so they
        stay out of a vector index: Chroma loads a collection's whole index on its first read
        (0.65 s and +267 MB for 120,000 sentences of 1,000 news pages, measured; see
        docs/performance.md)."""
        return self._open_records(f"{self.settings.collection}-sentence-vectors")

    # -- lexicon and sources -------------------------------------------------------------
    @property
    def lexicon_collection(self) -> Any:
        """The saved lexicon's files, for a server's clients on other machines (``lexicon.share``)."""
        if self._lexicon is None:
            self._lexicon = self._open_records(f"{self.settings.collection}-lexicon")
        return self._lexicon

    @property
    def source_collection(self) -> Any:
        """The files ingests read, one record each (``sources.py``): opened by an ingest only."""
        if self._sources is None:
            self._sources = self._open_records(f"{self.settings.collection}-sources")
        return self._sources

    def source_records(self) -> dict[str, tuple[str, str]]:
        """Every recorded file: resolved path → (signature, its articles as ``sources.encode``d)."""
        records: dict[str, tuple[str, str]] = {}
        offset = 0
        while True:
            page = self.source_collection.get(include=["metadatas"], limit=self.max_batch, offset=offset)
            for meta in page["metadatas"]:
                if meta and "path" in meta:
                    records[str(meta["path"])] = (str(meta.get("signature", "")), str(meta.get("articles", "[]")))
            offset += len(page["ids"])
            if len(page["ids"]) < self.max_batch:
                return records

    def put_sources(self, records: dict[str, tuple[str, str]]) -> None:
        """Record files read: path → (signature, articles as ``sources.encode``d)."""
        import hashlib

        ids = [hashlib.sha1(path.encode()).hexdigest() for path in records]
        metas = [{"path": p, "signature": sig, "articles": arts} for p, (sig, arts) in records.items()]
        write_batched(self.source_collection, self.max_batch, ids=ids, metadatas=metas, embeddings=[[0.0]] * len(ids))

    # -- sentences ----------------------------------------------------------------------
    def put_sentences(
        self, article_id: str, spans: list[tuple[int, int]], vectors: Any, text: str = "", tag: str | None = None
    ) -> None:
        """Store an article's sentences under ``tag`` (``parts_tag``; None: untagged, as records
        written before tags count them): ``spans`` are (start, end) offsets in ``text``."""
        record = {**pack(spans, vectors), "text_hash": text_hash(text)} if text else pack(spans, vectors)
        self.sentence_collection.upsert(ids=[sentence_id(article_id, tag)], metadatas=[record], embeddings=[[0.0]])

    def parts(self, article_id: str) -> str | None:
        """The tag of the chunks and sentences the article's record counts (None: untagged)."""
        doc = self.article(article_id)
        return (doc.metadata.get(PARTS) or None) if doc is not None else None

    def sentence_record_id(self, article_id: str) -> str:
        """The id of the sentence record the article's record counts."""
        return sentence_id(article_id, self.parts(article_id))

    def sentence_records(self, article_id: str) -> tuple[list[dict[str, Any]], Any]:
        """An article's sentence offsets (in reading order) and their vectors, as stored; none if
        they were written for another text than the stored one (an untagged update interrupted
        between its sentences and its record: its offsets would cut the old text wrongly)."""
        got = self.sentence_collection.get(ids=[self.sentence_record_id(article_id)], include=["metadatas"])
        record = got["metadatas"][0] if got["ids"] else {}
        written_for = (record or {}).get("text_hash")
        if written_for:
            doc = self.article(article_id)
            if doc is None or text_hash(doc.text) != written_for:
                return unpack({})
        return unpack(record or {})

    def without_sentences(self, article_ids: list[str]) -> list[str]:
        """Which of these stored articles have no sentence vectors yet (stores built before them)."""
        want = {a: self.sentence_record_id(a) for a in article_ids}
        wanted, have = list(want.values()), set()
        for i in range(0, len(wanted), self.max_batch):
            have.update(self.sentence_collection.get(ids=wanted[i : i + self.max_batch], include=[])["ids"])
        return [a for a in article_ids if want[a] not in have]

    def migrate_sentences(self) -> int:
        """Pack the per-sentence records of a schema-2 store (``<collection>-sentences``, one
        vector-indexed record per sentence) into this layout, then drop them: nothing is
        re-embedded. Returns how many articles were moved."""
        legacy_name = f"{self.settings.collection}-sentences"
        try:
            legacy = self.client.get_collection(legacy_name, embedding_function=None)
        except Exception:  # no such collection: nothing to move
            return 0
        moved = 0
        for article_id in self.without_sentences(self.article_ids()):
            metadatas: list = []
            vectors: list = []
            while True:  # ids "<article>#s<i>", i = 0, 1, ...: by id, as a metadata filter scans them all
                ids = [f"{article_id}#s{i}" for i in range(len(metadatas), len(metadatas) + LEGACY_BLOCK)]
                got = legacy.get(ids=ids, include=["embeddings", "metadatas"])
                metadatas += got["metadatas"]
                vectors += list(got["embeddings"])
                if len(got["ids"]) < LEGACY_BLOCK:
                    break
            if metadatas:  # else it never had sentences: the next ingest of its file embeds them
                rows = sorted(zip(metadatas, vectors), key=lambda r: r[0]["index"])
                doc = self.article(article_id)
                spans = [(m["start"], m["end"]) for m, _ in rows]
                text = doc.text if doc is not None else ""
                self.put_sentences(article_id, spans, [v for _, v in rows], text, self.parts(article_id))
                moved += 1
        self.client.delete_collection(legacy_name)
        return moved

    def check_schema(self) -> None:
        """A store written by caucasus-qa before schema 2 kept its articles in a docstore file
        that this version no longer reads: say how to rebuild it rather than look empty."""
        schema = int((self.collection.metadata or {}).get("schema", 1))
        if schema < 2 and self.collection.count() and not self.article_collection.count():
            raise StoreMismatchError(
                f"the store at {self.settings.chroma_url or self.settings.store} was written by an older "
                f"caucasus-qa (schema {schema}, this one reads {SCHEMA_VERSION}): rebuild it with "
                "`caucasus-qa ingest --reset FOLDER...`"
            )

    def check_chunking(self) -> None:
        """Ingesting with other chunk settings would mix chunkings in one store: refuse."""
        meta = self.collection.metadata or {}
        want = self.expected_metadata()
        stale = [k for k in ("chunk_size", "chunk_overlap") if meta.get(k) not in (None, want[k])]
        if stale and self.article_ids():
            old = ", ".join(f"{k} {meta[k]}" for k in stale)
            raise StoreMismatchError(
                f"the store was chunked with {old}: rebuild it with "
                "`caucasus-qa ingest --reset`, or keep the old settings"
            )
        if self.article_ids():  # a built store keeps its sentence vectors' way (one kind per store)
            want["sentence_vectors"] = self.sentence_vectors
        if meta != {**meta, **want}:
            kept = {k: v for k, v in meta.items() if not k.startswith("hnsw:")}  # Chroma refuses to re-set those
            self.collection.modify(metadata={**kept, **want})

    # -- articles -----------------------------------------------------------------------
    def put_article(self, doc: Any, chunks: int, tag: str | None) -> None:
        """Store an article's cleaned text and metadata, last of its records: an article with a
        record has all its chunks and sentences, written under ``tag`` (a killed ingest redoes
        the rest)."""
        meta = {**doc.metadata, "hash": doc.hash, "embedded_hash": embedded_hash(doc), "chunks": chunks,
                WRITTEN: self.next_version(), **({PARTS: tag} if tag else {})}  # fmt: skip
        metadatas = replacing_stored(self.article_collection, [doc.id_], [meta])
        self.article_collection.upsert(ids=[doc.id_], documents=[doc.text], metadatas=metadatas, embeddings=[[0.0]])
        self._articles.pop(doc.id_, None)

    def article_ids(self) -> list[str]:
        """Ids of stored articles, sorted."""
        return sorted(self.all_ids(self.article_collection))

    def all_ids(self, collection: Any) -> list[str]:
        """Every record id of one of the store's collections, read a page at a time."""
        ids: list[str] = []
        while True:
            page = collection.get(include=[], limit=self.max_batch, offset=len(ids))["ids"]
            ids += page
            if len(page) < self.max_batch:
                return ids

    def relabel(self, doc: Any) -> bool:
        """Store new metadata for an article whose embedded content (text and title) is unchanged:
        its record and its chunks' metadata are rewritten, no vector is touched. False (nothing
        done) if the stored article is incomplete: then it must be embedded again."""
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        old = self.article(doc.id_)
        nodes = self.chunks(doc.id_)
        if old is None or len(nodes) != int(old.metadata.get("chunks", -1)) or self.without_sentences([doc.id_]):
            return False
        for node in nodes:
            node.metadata = dict(doc.metadata)
            node.excluded_embed_metadata_keys = list(doc.excluded_embed_metadata_keys)
            node.excluded_llm_metadata_keys = list(doc.excluded_llm_metadata_keys)
        for start in range(0, len(nodes), self.max_batch):
            batch = nodes[start : start + self.max_batch]
            ids = [n.node_id for n in batch]
            fresh = [node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in batch]
            self.collection.update(ids=ids, metadatas=replacing_stored(self.collection, ids, fresh))
        self.put_article(doc, len(nodes), old.metadata.get(PARTS))
        return True

    def embedded_hashes(self, article_ids: list[str]) -> dict[str, str]:
        """The hash of what was embedded (text and title) per stored article; computed from the
        record for articles stored before it was recorded."""
        out: dict[str, str] = {}
        for article_id in article_ids:
            doc = self.article(article_id)
            if doc is not None:
                out[article_id] = doc.metadata.get("embedded_hash") or _record_embedded_hash(self, article_id)
        return out

    def hashes(self, article_ids: list[str]) -> dict[str, str]:
        """The content hash stored for each of these articles that is stored."""
        out: dict[str, str] = {}
        for start in range(0, len(article_ids), self.max_batch):
            got = self.article_collection.get(ids=article_ids[start : start + self.max_batch], include=["metadatas"])
            out.update({i: str(m.get("hash", "")) for i, m in zip(got["ids"], got["metadatas"])})
        return out

    def article(self, article_id: str) -> Any:
        """The stored article as a LlamaIndex ``Document`` (text is the cleaned article), or None."""
        # The chat's threads share this cache while another thread may start a new version's:
        # one dict is read and written throughout, and the record read is what is returned.
        articles = self._articles
        if article_id in articles:
            return articles[article_id]
        from llama_index.core import Document

        got = self.article_collection.get(ids=[article_id], include=["documents", "metadatas"])
        doc = (
            Document(id_=article_id, text=got["documents"][0], metadata=dict(got["metadatas"][0]))
            if got["ids"]
            else None
        )
        if len(articles) >= ARTICLE_CACHE:
            articles.pop(next(iter(articles.copy())), None)  # the oldest (a copy: other threads may add meanwhile)
        articles[article_id] = doc
        return doc

    def catalog(self) -> list[dict[str, Any]]:
        """Every stored article's metadata (not its text), sorted by id; kept until the store changes."""
        # Keyed by the version seen before reading: rows read after it hold all of that version's
        # records, even if another thread refreshes to a newer version meanwhile.
        version = self.version
        if self._catalog is None or self._catalog[0] != version:
            rows: list[dict[str, Any]] = []
            while True:
                got = self.article_collection.get(include=["metadatas"], limit=self.max_batch, offset=len(rows))
                rows += [{"id": i, **m} for i, m in zip(got["ids"], got["metadatas"])]
                if len(got["ids"]) < self.max_batch:
                    break
            self._catalog = (version, sorted(rows, key=lambda r: r["id"]))
        return self._catalog[1]

    def stored_article(self, article_id: str) -> Article | None:
        """The article as stored: cleaned text, metadata and chunk count."""
        doc = self.article(article_id)
        if doc is None:
            return None
        m = doc.metadata
        return Article(
            id=article_id, text=doc.text, title=m.get("title"), outlet=m.get("outlet"),
            published=m.get("published"), author=m.get("author"), url=m.get("url"),
            source_path=m.get("source_path", ""), date_note=m.get("date_note"),
            notes=tuple(n for n in m.get("notes", "").split("; ") if n), chunks=int(m.get("chunks", 0)),
        )  # fmt: skip

    # -- chunks -------------------------------------------------------------------------
    def chunk_ids(self, article_id: str) -> list[str]:
        doc = self.article(article_id)
        return record_chunk_ids(article_id, doc.metadata) if doc is not None else []

    def nodes(self, chunk_ids: list[str]) -> list:
        """The stored chunks with these ids (LlamaIndex nodes with offsets), in the order given."""
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        found: dict[str, Any] = {}
        for start in range(0, len(chunk_ids), self.max_batch):
            got = self.collection.get(ids=chunk_ids[start : start + self.max_batch], include=["documents", "metadatas"])
            for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                found[i] = metadata_dict_to_node(meta, text=text)
        return [found[i] for i in chunk_ids if i in found]

    def chunks(self, article_id: str) -> list:
        return self.nodes(self.chunk_ids(article_id))

    def all_chunks(self, upto: int | None = None) -> list:
        """Every stored chunk of every stored article (for building indexes, not for answering);
        given ``upto``, of the articles written for that store version or before, so that an index
        built while another process ingests is that of one finished version (records from before
        versions were written down count as version 0)."""
        rows = self.catalog()  # the records' metadata a page at a time, not each article's text
        return self.nodes(
            [c for r in rows if upto is None or int(r.get(WRITTEN, 0)) <= upto for c in record_chunk_ids(r["id"], r)]
        )

    def delete_article(self, article_id: str) -> None:
        self.forget([article_id])
        self.article_collection.delete(ids=[article_id])
        self._articles.pop(article_id, None)

    def forget_except(self, article_ids: list[str], keep: set[str]) -> None:
        """Delete these articles' chunks that are not in ``keep`` (chunks an updated article no
        longer has, leftovers of a killed run): called after the new ones and the record are
        written, so a run interrupted earlier has deleted nothing the stored record counts."""
        for start in range(0, len(article_ids), self.max_batch):
            batch = article_ids[start : start + self.max_batch]
            found = self.collection.get(where={"document_id": {"$in": batch}}, include=[])["ids"]
            stale = [i for i in found if i not in keep]
            for i in range(0, len(stale), self.max_batch):
                self.collection.delete(ids=stale[i : i + self.max_batch])

    def forget_sentences(self, ids: list[str]) -> None:
        """Delete these sentence records (an updated article's previous ones, once its record
        counts the new ones)."""
        for start in range(0, len(ids), self.max_batch):
            self.sentence_collection.delete(ids=ids[start : start + self.max_batch])

    def forget(self, article_ids: list[str]) -> None:
        """Delete these articles' chunk and sentence vectors (``delete_article``)."""
        for start in range(0, len(article_ids), self.max_batch):
            batch = article_ids[start : start + self.max_batch]
            self.collection.delete(where={"document_id": {"$in": batch}})
            self.sentence_collection.delete(ids=batch + [self.sentence_record_id(a) for a in batch])

    def reset(self) -> None:
        """Delete every article: all the store's collections."""
        s = self.settings.collection
        for name in (s, f"{s}-sentences", f"{s}-sentence-vectors", f"{s}-articles", f"{s}-sources", f"{s}-lexicon"):
            try:
                self.client.delete_collection(name)
            except Exception:  # already gone
                pass
        self._articles = {}
        self._sources = self._lexicon = None
        self.collection = self._open_collection()
        self.vector_store = self._vector_store()
        self.sentence_collection = self._open_sentences()
        self.article_collection = self._open_articles()
        self.persist()

    def __len__(self) -> int:
        return self.article_collection.count()


def pack(spans: Sequence[tuple[int, int]], vectors: Any) -> dict[str, Any]:
    """An article's sentences as one Chroma metadata record: offsets as int32 and vectors as
    float16, base64-encoded. Written by hand because Chroma keeps vectors only in a searchable
    index and metadata values only as scalars (strings, numbers, short lists)."""
    import base64

    import numpy as np

    matrix = np.asarray(vectors, dtype=SENTENCE_DTYPE)
    return {
        "count": len(spans),
        "dim": int(matrix.shape[1]) if matrix.ndim == 2 else 0,
        "spans": base64.b64encode(np.asarray(spans, dtype="<i4").tobytes()).decode("ascii"),
        "vectors": base64.b64encode(matrix.astype("<f2").tobytes()).decode("ascii"),
    }


def unpack(record: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """The (offsets, float32 vectors) of a ``pack`` record; an empty record gives none."""
    import base64

    import numpy as np

    n, dim = int(record.get("count", 0)), int(record.get("dim", 0))
    if not n:
        return [], np.zeros((0, max(dim, 1)), np.float32)
    spans = np.frombuffer(base64.b64decode(record["spans"]), dtype="<i4").reshape(n, 2)
    vectors = np.frombuffer(base64.b64decode(record["vectors"]), dtype="<f2").reshape(n, dim).astype(np.float32)
    return [{"index": i, "start": int(a), "end": int(b)} for i, (a, b) in enumerate(spans)], vectors


def record_chunk_ids(article_id: str, record: dict[str, Any]) -> list[str]:
    """The ids of an article's chunks, from its record's chunk count and tag."""
    return [chunk_id(article_id, i, record.get(PARTS) or None) for i in range(int(record.get("chunks", 0)))]


def chunk_id(article_id: str, i: int, tag: str | None) -> str:
    """Chunk ids: "<article id>#<n>.<tag>" (untagged in records written before tags: "<article id>#<n>").
    The same text gets the same ids: re-ingesting overwrites instead of duplicating."""
    return f"{article_id}#{i}.{tag}" if tag else f"{article_id}#{i}"


def sentence_id(article_id: str, tag: str | None) -> str:
    """The id of an article's sentence record: "<article id>#<tag>" (untagged: the article id)."""
    return f"{article_id}#{tag}" if tag else article_id


def parts_tag(doc: Any) -> str:
    """The tag of an article version's chunk and sentence ids: what they were embedded from."""
    return embedded_hash(doc)[:12]


def embedded_hash(doc: Any) -> str:
    """What chunk and sentence vectors depend on: the text as embedded (with the title, the one
    metadata key embedded). Equal hashes mean new metadata needs no new vectors."""
    import hashlib

    from llama_index.core.schema import MetadataMode

    return hashlib.sha256(doc.get_content(metadata_mode=MetadataMode.EMBED).encode("utf-8")).hexdigest()


def _record_embedded_hash(store: Store, article_id: str) -> str:
    from caucasus_qa.articles.formats import to_document

    article = store.stored_article(article_id)
    return embedded_hash(to_document(article)) if article is not None else ""


def replacing_stored(collection: Any, ids: list[str], metadatas: list[dict[str, Any]]) -> list[Any]:
    """``metadatas`` for these ids as an update that replaces what ``collection`` stores (see
    ``replacing``): one read of the stored records."""
    got = collection.get(ids=ids, include=["metadatas"])
    before = {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"] or [])}
    return [replacing(before.get(i, {}), m) for i, m in zip(ids, metadatas)]


def replacing(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` as a Chroma metadata update that replaces ``old``: Chroma merges an update or
    upsert into the stored metadata, so keys that are gone are sent as None (deleted). Without
    this, a date removed from an article would stay on its record."""
    return {**{k: None for k in old if k not in new}, **new}


def text_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
