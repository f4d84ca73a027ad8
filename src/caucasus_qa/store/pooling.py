"""Late chunking: each chunk read once by the embedding model, and its sentences' vectors pooled
from the token states of that same pass (Günther et al. 2024, arXiv:2409.04701).

Why: a sentence vector of its own is a second forward pass over every sentence, about 45% of the
word pieces ingest runs through the model (issue 3.3); pooled from its chunk's pass it costs a
mean over a few rows. Each sentence also reads its passage ("the construction" in a bike-lane
story is about the bike lanes). The chunk's vector is the mean over all its tokens, as
sentence-transformers pools it. A sentence cut by a chunk boundary takes its tokens from the chunk
that holds most of it; one whose tokens fell past the model's length limit is embedded alone.

Written here: sentence-transformers gives token states and the tokenizer gives character offsets,
but no kept library pools a sub-span of a text by character offsets (LlamaIndex and
sentence-transformers pool whole texts only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# How a store's sentence vectors were made (recorded on the store, named by ``check``; the
# setting's choices are ``settings.SENTENCE_VECTORS``).
OWN, LATE = "own", "late"
# What ``check`` says of each.
BUILT = {OWN: "own (each sentence embedded in a pass of its own)", LATE: "late (pooled from its chunk's pass)"}


@dataclass
class Pooled:
    """One batch's vectors: per node (in order) its chunk vector; per article its sentences'
    vectors in ``split_sentences`` order."""

    chunks: list[np.ndarray] = field(default_factory=list)
    sentences: dict[str, np.ndarray] = field(default_factory=dict)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # per article: the sentences' offsets
    alone: int = 0  # sentences embedded on their own (past the model's length limit)


def supports(model: Any) -> bool:
    """Whether ``model`` (a SentenceTransformer) pools by the mean, so that its chunk vector is the
    mean of the token states pooled here; other pipelines keep sentence vectors of their own."""
    from caucasus_qa.store.encoder import PIPELINES

    kinds = [type(m).__name__ for m in model]
    return kinds in PIPELINES and (
        getattr(model[1], "pooling_mode", None) == "mean" or getattr(model[1], "pooling_mode_mean_tokens", False)
    )


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.clip(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12, None)


def token_states(model: Any, texts: Sequence[str], batch_size: int) -> tuple[list[np.ndarray], list[list[tuple]]]:
    """Each text's token states (special tokens included, padding left out) and each token's
    character offsets in the text, cut at the model's length limit as the model cuts."""
    states = model.encode(list(texts), output_value="token_embeddings", batch_size=batch_size, show_progress_bar=False)
    cut = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length, return_offsets_mapping=True)
    return [np.asarray(s.cpu().numpy() if hasattr(s, "cpu") else s, dtype=np.float32) for s in states], [
        list(o) for o in cut["offset_mapping"]
    ]


def _best_node(span: tuple[int, int], nodes: Sequence[tuple[int, int, int]]) -> int | None:
    """The node (index, start, end in the article) holding most of ``span``; None if none does."""
    best, most = None, 0
    for i, start, end in nodes:
        overlap = min(span[1], end) - max(span[0], start)
        if overlap > most:
            best, most = i, overlap
    return best


def pool(model: Any, nodes: Sequence[Any], texts: dict[str, str], batch_size: int = 16) -> Pooled:
    """Chunk vectors of ``nodes`` (LlamaIndex nodes of the articles in ``texts``, offsets into
    them) and their articles' sentence vectors, from one pass over the chunks' embedded text."""
    from llama_index.core.schema import MetadataMode

    from caucasus_qa.articles.evidence import split_sentences

    contents = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    states, offsets = token_states(model, contents, batch_size)
    out = Pooled(chunks=[_unit(s.mean(axis=0)) for s in states])
    by_article: dict[str, list[tuple[int, int, int]]] = {}
    for i, n in enumerate(nodes):
        by_article.setdefault(n.ref_doc_id, []).append((i, n.start_char_idx or 0, n.end_char_idx or 0))
    alone: list[tuple[str, int, str]] = []
    width = states[0].shape[1] if states else int(model.get_sentence_embedding_dimension())
    for article_id, text in texts.items():
        sentences = split_sentences(article_id, text)
        rows = np.zeros((len(sentences), width), dtype=np.float32)
        spans = by_article.get(article_id, [])
        for k, s in enumerate(sentences):
            vector = _sentence_vector((s.start, s.end), spans, nodes, contents, states, offsets)
            if vector is None:
                alone.append((article_id, k, s.text))
            else:
                rows[k] = vector
        out.sentences[article_id] = rows
        out.spans[article_id] = [(s.start, s.end) for s in sentences]
    if alone:
        vectors = model.encode([t for _, _, t in alone], batch_size=batch_size, show_progress_bar=False)
        for (article_id, k, _), v in zip(alone, _unit(np.asarray(vectors, dtype=np.float32)), strict=True):
            out.sentences[article_id][k] = v
        out.alone = len(alone)
    return out


def _sentence_vector(
    span: tuple[int, int],
    spans: Sequence[tuple[int, int, int]],
    nodes: Sequence[Any],
    contents: Sequence[str],
    states: Sequence[np.ndarray],
    offsets: Sequence[list[tuple]],
) -> np.ndarray | None:
    """The mean of the token states of ``span`` (offsets in the article) in the chunk that holds
    most of it; None where no chunk holds a token of it."""
    i = _best_node(span, spans)
    if i is None:
        return None
    node_start = nodes[i].start_char_idx or 0
    base = len(contents[i]) - len(nodes[i].text)  # the embedded text is the title's line, then the chunk
    lo = base + max(span[0], node_start) - node_start
    hi = base + min(span[1], nodes[i].end_char_idx or 0) - node_start
    rows = [t for t, (a, b) in enumerate(offsets[i]) if b > a and a >= lo and b <= hi and t < len(states[i])]
    return _unit(states[i][rows].mean(axis=0)) if rows else None
