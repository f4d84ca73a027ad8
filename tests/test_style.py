"""House rules the linters do not check: short functions (issue 2.3 set 40 lines as the limit)."""

from __future__ import annotations

import ast

from conftest import ROOT

MAX_FUNCTION_LINES = 40


def test_no_function_in_the_package_or_ui_is_longer_than_the_limit():
    long = []
    for path in sorted([*(ROOT / "src" / "caucasus_qa").glob("*.py"), *(ROOT / "ui").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these functions: " + "; ".join(long)
