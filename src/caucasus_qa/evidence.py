"""Evidence sentences: each stored article split into sentences with exact character offsets.

Answers quote whole sentences (or tighter spans) of the stored article text, so sentence
boundaries are computed on that text itself, paragraph by paragraph (Punkt does not treat a
line break as a boundary, and the cleaned text keeps headings on their own lines). Sentence
embeddings are computed once per article and kept in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from caucasus_qa import offline
from caucasus_qa.text import SENTENCE_END

_PARAGRAPH = re.compile(r"[^\n]+")


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


def split_sentences(article_id: str, text: str) -> list[Sentence]:
    tokenizer = _punkt()
    out: list[Sentence] = []
    for para in _PARAGRAPH.finditer(text):
        for a, b in tokenizer.span_tokenize(para.group()):
            start, end = para.start() + a, para.start() + b
            out.append(Sentence(article_id, start, end, text[start:end], len(out)))
    return out


class SentenceIndex:
    """Sentences and their unit-length embeddings, per article, computed on first use.

    Embeddings are also saved under ``cache_dir`` (keyed by a hash of the article text and the
    model), so a new process answers its first question without re-encoding articles.
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        text_of: Callable[[str], str],
        cache_dir: Path | None = None,
        model: str = "",
    ) -> None:
        self._encode = encode
        self._text_of = text_of
        self._dir = cache_dir
        self._model = model
        self._cache: dict[str, tuple[str, list[Sentence], np.ndarray]] = {}
        self._lock = threading.Lock()

    def get(self, article_id: str) -> tuple[list[Sentence], np.ndarray]:
        text = self._text_of(article_id)
        cached = self._cache.get(article_id)
        if cached is not None and cached[0] == text:
            return cached[1], cached[2]
        with self._lock:
            sentences = split_sentences(article_id, text)
            vectors = self._load_or_encode(article_id, text, sentences)
            self._cache[article_id] = (text, sentences, vectors)
        return sentences, vectors

    def _load_or_encode(self, article_id: str, text: str, sentences: list[Sentence]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, 1), dtype=np.float32)
        key = hashlib.sha1(f"{self._model}\0{text}".encode()).hexdigest()
        path = self._dir / f"{hashlib.sha1(article_id.encode()).hexdigest()}.npz" if self._dir else None
        if path is not None and path.is_file():
            try:
                with np.load(path) as data:
                    if str(data["key"]) == key and len(data["vectors"]) == len(sentences):
                        return data["vectors"]
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is recomputed below
        vectors = self._encode([s.text for s in sentences])
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
                np.savez(tmp, key=np.array(key), vectors=vectors)
                os.replace(tmp, path)
            except OSError:
                pass  # a read-only store still answers, just without the cache
        return vectors

    def text(self, article_id: str) -> str:
        return self._text_of(article_id)

    def within(self, article_id: str, start: int, end: int) -> list[tuple[Sentence, np.ndarray]]:
        """Sentences lying inside ``[start, end)`` of the article (a retrieved chunk's span)."""
        sentences, vectors = self.get(article_id)
        return [(s, vectors[i]) for i, s in enumerate(sentences) if s.start >= start and s.end <= end]

    def warm(self, article_ids: Sequence[str]) -> None:
        for article_id in article_ids:
            self.get(article_id)

    def clear(self) -> None:
        self._cache.clear()
