"""Answer-side figures of one store as read by one checkout: first sentence read, cold start (the
median of COLD_ROUNDS new processes), warm latency, `serve` memory. Run once per side, alone, one
after the other:

    PYTHONPATH=/tmp/before/src .venv/bin/python scripts/ab_answer.py KIT STORE_OLD
    PYTHONPATH=src .venv/bin/python scripts/ab_answer.py KIT STORE_NEW

Prints one JSON line (seconds, milliseconds and MB as named).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

COLD_ROUNDS = 5  # one cold sample varied by 3 s between runs here


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1]) / 1024


def first_read(store: Path) -> dict:
    """The first and later reads of an article's sentences in this process."""
    from caucasus_qa.settings import load_settings
    from caucasus_qa.store.collections import Store

    st = Store(load_settings(store=store))
    ids = st.article_ids()
    st.article(ids[0])
    before, started = _rss_mb(), time.perf_counter()
    st.sentence_records(ids[0])
    first, grown = time.perf_counter() - started, _rss_mb() - before
    started = time.perf_counter()
    for article_id in ids[1:51]:
        st.sentence_records(article_id)
    later = (time.perf_counter() - started) / max(1, len(ids[1:51]))
    return {"first_read_s": round(first, 3), "rss_added_mb": round(grown), "later_read_ms": round(later * 1e3, 1)}


def answering(kit: Path, store: Path) -> dict:
    from caucasus_qa.measuring.scale import SizeRun, _cold, _serve_rss, _warm, kit_questions, percentile
    from caucasus_qa.settings import load_settings

    settings, questions = load_settings(store=store), kit_questions(kit, 100)
    run = SizeRun(articles=0)
    colds = []
    for question in questions[:COLD_ROUNDS]:  # a new process each, ours and plain in turn: medians below
        _cold(run, settings, question)
        colds.append((run.cold_first_answer, run.cold_plain))
    run.cold_first_answer = statistics.median(c[0] for c in colds)
    run.cold_plain = statistics.median(c[1] for c in colds)
    _warm(run, settings, questions)
    _serve_rss(run, settings, questions[:20])
    return {
        "cold_s": round(run.cold_first_answer, 1),
        "cold_plain_s": round(run.cold_plain, 1),
        "cold_ratio": round(run.cold_first_answer / run.cold_plain, 2),
        "answer_p50_p95_ms": [round(percentile(run.answer_ms, 50)), round(percentile(run.answer_ms, 95))],
        "retrieve_p50_p95_ms": [round(percentile(run.retrieve_ms, 50)), round(percentile(run.retrieve_ms, 95))],
        "plain_p50_p95_ms": [round(percentile(run.plain_ms, 50)), round(percentile(run.plain_ms, 95))],
        "serve_rss_mb": round(run.serve_rss_mb),
    }


if __name__ == "__main__":
    kit, store = Path(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps({**first_read(store), **answering(kit, store)}))
