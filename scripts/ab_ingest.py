"""Ingest the first N kit pages with two checkouts of caucasus-qa, and the embedding floor, in one run.

    git worktree add /tmp/before <rev>
    .venv/bin/python scripts/ab_ingest.py ../shared/benchmarks/realtimeqa 150 /tmp/before/src src

Prints one JSON line: each side's wall time, texts embedded and store size, the floor (every text
the second side embedded, through the bare model in one call) and each side's ratio to it. Run it
alone: it is a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(kit: Path, n: int, sides: list[str]) -> dict:
    from caucasus_qa.measuring.scale import SizeRun, _floor, kit_slice
    from caucasus_qa.settings import load_settings

    exe = str(Path(sys.executable).parent / "caucasus-qa")
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="ab-ingest-") as tmp:
        corpus = kit_slice(kit, n, Path(tmp) / "corpus")
        for i, src in enumerate(sides):
            store = Path(tmp) / f"store{i}"
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            started = time.perf_counter()
            done = subprocess.run([exe, "ingest", str(corpus), "--store", str(store), "--json"], env=env,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            report = json.loads(done.stdout)
            out[src] = {
                "seconds": round(time.perf_counter() - started, 1),
                "texts": report["chunks_embedded"] + report["sentences_embedded"],
                "store_mb": round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 1e6),
            }
        run = SizeRun(articles=n)
        _floor(run, load_settings(store=Path(tmp) / f"store{len(sides) - 1}"))
    out["floor"] = {"seconds": round(run.floor, 1), "texts": run.texts}
    for src in sides:
        out[src]["ratio"] = round(out[src]["seconds"] / run.floor, 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])))
