"""The console script as a user runs it: messages, exit codes, listings."""

from __future__ import annotations

import json

from conftest import CORPUS, run_cli, write
from test_boilerplate import PARAGRAPHS


def test_batch_with_bad_files_stores_the_good_ones_and_exits_1(tmp_path):
    folder = tmp_path / "in"
    write(folder / "good.txt", "A good story\n\n" + "\n\n".join(PARAGRAPHS))
    write(folder / "empty.txt", "")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    out = run_cli("ingest", str(folder), str(tmp_path / "nope"), "--store", str(tmp_path / "s"))
    assert out.returncode == 1
    assert "failed: " in out.stderr and "empty file" in out.stderr and "binary" in out.stderr
    assert "no such file or folder" in out.stderr
    assert "added 1" in out.stdout
    listing = run_cli("articles", "--json", "--store", str(tmp_path / "s"))
    assert [json.loads(line).get("id") for line in listing.stdout.splitlines()] == ["good", None]  # then coverage


def test_ingest_json_summary_and_listing_of_default_corpus(tmp_path):
    store = str(tmp_path / "s")
    out = run_cli("ingest", str(CORPUS), "--store", store, "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert len(summary["added"]) == 5 and summary["chunks_embedded"] == summary["chunks_total"] > 0
    again = json.loads(run_cli("ingest", str(CORPUS), "--store", store, "--json").stdout)
    assert again["chunks_embedded"] == 0 and len(again["unchanged"]) == 5
    listing = run_cli("articles", "--store", store).stdout
    assert "Fakti, 2025-07-05" in listing and "site's clock" in listing


def test_empty_store_listing_says_what_to_do(tmp_path):
    out = run_cli("articles", "--store", str(tmp_path / "s"))
    assert "no articles ingested yet: run caucasus-qa ingest" in out.stdout


def test_config_errors_are_one_line_and_exit_2(tmp_path):
    out = run_cli("ingest", "--store", str(tmp_path / "s"), env={"CAUCASUS_QA_TOPK": "3"})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith("error: ")


def test_store_model_mismatch_tells_to_reset(tmp_path):
    store = str(tmp_path / "s")
    write(tmp_path / "in" / "a.txt", "\n\n".join(PARAGRAPHS))
    assert run_cli("ingest", str(tmp_path / "in"), "--store", store).returncode == 0
    out = run_cli("ingest", str(tmp_path / "in"), "--store", store, "--embed-model", "other")
    assert out.returncode == 1 and "--reset" in out.stderr


def test_python_dash_m_works():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "caucasus_qa", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout


# --- ask -------------------------------------------------------------------------------------
import pytest  # noqa: E402
from test_answers import TOWN  # noqa: E402


@pytest.fixture(scope="module")
def town_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli-town")
    assert run_cli("ingest", str(TOWN), "--store", str(store)).returncode == 0
    return str(store)


def test_ask_prints_answer_and_numbered_quotes_with_outlet_and_date(town_store):
    out = run_cli("ask", "What did the mayor say about the closure?", "--store", town_store)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and "\u201cMayor Petra Olsen" in out.stdout
    assert "Coastal Times, 2024-03-03, by Maria Jensen" in out.stdout


def test_ask_json_is_one_object_with_verified_offsets(town_store):
    out = run_cli("ask", "--json", "How often will the ferry run on weekdays?", "--store", town_store)
    data = json.loads(out.stdout)
    assert data["abstained"] is False and data["citations"][0]["article_id"] == "ferry-page"
    text = (TOWN / "ferry-page.txt").read_text()
    assert data["citations"][0]["quote"] in text


def test_ask_batch_from_stdin_writes_one_json_per_line(town_store):
    questions = "How many visitors came to the lantern festival?\n\n   \nWhat is the recipe for apple pie?\n"
    out = run_cli("ask", "--json", "-", "--store", town_store, input=questions)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(rows) == 2
    assert rows[0]["abstained"] is False and rows[1]["abstained"] is True


def test_ask_empty_question_exits_2_with_one_line(town_store):
    out = run_cli("ask", "  ", "--store", town_store)
    assert out.returncode == 2 and out.stderr.startswith("error: empty question")


def test_ask_on_empty_store_says_to_ingest(tmp_path):
    out = run_cli("ask", "Anything?", "--store", str(tmp_path / "nothing"))
    assert out.returncode == 1 and "no articles ingested yet: run caucasus-qa ingest" in out.stderr


def test_ask_long_question_is_truncated_with_a_note(town_store):
    out = run_cli("ask", "--json", "festival " * 400, "--store", town_store)
    assert "question truncated to 2,000 characters" in json.loads(out.stdout)["notes"]


def test_eval_weight_overrides_one_answer_weight_and_refuses_unknown_names(settings):
    from caucasus_qa import Assistant
    from caucasus_qa.errors import ConfigError
    from caucasus_qa.faces.cli import with_weights

    qa = Assistant(settings=settings)
    changed = with_weights(qa, ("vote=0.3", "cos = 0.4"))
    assert (changed.extractive.weights.vote, changed.extractive.weights.cos) == (0.3, 0.4)
    assert qa.extractive.weights.vote != 0.3 and with_weights(qa, ()) is qa
    picked = with_weights(qa, ("max_sentences=2", "same_topic=0.7")).extractive.selection  # a Selection field
    assert (picked.max_sentences, picked.same_topic) == (2, 0.7) and isinstance(picked.max_sentences, int)
    for bad in ("nope=1", "vote=high", "vote", "max_sentences=2.5"):
        with pytest.raises(ConfigError, match="NAME=NUMBER"):
            with_weights(qa, (bad,))
    out = run_cli("eval", "--weight", "nope=1", "--store", str(settings.store))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "NAME=NUMBER" in out.stderr


def test_articles_and_check_report_how_much_metadata_is_unknown(tmp_path):
    store = str(tmp_path / "s")
    write(tmp_path / "in" / "full.txt", "Harbour bridge closes\n\nBy Ana Lima, Harbour Gazette, March 3, 2024\n\n"
          + "\n\n".join(PARAGRAPHS))  # fmt: skip
    write(tmp_path / "in" / "bare.txt", "\n\n".join(PARAGRAPHS[1:]))
    assert run_cli("ingest", str(tmp_path / "in"), "--store", store).returncode == 0
    lines = [json.loads(line) for line in run_cli("articles", "--json", "--store", store).stdout.splitlines()]
    rows = {r["id"]: r for r in lines if "id" in r}
    assert rows["bare"]["unknown"] == ["title", "outlet", "published", "author"] and rows["full"]["unknown"] == []
    assert lines[-1]["coverage"] == {"articles": 2, "without_title": 1, "without_outlet": 1, "without_date": 1,
                                     "without_author": 1, "month_only": 0}  # fmt: skip
    text = run_cli("articles", "--store", store).stdout
    assert "bare  (title unknown)" in text and "of 2 articles: 1 without a title, 1 without an outlet" in text
    checked = json.loads(run_cli("check", "--json", "--store", store).stdout)
    assert checked["metadata"]["without_date"] == 1
    assert "1 without a date" in run_cli("check", "--store", store).stdout
