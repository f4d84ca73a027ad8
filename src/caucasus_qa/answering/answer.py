"""Answers and citations: the objects every face (CLI, UI, notebooks, eval) receives.

A citation is only ever shown if its quote stands verbatim in the stored article at its
offsets (:func:`verify`); the engine drops any claim whose citation fails the check.
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from caucasus_qa.articles.dates import shown

ABSTAIN_TEXT = "The articles don't cover this."
CONFLICT_TEXT = "The articles give different accounts."  # opens an answer whose sources disagree


@dataclass(frozen=True)
class Citation:
    """A verbatim quote from a stored article, with where it stands and who published it."""

    n: int
    quote: str
    article_id: str
    title: str | None
    outlet: str | None
    published: str | None
    author: str | None
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def source_line(self) -> str:
        """ "Outlet, 2025-07-05" (or what is known of it; a month as "March 2025")."""
        parts = [self.outlet or "outlet unknown", shown(self.published) or "date unknown"]
        return ", ".join(parts)

    @property
    def attribution(self) -> str | None:
        """ "According to <outlet> (<date>)", else "According to “<title>”"; None when the page
        names neither: an id or a file name means nothing to a reader (issue 3.2)."""
        who = self.outlet or (f"“{self.title}”" if self.title else None)
        if who is None:
            return None
        return f"According to {who} ({shown(self.published)})" if self.published else f"According to {who}"


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer: ``text`` stands verbatim in citation ``cite``'s quote at ``start:end``
    (offsets within the quote), so a face can highlight it inside the highlighted quote."""

    text: str
    cite: int
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def holds(self, citation: Citation) -> bool:
        """The span is ``citation``'s and stands in its quote at its offsets."""
        return (
            citation.n == self.cite
            and 0 <= self.start < self.end <= len(citation.quote)
            and citation.quote[self.start : self.end] == self.text
        )


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the citations (by number) that back it."""

    text: str
    cites: tuple[int, ...]


@dataclass
class Answer:
    """What ``Assistant.ask`` returns.

    ``text`` carries ``[n]`` markers that refer to ``citations``; ``related`` are the closest
    passages shown when the answer abstains (never presented as an answer).
    """

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    conflict: bool = False
    score: float = 0.0
    backend: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    standalone: str | None = None  # the follow-up rewritten from the conversation, when it was one
    model: str | None = None  # the language model, for generative backends
    dropped: int = 0  # generated sentences removed because their quotes did not support them
    evidence: list[Citation] = field(default_factory=list)  # the numbered sources a language model read
    store_version: int | None = None  # the store version answered from (its lexicon): the same answer again
    span: AnswerSpan | None = None  # the short answer inside one quote (the reader's), when there is one

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``caucasus-qa ask --json``."""
        return {
            "question": self.question,
            "answer": self.text,
            "short_answer": self.span.to_dict() if self.span else None,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
            "conflict": self.conflict,
            "score": round(self.score, 4),
            "backend": self.backend,
            "model": self.model,
            "dropped_sentences": self.dropped,
            "standalone": self.standalone,
            "notes": self.notes,
            "evidence": [c.to_dict() for c in self.evidence],
            "store_version": self.store_version,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        lines = [f"**{escape_markdown(self.question)}**", "", escape_markdown(self.text), ""]
        title = "Related passages (not an answer)" if self.abstained else "Sources"
        cites = self.related if self.abstained else self.citations
        if cites:
            lines.append(f"*{title}*")
            lines.append("")
        for c in cites:
            source = f"*{escape_markdown(c.title or c.article_id)}*, {escape_markdown(c.source_line)}"
            lines.append(f"{c.n}. > {escape_markdown(c.quote)}  \n   — {source}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cites = self.related if self.abstained else self.citations
        label = "Related passages (not an answer)" if self.abstained else "Sources"
        items = "".join(
            f"<li><blockquote>{html.escape(c.quote)}</blockquote><small>{html.escape(c.title or c.article_id)}"
            f" — {html.escape(c.source_line)}</small></li>"
            for c in cites
        )
        style = "color:#666;font-style:italic" if self.abstained else ""
        return (
            f"<div><p><b>{html.escape(self.question)}</b></p><p style='{style}'>{html.escape(self.text)}</p>"
            + (f"<p>{label}</p><ol>{items}</ol>" if cites else "")
            + "</div>"
        )


def escape_markdown(text: str) -> str:
    """Escape Markdown so article text renders as text (no links, no HTML)."""
    out = html.escape(text, quote=False)
    for ch in "\\`*_{}[]()#+-!|>":
        out = out.replace(ch, "\\" + ch)
    return out


def verify(citation: Citation, article_text: str | None) -> bool:
    """The quote stands verbatim in the article at its offsets."""
    return (
        article_text is not None
        and 0 <= citation.start < citation.end <= len(article_text)
        and article_text[citation.start : citation.end] == citation.quote
    )


@runtime_checkable
class Answerer(Protocol):
    """An answer backend (extractive, or a language model's): turns a question and the retrieved
    passages into draft answers, final one last; the engine verifies every quote they carry."""

    name: str

    def stream(self, question: str, passages: Sequence[Any], **context: Any) -> Iterator[Answer]: ...


T = TypeVar("T")


def final(drafts: Iterable[T]) -> T:
    """The last item of a stream of drafts: the finished answer."""
    tail = deque(drafts, maxlen=1)  # runs the stream to its end, keeping only the last
    if not tail:
        raise ValueError("the answer stream yielded nothing")
    return tail[0]
