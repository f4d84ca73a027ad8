"""Conversation: turning a follow-up ("and who apologised first?") into a standalone question.

With a language model configured, the model rewrites the follow-up from the history; a rewrite
that no longer asks the follow-up (see :func:`faithful`) is replaced by the rule. Without one, a
documented rule: a follow-up that leans on what came before (it starts with "and", "but",
"what about"…, uses a pronoun such as he/she/they/their/it/this, or names almost nothing itself)
is searched together with the previous question, whose names and topic it borrows.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Sequence

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


class FollowUp(NamedTuple):
    """A question as the conversation makes it: what to ``search`` with, and the words an
    extractive answer must match (``focus``; None: the search text itself)."""

    search: str
    focus: str | None = None


def follow_up(question: str, history: Sequence[str], rewrite: Callable[[str], str] | None = None) -> FollowUp:
    """``question`` itself, or a standalone version of it (a model's rewrite, else the rule).

    The rule searches with the previous question appended, which finds the right passages but
    would let an extractive answer match the previous question's words and answer it again: so a
    follow-up that names at least two content terms itself is answered on its own words (dev
    split follow-ups, extractive: 6/7 against 2/7 when answering the joined text).
    """
    from caucasus_qa.extractive import terms

    previous = [h for h in history if h and h.strip()]
    if not previous or not leans_on_history(question):
        return FollowUp(question)
    if rewrite is not None:
        convo = "\n".join(f"User: {h}" for h in previous[-3:]) + f"\nUser: {question}"
        rewritten = rewrite(f"{convo}\n\n{REWRITE_PROMPT}").strip().strip('"').splitlines()
        if rewritten and 3 <= len(rewritten[0]) <= 400 and faithful(question, previous[-3:], rewritten[0]):
            return FollowUp(rewritten[0])
    return FollowUp(f"{question} {previous[-1]}", question if len(set(terms(question))) >= 2 else None)


def condense(question: str, history: Sequence[str], rewrite: Callable[[str], str] | None = None) -> str:
    """The question to search with: ``question`` itself, or a standalone version of it."""
    return follow_up(question, history, rewrite).search


_WH = re.compile(r"\b(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)


def faithful(question: str, previous: Sequence[str], rewritten: str, share: float = 0.5) -> bool:
    """Whether a model's rewrite still asks the follow-up: it keeps the follow-up's question word
    and at least ``share`` of its own content terms, and brings in no name or number that the
    conversation lacks. Small models often hand back the previous question, or invent a year
    (Qwen2.5-Coder-1.5B on the dev split's follow-ups: 6 of 7 rewrites failed this check); the rule does better."""
    from caucasus_qa.extractive import name_terms, terms

    wh = _WH.search(question)
    if wh and not re.search(rf"\b{wh.group(1)}\b", rewritten, re.IGNORECASE):
        return False
    own = set(terms(question))
    if own and len(own & set(terms(rewritten))) / len(own) < share:
        return False
    return not name_terms(rewritten) - set(terms(" ".join([*previous, question])))
