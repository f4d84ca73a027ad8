"""The store: Chroma collections of chunk vectors and sentence vectors, plus a docstore of whole
articles and chunks.

Chroma holds what retrieval searches (``<collection>``) and the vectors of every article
sentence (``<collection>-sentences``, computed at ingest so answering looks them up); the
docstore (LlamaIndex ``SimpleDocumentStore``) holds the cleaned article text whole, so that
quotes can be checked against it by character offsets, and the chunks, so that BM25 can be
built without reading Chroma back. Writes to Chroma stay below its maximum batch size.

Embedded mode keeps both under ``settings.store``. Server mode (``--chroma-url``) keeps vectors
in the server and the docstore locally under ``settings.store``, one file per server.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from caucasus_qa import offline
from caucasus_qa.articles import Article
from caucasus_qa.errors import StoreError, StoreMismatchError
from caucasus_qa.settings import Settings

SCHEMA_VERSION = 1


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


def docstore_path(settings: Settings) -> Path:
    """The local docstore file; one per Chroma server so two servers never share one."""
    if not settings.chroma_url:
        return settings.store / f"{settings.collection}.docstore.json"
    tag = hashlib.sha1(settings.chroma_url.rstrip("/").encode()).hexdigest()[:10]
    return settings.store / f"server-{tag}" / f"{settings.collection}.docstore.json"


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
        """ChromaVectorStore whose ``add`` stays below Chroma's maximum batch size: its own limit
        (41,665 records in llama-index-vector-stores-chroma 0.5) is far above Chroma's 5,461."""

        _max_batch: int = PrivateAttr(default=5000)

        def add(self, nodes: Sequence[Any], **kwargs: Any) -> list[str]:
            ids: list[str] = []
            for start in range(0, len(nodes), self._max_batch):
                ids += super().add(list(nodes[start : start + self._max_batch]), **kwargs)
            return ids

    return BatchedChromaVectorStore


