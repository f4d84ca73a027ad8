"""The grounded query engine: retrieve → answer → verify every quote → compose the text.

It is a LlamaIndex ``CustomQueryEngine``, so ``engine.query(q)`` returns a ``Response`` whose
``source_nodes`` are the passages the answer cites and whose ``metadata["answer"]`` is the
:class:`~caucasus_qa.answering.answer.Answer`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import QueryBundle

from caucasus_qa.answering.answer import ABSTAIN_TEXT, CONFLICT_TEXT, Answer, Answerer, Citation, Claim, final, verify
from caucasus_qa.answering.retrieval import HybridRetriever


def keep_verified(answer: Answer, text_of: Callable[[str], str | None]) -> Answer:
    """Drop claims whose citations fail the verbatim check; renumber what is left."""
    good = {c.n for c in answer.citations if verify(c, text_of(c.article_id))}
    dropped = len(answer.citations) - len(good)
    claims = [cl for cl in answer.claims if set(cl.cites) <= good]  # uncited = flagged as unsupported
    if not any(cl.cites for cl in claims):
        claims = []
    # numbered in reading order: a streamed answer that grows by a sentence keeps its earlier numbers
    kept_ns = list(dict.fromkeys(n for cl in claims for n in cl.cites))
    renumber = {old: new for new, old in enumerate(kept_ns, start=1)}
    citations = sorted((replace(c, n=renumber[c.n]) for c in answer.citations if c.n in renumber), key=lambda c: c.n)
    claims = [Claim(cl.text, tuple(renumber[n] for n in cl.cites)) for cl in claims]
    span = answer.span if answer.span is not None and answer.span.cite in renumber else None
    span = replace(span, cite=renumber[span.cite]) if span is not None else None
    if span is not None and not any(span.holds(c) for c in citations):
        span = None  # a short answer is shown only where it stands verbatim in its quote
    related = [c for c in answer.related if verify(c, text_of(c.article_id))]
    notes = answer.notes + ([f"{dropped} quote(s) failed verification and were removed"] if dropped else [])
    if not answer.abstained and not claims:
        return replace(
            answer, text=ABSTAIN_TEXT, abstained=True, citations=[], claims=[], related=related, notes=notes, span=None
        )
    return replace(answer, citations=citations, claims=claims, related=related, notes=notes, span=span)


def compose(answer: Answer) -> Answer:
    """The answer text: each claim followed by its ``[n]`` markers."""
    if answer.abstained:
        return replace(answer, text=answer.text or ABSTAIN_TEXT)
    body = " ".join(f"{cl.text} {''.join(f'[{n}]' for n in cl.cites)}".strip() for cl in answer.claims)
    if answer.span is not None:  # the short answer first, then the quote that states it
        body = f"{answer.span.text} — {body}"
    return replace(answer, text=f"{CONFLICT_TEXT} {body}" if answer.conflict else body)


class GroundedQueryEngine(CustomQueryEngine):
    """Hybrid retrieval, an answer backend, and verification of every quote."""

    retriever: BaseRetriever
    answerer: Answerer
    text_of: Callable[[str], str | None]
    embed_query: Callable[[str], list[float]]

    def _retrieve(
        self, question: str, top_k: int | None, as_of: date | None = None
    ) -> tuple[dict[str, Any], list, dict[str, float], int | None]:
        """The answer step's context (the question's vector, the term statistics retrieval used),
        the passages, timings, and the store version they are of."""
        t0 = time.perf_counter()
        bundle = QueryBundle(question, embedding=self.embed_query(question))
        t1 = time.perf_counter()
        retriever = self.retriever
        if top_k is not None and top_k != getattr(retriever, "top_k", top_k):
            retriever = copy.copy(retriever)  # per-call top-k without touching the shared retriever
            retriever.top_k = top_k  # type: ignore[attr-defined]  # the retriever has one (checked above)
        if as_of is not None:
            retriever = retriever.dated(as_of)  # type: ignore[attr-defined]  # HybridRetriever's
        context: dict[str, Any] = dict(q_emb=bundle.embedding, as_of=as_of)
        version = None
        if isinstance(retriever, HybridRetriever):  # one store version per question, retrieval to answer
            held = retriever.lexicon.get()
            retriever, context["stats"], version = retriever.holding(held), held.stats, held.version
        passages = retriever.retrieve(bundle)
        return context, passages, {"embed": (t1 - t0) * 1e3, "retrieve": (time.perf_counter() - t1) * 1e3}, version

    def stream(
        self, question: str, top_k: int | None = None, focus: str | None = None, as_of: date | None = None
    ) -> Iterator[tuple[Answer, list]]:
        """Verified partial answers as they grow (generative backends), then the final answer.
        ``focus``: for a follow-up searched with its context, the words the answer must match;
        ``as_of``: the date the question is asked as of (see ``retrieval.py``)."""
        started = time.perf_counter()
        context, passages, timings, version = self._retrieve(question, top_k, as_of)
        t2 = time.perf_counter()
        if focus:
            context.update(focus=focus, focus_emb=self.embed_query(focus))
        for draft in self.answerer.stream(question, passages, **context):
            t3 = time.perf_counter()
            answer = compose(keep_verified(draft, self.text_of))
            answer.store_version = version
            answer.timings_ms = {
                **draft.timings_ms,
                **timings,
                "answer": (t3 - t2) * 1e3,
                "verify": (time.perf_counter() - t3) * 1e3,
                "total": (time.perf_counter() - started) * 1e3,
            }
            yield answer, [p for p in passages if any(_covers(p, c) for c in answer.citations)]

    def answer(
        self, question: str, top_k: int | None = None, focus: str | None = None, as_of: date | None = None
    ) -> tuple[Answer, list]:
        return final(self.stream(question, top_k, focus, as_of))

    def custom_query(self, query_str: str) -> Response:
        answer, sources = self.answer(query_str)
        return Response(response=answer.text, source_nodes=sources, metadata={"answer": answer})


def _covers(passage: Any, citation: Citation) -> bool:
    node = passage.node
    return (
        passage.article_id == citation.article_id
        and (node.start_char_idx or 0) <= citation.start
        and citation.end <= (node.end_char_idx or 0)
    )
