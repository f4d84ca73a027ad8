"""Where the extractive answer step loses what retrieval finds, on RealTime QA gold questions.

For each gold question of a split, asked as of its quiz week: the rank of the best candidate
sentence that holds the kit's answer string (the answerer's own scoring, name vote included),
or why there is none (not in any retrieved page, only in another part of one, or split across
sentences). Prints the counts; docs/evaluation.md quotes them. A diagnostic, not a benchmark.

    .venv/bin/python scripts/answer_ranks.py --kit ../shared/benchmarks/realtimeqa --store S --split tune
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from caucasus_qa import Assistant
from caucasus_qa import realtimeqa as rq
from caucasus_qa.answering.extractive import vote


def where(qa: Assistant, q: rq.KitQuestion) -> str:
    as_of = f"{q.week[:4]}-{q.week[4:6]}-{q.week[6:]}"
    passages = qa.retrieve(q.question, as_of=as_of)
    answerer = qa.extractive
    q_emb = np.asarray(qa.embed_model.get_query_embedding(q.question))
    scored, _ = answerer.score(q.question, q_emb, passages)
    scored = vote(q.question, scored, answerer.weights.vote)
    n = rq.needle(q.answer)
    ranks = [i for i, s in enumerate(scored) if n in rq.norm(s.sentence.text)]
    if ranks:
        rank = ranks[0] + 1
        return str(rank) if rank <= 3 else ("4-10" if rank <= 10 else "lower")
    if any(n in rq.norm(p.node.get_content()) for p in passages):
        return "split across sentences"
    pages = dict.fromkeys(p.article_id for p in passages)
    elsewhere = any(n in rq.norm(qa.article_text(a)) for a in pages)
    return "elsewhere in a retrieved page" if elsewhere else "no retrieved page"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--split", choices=("tune", "test"), default="tune")
    args = parser.parse_args()
    qa = Assistant(store=args.store)
    texts = {a: qa.article_text(a) or "" for a in qa.store.article_ids()}
    questions = [q for q in rq.load_questions(args.kit) if q.split == args.split]
    groups = rq.group_of(questions, texts)  # the eval's groups: "gold" has a gold page stored
    counts: Counter[str] = Counter()
    for q in (q for q in questions if groups[q.id] == "gold"):
        answer = qa.ask(q.question, as_of=f"{q.week[:4]}-{q.week[4:6]}-{q.week[6:]}")
        strict, _ = rq.score(q, answer)
        counts["strict hit" if strict else where(qa, q)] += 1
    print(f"{args.split}: {sum(counts.values())} gold questions")
    for key, value in counts.most_common():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
