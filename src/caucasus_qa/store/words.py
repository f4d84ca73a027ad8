"""The words of every stored chunk, kept beside the lexicon so the next version reuses them.

Why: a lexicon (BM25 and term statistics, ``lexicon.py``) is a function of every chunk's words.
Building it from the chunks reads and tokenizes the whole corpus: about a minute at 5,384 news
pages, most of it reading 85,205 chunks back from Chroma and stemming their words. An ingest
that adds a day's pages changes a few hundred chunks; with each chunk's BM25 tokens and distinct
terms saved (as integer ids, with their vocabularies) it reads and tokenizes only those, then
indexes the whole corpus from ids, which is the cheap part (docs/performance.md). The result is
the lexicon a full build gives (``test_lexicon.py`` compares them).

Written here because bm25s indexes a corpus at once and keeps no per-document tokens, and no kept
library holds tokenized documents for an incremental rebuild.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.text import terms

FILE_ARRAYS = "words.npz"
FILE_VOCAB = "words.json"
FILES = (FILE_ARRAYS, FILE_VOCAB)  # a machine's own cache: never shared through a server
# The modules whose code decides a chunk's words: a change to any makes the saved words stale.
WORD_MODULES = ("text", "lexicon", "words")


@cache
def fingerprint() -> str:
    """A digest of the code and library that turn a chunk into words."""
    import bm25s

    from caucasus_qa.store.sources import code_fingerprint

    return f"{code_fingerprint(WORD_MODULES)}-bm25s{bm25s.__version__}"


@dataclass
class Bags:
    """One bag of word ids per row, flat: row i holds ``flat[offsets[i]:offsets[i + 1]]``."""

    vocab: list[str]
    flat: np.ndarray  # int32 ids into vocab
    offsets: np.ndarray  # int64, rows + 1

    @classmethod
    def of(cls, rows: Sequence[Sequence[str]]) -> Bags:
        index: dict[str, int] = {}
        flat = [index.setdefault(w, len(index)) for row in rows for w in row]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in rows], out=offsets[1:])
        return cls(list(index), np.asarray(flat, dtype=np.int32), offsets)

    @classmethod
    def of_ids(cls, rows: Sequence[Sequence[int]], vocab: dict[str, int]) -> Bags:
        """Rows of ids into ``vocab`` (as bm25s tokenizes), without going through the words."""
        words = [""] * len(vocab)
        for w, i in vocab.items():
            words[i] = w
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in rows], out=offsets[1:])
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(offsets[-1]))
        return cls(words, flat, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def plus(self, other: Bags) -> Bags:
        """These rows, then ``other``'s, in one vocabulary."""
        index = {w: i for i, w in enumerate(self.vocab)}
        vocab = self.vocab + [w for w in other.vocab if w not in index]
        index.update({w: i for i, w in enumerate(vocab) if i >= len(self.vocab)})
        remap = np.asarray([index[w] for w in other.vocab], dtype=np.int32)
        flat = np.concatenate([self.flat, remap[other.flat] if len(other.flat) else other.flat])
        offsets = np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]])
        return Bags(vocab, flat, offsets)

    def take(self, rows: np.ndarray) -> Bags:
        """These rows, in this order, with only the words they use."""
        lengths = (self.offsets[1:] - self.offsets[:-1])[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        picked = np.repeat(self.offsets[:-1][rows] - offsets[:-1], lengths) + np.arange(offsets[-1])
        used, flat = np.unique(self.flat[picked], return_inverse=True)
        return Bags([self.vocab[i] for i in used], flat.astype(np.int32).reshape(-1), offsets)

    def rows(self) -> list[np.ndarray]:
        return np.split(self.flat, self.offsets[1:-1]) if len(self) else []

    def counts(self) -> dict[str, int]:
        """In how many rows each word appears (rows hold distinct words)."""
        counted = np.bincount(self.flat, minlength=len(self.vocab))
        return {w: int(c) for w, c in zip(self.vocab, counted) if c}


@dataclass
class ChunkWords:
    """Per chunk (``ids``, in the lexicon's row order): its BM25 tokens and its distinct terms."""

    ids: list[str]
    tokens: Bags
    terms: Bags

    @classmethod
    def of(cls, chunks: list, stemmer: Any, token_pattern: str, meta_keys: Sequence[str]) -> ChunkWords:
        """Tokenize stored chunks as the lexicon always has: BM25 over the embedded text (title
        and text), term statistics over the text and the metadata a question may name."""
        import bm25s
        from llama_index.core.schema import MetadataMode

        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in chunks]
        tokenized = bm25s.tokenize(texts, stopwords="english", stemmer=stemmer, token_pattern=token_pattern,
                                   show_progress=False, return_ids=True)  # fmt: skip
        tokens = Bags.of_ids(tokenized.ids, tokenized.vocab)
        described = (" ".join([n.text, *(n.metadata.get(k, "").replace("-", " ") for k in meta_keys)]) for n in chunks)
        return cls([n.node_id for n in chunks], tokens, Bags.of([sorted(set(terms(t))) for t in described]))

    def plus(self, other: ChunkWords) -> ChunkWords:
        return ChunkWords(self.ids + other.ids, self.tokens.plus(other.tokens), self.terms.plus(other.terms))

    def take(self, rows: np.ndarray) -> ChunkWords:
        return ChunkWords([self.ids[i] for i in rows], self.tokens.take(rows), self.terms.take(rows))

    def article_rows(self) -> dict[str, np.ndarray]:
        """Each article's rows (chunk ids are ``<article id>#<n>``)."""
        grouped: dict[str, list[int]] = {}
        for row, chunk_id in enumerate(self.ids):
            grouped.setdefault(chunk_id.rsplit("#", 1)[0], []).append(row)
        return {a: np.asarray(r, dtype=np.int64) for a, r in grouped.items()}

    def bm25_corpus(self) -> tuple[list[np.ndarray], dict[str, int]]:
        """What ``bm25s.BM25.index`` takes: each row's token ids and the vocabulary."""
        return self.tokens.rows(), {w: i for i, w in enumerate(self.tokens.vocab)}

    def save(self, folder: Path) -> None:
        arrays = {f"{name}_{part}": getattr(getattr(self, name), part)
                  for name in ("tokens", "terms") for part in ("flat", "offsets")}  # fmt: skip
        np.savez(folder / FILE_ARRAYS, **arrays)
        vocab = {"fingerprint": fingerprint(), "ids": self.ids, "tokens": self.tokens.vocab, "terms": self.terms.vocab}
        (folder / FILE_VOCAB).write_text(json.dumps(vocab), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ChunkWords | None:
        """The words saved in ``folder``, or None when there are none or they came from other code."""
        try:
            vocab = json.loads((folder / FILE_VOCAB).read_text(encoding="utf-8"))
            if vocab.get("fingerprint") != fingerprint():
                return None
            with np.load(folder / FILE_ARRAYS) as arrays:
                bags = {n: Bags(vocab[n], arrays[f"{n}_flat"], arrays[f"{n}_offsets"]) for n in ("tokens", "terms")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # missing, cut short, other format
            return None
        if any(len(b) != len(vocab["ids"]) for b in bags.values()):
            return None
        return cls(vocab["ids"], bags["tokens"], bags["terms"])
