"""Regenerate the doc blocks that mirror the code: the settings table (docs/configuration.md) and
the JSON of an answer (docs/answers.md).

Hand-written, they drifted: the README's JSON shape lacked fields the code emitted and some
settings went undocumented. Both blocks are now built from the code (the ``Settings`` field docs
via ``caucasus_qa.settings.describe()``, and ``Answer.to_dict()``), and tests/test_docs.py runs
the check, so a change to either fails the tests until the blocks are regenerated.

    python scripts/docs.py           # rewrite the blocks
    python scripts/docs.py --check   # exit 1 naming each stale block; write nothing
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from caucasus_qa.answering.answer import Answer, Citation
from caucasus_qa.settings import ENV_PREFIX, describe

CONFIGURATION = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
ANSWERS = Path(__file__).resolve().parents[1] / "docs" / "answers.md"
QUOTE = "The first official to apologize to Azerbaijanis for the incident was Chechen ruler Ramzan Kadyrov"


def settings_table() -> str:
    """One row per public ``Settings`` field, in declaration order."""
    rows = ["| setting | environment variable | default | what it does |", "| --- | --- | --- | --- |"]
    for name, default, doc in describe():
        shown = default if default == "none" else f"`{default}`"
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {shown} | {doc.replace('|', '&#124;')} |")
    return "\n".join(rows)


def sample_answer() -> Answer:
    """An illustrative generative answer: one citation, the same sentence as the evidence read."""
    cite = Citation(
        n=1,
        quote=QUOTE,
        article_id="001_7806886bcba8a453",
        title="Is Russia losing its ally Azerbaijan?",
        outlet="Fakti",
        published="2025-07-05",
        author=None,
        start=1520,
        end=1520 + len(QUOTE),
    )
    timings = {"embed": 9.0, "retrieve": 12.0, "first_token": 2100.0, "answer": 3400.0, "verify": 0.4, "total": 3420.0}
    return Answer(
        question="Who was the first official to apologise for the plane crash?",
        text="Chechen ruler Ramzan Kadyrov was the first official to apologise. [1]",
        abstained=False,
        citations=[cite],
        evidence=[cite],
        score=0.71,
        backend="llamacpp",
        model="qwen2.5-1.5b-instruct-q4_k_m.gguf",
        dropped=1,
        store_version=5,
        timings_ms=timings,
    )


def answer_json() -> str:
    """Valid JSON, one top-level key per line (nested values stay on their line, to keep it short)."""
    shape = sample_answer().to_dict()
    lines = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in shape.items()]
    return "```json\n{\n" + ",\n".join(lines) + "\n}\n```"


BLOCKS: dict[str, Callable[[], str]] = {"settings": settings_table, "answer-json": answer_json}
# Which file holds each block (read when called, so a test may point one elsewhere).
HOMES = {"settings": "CONFIGURATION", "answer-json": "ANSWERS"}


def files() -> dict[Path, list[str]]:
    """Each file with generated blocks, and the names of its blocks."""
    out: dict[Path, list[str]] = {}
    for name, home in HOMES.items():
        out.setdefault(globals()[home], []).append(name)
    return out


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:begin -->\n)(.*?)(<!-- {name}:end -->)", re.S)


def _content(name: str, text: str) -> str:
    match = _pattern(name).search(text)
    if match is None:
        raise ValueError(f"no <!-- {name}:begin --> ... <!-- {name}:end --> block where it belongs ({HOMES[name]})")
    return match.group(2)


def render(text: str, names: list[str]) -> str:
    """``text`` with its blocks ``names`` regenerated; a missing marker pair is an error."""
    for name in names:
        _content(name, text)
        build = BLOCKS[name]
        text = _pattern(name).sub(lambda m, build=build: m.group(1) + build() + "\n" + m.group(3), text, count=1)
    return text


def stale_blocks(text: str, names: list[str]) -> list[str]:
    """Names of the blocks whose content differs from what the code generates."""
    fresh = render(text, names)
    return [name for name in names if _content(name, text) != _content(name, fresh)]


def main(argv: list[str]) -> int:
    stale_any = False
    for path, names in files().items():
        text = path.read_text(encoding="utf-8")
        if "--check" in argv:
            for name in stale_blocks(text, names):
                stale_any = True
                print(f"{path.name}: the {name} block is stale; run python scripts/docs.py")
        else:
            path.write_text(render(text, names), encoding="utf-8")
    return 1 if stale_any else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
