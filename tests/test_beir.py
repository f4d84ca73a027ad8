"""The SciFact benchmark's loader and metrics, on a tiny synthetic zip in the export's CSV formats."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

import pytest

from caucasus_qa.measuring.beir import (
    BenchmarkDataError,
    doc_ranking,
    evaluate,
    load_scifact,
    ndcg_at_k,
    recall_at_k,
    write_jsonl,
)

CORPUS = [
    # doc_id, title, abstract as numpy prints a list of strings: mixed quoting, one literal per line
    (
        "101",
        "Aspirin lowers fever in children.",
        "['Aspirin was given to 40 children with fever.'\n 'Temperature fell by 1.2 degrees (p = 0.01).']",
    ),
    (
        "202",
        "Coffee and sleep",
        "[\"Coffee drinkers reported 'poor' sleep.\"\n 'Caffeine delays sleep onset by 20 minutes.']",
    ),
    (
        "303",
        "Vitamin D and bone density.",
        "['Bone density rose with vitamin D.'\n \"It's the first trial in adults over 80.\"\n 'No side effects.']",
    ),
]
HEADER = ["id", "claim", "evidence_doc_id", "evidence_label", "evidence_sentences", "cited_doc_ids"]
VALIDATION = [  # one row per evidence: claim 1 twice (same doc listed twice once), claim 2 cites two docs
    ("1", "Aspirin reduces fever.", "101", "SUPPORT", "[1]", "[101]"),
    ("1", "Aspirin reduces fever.", "101", "SUPPORT", "[0 1]", "[101 101]"),
    ("2", "Caffeine harms sleep and bones.", "", "", "[]", "[ 202 303]"),
]
TRAIN = [("7", "Vitamin D builds bone.", "303", "CONTRADICT", "[0]", "[303]")]


def _csv(header: list[str], rows: list[tuple]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@pytest.fixture
def scifact_zip(tmp_path: Path) -> Path:
    path = tmp_path / "scifact.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "corpus_train.csv", _csv(["doc_id", "title", "abstract", "structured"], [(*row, "False") for row in CORPUS])
        )
        z.writestr("claims_validation.csv", _csv(HEADER, VALIDATION))
        z.writestr("claims_train.csv", _csv(HEADER, TRAIN))
        z.writestr("claims_test.csv", _csv(["id", "claim"], [("9", "Unlabelled.")]))
    return path


def test_loader_parses_the_export(scifact_zip: Path) -> None:
    corpus, queries, qrels = load_scifact(scifact_zip, "test", check_counts=False)
    assert set(corpus) == {"101", "202", "303"}
    assert corpus["101"] == (
        "Aspirin lowers fever in children.",
        "Aspirin was given to 40 children with fever. Temperature fell by 1.2 degrees (p = 0.01).",
    )
    assert corpus["202"][1] == "Coffee drinkers reported 'poor' sleep. Caffeine delays sleep onset by 20 minutes."
    assert corpus["303"][1] == (
        "Bone density rose with vitamin D. It's the first trial in adults over 80. No side effects."
    )
    assert queries == {"1": "Aspirin reduces fever.", "2": "Caffeine harms sleep and bones."}
    assert qrels == {"1": {"101"}, "2": {"202", "303"}}  # deduplicated by claim id and by doc

    _, train_queries, train_qrels = load_scifact(scifact_zip, "train", check_counts=False)
    assert train_queries == {"7": "Vitamin D builds bone."} and train_qrels == {"7": {"303"}}


def test_loader_enforces_the_readme_counts(scifact_zip: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="3 docs, expected 5183.*2 queries and 3 qrels, expected 300 and 339"):
        load_scifact(scifact_zip, "test")
    with pytest.raises(BenchmarkDataError, match="split 'dev'"):
        load_scifact(scifact_zip, "dev")
    with pytest.raises(BenchmarkDataError, match="no such file"):
        load_scifact(tmp_path / "missing.zip")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("corpus_train.csv", _csv(["doc_id", "title", "abstract", "structured"], [("1", "T", "['a']", "")]))
    with pytest.raises(BenchmarkDataError, match="no claims_validation.csv inside"):
        load_scifact(broken, check_counts=False)


def test_corpus_is_written_as_ingestible_jsonl(scifact_zip: Path, tmp_path: Path) -> None:
    from caucasus_qa.articles.formats import Article, read_articles

    corpus, _, _ = load_scifact(scifact_zip, check_counts=False)
    articles = [a for a in read_articles([write_jsonl(corpus, tmp_path / "c.jsonl")], 10**7)]
    assert all(isinstance(a, Article) for a in articles)
    by_id = {a.id: a for a in articles}
    assert by_id["202"].title == "Coffee and sleep"
    assert by_id["202"].text == "Coffee and sleep\n\n" + corpus["202"][1]


def test_ndcg_at_10_on_hand_computed_rankings() -> None:
    assert ndcg_at_k(["a", "b"], {"a"}) == 1.0
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))  # 0.6309
    # relevant at ranks 1 and 3 of two relevant: (1 + 1/log2 4) / (1 + 1/log2 3) = 1.5 / 1.6309
    assert ndcg_at_k(["a", "x", "c"], {"a", "c"}) == pytest.approx(0.919721, abs=1e-6)
    ranking = [f"x{i}" for i in range(10)] + ["a"]
    assert ndcg_at_k(ranking, {"a"}) == 0.0  # rank 11 is outside the cut-off
    # ideal DCG is capped at 10 relevant documents
    many = {f"r{i}" for i in range(12)}
    assert ndcg_at_k(sorted(many), many) == pytest.approx(1.0)
    assert ndcg_at_k([], {"a"}) == 0.0 and ndcg_at_k(["a"], set()) == 0.0


def test_recall_at_100_on_hand_computed_rankings() -> None:
    ranking = [f"x{i}" for i in range(200)]
    ranking[49], ranking[100] = "a", "b"  # a at rank 50 (inside), b at rank 101 (outside)
    assert recall_at_k(ranking, {"a", "b"}) == 0.5
    assert recall_at_k(ranking, {"a"}) == 1.0
    assert recall_at_k(ranking[:10], {"a", "b", "c"}, k=100) == 0.0


def test_documents_are_scored_by_their_best_chunk_and_averaged() -> None:
    chunks = {"d1#0": 0.2, "d1#1": 0.9, "d2#0": 0.5, "d3#0": 0.7, "d3#1": 0.1}
    assert doc_ranking(chunks) == ["d1", "d3", "d2"]
    assert doc_ranking(chunks, doc_of=lambda c: "all") == ["all"]
    rankings = {"q1": ["d1", "d3", "d2"], "q2": ["d1", "d3", "d2"]}
    ndcg, recall = evaluate(rankings, {"q1": {"d1"}, "q2": {"d3"}, "q3": {"d2"}})  # q3 unanswered: 0
    assert ndcg == pytest.approx((1 + 1 / math.log2(3) + 0) / 3)
    assert recall == pytest.approx(2 / 3)


def test_benchmark_runs_end_to_end_on_the_tiny_zip(scifact_zip: Path, settings) -> None:
    from caucasus_qa.measuring.beir import retrieval_benchmark

    report = retrieval_benchmark(settings, scifact_zip, "train", candidates=10, check_counts=False)
    assert "corpus 3 abstracts -> 3 chunks" in report and "1 queries, 1 qrels" in report
    assert "chunk_size 200, chunk_overlap 40" in report and "k1 0.9 b 0.4" in report
    fused = next(line for line in report.splitlines() if line.startswith("fused"))
    assert fused.split()[-2:] == ["1.000", "1.000"]  # "Vitamin D builds bone." finds doc 303 first
    assert "dense_weight sweep" in report
    assert not (settings.store / "chroma").exists()  # the benchmark never touches the configured store


def test_bm25_uses_k1_0_9_and_b_0_4() -> None:
    from llama_index.core.schema import TextNode

    from caucasus_qa.store.lexicon import LexicalIndex

    nodes = [
        TextNode(id_="a#0", text="ferry ferry harbour timetable"),
        TextNode(id_="b#0", text="bridge opening ceremony held"),
        TextNode(id_="c#0", text="lantern festival"),
    ]
    index = LexicalIndex.build(nodes)
    # Lucene BM25: idf = ln(1 + (N - df + .5) / (df + .5)); tf / (tf + k1 (1 - b + b dl / avgdl))
    idf, tf, dl, avgdl = math.log(1 + 2.5 / 1.5), 2, 4, 10 / 3
    expected = idf * tf / (tf + 0.9 * (1 - 0.4 + 0.4 * dl / avgdl))
    assert list(index.scores("Ferries?")) == pytest.approx([expected, 0.0, 0.0])  # stemmed: ferries -> ferri
    assert index.top(index.scores("ferry"), 5) == {"a#0": pytest.approx(expected)}


def test_cli_bench_retrieval_rejects_bad_data_in_one_line(scifact_zip: Path, tmp_path: Path) -> None:
    from conftest import run_cli

    missing = run_cli("bench", "retrieval", "--beir", str(tmp_path / "nope.zip"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    tiny = run_cli("bench", "retrieval", "--beir", str(scifact_zip))  # counts differ from the real export
    assert tiny.returncode != 0 and "3 docs, expected 5183" in tiny.stderr
    assert len(tiny.stderr.strip().splitlines()) == 1


def test_zscore_fusion_mixes_standardised_scores() -> None:
    from caucasus_qa.answering.retrieval import HybridRetriever

    retriever = HybridRetriever(store=None, embed_model=None, top_k=5, candidates=30, dense_weight=0.6, fusion="zscore")
    dense, bm25 = {"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 0.0, "b": 10.0, "c": 20.0}
    z = math.sqrt(2 / 3) ** -1  # (x - mean) / std for three evenly spaced values: -z, 0, +z
    fused = retriever.fuse(dense, bm25)
    assert fused == pytest.approx({"a": 0.6 * z - 0.4 * z, "b": 0.0, "c": -0.6 * z + 0.4 * z})
    retriever.fusion = "convex"  # min-max: a = 0.6 * 1 + 0.4 * 0
    assert retriever.fuse(dense, bm25) == pytest.approx({"a": 0.6, "b": 0.5, "c": 0.4})
