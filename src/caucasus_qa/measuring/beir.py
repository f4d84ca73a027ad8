"""An external retrieval benchmark: BEIR SciFact, read from a CSV export (see the data's README).

The corpus (5,183 abstracts) goes through the project's normal ingestion into a temporary store
(JSONL, one article per abstract, chunked with the configured chunk size), and the project's
own ``HybridRetriever`` is scored on the claims: nDCG@10 and recall@100 at document level, a
document scored by its best chunk. Tune on ``split="train"`` (claims_train.csv) only; the test
split (claims_validation.csv, BEIR's test set) is for reporting.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caucasus_qa.errors import CaucasusQAError
from caucasus_qa.settings import Settings

SPLITS = {"test": "claims_validation.csv", "train": "claims_train.csv"}
CORPUS_FILE = "corpus_train.csv"
EXPECTED: dict[str, Any] = {"docs": 5183, "test": (300, 339)}  # the README's loader checks (queries, qrels)
PUBLISHED = {"BM25 (Anserini flat)": (0.679, 0.925), "bge-small-en-v1.5 (MTEB)": (0.713, 0.945)}
CANDIDATES = 300  # chunks per retriever per query: enough for a meaningful doc-level recall@100

_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_NUMBER = re.compile(r"\d+")


class BenchmarkDataError(CaucasusQAError):
    """The benchmark file is missing or not what the README describes."""


# -- loading ----------------------------------------------------------------------------------
def _sentences(abstract: str) -> list[str]:
    """``abstract`` is a numpy-printed list of strings with mixed quoting: take each literal."""
    return [ast.literal_eval(m.group()) for m in _STRING.finditer(abstract)]


def _rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    try:
        raw = archive.read(name)
    except KeyError:
        raise BenchmarkDataError(f"{archive.filename}: no {name} inside (is this the SciFact CSV export?)") from None
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def load_scifact(
    zip_path: str | Path, split: str = "test", *, check_counts: bool = True
) -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, set[str]]]:
    """``(corpus, queries, qrels)``: corpus ``{doc_id: (title, text)}`` (text = sentences joined by
    a space), queries ``{claim id: claim}``, qrels ``{claim id: {doc_id, ...}}`` (relevance 1).

    ``split`` "test" reads claims_validation.csv (BEIR's test split; the README's counts are
    checked: 5,183 docs, 300 queries, 339 qrels), "train" reads claims_train.csv (tuning only).
    ``check_counts=False`` skips the count checks (for small synthetic files in tests).
    """
    if split not in SPLITS:
        raise BenchmarkDataError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    path = Path(zip_path).expanduser()
    if not path.is_file():
        raise BenchmarkDataError(f"{path}: no such file (give the path of scifact.zip)")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise BenchmarkDataError(f"{path} is not a zip file") from None
    with archive:
        corpus = _read_corpus(archive)
        queries, qrels = _read_claims(archive, SPLITS[split])
    unknown = {d for docs in qrels.values() for d in docs} - set(corpus)
    if unknown:
        raise BenchmarkDataError(
            f"{SPLITS[split]}: {len(unknown)} judged doc ids are not in the corpus, e.g. {sorted(unknown)[:3]}"
        )
    qrels = {q: docs for q, docs in qrels.items() if docs}
    queries = {q: queries[q] for q in qrels}
    if check_counts:
        _check_counts(path, split, corpus, queries, qrels)
    return corpus, queries, qrels


def _read_corpus(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    corpus: dict[str, tuple[str, str]] = {}
    for row in _rows(archive, CORPUS_FILE):
        try:
            sentences = _sentences(row["abstract"])
        except (ValueError, SyntaxError) as exc:
            raise BenchmarkDataError(f"{CORPUS_FILE}: doc {row.get('doc_id')}: unreadable abstract ({exc})") from None
        corpus[row["doc_id"].strip()] = (row["title"].strip(), " ".join(s.strip() for s in sentences))
    return corpus


def _read_claims(archive: zipfile.ZipFile, name: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    queries: dict[str, str] = {}
    qrels: dict[str, set[str]] = {}
    for row in _rows(archive, name):
        qid = row["id"].strip()
        queries.setdefault(qid, row["claim"].strip())
        qrels.setdefault(qid, set()).update(_NUMBER.findall(row["cited_doc_ids"] or ""))
    return queries, qrels


def _check_counts(path: Path, split: str, corpus: dict, queries: dict, qrels: dict[str, set[str]]) -> None:
    """The README's counts: a different file is not the benchmark its figures are compared with."""
    n_qrels = sum(map(len, qrels.values()))
    problems = []
    if len(corpus) != EXPECTED["docs"]:
        problems.append(f"{len(corpus)} docs, expected {EXPECTED['docs']}")
    if split == "test" and (len(queries), n_qrels) != EXPECTED["test"]:
        problems.append(
            f"{len(queries)} queries and {n_qrels} qrels, expected {EXPECTED['test'][0]} and {EXPECTED['test'][1]}"
        )
    if problems:
        raise BenchmarkDataError(f"{path}: {'; '.join(problems)}: not the SciFact export the README describes")


