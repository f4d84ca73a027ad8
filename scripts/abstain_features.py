"""Features of every RealTime QA answer over one store, for choosing an abstention rule on the tuning
weeks and checking it on the held-back ones (issue 2.3: the evidence score alone does not separate
answerable from unanswerable questions on real news; docs/evaluation.md).

    .venv/bin/python scripts/abstain_features.py --kit ../shared/benchmarks/realtimeqa --store S --out F.jsonl
    .venv/bin/python scripts/abstain_features.py --fit F.jsonl

The first asks every question (never abstaining, as of its quiz week) and writes one line per
question: its group, strict outcome and the features below. The second fits a logistic model on the
tune weeks (gold = answer, nowhere = decline), picks the cut that declines the most nowhere questions
with at most 10% of gold ones declined, on the tune weeks only, and prints tune and test side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from caucasus_qa.answering.abstention import DATED_FEATURES, FEATURES

GOLD_DECLINED_MAX = 0.10  # issue 2.3's bound on false abstentions
THRESHOLD = 0.36  # settings.abstain_threshold's default: the app declines below it whatever the model says


def _ask_all(kit: Path, store: Path, out: Path) -> None:
    from caucasus_qa import Assistant
    from caucasus_qa import realtimeqa as rq
    from caucasus_qa.answering.extractive import ExtractiveAnswerer
    from caucasus_qa.answering.retrieval import PRESENT_TIME

    seen: dict[str, Any] = {}
    original = ExtractiveAnswerer.assess

    def recording(self: Any, question: str, scored: Any, oov: float, passages: Any, as_of: Any = None) -> Any:
        confidence, declined = original(self, question, scored, oov, passages, as_of)
        if scored:
            seen["features"] = self.features(question, scored, oov, passages, confidence, as_of)
        return confidence, declined

    ExtractiveAnswerer.assess = recording  # type: ignore[method-assign]  # a measuring script, not the product
    qa = rq.never_abstaining(Assistant(store=store))
    questions = rq.load_questions(kit)
    groups = rq.group_of(questions, {i: qa.article_text(i) or "" for i in qa.store.article_ids()})
    started = time.time()
    with out.open("w", encoding="utf-8") as f:
        for q in questions:
            seen.clear()
            as_of = date(int(q.week[:4]), int(q.week[4:6]), int(q.week[6:]))
            answer = qa.ask(q.question, as_of=as_of)
            strict, lenient = rq.score(q, answer)
            ages = [_age(as_of, c.published) for c in answer.citations]
            features = asdict(seen["features"]) if "features" in seen else dict.fromkeys(DATED_FEATURES, 0.0)
            row = dict(
                id=q.id,
                week=q.week,
                split=q.split,
                group=groups[q.id],
                strict=strict,
                lenient=lenient,
                **features,
                age=min((a for a in ages if a is not None), default=None),
                present=bool(PRESENT_TIME.search(q.question)),
            )
            f.write(json.dumps(row) + "\n")
    print(f"{len(questions)} questions in {time.time() - started:.0f} s -> {out}")


def _age(as_of: date, published: str | None) -> int | None:
    try:
        return (as_of - date.fromisoformat((published or "")[:10])).days
    except ValueError:
        return None


def _vector(r: dict[str, Any], age: bool = False) -> list[float]:
    """The app's features; with ``age`` also those of a question asked as of a date (the
    evidence's page age: ``abstention.staleness``). Rows written before the app computed them
    fall back to the quiz-week age of the cited pages recorded beside them."""
    names = DATED_FEATURES if age else FEATURES
    if age and r.get("stale") is None:
        stale = math.log1p(max(r["age"] if r["age"] is not None else 365, 0))
        r = r | {"stale": stale, "present_stale": stale * r["present"]}
    return [float(r[name]) for name in names]


def _rates(rows: list[dict[str, Any]], declined: list[bool]) -> dict[str, float]:
    by: dict[str, list[tuple[dict[str, Any], bool]]] = {}
    for r, d in zip(rows, declined, strict=True):
        by.setdefault(r["group"], []).append((r, d))

    def share(group: str, fn: Any) -> float:
        items = by.get(group, [])
        return sum(fn(r, d) for r, d in items) / len(items) if items else float("nan")

    return {
        "gold strict": share("gold", lambda r, d: r["strict"] and not d),
        "gold declined": share("gold", lambda r, d: d),
        "elsewhere strict": share("elsewhere", lambda r, d: r["strict"] and not d),
        "nowhere declined": share("nowhere", lambda r, d: d),
    }


def _fit(path: Path, age: bool) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    tune = [r for r in rows if r["split"] == "tune"]
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in tune if r["group"] in ("gold", "nowhere")]
    x = np.array([_vector(r, age) for r in train])
    y = np.array([r["group"] == "nowhere" for r in train])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)

    def below(rs: list[dict[str, Any]]) -> np.ndarray:
        return np.array([r["evidence"] < THRESHOLD for r in rs])

    def risk(rs: list[dict[str, Any]]) -> np.ndarray:
        return model.predict_proba(scaler.transform(np.array([_vector(r, age) for r in rs])))[:, 1]

    tune_risk = risk(tune)
    cut = _best_cut(tune, tune_risk)
    evidence_cut = _best_cut(tune, -np.array([r["evidence"] for r in tune]))
    names = DATED_FEATURES if age else FEATURES
    print("features:", ", ".join(f"{n} {w:+.2f}" for n, w in zip(names, model.coef_[0], strict=True)))
    print(_literal(scaler, model, cut, path, names))
    print(f"cut (tune only): risk >= {cut:.3f}; evidence-only cut: evidence <= {-evidence_cut:.3f}")
    header = "| rule | split | " + " | ".join(_rates(tune, [False] * len(tune))) + " |"
    print(header + "\n" + "| --- " * (header.count("|") - 1) + "|")
    for name, rs in (("tune", tune), ("test", test)):
        for rule, declined in (
            ("never decline", [False] * len(rs)),
            ("evidence < 0.36 (default)", [r["evidence"] < THRESHOLD for r in rs]),
            ("evidence cut chosen on tune", [-r["evidence"] >= evidence_cut for r in rs]),
            ("threshold, or risk cut chosen on tune (the app)", list((risk(rs) >= cut) | below(rs))),
        ):
            rates = _rates(rs, declined)
            print(f"| {rule} | {name} | " + " | ".join(f"{v:.3f}" for v in rates.values()) + " |")


def _literal(scaler: Any, model: Any, cut: float, path: Path, names: tuple[str, ...]) -> str:
    """The fitted model as the RiskModel literal abstention.py holds."""
    from caucasus_qa.answering.abstention import fingerprint
    from caucasus_qa.answering.extractive import Selection, Weights

    def floats(values: Any) -> str:
        return "(" + ", ".join(f"{float(v):.4f}" for v in values) + ")"

    return (
        f"RiskModel(\n    mean={floats(scaler.mean_)},\n    scale={floats(scaler.scale_)},\n"
        f"    coef={floats(model.coef_[0])},\n    intercept={float(model.intercept_[0]):.4f},\n"
        f"    cut={cut:.4f},\n    calibrated_for={fingerprint(Weights(), Selection())!r},\n"
        f'    source="scripts/abstain_features.py --fit {path.name}: RealTime QA tune weeks, gold vs nowhere",\n'
        + (f"    features={names!r},\n" if names != FEATURES else "")
        + ")"
    )


def _best_cut(rows: list[dict[str, Any]], risk: Any) -> float:
    """The lowest risk cut whose gold declines, counted with those the evidence threshold
    already makes, stay within the bound: the most nowhere declined."""
    gold = [(float(v), r["evidence"] < THRESHOLD) for r, v in zip(rows, risk, strict=True) if r["group"] == "gold"]
    allowed = int(GOLD_DECLINED_MAX * len(gold)) - sum(below for _, below in gold)
    left = sorted(v for v, below in gold if not below)  # what the threshold answers; the cut may decline these
    return left[len(left) - allowed - 1] + 1e-9 if 0 <= allowed < len(left) else float("inf" if allowed < 0 else "-inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fit", type=Path)
    parser.add_argument(
        "--with-age", action="store_true", help="with --fit: the model for questions asked as of a date (page age too)"
    )
    args = parser.parse_args()
    if args.fit:
        _fit(args.fit, args.with_age)
    else:
        _ask_all(args.kit, args.store, args.out)


if __name__ == "__main__":
    main()
