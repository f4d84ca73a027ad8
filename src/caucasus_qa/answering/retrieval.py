"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s over the stored chunks), fused.

BM25 is built from the stored chunks (read back from Chroma in pages) and rebuilt whenever the
store changes. It is bm25s's Lucene
BM25 with k1 0.9, b 0.4 (Anserini's defaults; bm25s's own are 1.5 / 0.75), over each chunk's
text as embedded (title + chunk), tokenised like llama-index's ``BM25Retriever`` (English
stemmer and stopwords).

Each retriever proposes ``candidates`` chunks; the other retriever's score is then computed
exactly for every proposed chunk (BM25 scores the whole corpus in one sparse pass; the cosine
of a chunk only the BM25 side proposed comes from its stored vector), so a chunk just below
one list's cut-off is not scored as if it had nothing in common with the question. Fusion is
a convex mix of the two scores min-max normalised over the candidates (``dense_weight``), the
same mix of z-scores (``fusion="zscore"``: one outlying chunk does not squash the rest), or
reciprocal rank fusion (``fusion="rrf"``).

Both retrievers answer from the same chunks: those of the lexicon the process holds. While an
ingest runs elsewhere the store gains chunks that the held lexicon (rebuilt in the background,
see ``lexicon.py``) does not know yet; dense candidates outside it are left out (fetched past,
up to ``STALE_OVERFETCH``), so an answer is that of one finished state of the store, never new
vectors scored with old word statistics (measured by ``bench load``: docs/reliability.md).

Asked as of a date (``as_of``), chunks of pages published after it are left out and pages
published shortly before it gain ``recency_weight * exp(-age / recency_days)`` on the fused
score (settings); an undated page gains nothing and is never left out (its date is unknown,
not late). A question that speaks of the asker's present ("this week", "on Monday", "today")
uses a stronger, shorter gain (``present_weight``, ``present_days``): its answer is in the news
of those days, not in an older page on the same topic.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from caucasus_qa.store.collections import Store
from caucasus_qa.store.lexicon import BM25_B, BM25_K1, LexicalIndex, Lexicon, LexiconCache

RRF_K = 60
STALE_OVERFETCH = 2000  # most extra dense results fetched to skip chunks the held lexicon lacks (an ingest's backlog)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
PRESENT_TIME = re.compile(
    rf"\b(this|last|past) (week|weekend|month)\b|\b(today|tonight|yesterday|recently)\b|\b(on|last) ({_WEEKDAYS})\b",
    re.I,
)


@dataclass(frozen=True)
class Recency:
    """How much the publication date counts when a question is asked as of a date (settings
    ``recency_*``, tuned on the RealTime QA tune weeks: docs/evaluation.md)."""

    weight: float = 0.0  # the most a page published that day gains on the fused score
    days: float = 60.0  # over which that gain falls to 1/e
    present_weight: float = 0.0  # the same, for a question about the asker's present (PRESENT_TIME)
    present_days: float = 14.0

    def for_question(self, question: str) -> tuple[float, float]:
        """(weight, days) for this question."""
        if PRESENT_TIME.search(question):
            return max(self.weight, self.present_weight), self.present_days
        return self.weight, self.days


def published_on(metadata: dict[str, Any]) -> date | None:
    """A stored page's publication date: its metadata, else a date in its URL; None if unknown."""
    from caucasus_qa.articles.dates import as_date
    from caucasus_qa.articles.metadata import url_facts

    value = metadata.get("published") or url_facts(metadata.get("url")).get("published")
    return as_date(str(value)) if value else None


def recency(
    fused: dict[str, float], dates: dict[str, date | None], as_of: date, weight: float, days: float
) -> dict[str, float]:
    """Fused scores as of a date: later pages dropped, recent ones raised (see the module)."""
    out = {}
    for chunk_id, score in fused.items():
        published = dates.get(chunk_id)
        if published is None:
            out[chunk_id] = score
        elif published <= as_of:
            out[chunk_id] = score + weight * math.exp(-(as_of - published).days / days)
    return out


class Passage(NodeWithScore):
    """A retrieved chunk with its fused score and the scores behind it."""

    dense: float | None = None  # cosine similarity with the question
    bm25: float | None = None

    @property
    def article_id(self) -> str:
        return self.node.ref_doc_id or self.node.metadata.get("article_id", "")


