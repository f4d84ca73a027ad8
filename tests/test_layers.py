"""The import direction of the stages (3.4): a lower stage never imports a higher one, and no
module imports itself back through others. Read from the source with ``ast``, so an import inside
a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import caucasus_qa

PACKAGE = Path(caucasus_qa.__file__).parent

# Lowest first. A module may import its own stage and the ones before it. Top-level modules
# that are no stage are the shared floor (errors, settings, offline, text) or, for the front
# door, its own floor between answering and measuring.
STAGES = ("floor", "articles", "store", "answering", "assistant", "measuring", "faces")
FLOOR = {"errors", "settings", "offline", "text"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str | None:
    """The stage a module of this package belongs to; None for the package root and __main__."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return None
    return "floor" if parts[1] in FLOOR else parts[1]


def imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of this package that ``path`` imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("caucasus_qa"):
            named = {f"{node.module}.{a.name}" for a in node.names}
            out |= named & modules
            if named - modules:  # names taken from the module (or a package's __init__) itself
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("caucasus_qa.")}
    return out - {module_name(path)}


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports(p, modules) & modules for p in paths}


def test_every_module_is_in_a_stage():
    unknown = {m for m in graph() if stage(m) is not None and stage(m) not in STAGES}
    assert not unknown, f"modules outside the stages {STAGES}: {sorted(unknown)}"


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import of a higher stage by a lower one."""
    return sorted(
        f"{m} ({stage(m)}) imports {d} ({stage(d)})"
        for m, deps in edges.items()
        for d in deps
        if (sm := stage(m)) is not None and (sd := stage(d)) is not None and STAGES.index(sd) > STAGES.index(sm)
    )


def test_no_stage_imports_a_higher_one():
    assert upward(graph()) == [], "\n".join(upward(graph()))


def test_an_upward_import_is_caught():
    edges = {"caucasus_qa.store.lexicon": {"caucasus_qa.answering.names", "caucasus_qa.text"}}
    assert upward(edges) == ["caucasus_qa.store.lexicon (store) imports caucasus_qa.answering.names (answering)"]


def test_measuring_is_imported_by_the_faces_alone():
    users = {m for m, deps in graph().items() for d in deps if stage(d) == "measuring" and stage(m) != "measuring"}
    assert users and {stage(m) for m in users} == {"faces"}, sorted(users)
    # and only inside the commands that measure: answering a question never loads benchmark code
    for path in (PACKAGE / "faces").glob("*.py"):
        top = [n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.ImportFrom)]
        assert not [n.module for n in top if (n.module or "").startswith("caucasus_qa.measuring")], path


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import circle as a path, or [] (depth-first search)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for d in sorted(edges.get(m, ())):
            if state.get(d) == 1:
                return path[path.index(d) :] + [d]
            if d not in state and (found := visit(d)):
                return found
        state[m] = 2
        path.pop()
        return []

    for m in sorted(edges):
        if m not in state and (found := visit(m)):
            return found
    return []


def test_no_import_circles():
    assert cycle(graph()) == [], " -> ".join(cycle(graph()))


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_the_paths_users_imported_before_the_stages_still_work():
    """The public names (``caucasus_qa.__all__``) and the module paths CHANGELOG.md says kept."""
    import caucasus_qa
    from caucasus_qa.articles import Article, read_articles
    from caucasus_qa.assistant import Assistant
    from caucasus_qa.store import Store

    assert caucasus_qa.Assistant is Assistant and caucasus_qa.Article is Article
    assert Store.__module__ == "caucasus_qa.store.collections" and callable(read_articles)
    for name in caucasus_qa.__all__:
        assert getattr(caucasus_qa, name) is not None
