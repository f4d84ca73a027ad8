"""The names a sentence gives, and how well each fits what a question asks for.

A which/who/where question asks for a name of a kind: "which streaming platform …?", "which
automaker …?", "who …?". The sentence that restates the question's premise shares most of its
words; the one that answers it names something of the asked-for kind that the question does not.
No named-entity tagger ships with its weights on the registries this project installs from
(spaCy does, its English models do not), and ``places.py`` covers only countries and US states.
So the embedding model types the names: a name's vector lies nearer the asked-for noun's
("Netflix" and "streaming platform") than an unrelated name's does ("Monday", "Reuters"). The
fit is relative, scaled within each question's candidates, because raw cosines of short strings
differ between models and between nouns.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from caucasus_qa.text import MONTH_NUMBER, stopwords, terms

KEPT_VECTORS = 10_000  # names whose vectors NameVectors keeps (15 MB at 384 dimensions)

# A run of capitalised words ("Gulf of Mexico", "Red No. 3"): a name a which/who question may ask for.
NAME = re.compile(r"[A-Z][\w'’.&-]*(?:\s+(?:(?:of|the|de|du|al|and|for|No\.)\s+)?[A-Z0-9][\w'’.&-]*)*")

# "which streaming platform", "what kind of dog": the (at most two) words naming the asked-for kind.
_ASKED = re.compile(r"\b(?:which|what)\s+(?:type of\s+|kind of\s+|sort of\s+)?([\w'-]+)(?:\s+([\w'-]+))?", re.I)
_NOT_KINDS = {"happened", "happens", "happen"}  # "what happened to …": asks for an event, not a name
_WHO = re.compile(r"\bwho(?:m|se)?\b", re.I)
_WHERE = re.compile(r"\bwhere\b", re.I)


@lru_cache(maxsize=1)
def calendar_terms() -> frozenset[str]:
    """Month and weekday names as terms: capitalised, but never the name a question asks for."""
    days = "monday tuesday wednesday thursday friday saturday sunday"
    return frozenset(terms(" ".join(MONTH_NUMBER) + " " + days))


def names_in(text: str, asked: set[str]) -> set[str]:
    """The names a sentence mentions that the question does not, as stemmed term keys (a capital
    that only starts the sentence gives a common word, which spreads its votes thinly)."""
    return {key for key, _ in _names(text, asked)}


def _names(text: str, asked: set[str]) -> list[tuple[str, re.Match[str]]]:
    """(stemmed key, match) for each name in ``text`` that the question does not give."""
    out = []
    for m in NAME.finditer(text):
        key = " ".join(t for t in terms(m.group()) if t not in asked and t not in calendar_terms())
        if key:
            out.append((key, m))
    return out


def asked_for(question: str) -> str | None:
    """The kind of name a question asks for, in its own words ("streaming platform"), "person"
    for who-questions, "place" for where-questions; None when it asks for no name."""
    m = _ASKED.search(question)
    if m:
        words: list[str] = []
        for word in m.groups():
            if not word or word.lower() in stopwords() or word.lower() in _NOT_KINDS:
                break
            words.append(word)
        if words:
            return " ".join(words)
    if _WHO.search(question):
        return "person"
    if _WHERE.search(question):
        return "place"
    return None


def fits(question: str, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> list[float]:
    """For each text, how well its best new name fits what the question asks for: 0 for a fit no
    better than the median candidate of this question (or no name, or no asked-for kind, or a
    single candidate: nothing to tell it from), 1 for the best candidate. A capitalised common
    word that starts a sentence ("Analysts") is a candidate too: it seldom fits the asked-for
    kind, and leaving such words out loses the names that start sentences ("Netflix said …")."""
    kind = asked_for(question)
    if kind is None:
        return [0.0] * len(texts)
    asked = set(terms(question))
    found = [[m.group().rstrip(".") for _, m in _names(t, asked)] for t in texts]
    candidates = sorted({n for names in found for n in names})
    if not candidates:
        return [0.0] * len(texts)
    vectors = encode([kind, *candidates])
    similarity = dict(zip(candidates, vectors[1:] @ vectors[0], strict=True))
    values = np.fromiter(similarity.values(), dtype=np.float32)
    floor, top = float(np.median(values)), float(values.max())
    span = (top - floor) or 1.0
    return [max((max(0.0, (similarity[n] - floor) / span) for n in names), default=0.0) for names in found]


@dataclass
class NameVectors:
    """``encode`` with the vectors of the last ``size`` names kept: news names the same people,
    companies and places question after question. Written here because ``functools.lru_cache``
    caches one call at a time, and a question's new names are encoded in one batch."""

    encode: Callable[[list[str]], np.ndarray]
    size: int = KEPT_VECTORS
    _kept: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # the chat answers several at once

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._kept]
        vectors = dict(zip(missing, self.encode(missing), strict=True)) if missing else {}
        with self._lock:
            for text in texts:
                if text in self._kept:
                    self._kept.move_to_end(text)
                    vectors.setdefault(text, self._kept[text])
            self._kept.update(vectors)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return np.stack([vectors[t] for t in texts])