class Store:
    """Open (or create) the collection and docstore named by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = connect(settings)
        self.collection = self._open_collection()
        self.max_batch = self.client.get_max_batch_size()
        self.vector_store = self._vector_store()
        self.sentence_collection = self._open_sentences()
        self.docstore_path = docstore_path(settings)
        self.version = 0  # bumped whenever the docstore changes; caches key on it
        self._mtime: float | None = None
        self.docstore = self._load_docstore()

    def _load_docstore(self):
        from llama_index.core.storage.docstore import SimpleDocumentStore

        if not self.docstore_path.is_file():
            self._mtime = None
            return SimpleDocumentStore()
        self._mtime = self.docstore_path.stat().st_mtime
        try:
            return SimpleDocumentStore.from_persist_path(str(self.docstore_path))
        except ValueError as exc:
            raise StoreError(
                f"the docstore {self.docstore_path} is damaged ({exc}): rebuild it with `caucasus-qa ingest --reset`"
            ) from None

    def refresh(self) -> bool:
        """Reload the docstore if another process changed it; True if it did."""
        mtime = self.docstore_path.stat().st_mtime if self.docstore_path.is_file() else None
        if mtime == self._mtime:
            return False
        self.docstore = self._load_docstore()
        self.version += 1
        return True

    # -- collection ---------------------------------------------------------------------
    def expected_metadata(self) -> dict[str, Any]:
        s = self.settings
        return {
            "embed_model": s.embed_model,
            "chunk_size": s.chunk_size,
            "chunk_overlap": s.chunk_overlap,
            "schema": SCHEMA_VERSION,
        }

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

    def _open_sentences(self):
        """The article sentences with their vectors: computed at ingest so answering is a lookup."""
        try:
            return self.client.get_or_create_collection(
                f"{self.settings.collection}-sentences",
                metadata={**self.expected_metadata(), "hnsw:space": "cosine"},
                embedding_function=None,
            )
        except Exception as exc:  # name validation, server errors
            raise StoreError(f"cannot open collection {self.settings.collection!r}-sentences: {exc}") from None

    # -- sentences ----------------------------------------------------------------------
    def put_sentences(self, article_id: str, spans: list[tuple[int, int]], vectors: Any) -> None:
        """Replace an article's sentences: ``spans`` are (start, end) offsets in its text."""
        self.sentence_collection.delete(where={"article_id": article_id})
        ids = [f"{article_id}#s{i}" for i in range(len(spans))]
        metadatas = [{"article_id": article_id, "index": i, "start": a, "end": b} for i, (a, b) in enumerate(spans)]
        write_batched(self.sentence_collection, self.max_batch, ids=ids, embeddings=vectors, metadatas=metadatas)

    def sentence_records(self, article_id: str) -> tuple[list[dict[str, Any]], Any]:
        """An article's sentence offsets (in reading order) and their vectors, as stored."""
        import numpy as np

        got = self.sentence_collection.get(where={"article_id": article_id}, include=["embeddings", "metadatas"])
        order = sorted(range(len(got["ids"])), key=lambda i: got["metadatas"][i]["index"])
        vectors = np.asarray(got["embeddings"], dtype=np.float32) if order else np.zeros((0, 1), np.float32)
        return [dict(got["metadatas"][i]) for i in order], vectors[order] if order else vectors

    def without_sentences(self, article_ids: list[str]) -> list[str]:
        """Which of these stored articles have no sentence vectors yet (stores built before them)."""
        size = self.max_batch
        have: set[str] = set()
        for i in range(0, len(article_ids), size):
            got = self.sentence_collection.get(ids=[f"{a}#s0" for a in article_ids[i : i + size]], include=[])
            have.update(x.rpartition("#s")[0] for x in got["ids"])
        return [a for a in article_ids if a not in have]

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
        if meta != {**meta, **want}:
            self.collection.modify(metadata={**meta, **want})

    # -- docstore -----------------------------------------------------------------------
    def persist(self) -> None:
        """Write the docstore atomically: an interrupted write never leaves half a file."""
        self.docstore_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.docstore_path.with_suffix(f".tmp{os.getpid()}")
        self.docstore.persist(str(tmp))
        os.replace(tmp, self.docstore_path)
        self._mtime = self.docstore_path.stat().st_mtime
        self.version += 1

    def article_ids(self) -> list[str]:
        """Ids of stored articles (chunks are stored too, under their article's ref-doc entry)."""
        return sorted(self.docstore.get_all_ref_doc_info() or {})

    def article(self, article_id: str):
        """The stored article as a LlamaIndex ``Document`` (text is the cleaned article)."""
        return self.docstore.get_document(article_id, raise_error=False)

    def stored_article(self, article_id: str) -> Article | None:
        """The article as stored: cleaned text, metadata and chunk count."""
        doc = self.article(article_id)
        if doc is None:
            return None
        m = doc.metadata
        notes = tuple(n for n in m.get("notes", "").split("; ") if n)
        return Article(
            id=article_id,
            text=doc.text,
            title=m.get("title"),
            outlet=m.get("outlet"),
            published=m.get("published"),
            author=m.get("author"),
            url=m.get("url"),
            source_path=m.get("source_path", ""),
            date_note=m.get("date_note"),
            notes=notes,
            chunks=len(self.chunk_ids(article_id)),
        )

    def chunk_ids(self, article_id: str) -> list[str]:
        info = self.docstore.get_ref_doc_info(article_id)
        return list(info.node_ids) if info else []

    def chunks(self, article_id: str) -> list:
        return [self.docstore.get_node(i) for i in self.chunk_ids(article_id)]

    def all_chunks(self) -> list:
        return [node for aid in self.article_ids() for node in self.chunks(aid)]

    def delete_article(self, article_id: str) -> None:
        self.vector_store.delete(article_id)
        self.sentence_collection.delete(where={"article_id": article_id})
        self.docstore.delete_ref_doc(article_id, raise_error=False)
        self.docstore.delete_document(article_id, raise_error=False)

    def forget_vectors(self, article_ids: list[str]) -> None:
        """Drop vectors left by an interrupted run for articles the docstore does not know."""
        if article_ids and self.collection.count():
            self.collection.delete(where={"document_id": {"$in": article_ids}})

    def reset(self) -> None:
        """Delete every article: the collection and the docstore file."""
        from llama_index.core.storage.docstore import SimpleDocumentStore

        for name in (self.settings.collection, f"{self.settings.collection}-sentences"):
            try:
                self.client.delete_collection(name)
            except Exception:  # already gone
                pass
        self.docstore_path.unlink(missing_ok=True)
        self.docstore = SimpleDocumentStore()
        self._mtime = None
        self.version += 1
        self.collection = self._open_collection()
        self.vector_store = self._vector_store()
        self.sentence_collection = self._open_sentences()

    def __len__(self) -> int:
        return len(self.article_ids())