# -- metrics ------------------------------------------------------------------------------------
def ndcg_at_k(ranking: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: sum 1/log2(rank+1) over relevant hits in the top k, over the ideal."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranking[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def recall_at_k(ranking: Sequence[str], relevant: set[str], k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & relevant) / len(relevant)


def doc_ranking(chunk_scores: Mapping[str, float] | Iterable[tuple[str, float]], doc_of=None) -> list[str]:
    """Documents ranked by their best chunk (max-pooling); ``doc_of`` maps a chunk id to its doc
    (default: the part before '#', the ingestion's chunk-id scheme "<article id>#<n>")."""
    doc_of = doc_of or (lambda chunk: chunk.rsplit("#", 1)[0])
    best: dict[str, float] = {}
    items = chunk_scores.items() if isinstance(chunk_scores, Mapping) else chunk_scores
    for chunk, score in items:
        doc = doc_of(chunk)
        if doc not in best or score > best[doc]:
            best[doc] = score
    return sorted(best, key=lambda d: (-best[d], d))


def evaluate(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> tuple[float, float]:
    """Mean nDCG@10 and recall@100 over the judged queries (a query with no ranking scores 0)."""
    if not qrels:
        return 0.0, 0.0
    ndcg = sum(ndcg_at_k(rankings.get(q, []), rel, 10) for q, rel in qrels.items()) / len(qrels)
    recall = sum(recall_at_k(rankings.get(q, []), rel, 100) for q, rel in qrels.items()) / len(qrels)
    return ndcg, recall


# -- ingestion -----------------------------------------------------------------------------------
def write_jsonl(corpus: Mapping[str, tuple[str, str]], path: Path) -> Path:
    """One article per line, as ``caucasus-qa ingest`` reads JSONL: id, title, text = title + abstract."""
    with open(path, "w", encoding="utf-8") as f:
        for doc_id, (title, text) in corpus.items():
            f.write(
                json.dumps(
                    {"id": doc_id, "title": title, "text": f"{title}\n\n{text}" if title else text}, ensure_ascii=False
                )
                + "\n"
            )
    return path


def ingest_corpus(settings: Settings, corpus: Mapping[str, tuple[str, str]], progress: bool = False):
    """Ingest the corpus into ``settings.store`` through the normal path (JSONL file + ``ingest``)."""
    from caucasus_qa.store.ingestion import ingest

    with tempfile.TemporaryDirectory(prefix="scifact-") as tmp:
        report = ingest(settings, [write_jsonl(corpus, Path(tmp) / "scifact.jsonl")], progress=progress)
    if report.failed or report.articles_total != len(corpus):
        raise BenchmarkDataError(
            f"ingesting the corpus stored {report.articles_total} of {len(corpus)} articles; "
            f"failed: {'; '.join(map(str, report.failed[:3]))}"
        )
    return report


# -- the benchmark ---------------------------------------------------------------------------------
SYSTEMS = ("dense", "BM25", "fused")
FUSIONS = ("convex", "zscore", "rrf")
SWEEP = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)  # dense weights tried on the train split only


def score_queries(
    retriever, queries: Mapping[str, str], candidates: int = CANDIDATES
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """``{query id: (dense, bm25)}`` chunk scores over both retrievers' candidates, from
    ``HybridRetriever.scored_candidates`` (the question is embedded by the retriever)."""
    from llama_index.core.schema import QueryBundle

    return {qid: retriever.scored_candidates(QueryBundle(text), candidates) for qid, text in queries.items()}


def rankings(
    retriever,
    scored: Mapping[str, tuple[dict[str, float], dict[str, float]]],
    dense_weight: float | None = None,
    fusion: str | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Document rankings ``{system: {query id: [doc ids]}}`` for dense, BM25 and the retriever's
    fusion (at ``dense_weight`` and ``fusion``, default the retriever's), chunks max-pooled per
    document."""
    doc_of = _doc_of(retriever.store)
    out: dict[str, dict[str, list[str]]] = {name: {} for name in SYSTEMS}
    for qid, (dense, bm25) in scored.items():
        for name, scores in zip(SYSTEMS, (dense, bm25, retriever.fuse(dense, bm25, dense_weight, fusion))):
            out[name][qid] = doc_ranking(scores, doc_of)
    return out


def _doc_of(store: Any) -> Callable[[str], str]:
    """Chunk id → article id: chunk ids are "<article id>#<n>" (see ingestion.chunk_id)."""
    return lambda chunk_id: chunk_id.rsplit("#", 1)[0]


@dataclass
class _Run:
    """What one benchmark run measured: seconds per stage and (nDCG@10, recall@100) per system."""

    corpus: int
    queries: int
    qrels: int
    chunks_total: int
    chunks_embedded: int
    bm25: str
    seconds: dict[str, float]
    results: dict[str, tuple[float, float]]
    others: dict[str, tuple[float, float]]
    sweep: dict[float, tuple[float, float]]


def retrieval_benchmark(
    settings: Settings,
    zip_path: str | Path,
    split: str = "test",
    *,
    candidates: int = CANDIDATES,
    progress: bool = False,
    check_counts: bool = True,
) -> str:
    """Ingest SciFact into a temporary store, run the project's ``HybridRetriever`` on the claims of
    ``split`` and report nDCG@10 / recall@100 (dense, BM25, fused) next to published figures.

    Chunking, embedding model, ``dense_weight`` and ``fusion`` come from ``settings``; the store
    is always a fresh embedded one (never ``chroma_url``), deleted afterwards. On the train split
    the report adds a sweep of dense weights (tune there, never on test).
    """
    run = _measure(settings, zip_path, split, candidates, progress, check_counts)
    return "\n".join(_report_lines(settings, split, candidates, run))


def _measure(
    settings: Settings, zip_path: str | Path, split: str, candidates: int, progress: bool, check_counts: bool
) -> _Run:
    from caucasus_qa.store.embedding import load_embed_model

    t = {"start": time.perf_counter()}
    corpus, queries, qrels = load_scifact(zip_path, split, check_counts=check_counts)
    model = load_embed_model(settings.embed_model, settings.embed_batch_size)
    t["loaded"] = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scifact-store-") as tmp:
        report, retriever = _ingest_and_index(settings, Path(tmp), corpus, candidates, model, progress, t)
        scored = score_queries(retriever, queries, candidates)
        t["queried"] = time.perf_counter()
        systems = _score_systems(retriever, scored, qrels, settings.fusion, split)
    t["end"] = time.perf_counter()
    bm25 = f"k1 {retriever.bm25_k1} b {retriever.bm25_b}, complete_scores {retriever.complete_scores}"
    n_qrels = sum(map(len, qrels.values()))
    return _Run(len(corpus), len(queries), n_qrels, report.chunks_total, report.chunks_embedded, bm25, t, *systems)


def _ingest_and_index(
    settings: Settings, folder: Path, corpus: dict, candidates: int, model: Any, progress: bool, t: dict[str, float]
) -> tuple[Any, Any]:
    """The abstracts ingested into a fresh store in ``folder``, and a retriever over it."""
    import dataclasses

    from caucasus_qa.answering.retrieval import HybridRetriever
    from caucasus_qa.store.collections import Store

    # 20 batches whatever the corpus size
    batch = max(settings.batch_docs, math.ceil(len(corpus) / 20))
    bench = dataclasses.replace(
        settings, store=folder / "store", chroma_url=None, collection="scifact", batch_docs=batch
    )
    report = ingest_corpus(bench, corpus, progress=progress)
    t["ingested"] = time.perf_counter()
    retriever = HybridRetriever(
        Store(bench), model, top_k=settings.top_k, candidates=candidates, dense_weight=settings.dense_weight,
        fusion=settings.fusion,
    )  # fmt: skip
    retriever.lexical_index()
    t["indexed"] = time.perf_counter()
    return report, retriever


def _score_systems(retriever: Any, scored: Any, qrels: dict[str, set[str]], fusion: str, split: str) -> tuple:
    """(nDCG@10, recall@100) of each system, of the other fusions, and (train only) of a dense-weight sweep."""
    ranked = rankings(retriever, scored)
    results = {name: evaluate(ranked[name], qrels) for name in SYSTEMS}
    others = {f: evaluate(rankings(retriever, scored, fusion=f)["fused"], qrels) for f in FUSIONS if f != fusion}
    sweep = {w: evaluate(rankings(retriever, scored, w)["fused"], qrels) for w in SWEEP} if split != "test" else {}
    return results, others, sweep


def _report_lines(settings: Settings, split: str, candidates: int, run: _Run) -> list[str]:
    t, results = run.seconds, run.results
    ingest_s, query_s = t["ingested"] - t["loaded"], t["queried"] - t["indexed"]
    lines = [
        f"BEIR SciFact, {split} split ({SPLITS[split]}): {run.queries} queries, {run.qrels} qrels; "
        f"corpus {run.corpus:,} abstracts -> {run.chunks_total:,} chunks",
        f"settings: chunk_size {settings.chunk_size}, chunk_overlap {settings.chunk_overlap} (tiktoken cl100k_base), "
        f"embed_model {settings.embed_model} (batch {settings.embed_batch_size}), fusion {settings.fusion}, "
        f"dense_weight {settings.dense_weight}, candidates {candidates} chunks per retriever, BM25 bm25s lucene "
        f"{run.bm25}; a document scores as its best chunk",
        f"model load {t['loaded'] - t['start']:7.1f} s",
        f"ingest     {ingest_s:7.1f} s   ({run.chunks_embedded:,} chunks embedded, "
        f"{run.corpus / max(ingest_s, 1e-9):.1f} abstracts/s)",
        f"BM25 index {t['indexed'] - t['ingested']:7.1f} s",
        f"queries    {query_s:7.1f} s   ({query_s / max(run.queries, 1) * 1e3:.0f} ms/query, "
        "embedding the claim included)",
        f"total      {t['end'] - t['start']:7.1f} s   goal <= 900 s",
        "",
        f"{'system':40} {'nDCG@10':>8} {'recall@100':>11}",
        f"{'dense (' + settings.embed_model + ', chunks)':40} {results['dense'][0]:8.3f} {results['dense'][1]:11.3f}",
        f"{'BM25 (bm25s, chunks)':40} {results['BM25'][0]:8.3f} {results['BM25'][1]:11.3f}",
        f"{'fused (HybridRetriever, ' + settings.fusion + ')':40} {results['fused'][0]:8.3f} "
        f"{results['fused'][1]:11.3f}",
        *(f"{'  same, fusion = ' + f:40} {nd:8.3f} {rc:11.3f}" for f, (nd, rc) in run.others.items()),
        *(f"{'published: ' + name:40} {nd:8.3f} {rc:11.3f}" for name, (nd, rc) in PUBLISHED.items()),
    ]
    if run.sweep:
        lines += [
            "",
            f"dense_weight sweep ({split} split, {settings.fusion} fusion; tune here, not on test):",
            *(f"  {w:4.2f}  nDCG@10 {nd:.4f}  recall@100 {rc:.4f}" for w, (nd, rc) in run.sweep.items()),
        ]
    return lines


if __name__ == "__main__":  # python -m caucasus_qa.measuring.beir PATH [--split test]
    import argparse

    from caucasus_qa import offline
    from caucasus_qa.settings import load_settings

    offline.apply()
    parser = argparse.ArgumentParser(description="BEIR SciFact retrieval benchmark of the project's retriever.")
    parser.add_argument("zip_path", type=Path, help="scifact.zip (the CSV export)")
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument("--candidates", type=int, default=CANDIDATES, help="chunks per retriever per query")
    args = parser.parse_args()
    print(
        retrieval_benchmark(load_settings(), args.zip_path, args.split, candidates=args.candidates, progress=True),
        flush=True,
    )
