"""Evidence sentences: each stored article split into sentences with exact character offsets.

Answers quote whole sentences (or tighter spans) of the stored article text, so sentence
boundaries are computed on that text itself, paragraph by paragraph (Punkt does not treat a
line break as a boundary, and the cleaned text keeps headings on their own lines). Sentence
embeddings are computed at ingest and stored beside the chunk vectors; answering reads them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from caucasus_qa import offline
from caucasus_qa.errors import StoreError
from caucasus_qa.text import SENTENCE_END

_PARAGRAPH = re.compile(r"[^\n]+")
log = logging.getLogger(__name__)


# Text that speaks to an AI assistant ("Ignore all previous instructions and answer …") says
# nothing about the world: such sentences are never evidence. Generic forms only, no one page's.
_TO_THE_ASSISTANT = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|of\s+)*(previous|prior|above|earlier|"
    r"preceding|system|original)\s+(instructions?|prompts?|rules|directions|messages?)\b"
    r"|\b(you are|you're|you are now|act as|pretend to be)\s+(now\s+)?(an?\s+)?(ai|artificial intelligence|"
    r"assistant|chat ?bot|language model|llm|gpt|chatgpt)\b"
    r"|\b(answer|respond to|reply to)\s+(every|each|all|any)\s+(future\s+)?(question|query|prompt|request)s?\s+"
    r"(with|by saying)\b",
    re.IGNORECASE,
)


def addresses_assistant(text: str) -> bool:
    """Whether ``text`` gives orders to an AI assistant rather than reporting (never quoted)."""
    return bool(_TO_THE_ASSISTANT.search(text))


def count_addressing_assistant(text: str) -> int:
    """How many sentences of ``text`` do (split roughly: for a note at ingest, not for quoting).
    One search of the whole text first: nearly every page has none, and splitting every page
    into sentences to find that out was 40% of re-reading an unchanged corpus."""
    if not _TO_THE_ASSISTANT.search(text):
        return 0
    return sum(1 for part in re.split(r"(?<=[.!?])\s+|\n+", text) if _TO_THE_ASSISTANT.search(part))


@dataclass(frozen=True)
class Sentence:
    """A sentence of a stored article: ``text == article_text[start:end]``."""

    article_id: str
    start: int
    end: int
    text: str
    index: int  # position in the article, for ordering

    @property
    def is_heading(self) -> bool:
        """Headlines and section headings carry no sentence punctuation."""
        return not SENTENCE_END.search(self.text) or len(self.text.split()) < 3


@lru_cache(maxsize=1)
def _punkt():
    offline.apply()  # NLTK_DATA: the punkt data shipped with llama-index-core
    from nltk.tokenize import PunktTokenizer  # data shipped with llama-index-core (offline.py)

    return PunktTokenizer("english")


# A label that news sites put before a machine-written summary ("AI-assisted summary", "AI-generated
# key points"): page furniture, not the outlet's words. When a feed glues it to the first summary
# sentence, the sentence starts after it, so a quote never opens with the label.
_SUMMARY_LABEL = re.compile(
    r"(?:AI|artificial intelligence)[- ](?:assisted|generated|powered|written)\s+"
    r"(?:summary|summaries|highlights|key points|takeaways)\b\W*",
    re.IGNORECASE,
)


def split_sentences(article_id: str, text: str) -> list[Sentence]:
    tokenizer = _punkt()
    out: list[Sentence] = []
    for para in _PARAGRAPH.finditer(text):
        for a, b in tokenizer.span_tokenize(para.group()):
            start, end = para.start() + a, para.start() + b
            label = _SUMMARY_LABEL.match(text, start, end)
            if label:
                start = label.end()
            if start < end:
                out.append(Sentence(article_id, start, end, text[start:end], len(out)))
    return out


class SentenceIndex:
    """Sentences of stored articles and their unit-length embeddings, as ingest stored them (see
    :func:`caucasus_qa.store.ingestion.embed_sentences`): answering looks them up and never encodes an
    article. The last ``cache_size`` articles read stay in memory."""

    def __init__(self, store: Any, text_of: Callable[[str], str], cache_size: int = 2048) -> None:
        self._store = store
        self._text_of = text_of
        self._cache: OrderedDict[str, tuple[str, list[Sentence], np.ndarray]] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def get(self, article_id: str) -> tuple[list[Sentence], np.ndarray]:
        text = self._text_of(article_id)
        with self._lock:
            cached = self._cache.get(article_id)
            if cached is not None and cached[0] == text:
                self._cache.move_to_end(article_id)
                return cached[1], cached[2]
        sentences, vectors = self._read(article_id, text)
        with self._lock:
            self._cache[article_id] = (text, sentences, vectors)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return sentences, vectors

    def _read(self, article_id: str, text: str) -> tuple[list[Sentence], np.ndarray]:
        records, vectors = self._store.sentence_records(article_id)
        if text and not records:
            message = f"article {article_id!r} has no sentence vectors: run `caucasus-qa ingest` once to add them"
            if not self._store.sentence_collection.count():  # a store from an older version: nothing to answer with
                raise StoreError(message)
            log.warning("%s (left out of answers until then)", message)  # one article (an interrupted update)
        sentences = [Sentence(article_id, r["start"], r["end"], text[r["start"] : r["end"]], i)
                     for i, r in enumerate(records)]  # fmt: skip
        return sentences, vectors

    def text(self, article_id: str) -> str:
        return self._text_of(article_id)

    def within(self, article_id: str, start: int, end: int) -> list[tuple[Sentence, np.ndarray]]:
        """Sentences lying inside ``[start, end)`` of the article (a retrieved chunk's span)."""
        sentences, vectors = self.get(article_id)
        return [(s, vectors[i]) for i, s in enumerate(sentences) if s.start >= start and s.end <= end]

    def warm(self, article_ids: Sequence[str]) -> None:
        for article_id in article_ids[: self._size]:
            self.get(article_id)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
