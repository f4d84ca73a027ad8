"""`eval --realtimeqa`: the kit's matching rule, its week split, its groups, and a whole run over a
small kit written here (the real kit is not needed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import run_cli

from caucasus_qa.answering.answer import Answer, Citation, Claim
from caucasus_qa.measuring.realtimeqa import (
    KitQuestion,
    group_of,
    load_questions,
    needle,
    norm,
    page_rank,
    score,
    source_counts,
)


def test_the_matching_rule_maps_typography_and_unwraps_a_quoted_title():
    assert norm("  The  “Big”\u2014Deal’s\n…  ") == 'the "big"-deal\'s ...'
    assert needle("“Harbour Lights”") == "harbour lights"
    assert needle('A "quoted" word') == 'a "quoted" word'


def _kit_questions(folder: Path, weeks: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"id": f"q{w}", "week": f"2025{w:04}", "q": "?", "answer": "x", "gold": []} for w in range(101, 101 + weeks)
    ]
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return folder


def test_the_first_26_weeks_tune_and_the_rest_are_held_back(tmp_path):
    questions = load_questions(_kit_questions(tmp_path / "kit", 30))
    assert [q.split for q in questions] == ["tune"] * 26 + ["test"] * 4


def _q(answer: str, gold: tuple[str, ...] = ()) -> KitQuestion:
    return KitQuestion(f"q-{answer}", "20250103", "Which town?", answer, gold, "tune")


def test_groups_are_judged_against_what_the_store_holds():
    texts = {"p1": "The mayor of Eastbrook resigned.", "p2": "Rain closed the Westfield fair."}
    questions = [_q("Eastbrook", ("p1",)), _q("Westfield", ("p9",)), _q("Northgate", ("p9",))]
    groups = group_of(questions, texts)
    by_answer = {q.answer: groups[q.id] for q in questions}
    assert by_answer == {"Eastbrook": "gold", "Westfield": "elsewhere", "Northgate": "nowhere"}


def _answer(text: str, quote: str, *, abstained: bool = False, second: str = "") -> Answer:
    cites = [Citation(1, quote, "p1", None, None, None, None, 0, len(quote))]
    claims = [Claim(text, (1,))] + ([Claim(second, ())] if second else [])
    full = text + (" " + second if second else "")
    return Answer("Which town?", full, abstained, citations=cites, claims=claims)


def test_strict_needs_the_first_sentence_or_its_quote_lenient_takes_anywhere():
    q = _q("Eastbrook")
    assert score(q, _answer("According to Eastbrook Daily: the mayor resigned.", "The mayor resigned.")) == (
        False,
        False,
    ), "a title in the attribution is not an answer"
    assert score(q, _answer("The mayor resigned.", "The mayor of Eastbrook resigned.")) == (True, True)
    assert score(q, _answer("The mayor resigned.", "He resigned.", second="It was in Eastbrook.")) == (False, True)
    assert score(q, _answer("Eastbrook.", "Eastbrook.", abstained=True)) == (False, False)


def test_page_rank_counts_pages_not_passages():
    class P:
        def __init__(self, article_id: str) -> None:
            self.article_id = article_id

    assert page_rank([P("a"), P("a"), P("b"), P("c")], ("c",)) == 3
    assert page_rank([P("a")], ("c",)) is None


def test_source_counts_tell_real_sources_from_datelines_ids_and_chrome():
    def cite(title, outlet, published, author=None):
        return Citation(1, "q", "page-9", title, outlet, published, author, 0, 1)

    cited = [
        cite("Ferry strike ends after pay deal ...", "example.org", "2025-01-03"),
        cite("Updated Jan. 3, 2025, 4:10 p.m. ET", "example.org", None),  # a dateline as the title
        cite(None, "page-9", None),  # the article's id as the outlet
        cite("Orchard festival", None, None, author="Click here to read more"),
    ]
    assert source_counts(cited) == {"titled": 3, "with_outlet": 3, "dated": 1, "flawed": 3}


PAGES = [
    ("g1", "Ferry strike ends", "The ferry strike in Port Aldane ended on Friday after the union accepted a "
     "pay offer from the operator Blue Wake Lines. Crossings resume on Monday."),
    ("g2", "Orchard festival", "The orchard festival in Kelby drew twelve thousand visitors this year, the "
     "organisers said. The prize for the largest pumpkin went to a farmer from Dunmore."),
    ("o1", "Bridge repairs", "Repairs to the Ostrava road bridge will close one lane until spring, the "
     "county engineer said on Tuesday. Buses will take a detour through Marl Street."),
]  # fmt: skip
QUESTIONS = [  # week 1: tune; the kit has one week, so everything is tuning
    ("k1", "Which operator reached a deal with the ferry union in Port Aldane?", "Blue Wake Lines", ["g1"]),
    ("k2", "Where was the farmer who grew the largest pumpkin from?", "Dunmore", []),
    ("k3", "Which airline ordered forty new planes this week?", "Skyrail", []),
]


def fake_kit(folder: Path) -> Path:
    folder.mkdir()
    with gzip.open(folder / "articles.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, title, text in PAGES:
            fh.write(json.dumps({"id": i, "url": f"https://example.org/{i}", "title": title, "text": text}) + "\n")
    rows = [{"id": i, "week": "20250103", "q": q, "answer": a, "gold": g} for i, q, a, g in QUESTIONS]
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return folder


@pytest.mark.slow
def test_eval_realtimeqa_ingests_the_kit_into_an_empty_store_and_reports_each_group(tmp_path):
    kit = fake_kit(tmp_path / "kit")
    store, reports = tmp_path / "store", tmp_path / "reports"
    out = run_cli("eval", "--realtimeqa", str(kit), "--store", str(store), "--report", str(reports), timeout=600)
    assert out.returncode == 0, out.stderr
    assert "3 stored pages, 3 questions" in out.stdout and "tune: gold strict 1.000" in out.stdout
    report = json.loads(next(reports.glob("*/report.json")).read_text(encoding="utf-8"))
    groups = {r["id"]: r["group"] for r in report["records"]}
    assert groups == {"k1": "gold", "k2": "elsewhere", "k3": "nowhere"}
    gold = report["summary"]["tune"]["gold"]
    assert gold["gold_page_top5"] == 1.0 and gold["cited_a_gold_page"] == 1.0
    assert report["summary"]["tune"]["all"]["verbatim_quotes"] == 1.0
    everything = report["summary"]["tune"]["all"]
    assert everything["citations_titled"] == everything["citations_with_outlet"] == 1.0  # outlet: the URL's site
    assert everything["citations_dated"] == 0.0 and everything["citations_flawed"] == 0.0  # no date: unknown
    assert "'vote': 0.15" in report["settings"]["weights"]  # the weights the run (and any threshold) used
    assert report["abstention"].startswith("the reader: no tied candidate, or its decline model below")
    assert report["abstention"].endswith("(no risk model on this store)")  # 3 pages: too few
    assert gold["short_answer_is_the_answer"] == 1.0  # "Blue Wake Lines", the kit's answer, opens the answer
    assert "| strict accuracy (first sentence or its quote) |" in next(reports.glob("*/report.md")).read_text()
    again = run_cli("eval", "--realtimeqa", str(kit), "--store", str(store), "--report", str(reports), "--split",
                    "test", timeout=600)  # fmt: skip
    assert again.returncode == 0 and "0 questions" in again.stdout, "weeks 27-52 are absent from this kit"
    only = tmp_path / "only-gold"
    gold_only = run_cli("eval", "--realtimeqa", str(kit), "--store", str(store), "--report", str(only), "--group",
                        "gold", timeout=600)  # fmt: skip
    assert gold_only.returncode == 0, gold_only.stderr
    assert [r["id"] for r in json.loads(next(only.glob("*/report.json")).read_text())["records"]] == ["k1"]
    assert "Only the gold questions were asked." in next(only.glob("*/report.md")).read_text()


def test_the_threshold_table_shows_what_each_cut_would_give_per_group():
    from caucasus_qa.measuring.realtimeqa import KitRecord, threshold_table

    def rec(group: str, strict: bool, evidence: float) -> KitRecord:
        return KitRecord("q", "20250103", "tune", group, "?", "x", "a", False, strict, strict, None, False, 0, 0, 1.0,
                         evidence)  # fmt: skip

    records = [rec("gold", True, 0.8), rec("gold", False, 0.3), rec("nowhere", False, 0.2), rec("nowhere", True, 0.5)]
    rows = threshold_table(records, cuts=(0.25, 0.6)).splitlines()
    assert rows[2] == "| 0.250 | 0.500 | 0.000 | n/a | 0.500 |"
    assert rows[3] == "| 0.600 | 0.500 | 0.500 | n/a | 1.000 |"


def test_the_abstention_note_names_the_risk_model_and_warns_when_the_weights_changed(tmp_path):
    from dataclasses import replace

    from caucasus_qa import Assistant
    from caucasus_qa.answering.abstention import NEWS
    from caucasus_qa.measuring.realtimeqa import abstention_note

    qa = Assistant(store=tmp_path / "store")
    assert qa.ingest([Path(__file__).parent / "data" / "town"]).ok
    anywhere = qa.using(extractive=replace(qa.extractive, risk_model=replace(NEWS, min_chunks=0)))
    threshold = qa.extractive.reader.model.threshold
    assert abstention_note(anywhere) == (
        f"the reader: no tied candidate, or its decline model below {threshold:.3f}, "
        f"or risk model (`abstain_model` auto) at or above {NEWS.cut:.3f} "
        f"({NEWS.dated.cut:.3f} for a question asked as of a date, with the evidence's age)"
    )
    other = anywhere.using(extractive=replace(anywhere.extractive, weights=replace(qa.extractive.weights, cos=0.3)))
    assert abstention_note(other).endswith("fitted under other answer-scoring parameters: refit it")
    # re-ranking after the decision changes none of the model's features: no refit needed
    reranked = replace(qa.extractive.weights, vote=0.0, name_fit=0.3)
    assert "refit" not in abstention_note(anywhere.using(extractive=replace(anywhere.extractive, weights=reranked)))
