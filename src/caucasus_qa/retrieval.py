"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s over the docstore's chunks), fused.

BM25 is built from the chunks in the persisted docstore, not read back from Chroma (see
llama_index issue 14574), and rebuilt whenever the docstore changes. Fusion is a convex mix
of per-query min-max normalised scores (``dense_weight``), or reciprocal rank fusion.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from caucasus_qa.store import Store

RRF_K = 60


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


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in scores.items()}


class HybridRetriever(BaseRetriever):
    """Dense + BM25 candidates, fused; a LlamaIndex retriever usable in any query engine."""

    def __init__(self, store: Store, embed_model: Any, top_k: int = 5, candidates: int = 30,
                 dense_weight: float = 0.7, fusion: Literal["convex", "rrf"] = "convex") -> None:
        super().__init__()
        self.store = store
        self.embed_model = embed_model
        self.top_k = top_k
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.fusion = fusion
        self._bm25 = None
        self._bm25_key: Any = None

    # -- the two retrievers ------------------------------------------------------------
    def _bm25_retriever(self):
        """Rebuilt when the set of stored chunks changes (after an ingest)."""
        key = (id(self.store.docstore), self.store.version)
        if self._bm25 is None or key != self._bm25_key:
            import Stemmer
            from llama_index.retrievers.bm25 import BM25Retriever

            chunks = self.store.all_chunks()
            self._bm25 = BM25Retriever.from_defaults(
                nodes=chunks, similarity_top_k=min(self.candidates, len(chunks)),
                stemmer=Stemmer.Stemmer("english"), language="english") if chunks else None
            self._bm25_key = key
        return self._bm25

    def dense(self, query: QueryBundle) -> dict[str, float]:
        if query.embedding is None:
            query.embedding = self.embed_model.get_query_embedding(query.query_str)
        from llama_index.core.vector_stores.types import VectorStoreQuery

        result = self.store.vector_store.query(
            VectorStoreQuery(query_embedding=query.embedding, similarity_top_k=self.candidates))
        return {i: cosine_from_chroma(s) for i, s in zip(result.ids or [], result.similarities or [])}

    def bm25(self, query: QueryBundle) -> dict[str, float]:
        retriever = self._bm25_retriever()
        if retriever is None:
            return {}
        return {n.node.node_id: float(n.score or 0.0) for n in retriever.retrieve(query.query_str)
                if (n.score or 0.0) > 0}

    # -- fusion ------------------------------------------------------------------------
    def fuse(self, dense: dict[str, float], bm25: dict[str, float]) -> dict[str, float]:
        ids = set(dense) | set(bm25)
        if self.fusion == "rrf":
            rank_d = {k: r for r, k in enumerate(sorted(dense, key=dense.get, reverse=True))}
            rank_b = {k: r for r, k in enumerate(sorted(bm25, key=bm25.get, reverse=True))}
            return {i: self.dense_weight * (1 / (RRF_K + rank_d[i]) if i in rank_d else 0)
                    + (1 - self.dense_weight) * (1 / (RRF_K + rank_b[i]) if i in rank_b else 0) for i in ids}
        nd, nb = _normalise(dense), _normalise(bm25)
        return {i: self.dense_weight * nd.get(i, 0.0) + (1 - self.dense_weight) * nb.get(i, 0.0) for i in ids}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        dense, bm25 = self.dense(query_bundle), self.bm25(query_bundle)
        fused = self.fuse(dense, bm25)
        best = sorted(fused, key=fused.get, reverse=True)[: self.top_k]
        passages = []
        for node_id in best:
            node = self.store.docstore.get_node(node_id, raise_error=False)
            if node is not None:
                passages.append(Passage(node=node, score=fused[node_id], dense=dense.get(node_id),
                                        bm25=bm25.get(node_id)))
        return passages
