"""The eval command: metrics on hand-made records, and a fast real run on the default corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, run_cli

from caucasus_qa.answering.answer import Answer, Citation, Claim
from caucasus_qa.measuring.evaluate import (
    Question,
    Record,
    best_threshold,
    citation_quality,
    in_evidence,
    load_questions,
    metrics,
    missed_gates,
    spread,
)

QUESTIONS = ROOT / "eval" / "questions.jsonl"


def record(**kw) -> Record:
    base = dict(
        id="q",
        split="dev",
        category="fact",
        question="?",
        answerable=True,
        abstained=False,
        correct=True,
        score=0.5,
        answer="",
        accepted=[],
        rank=1,
        citations=1,
        verbatim=1,
        claims=1,
        supported=1,
        precise=1,
        latency_ms=10.0,
    )
    return Record(**{**base, **kw})


def test_eval_set_is_split_and_has_what_the_issue_asks_for():
    qs = load_questions(QUESTIONS)
    cats = {q.category for q in qs}
    assert len(qs) >= 60 and {"dev", "test"} == {q.split for q in qs}
    assert sum(not q.answerable for q in qs) >= 12
    assert {"fact", "multi", "conflict", "date", "sequence", "unanswerable", "teaser", "followup"} <= cats
    texts = {p.stem: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
    for q in qs:
        for article_id, quote in q.gold:
            assert quote in texts[article_id], (q.id, quote)


def test_metrics_on_known_records():
    rows = [
        record(id="a", rank=1),
        record(id="b", rank=2, correct=False),
        record(id="c", rank=None, abstained=True, correct=False),
        record(id="u1", answerable=False, abstained=True, correct=True, citations=0, verbatim=0, claims=0),
        record(id="u2", answerable=False, abstained=False, correct=False),
    ]
    m = metrics(rows, k=5)
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["abstention_precision"] == pytest.approx(1 / 2) and m["abstention_recall"] == pytest.approx(1 / 2)
    assert m["false_abstention"] == pytest.approx(1 / 3)
    assert m["hit@5"] == pytest.approx(2 / 3) and m["mrr"] == pytest.approx((1 + 0.5) / 3)


def test_the_model_s_ceiling_is_the_share_of_answers_in_the_sources_it_read():
    q = Question(
        id="q", split="dev", category="fact", question="How many visitors came?", answerable=True, accepted=("12,000",)
    )
    meta = dict(title=None, outlet=None, published=None, author=None, start=0, end=20)
    source = Citation(n=1, article_id="festival", quote="About 12,000 visitors came.", **meta)
    other = Citation(n=1, article_id="ferry", quote="The ferry runs hourly.", **meta)
    read = Answer("How many visitors came?", "Many came [1].", False, backend="llamacpp", evidence=[source])
    missed = Answer(
        "How many visitors came?", "The ferry runs hourly [1].", False, backend="llamacpp", evidence=[other]
    )
    assert in_evidence(q, read) is True and in_evidence(q, missed) is False
    assert in_evidence(q, Answer("?", "x", False)) is None  # extractive: no model, no ceiling
    rows = [
        record(id="a", in_evidence=True, correct=False),
        record(id="b", in_evidence=False, correct=False),
        record(id="c"),
    ]
    assert metrics(rows, k=5)["answer_in_evidence"] == pytest.approx(1 / 2)


def test_threshold_calibration_separates_scores():
    q_ans = Question("a", "dev", "fact", "?", True)
    q_un = Question("u", "dev", "unanswerable", "?", False)
    scored = [(q_ans, 0.8, True), (q_ans, 0.7, True), (q_ans, 0.6, False), (q_un, 0.2, False), (q_un, 0.3, False)]
    threshold, accuracy = best_threshold(scored)
    assert 0.3 < threshold < 0.6 and accuracy == pytest.approx(4 / 5)


def test_alce_citation_precision_flags_a_redundant_citation():
    class Judge:  # supported when every word of the claim is in the quotes
        def supported(self, claim, quotes, question="", context=""):
            return bool(quotes) and set(claim.split()) <= set(" ".join(quotes).split())

    c1 = Citation(1, "red green", "a", None, None, None, None, 0, 9)
    c2 = Citation(2, "blue", "a", None, None, None, None, 0, 4)
    c3 = Citation(3, "red green blue", "a", None, None, None, None, 0, 14)
    answer = Answer("q", "", False, citations=[c1, c2, c3], claims=[Claim("red green", (1, 3)), Claim("pink", (2,))])
    supported, claims, precise, cites = citation_quality(answer, Judge())
    assert (supported, claims) == (1, 2)
    # [1] alone supports, [3] alone supports: neither is redundant; [2] does not support "pink" but is precise
    assert (precise, cites) == (3, 3)
    answer = Answer("q", "", False, citations=[c1, c2], claims=[Claim("red green", (1, 2))])
    assert citation_quality(answer, Judge())[2:] == (1, 2)  # [2] is removable and useless alone


def test_gates_report_what_was_missed():
    missed = missed_gates(
        {"accuracy": 0.5, "false_abstention": 0.2},
        {"min_accuracy": 0.6, "max_false_abstention": 0.1, "min_abstention_recall": None},
    )
    assert len(missed) == 2 and "--min-accuracy" in missed[0]


def test_spread_keeps_categories():
    qs = load_questions(QUESTIONS, "dev")
    assert len({q.category for q in spread(qs, 12)}) >= 5


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("eval-store")
    assert run_cli("ingest", str(CORPUS), "--store", str(store)).returncode == 0
    return str(store)


def test_fast_eval_subset_writes_reports_and_gates(corpus_store, tmp_path):
    reports = tmp_path / "reports"  # tmp_path also holds the fixtures' folders
    common = ["eval", "--split", "dev", "--store", corpus_store, "--report", str(reports)]
    common += ["--questions", str(QUESTIONS)]
    out = run_cli(*common, "--limit", "12", "--min-verbatim", "1.0", "--min-abstention-recall", "0.5")
    assert out.returncode == 0, out.stdout + out.stderr
    (run_dir,) = reports.iterdir()
    assert {p.name for p in run_dir.iterdir()} >= {"report.md", "report.json", "accuracy_and_abstention.png"}
    data = json.loads((run_dir / "report.json").read_text())
    assert data["summary"]["verbatim_citations"] == 1.0 and data["summary"]["questions"] == 12
    assert "'cos':" in data["settings"]["weights"] and data["threshold"] == 0.36
    assert "## By category" in (run_dir / "report.md").read_text()
    failing = run_cli(*common, "--limit", "4", "--min-accuracy", "1.01")
    assert failing.returncode == 1 and "missed: accuracy" in failing.stderr


def test_sweep_prints_one_row_per_chunk_size_and_top_k(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text(
        "Harbour ferry returns\n\nThe ferry between Portlow and Innis resumed on 3 March after a two-year pause. "
        "The harbour master, Edda Vorn, said the new boat carries 240 passengers.\n",
        encoding="utf-8",
    )
    (corpus / "orchard.txt").write_text(
        "Orchard frost\n\nA late frost destroyed most of the Kelm valley's apple blossom in April. "
        "Growers expect the harvest to fall by half.\n",
        encoding="utf-8",
    )
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {
                    "id": "d1",
                    "split": "dev",
                    "category": "fact",
                    "question": "How many passengers does the new ferry carry?",
                    "answerable": True,
                    "accepted": ["240"],
                    "gold": [{"article_id": "harbour", "quote": "240 passengers"}],
                },
                {
                    "id": "d2",
                    "split": "dev",
                    "category": "fact",
                    "question": "What destroyed the apple blossom?",
                    "answerable": True,
                    "accepted": ["frost"],
                    "gold": [{"article_id": "orchard", "quote": "late frost"}],
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = run_cli(
        "eval",
        "--split",
        "dev",
        "--sweep",
        "--questions",
        str(questions),
        "--store",
        str(tmp_path / "unused"),
        env={"CAUCASUS_QA_CORPUS": str(corpus)},
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [(int(r[0]), int(r[2])) for r in rows] == [(c, k) for c in (128, 200, 300, 400) for k in (3, 5, 8)]
    assert all(r[1] == str(int(r[0]) // 5) for r in rows)
    assert all(float(r[4]) == 1.0 for r in rows)  # two one-chunk articles: the gold quote is always retrieved
    assert not (tmp_path / "unused" / "chroma").exists()  # the sweep never touches the configured store


def test_citation_precision_counts_markers_not_quotes():
    # one quote cited by two claims, both precise: precision 2/2, not 2 over one quote
    m = metrics([record(citations=1, claims=2, supported=2, precise=2, cites=2)], k=5)
    assert m["citation_precision"] == pytest.approx(1.0)
    m = metrics([record(citations=2, claims=2, supported=2, precise=1, cites=3)], k=5)
    assert m["citation_precision"] == pytest.approx(1 / 3)


def test_without_matplotlib_the_report_is_written_with_a_hint(tmp_path, monkeypatch):
    import sys

    from caucasus_qa.measuring.evaluate import PLOT_HINT, Report, write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the plot extra were not installed
    rows = [record(id="a"), record(id="u", answerable=False, abstained=True)]
    report = Report(
        run="r",
        split="dev",
        summary=metrics(rows, k=5),
        categories={},
        records=rows,
        settings={},
        judge="alignment",
        threshold=0.36,
    )
    write_report(report, tmp_path / "r")
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"report.md", "report.json"}
    assert report.notes == [PLOT_HINT] and "caucasus-qa[plot]" in (tmp_path / "r" / "report.md").read_text()


def test_plotting_is_an_extra_not_a_runtime_dependency():
    from importlib.metadata import requires

    plotting = [r for r in requires("caucasus-qa") or [] if r.startswith("matplotlib")]
    assert plotting and all("extra ==" in r for r in plotting)
