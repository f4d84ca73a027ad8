"""`bench scale` end to end on a kit of three pages written here (the real kit is not needed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import run_cli

from caucasus_qa.measuring.scale import kit_questions, kit_slice

pytestmark = pytest.mark.slow

PAGES = [
    ("a1", "Harbour ferry timetable changes", "The harbour ferry will run every twenty minutes from Monday."),
    ("a2", "Museum reopens", "The town museum reopened on Saturday after two years of repairs to its roof."),
    ("b1", "Forest fire contained", "Firefighters contained the forest fire north of the town on Sunday night."),
]


def fake_kit(folder: Path) -> Path:
    folder.mkdir()
    for name, rows in (("articles.jsonl.gz", PAGES[:2]), ("articles-scale.jsonl.gz", PAGES[2:])):
        with gzip.open(folder / name, "wt", encoding="utf-8") as fh:
            for i, title, text in rows:
                fh.write(json.dumps({"id": i, "url": f"https://example.org/{i}", "title": title, "text": text}) + "\n")
    questions = [{"id": "q1", "q": "How often will the harbour ferry run?", "answer": "every twenty minutes"}]
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions), encoding="utf-8")
    return folder


def test_a_slice_takes_this_year_s_pages_first(tmp_path):
    kit = fake_kit(tmp_path / "kit")
    two = kit_slice(kit, 2, tmp_path / "two").read_text(encoding="utf-8").splitlines()
    three = kit_slice(kit, 3, tmp_path / "three").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in two] == ["a1", "a2"] and json.loads(three[-1])["id"] == "b1"
    assert kit_questions(kit, 5) == ["How often will the harbour ferry run?"]


def _children_of_scale_runs(mark: str) -> list[str]:
    """`serve` and `chroma run` processes whose command line names ``mark`` (a run's folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"serve" in args or b"run" in args) and any(mark.encode() in a for a in args):
            found.append(cmdline.parent.name)
    return found


def test_bench_scale_prints_a_table_per_size_and_stops_what_it_started(tmp_path):
    kit = fake_kit(tmp_path / "kit")
    kept = tmp_path / "kept"
    out = run_cli("bench", "scale", "--kit", str(kit), "--sizes", "2,3", "--questions", "1", "--keep", str(kept),
                  timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "## 2 articles" in out.stdout and "## 3 articles" in out.stdout
    assert "| re-ingest unchanged | " in out.stdout and ", 0 embedded |" in out.stdout
    same = "| `chroma run`: same answers as embedded (first client; another machine's) | 1 of 1; 1 of 1 |"
    assert out.stdout.count(same) == 2
    assert "| a day's ingest: 1 more kit pages appended to the JSONL | " in out.stdout  # 2 + 1: the kit's end
    assert "new lines only |" in out.stdout and out.stdout.count("a day's ingest") == 1
    assert (kept / "3" / "store" / "chroma").is_dir() and (kept / "3" / "corpus" / "kit.jsonl").is_file()
    assert _children_of_scale_runs(str(tmp_path)) == []  # its `serve` and `chroma run` were stopped

    store, corpus = kept / "3" / "store", kept / "3" / "corpus" / "kit.jsonl"
    alone = run_cli("bench", "scale", "--kit", str(kit), "--store", str(store), timeout=60)
    assert alone.returncode == 2 and "--store and --corpus go together" in alone.stderr
    built = run_cli("bench", "scale", "--kit", str(kit), "--store", str(store), "--corpus", str(corpus),
                    "--questions", "1", timeout=900)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "## 3 articles" in built.stdout and "not measured: a store built beforehand" in built.stdout
    assert ", 0 embedded |" in built.stdout and "another machine's) | 1 of 1; 1 of 1 |" in built.stdout
    assert _children_of_scale_runs(str(tmp_path)) == []
