"""Conversation: turning a follow-up ("and who apologised first?") into a standalone question.

With a language model configured, the model rewrites the follow-up from the history. Without
one, a documented rule: a follow-up that leans on what came before (it starts with "and", "but",
"what about"…, uses a pronoun such as he/she/they/their/it/this, or names almost nothing itself)
is searched together with the previous question, whose names and topic it borrows.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

_LEANS_ON_HISTORY = re.compile(
    r"^\W*(and|but|so|also|then|what about|how about|same for)\b"
    r"|\b(he|she|it|they|them|their|theirs|his|her|hers|its|him|this|that|these|those|there|the latter|the former)\b",
    re.IGNORECASE)

REWRITE_PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation. Keep its meaning, "
    "replace pronouns with the names they refer to, add nothing else. Reply with the rewritten question only.")


def leans_on_history(question: str) -> bool:
    from caucasus_qa.extractive import terms

    return bool(_LEANS_ON_HISTORY.search(question)) or len(terms(question)) < 2


def condense(question: str, history: Sequence[str], rewrite: Callable[[str], str] | None = None) -> str:
    """The question to search with: ``question`` itself, or a standalone version of it."""
    previous = [h for h in history if h and h.strip()]
    if not previous or not leans_on_history(question):
        return question
    if rewrite is not None:
        convo = "\n".join(f"User: {h}" for h in previous[-3:]) + f"\nUser: {question}"
        rewritten = rewrite(f"{convo}\n\n{REWRITE_PROMPT}").strip().strip('"').splitlines()
        if rewritten and 3 <= len(rewritten[0]) <= 400:
            return rewritten[0]
    return f"{question} {previous[-1]}"
