"""Conversation: turning a follow-up ("and who apologised first?") into a standalone question.

The history is the earlier turns: each a question, or a (question, answer text) pair. With a
language model configured, the model rewrites the follow-up from the history; a rewrite that no
longer asks the follow-up (see :func:`faithful`) is replaced by the rule. Without one, a
documented rule: a follow-up that leans on what came before (it starts with "and", "but",
"what about"…, uses a pronoun such as he/she/they/their/it/this, or names almost nothing itself)
is searched together with the previous question, whose names and topic it borrows; and a
"he"/"she" is replaced by the full name the previous answer added (:func:`answered_name`: "Who is
the ambassador?" → "…Rahman Mustafayev…" → "When did he protest?" becomes "When did Rahman
Mustafayev protest?").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from caucasus_qa.text import MONTH_NAMES, name_terms, stopwords, terms

Turn = str | tuple[str, str]  # a question, or a question and the answer's text

_LEANS_ON_HISTORY = re.compile(
    r"^\W*(and|but|so|also|then|what about|how about|same for)\b"
    r"|\b(he|she|it|they|them|their|theirs|his|her|hers|its|him|this|that|these|those|there|the latter|the former)\b",
    re.IGNORECASE,
)

REWRITE_PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation. Keep its meaning, "
    "replace pronouns with the names they refer to, add nothing else. Reply with the rewritten question only."
)


def leans_on_history(question: str) -> bool:
    return bool(_LEANS_ON_HISTORY.search(question)) or len(terms(question)) < 2


class FollowUp(NamedTuple):
    """A question as the conversation makes it: what to ``search`` with, and the words an
    extractive answer must match (``focus``; None: the search text itself)."""

    search: str
    focus: str | None = None


def turns(history: Sequence[Turn]) -> list[tuple[str, str]]:
    """The non-empty turns as (question, answer text) pairs; a bare question has no answer."""
    pairs = [(h, "") if isinstance(h, str) else (str(h[0]), str(h[1] or "")) for h in history]
    return [(q.strip(), a.strip()) for q, a in pairs if q and q.strip()]


def turn(question: str, answer: Any) -> tuple[str, str]:
    """A finished turn as the history keeps it: an abstention says nothing about who "he" is."""
    return question, "" if answer.abstained else answer.text


_FULL_NAME = re.compile(r"\b([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)+)")
# "her" only where it stands for the person ("according to her"), not for "her country"
_PERSON_PRONOUN = re.compile(
    r"\b(he|she|him)\b|(?:(?<=\bto )|(?<=\bby )|(?<=\bof )|(?<=\bwith )|(?<=\babout )"
    r"|(?<=\bfor )|(?<=\bfrom ))her\b(?!\s+[a-z])",
    re.IGNORECASE,
)
_PLACE_CUES = {"the", "in", "to", "from", "at", "near", "of", "into", "across", "through"}


def answered_name(previous_question: str, answer: str) -> str | None:
    """The full name (two or more capitalised words) in ``answer`` that most likely answers the
    question before it: one the question did not hold, not a date or a place ("in the South
    Caucasus"); the first that follows a word of the question ("spokeswoman Maria Zakharova" for
    "which spokeswoman…?"), else the first. Who "he" or "she" is in the next question."""
    asked = set(terms(previous_question))
    text = re.sub(r"\[\d+\]", ".", answer)
    names: list[tuple[str, bool]] = []
    for m in _FULL_NAME.finditer(text):
        words = m.group(1).split()
        if words[0].lower() in stopwords():  # "The Lindenholm Herald", "On Monday": a capital, not a name
            words = words[1:]
        name = " ".join(words)
        before = text[: m.start()].split()[-3:]
        if (
            len(words) < 2
            or {w.lower() for w in words} & MONTH_NAMES
            or set(terms(name)) <= asked
            or (before and before[-1].lower() in _PLACE_CUES)
        ):
            continue
        names.append((name, bool(set(terms(" ".join(before))) & asked)))
    return next((n for n, introduced in names if introduced), names[0][0] if names else None)


def resolve_person(question: str, previous_question: str, answer: str) -> str | None:
    """``question`` with its first he/she/him (or a "her" after "to", "by"…) replaced by the
    person the previous answer named, or None when it has no such pronoun or the answer named
    nobody new."""
    pronoun = _PERSON_PRONOUN.search(question)
    name = answered_name(previous_question, answer) if pronoun and answer else None
    if not name or pronoun is None:
        return None
    return question[: pronoun.start()] + name + question[pronoun.end() :]


def follow_up(question: str, history: Sequence[Turn], rewrite: Callable[[str], str] | None = None) -> FollowUp:
    """``question`` itself, or a standalone version of it (a model's rewrite, else the rule).

    The rule searches with the previous question appended, which finds the right passages but
    would let an extractive answer match the previous question's words and answer it again: so a
    follow-up that names at least two content terms itself is answered on its own words (dev
    split follow-ups, extractive: 6/7 against 2/7 when answering the joined text).
    """
    previous = turns(history)
    if not previous or not leans_on_history(question):
        return FollowUp(question)
    said = [text for q, a in previous[-3:] for text in (q, a) if text]
    last_question, last_answer = previous[-1]
    resolved = resolve_person(question, last_question, last_answer)
    # A "he" the last answer names needs no model: the rule already names the person, and a second
    # model call cost 1-3 s per follow-up on 2 cores (dev split, Qwen2.5-Coder-1.5B, whose rewrites
    # were mostly refused anyway).
    if rewrite is not None and resolved is None:
        convo = "\n".join(f"User: {q}" + (f"\nAssistant: {_first_sentence(a)}" if a else "") for q, a in previous[-3:])
        rewritten = rewrite(f"{convo}\nUser: {question}\n\n{REWRITE_PROMPT}").strip().strip('"').splitlines()
        if rewritten and 3 <= len(rewritten[0]) <= 400 and faithful(question, said, rewritten[0]):
            return FollowUp(rewritten[0])
    # The resolved name goes into the search (and the model's question), not into the focus: an
    # extractive answer matching the name picks any sentence about that person (dev split: -2).
    return FollowUp(f"{resolved or question} {last_question}", question if len(set(terms(question))) >= 2 else None)


def _first_sentence(answer: str) -> str:
    """An answer's first sentence without its [n] markers: enough to say who or what it was
    about, and a short prompt (every token is read at ~80/s on 2 cores)."""
    return re.sub(r"\s*\[\d+\]", "", re.split(r"(?<=\])\s+", answer.strip(), maxsplit=1)[0])


def condense(question: str, history: Sequence[Turn], rewrite: Callable[[str], str] | None = None) -> str:
    """The question to search with: ``question`` itself, or a standalone version of it."""
    return follow_up(question, history, rewrite).search


_WH = re.compile(r"\b(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)


def faithful(question: str, previous: Sequence[str], rewritten: str, share: float = 0.5) -> bool:
    """Whether a model's rewrite still asks the follow-up: it keeps the follow-up's question word
    and at least ``share`` of its own content terms, and brings in no name or number that the
    conversation lacks. Small models often hand back the previous question, or invent a year
    (Qwen2.5-Coder-1.5B on the dev split's follow-ups: 6 of 7 rewrites failed this check); the rule does better."""
    wh = _WH.search(question)
    if wh and not re.search(rf"\b{wh.group(1)}\b", rewritten, re.IGNORECASE):
        return False
    own = set(terms(question))
    if own and len(own & set(terms(rewritten))) / len(own) < share:
        return False
    return not name_terms(rewritten) - set(terms(" ".join([*previous, question])))
