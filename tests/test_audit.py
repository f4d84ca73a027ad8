"""The dependency audit (scripts/audit.py): a vulnerable pin is caught, a fixed one is not, and a
finding passes only once it is triaged in the audit table of the triage document."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "audit.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("safety_db") is None, reason="safety-db (a dev extra) is not installed"
)


def _advisory() -> tuple[str, str, str]:
    """An advisory of the database with one plain upper bound: (id, package, fixed version)."""
    spec = importlib.util.find_spec("safety_db")
    assert spec and spec.submodule_search_locations
    data = json.loads((Path(next(iter(spec.submodule_search_locations))) / "insecure_full.json").read_text())
    for name, advisories in data.items():
        if name.startswith("$") or len(advisories) != 1:
            continue
        specs = advisories[0].get("specs") or []
        if len(specs) == 1 and specs[0].startswith("<") and "," not in specs[0] and not specs[0].startswith("<="):
            return advisories[0]["id"], name, specs[0][1:]
    raise AssertionError("no advisory with a single upper bound in the database")


def _audit(tmp_path: Path, pins: str, triage: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "req.txt").write_text(pins)
    (tmp_path / "triage.md").write_text(triage)
    args = ["--requirements", str(tmp_path / "req.txt"), "--triage", str(tmp_path / "triage.md")]
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_vulnerable_pin_fails_until_triaged_and_a_fixed_pin_passes(tmp_path: Path) -> None:
    advisory, package, fixed = _advisory()
    table = "| advisory | package | verdict |\n| --- | --- | --- |\n"

    found = _audit(tmp_path, f"{package}==0.0.1\n", "## Dependency audit\n\n" + table)
    assert found.returncode == 1
    assert f"untriaged {advisory}" in found.stdout and package in found.stdout

    # the id elsewhere in the document (not in the audit table's first cell) does not triage it
    elsewhere = _audit(tmp_path, f"{package}==0.0.1\n", f"## Other\n\n| {advisory} |\n\n## Dependency audit\n\n{table}")
    assert elsewhere.returncode == 1

    row = f"| {advisory} | {package} | test |\n"
    triaged = _audit(tmp_path, f"{package}==0.0.1\n", f"## Dependency audit\n\n{table}{row}")
    assert triaged.returncode == 0, triaged.stdout
    assert "1 findings, 1 triaged" in triaged.stdout

    upgraded = _audit(tmp_path, f"{package}=={fixed}\n", "## Dependency audit\n\n" + table)
    assert advisory not in upgraded.stdout


def test_this_environment_has_no_untriaged_finding() -> None:
    """What `make audit` runs: the installed packages against the database and docs/reliability.md."""
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("audit: ") and "packages against safety-db of" in result.stdout
