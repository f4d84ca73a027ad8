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
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from caucasus_qa.errors import CaucasusQAError
from caucasus_qa.settings import Settings

SPLITS = {"test": "claims_validation.csv", "train": "claims_train.csv"}
CORPUS_FILE = "corpus_train.csv"
EXPECTED = {"docs": 5183, "test": (300, 339)}  # the README's loader checks (queries, qrels)
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


def load_scifact(zip_path: str | Path, split: str = "test"
                 ) -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, set[str]]]:
    """``(corpus, queries, qrels)``: corpus ``{doc_id: (title, text)}`` (text = sentences joined by
    a space), queries ``{claim id: claim}``, qrels ``{claim id: {doc_id, ...}}`` (relevance 1).

    ``split`` "test" reads claims_validation.csv (BEIR's test split; the README's counts are
    checked: 5,183 docs, 300 queries, 339 qrels), "train" reads claims_train.csv (tuning only).
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
        corpus: dict[str, tuple[str, str]] = {}
        for row in _rows(archive, CORPUS_FILE):
            try:
                sentences = _sentences(row["abstract"])
            except (ValueError, SyntaxError) as exc:
                raise BenchmarkDataError(f"{CORPUS_FILE}: doc {row.get('doc_id')}: unreadable abstract ({exc})") from None
            corpus[row["doc_id"].strip()] = (row["title"].strip(), " ".join(s.strip() for s in sentences))
        queries: dict[str, str] = {}
        qrels: dict[str, set[str]] = {}
        for row in _rows(archive, SPLITS[split]):
            qid = row["id"].strip()
            queries.setdefault(qid, row["claim"].strip())
            qrels.setdefault(qid, set()).update(_NUMBER.findall(row["cited_doc_ids"] or ""))
    unknown = {d for docs in qrels.values() for d in docs} - set(corpus)
    if unknown:
        raise BenchmarkDataError(f"{SPLITS[split]}: {len(unknown)} judged doc ids are not in the corpus, "
                                 f"e.g. {sorted(unknown)[:3]}")
    qrels = {q: docs for q, docs in qrels.items() if docs}
    queries = {q: queries[q] for q in qrels}
    n_qrels = sum(map(len, qrels.values()))
    problems = []
    if len(corpus) != EXPECTED["docs"]:
        problems.append(f"{len(corpus)} docs, expected {EXPECTED['docs']}")
    if split == "test" and (len(queries), n_qrels) != EXPECTED["test"]:
        problems.append(f"{len(queries)} queries and {n_qrels} qrels, expected {EXPECTED['test'][0]} "
                        f"and {EXPECTED['test'][1]}")
    if problems:
        raise BenchmarkDataError(f"{path}: {'; '.join(problems)}: not the SciFact export the README describes")
    return corpus, queries, qrels


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
            f.write(json.dumps({"id": doc_id, "title": title, "text": f"{title}\n\n{text}" if title else text},
                               ensure_ascii=False) + "\n")
    return path


def ingest_corpus(settings: Settings, corpus: Mapping[str, tuple[str, str]], progress: bool = False):
    """Ingest the corpus into ``settings.store`` through the normal path (JSONL file + ``ingest``)."""
    from caucasus_qa.ingestion import ingest

    with tempfile.TemporaryDirectory(prefix="scifact-") as tmp:
        report = ingest(settings, [write_jsonl(corpus, Path(tmp) / "scifact.jsonl")], progress=progress)
    if report.failed or report.articles_total != len(corpus):
        raise BenchmarkDataError(f"ingesting the corpus stored {report.articles_total} of {len(corpus)} articles; "
                                 f"failed: {'; '.join(map(str, report.failed[:3]))}")
    return report
