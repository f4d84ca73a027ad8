"""Dependency audit against an offline advisory database; `make audit` (and so `make test`) runs it.

The registries this machine reaches carry no vulnerability data (`pip-audit -s pypi` finds no
package, `-s osv` needs api.osv.dev), and safety 3 needs its web service. The one advisory database
installable from them is PyUp's `safety-db` (a dev extra; its data stops at its release date,
printed below). safety 2.3.5 reads it offline but crashes writing JSON when it finds something
("Invalid URL 'None'"), so the matching is done here: each advisory's version specifiers
(``packaging``) against the installed distributions, or a pinned requirements file.

Every finding must be triaged in docs/reliability.md ("Dependency audit" table: a row whose
first cell is the advisory id); an untriaged finding exits 1 with one line per finding.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import distributions
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "docs" / "reliability.md"
TRIAGE_SECTION = "## Dependency audit"
_TRIAGED_ROW = re.compile(r"^\|\s*`?(pyup\.io-\d+)`?\s*\|", re.M)


@dataclass(frozen=True)
class Finding:
    advisory: str
    package: str
    version: str
    affected: str
    cve: str | None
    text: str

    def line(self) -> str:
        cve = f" {self.cve}" if self.cve else ""
        return f"{self.advisory}{cve}: {self.package} {self.version} is affected ({self.affected})"


def database_path() -> Path:
    """safety-db's data folder, found without importing the package (its __init__ reads a
    relative path and fails outside its own folder)."""
    spec = importlib.util.find_spec("safety_db")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("audit: safety-db is not installed; run `make install-dev` (it is a dev extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "insecure_full.json"


def installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in distributions() if d.metadata["Name"]}


def pinned(requirements: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file; anything else is skipped with a note."""
    out = {}
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            print(f"audit: skipped {line!r}: not pinned as name==version", file=sys.stderr)
            continue
        out[canonicalize_name(name.strip())] = version.strip()
    return out


def matches(version: str, specs: list[str]) -> bool:
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    for spec in specs:
        try:
            if v in SpecifierSet(spec, prereleases=True):
                return True
        except InvalidSpecifier:
            continue
    return False


def audit(packages: dict[str, str], database: dict) -> list[Finding]:
    by_name = {canonicalize_name(k): v for k, v in database.items() if not k.startswith("$")}
    return [
        Finding(a["id"], name, version, a.get("v", ""), a.get("cve"), a.get("advisory", ""))
        for name, version in sorted(packages.items())
        for a in by_name.get(name, ())
        if matches(version, a.get("specs") or [])
    ]


def triaged(doc: Path) -> set[str]:
    """Advisory ids in the first cells of the table under ``TRIAGE_SECTION`` in ``doc``."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    start = text.find(TRIAGE_SECTION)
    if start < 0:
        return set()
    end = text.find("\n## ", start + len(TRIAGE_SECTION))
    return set(_TRIAGED_ROW.findall(text[start : end if end > 0 else None]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, help="audit name==version lines instead of this environment")
    parser.add_argument("--triage", type=Path, default=TRIAGE, help="the document that triages findings")
    args = parser.parse_args(argv)
    path = database_path()
    database = json.loads(path.read_text(encoding="utf-8"))
    stamp = database.get("$meta", {}).get("timestamp")
    as_of = datetime.fromtimestamp(stamp, UTC).date().isoformat() if stamp else "unknown"
    packages = pinned(args.requirements) if args.requirements else installed()
    findings = audit(packages, database)
    known = triaged(args.triage)
    open_ = [f for f in findings if f.advisory not in known]
    print(
        f"audit: {len(packages)} packages against safety-db of {as_of} ({len(database) - 1} packages with advisories):"
        f" {len(findings)} findings, {len(findings) - len(open_)} triaged in {args.triage.name}"
    )
    for f in open_:
        print(f"audit: untriaged {f.line()}: upgrade it, or triage it in {args.triage} ({TRIAGE_SECTION})")
    return 1 if open_ else 0


if __name__ == "__main__":
    sys.exit(main())
