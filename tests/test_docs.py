"""The generated doc blocks match the code: every setting documented (docs/configuration.md), the
answer's JSON shape complete (docs/answers.md)."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import fields
from pathlib import Path
from types import ModuleType

from conftest import ROOT

from caucasus_qa.answering.answer import Answer, Citation
from caucasus_qa.settings import Settings, describe

CONFIGURATION = ROOT / "docs" / "configuration.md"
ANSWERS = ROOT / "docs" / "answers.md"
HOME = {"settings": CONFIGURATION, "answer-json": ANSWERS}


def load_docs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("caucasus_qa_docs_script", ROOT / "scripts" / "docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block(name: str) -> str:
    text = HOME[name].read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"{HOME[name].name} has no {name} block"
    return match.group(1)


def test_readme_is_up_to_date_with_the_generator():
    docs = load_docs_script()
    for path, names in docs.files().items():
        assert docs.stale_blocks(path.read_text(encoding="utf-8"), names) == [], "run: .venv/bin/python scripts/docs.py"


def test_check_names_a_stale_block_and_regenerating_fixes_it(tmp_path: Path, monkeypatch, capsys):
    docs = load_docs_script()
    copy = tmp_path / "configuration.md"
    original = CONFIGURATION.read_text(encoding="utf-8")
    copy.write_text(original.replace("| `top_k` |", "| `top_kk` |"), encoding="utf-8")
    monkeypatch.setattr(docs, "CONFIGURATION", copy)
    monkeypatch.setattr(docs, "ANSWERS", tmp_path / "answers.md")  # regenerating writes only copies
    (tmp_path / "answers.md").write_text(ANSWERS.read_text(encoding="utf-8"), encoding="utf-8")
    assert docs.main(["--check"]) == 1
    assert "settings block is stale" in capsys.readouterr().out
    assert docs.main([]) == 0 and docs.main(["--check"]) == 0
    assert copy.read_text(encoding="utf-8") == original


def test_every_key_of_an_answer_is_in_the_readme_json():
    cite = Citation(1, "q", "a", title=None, outlet=None, published=None, author=None, start=0, end=1)
    real = Answer(question="q", text="t [1]", abstained=False, citations=[cite], evidence=[cite]).to_dict()
    shown = json.loads(block("answer-json").strip().removeprefix("```json").removesuffix("```"))
    assert list(shown) == list(real)
    for key in ("citations", "evidence"):
        assert shown[key] and set(shown[key][0]) == set(real[key][0])


def test_every_setting_has_a_doc_and_a_row_in_the_readme_table():
    public = [f.name for f in fields(Settings) if not f.name.startswith("_")]
    assert [name for name, _, _ in describe()] == public
    assert not [name for name, _, doc in describe() if not doc.strip()], "settings without metadata={'doc': ...}"
    table = block("settings")
    assert not [name for name in public if f"| `{name}` | `CAUCASUS_QA_{name.upper()}` |" not in table]
