"""How exact Chroma's approximate (HNSW) nearest-neighbour search is on a store: for every 8th
RealTime QA question, the share of the exact top ``--k`` chunks (cosine over every stored vector,
numpy) that the collection's query returns. Chroma widens its search to ``k`` when ``k`` exceeds
``ef_search``, so asking for more results can change the top ones: docs/reliability.md quotes it.
A diagnostic, not a benchmark.

    .venv/bin/python scripts/hnsw_recall.py --kit ../shared/benchmarks/realtimeqa --store S
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from caucasus_qa import Assistant


def stored_vectors(collection) -> tuple[list[str], np.ndarray]:
    """Every chunk id and its unit-length vector, a page at a time."""
    ids: list[str] = []
    pages: list[np.ndarray] = []
    while True:
        got = collection.get(include=["embeddings"], limit=5000, offset=len(ids))
        if not got["ids"]:
            break
        ids += got["ids"]
        pages.append(np.asarray(got["embeddings"], dtype=np.float32))
    m = np.vstack(pages)
    return ids, m / np.linalg.norm(m, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--k", type=int, default=30, help="results per query (the retriever's candidates)")
    args = parser.parse_args()
    qa = Assistant(store=args.store)
    ids, m = stored_vectors(qa.store.collection)
    lines = (args.kit / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines[::8]]
    recall = []
    for q in questions:
        e = np.asarray(qa.embed_model.get_query_embedding(q), dtype=np.float32)
        exact = {ids[i] for i in np.argsort(-(m @ e))[: args.k]}
        got = qa.store.collection.query(query_embeddings=[e.tolist()], n_results=args.k, include=[])["ids"][0]
        recall.append(len(exact & set(got)) / args.k)
    hnsw = (qa.store.collection.configuration or {}).get("hnsw") or {}
    whole = np.mean([r == 1 for r in recall])
    print(f"{len(ids)} chunks, {len(questions)} questions, ef_search {hnsw.get('ef_search')}: recall@{args.k} "
          f"mean {np.mean(recall):.3f}, min {min(recall):.3f}; exact top {args.k} for {whole:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
