"""Boilerplate removal speed on made-up pages of 0.5, 5 and 50 MB (issue 2.4: cleaning must stay
linear), plus one 5 MB page that is a single line. Run alone:

    .venv/bin/python scripts/clean_speed.py

Prints one line per size: seconds and seconds per MB.
"""

from __future__ import annotations

import random
import time

from caucasus_qa.articles.boilerplate import clean_page

WORDS = "the council approved a new budget for the harbour ferry on Monday after long debate".split()
CHROME = ["Share on Facebook", "Read more", "Follow us on Twitter", "Copyright © 2025.", "12 comments"]


def page(megabytes: float, seed: int = 1) -> str:
    """Paragraphs of 5–120 words with a chrome line every twentieth paragraph or so."""
    rng, parts, size = random.Random(seed), [], 0
    while size < megabytes * 1e6:
        para = rng.choice(CHROME) if rng.random() < 0.05 else " ".join(rng.choices(WORDS, k=rng.randint(5, 120))) + "."
        parts.append(para)
        size += len(para) + 2
    return "\n\n".join(parts)


def main() -> None:
    cases = [(f"{mb:g} MB of paragraphs", page(mb)) for mb in (0.5, 5, 50)]
    cases.append(("5 MB on one line", "word " * 1_000_000))
    for name, text in cases:
        start = time.perf_counter()
        clean_page(text)
        took = time.perf_counter() - start
        print(f"{name}: {took:.1f} s, {took / (len(text) / 1e6):.2f} s/MB")


if __name__ == "__main__":
    main()