def cosine_from_chroma(similarity: float) -> float:
    """ChromaVectorStore reports exp(-distance); with cosine space distance = 1 - cos."""
    return 1.0 + math.log(max(similarity, 1e-12))


def _zscore(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64)
    mean, std = float(values.mean()), float(values.std())
    return {k: (v - mean) / std if std > 0 else 0.0 for k, v in scores.items()}


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in scores.items()}


@dataclass
class VectorCache:
    """Chunk vectors fetched from Chroma, for one store version (a chunk id keeps its id when its
    article is updated, so the cache starts over with each version)."""

    version: int | None = None
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def of(self, version: int) -> dict[str, np.ndarray]:
        if self.version != version:
            self.vectors, self.version = {}, version
        return self.vectors


class HybridRetriever(BaseRetriever):
    """Dense + BM25 candidates, fused; a LlamaIndex retriever usable in any query engine."""

    def __init__(
        self,
        store: Store,
        embed_model: Any,
        *,
        top_k: int,
        candidates: int,
        dense_weight: float,
        fusion: str,  # one of settings.FUSIONS
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
        complete_scores: bool = True,
        lexicon: LexiconCache | None = None,
        recency: Recency = Recency(),
    ) -> None:
        super().__init__()
        self.store = store
        self.embed_model = embed_model
        self.top_k = top_k
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.fusion = fusion
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.complete_scores = complete_scores
        self.lexicon = lexicon or LexiconCache(store, bm25_k1, bm25_b)
        self._cache = VectorCache()  # shared with the per-question copies (``dated``, ``holding``)
        self.as_of: date | None = None  # set on a per-question copy (see ``dated``)
        self.held: Lexicon | None = None  # set on a per-question copy (see ``holding``)
        self.recency = recency

    def dated(self, as_of: date | None) -> HybridRetriever:
        """This retriever as of a date (a shallow copy: the caches are shared), or itself."""
        if as_of is None:
            return self
        twin = copy.copy(self)
        twin.as_of = as_of
        return twin

    def holding(self, lexicon: Lexicon) -> HybridRetriever:
        """This retriever answering from ``lexicon`` (a shallow copy): the question's answer step
        reads the same version's term statistics, even if a newer one is ready meanwhile."""
        twin = copy.copy(self)
        twin.held = lexicon
        return twin

    # -- the two retrievers ------------------------------------------------------------
    def lexical_index(self) -> LexicalIndex | None:
        """BM25 over the stored chunks, from the store's lexicon (built at ingest, not here)."""
        return (self.held or self.lexicon.get()).bm25

    def _query_embedding(self, query: QueryBundle) -> list[float]:
        if query.embedding is None:
            query.embedding = self.embed_model.get_query_embedding(query.query_str)
        return query.embedding

    def dense(self, query: QueryBundle, n: int | None = None, within: LexicalIndex | None = None) -> dict[str, float]:
        """Cosine similarity of the ``n`` (default ``candidates``) nearest chunks in Chroma; given
        ``within``, of the nearest among that index's chunks (see the module)."""
        embedding = self._query_embedding(query)
        collection = self.store.collection
        count = collection.count()
        if not count:
            return {}
        n = n or self.candidates
        most = n + (0 if within is None else STALE_OVERFETCH)
        asked = min(n + (0 if within is None else max(count - len(within.ids), 0)), most, count)
        while True:
            ids, distances = self._nearest(collection, embedding, asked)
            near = [(i, d) for i, d in zip(ids, distances) if within is None or i in within.row][:n]
            # Fewer than ``n`` of the held chunks in a full answer: another process wrote chunks
            # between the count and the query (its next batch), and they took places: look further.
            if within is None or len(near) == min(n, len(within.ids)) or len(ids) < asked or asked >= most:
                return {i: 1.0 - float(d) for i, d in near}  # cosine space: distance = 1 - cos
            asked = min(2 * asked, most)

    def _nearest(self, collection: Any, embedding: list[float], k: int) -> tuple[list[str], list[float]]:
        """Chroma's ``k`` nearest chunks and their distances; their vectors are kept for ``cosines``."""
        result = collection.query(query_embeddings=[embedding], n_results=k, include=["distances", "embeddings"])
        ids, vectors = result["ids"][0], result.get("embeddings")
        if vectors is not None and len(vectors):
            self._cache.of(self.store.version).update(zip(ids, (np.asarray(v, dtype=np.float32) for v in vectors[0])))
        return ids, result["distances"][0]

    def cosines(self, query: QueryBundle, ids: list[str]) -> dict[str, float]:
        """Exact cosine similarity of the question with the given stored chunks."""
        cached = self._cache.of(self.store.version)
        missing = [i for i in ids if i not in cached]
        if missing:
            got = self.store.collection.get(ids=missing, include=["embeddings"])
            if got.get("embeddings") is not None:
                cached.update(zip(got["ids"], (np.asarray(v, dtype=np.float32) for v in got["embeddings"])))
        known = [i for i in ids if i in cached]
        if not known:
            return {}
        q = np.asarray(self._query_embedding(query), dtype=np.float32)
        m = np.stack([cached[i] for i in known])
        cos = m @ q / np.maximum(np.linalg.norm(m, axis=1) * np.linalg.norm(q), 1e-12)
        return dict(zip(known, map(float, cos)))

    def bm25(self, query: QueryBundle) -> dict[str, float]:
        """BM25 scores of the ``candidates`` best chunks (positive scores only)."""
        index = self.lexical_index()
        return index.top(index.scores(query.query_str), self.candidates) if index is not None else {}

    def scored_candidates(
        self, query: QueryBundle, candidates: int | None = None
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Dense and BM25 scores over the union of both retrievers' candidates.

        With ``complete_scores`` each proposed chunk gets both scores (a chunk that BM25 does
        not match at all scores 0); otherwise each retriever scores only its own candidates.
        """
        n = candidates or self.candidates
        index = self.lexical_index()
        if index is None:  # an empty store, as far as this process's lexicon knows
            return {}, {}
        dense = self.dense(query, n, within=index)
        all_bm25 = index.scores(query.query_str)
        bm25 = index.top(all_bm25, n)
        if self.complete_scores:
            dense.update(self.cosines(query, [i for i in bm25 if i not in dense]))
            for node_id in dense:
                row = index.row.get(node_id)
                if row is not None and node_id not in bm25:
                    bm25[node_id] = float(all_bm25[row])
        return dense, bm25

    # -- fusion ------------------------------------------------------------------------
    def fuse(
        self,
        dense: dict[str, float],
        bm25: dict[str, float],
        dense_weight: float | None = None,
        fusion: str | None = None,
    ) -> dict[str, float]:
        """Fused scores; ``dense_weight`` and ``fusion`` default to the retriever's own."""
        w = self.dense_weight if dense_weight is None else dense_weight
        fusion = fusion or self.fusion
        ids = set(dense) | set(bm25)
        if fusion == "rrf":
            rank_d = {k: r for r, k in enumerate(sorted(dense, key=lambda k: dense[k], reverse=True))}
            rank_b = {k: r for r, k in enumerate(sorted(bm25, key=lambda k: bm25[k], reverse=True))}
            return {
                i: w * (1 / (RRF_K + rank_d[i]) if i in rank_d else 0)
                + (1 - w) * (1 / (RRF_K + rank_b[i]) if i in rank_b else 0)
                for i in ids
            }
        normalise = _zscore if fusion == "zscore" else _normalise
        nd, nb = normalise(dense), normalise(bm25)
        low_d, low_b = min(nd.values(), default=0.0), min(nb.values(), default=0.0)  # absent: the list's floor
        return {i: w * nd.get(i, low_d) + (1 - w) * nb.get(i, low_b) for i in ids}

    def scores(
        self, query: QueryBundle, candidates: int | None = None
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """``(fused, dense, bm25)`` scores of every candidate chunk, by chunk id (for benchmarks)."""
        dense, bm25 = self.scored_candidates(query, candidates)
        return self.fuse(dense, bm25), dense, bm25

    def _dates(self, chunk_ids: list[str]) -> dict[str, date | None]:
        got = self.store.collection.get(ids=chunk_ids, include=["metadatas"])
        return {i: published_on(m or {}) for i, m in zip(got["ids"], got["metadatas"] or [])}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        fused, dense, bm25 = self.scores(query_bundle)
        if self.as_of is not None and fused:
            weight, days = self.recency.for_question(query_bundle.query_str)
            fused = recency(fused, self._dates(list(fused)), self.as_of, weight, days)
        best = sorted(fused, key=lambda i: (-fused[i], i))[: self.top_k]
        passages: list[NodeWithScore] = [
            Passage(node=node, score=fused[node.node_id], dense=dense.get(node.node_id), bm25=bm25.get(node.node_id))
            for node in self.store.nodes(best)
        ]
        return passages
