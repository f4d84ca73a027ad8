"""The front door: one object that ingests, lists, retrieves and answers.

    >>> from caucasus_qa import Assistant
    >>> qa = Assistant()                      # the default store (vectorstore/)
    >>> a = qa.ask("Why did relations between Moscow and Baku sour in 2025?")
    >>> print(a.text)                         # sentences with [n] markers
    >>> a.citations[0].quote, a.citations[0].outlet, a.citations[0].published

The CLI, the chat UI and the eval all go through this class.
"""

from __future__ import annotations

import copy
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from caucasus_qa.answering.answer import Answer, Answerer, final
from caucasus_qa.answering.conversation import FollowUp, Turn, follow_up, turns
from caucasus_qa.articles.formats import Article
from caucasus_qa.errors import QuestionError, StoreError
from caucasus_qa.settings import Settings, load_settings
from caucasus_qa.store.collections import Store
from caucasus_qa.store.ingestion import IngestJob, IngestReport, ingest

MAX_QUESTION_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")  # terminal colour/title codes
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _invisible(ch: str) -> bool:
    """Zero-width, bidi and other format characters (Cf) and lone surrogates (Cs): dropped, so
    "wh\u200bat" reads "what" and a surrogate cannot reach the tokenizer."""
    return unicodedata.category(ch) in ("Cf", "Cs")


def clean_question(question: str) -> tuple[str, list[str]]:
    """Strip control, invisible and bidi characters and extra spaces; refuse empty, truncate
    over-long questions."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    head = question[: 4 * MAX_QUESTION_CHARS]  # cleaning all of a 100k-character paste is wasted work
    visible = "".join(ch for ch in head if not _invisible(ch))
    text = " ".join(_CONTROL.sub(" ", _ANSI.sub("", unicodedata.normalize("NFKC", visible))).split())
    if not text:
        raise QuestionError('empty question: ask something, e.g. caucasus-qa ask "Who mediated the agreement?"')
    if len(text) > MAX_QUESTION_CHARS or len(question) > len(head):
        return text[:MAX_QUESTION_CHARS], [f"question truncated to {MAX_QUESTION_CHARS:,} characters"]
    return text, []


def as_date(value: date | str | None) -> date | None:
    """``as_of`` as a date: a date, "YYYY-MM-DD" (or a longer ISO timestamp), or None."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QuestionError(f"as_of {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2025-07-05") from None


# Collaborators a caller may hand in (``Assistant(answerer=...)``, ``qa.using(...)``); the rest
# are built from settings on first use. DERIVED ones are rebuilt by ``using`` from the others.
# The embedding model and the judge are chosen by name through the settings (``embed_model=``,
# ``judge=`` are settings), so they are not among them.
COLLABORATORS = ("extractive", "chat_model", "answerer")
_DERIVED = ("judge", "answerer", "query_engine", "_extractive_engine")


class Assistant:
    """Questions answered from the stored articles, each claim with a verified quote.

    Collaborators are built from ``settings`` when first needed, or handed in: ``answerer``
    (any :class:`~caucasus_qa.answering.answer.Answerer`), ``extractive`` (the evidence scorer every
    backend uses), ``chat_model`` (a :class:`~caucasus_qa.answering.llm.ChatModel`).
    """

    settings: Settings
    store: Store

    def __init__(
        self,
        store: str | Path | None = None,
        chroma_url: str | None = None,
        *,
        settings: Settings | None = None,
        extractive: Any = None,
        chat_model: Any = None,
        answerer: Answerer | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(
            store=Path(store) if store else None, chroma_url=chroma_url, **overrides
        )
        self.store = Store(self.settings)
        self._lock = threading.Lock()
        self._job: IngestJob | None = None
        given = dict(extractive=extractive, chat_model=chat_model, answerer=answerer)
        self._given = {name for name, value in given.items() if value is not None}
        # cached_property reads the instance's __dict__ first: a collaborator put there is used as is
        self.__dict__.update({name: given[name] for name in self._given})

    def using(self, **collaborators: Any) -> Assistant:
        """A copy that shares this one's settings, store and loaded models, with the named
        collaborators replaced (see :data:`COLLABORATORS`); what is built from them (the judge,
        the answer backend, the query engines) is rebuilt unless it was handed in.

            >>> qa.using(extractive=dataclasses.replace(qa.extractive, threshold=0.3))
        """
        unknown = sorted(set(collaborators) - set(COLLABORATORS))
        if unknown:
            raise TypeError(f"using() takes {', '.join(COLLABORATORS)}; not {', '.join(unknown)}")
        twin = copy.copy(self)  # a new __dict__ holding the same collaborators
        for name in _DERIVED:
            if name not in self._given:
                twin.__dict__.pop(name, None)
        given = {name: value for name, value in collaborators.items() if value is not None}
        twin.__dict__.update(given)
        twin._given = self._given | set(given)
        return twin

    # -- collaborators, built on first use ----------------------------------------------
    @cached_property
    def embed_model(self):
        """Embeds questions (and a generated answer's sentences): the ONNX export when there is one."""
        from caucasus_qa.store.embedding import load_question_model

        return load_question_model(self.settings)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.embed_model.get_text_embedding_batch(texts), dtype=np.float32)

    def _embed_query(self, question: str) -> list[float]:
        return self.embed_model.get_query_embedding(question)

    def article_text(self, article_id: str) -> str | None:
        """The cleaned text of a stored article, the text every quote's offsets point into."""
        doc = self.store.article(article_id)
        return doc.text if doc is not None else None

    @cached_property
    def retriever(self):
        from caucasus_qa.answering.retrieval import HybridRetriever, Recency

        s = self.settings
        return HybridRetriever(
            self.store,
            self.embed_model,
            top_k=s.top_k,
            candidates=s.candidates,
            dense_weight=s.dense_weight,
            fusion=s.fusion,
            lexicon=self.lexicon,
            recency=Recency(s.recency_weight, s.recency_days, s.recency_present_weight, s.recency_present_days),
        )

    @cached_property
    def sentences(self):
        from caucasus_qa.articles.evidence import SentenceIndex

        return SentenceIndex(self.store, lambda a: self.article_text(a) or "")

    @cached_property
    def lexicon(self):
        """BM25 and term statistics of the store's current version (see ``lexicon.py``)."""
        from caucasus_qa.store.lexicon import LexiconCache

        return LexiconCache(self.store)

    def corpus_stats(self):
        return self.lexicon.get().stats

    @cached_property
    def extractive(self):
        from caucasus_qa.answering.abstention import MODELS
        from caucasus_qa.answering.extractive import ExtractiveAnswerer
        from caucasus_qa.answering.names import NameVectors

        return ExtractiveAnswerer(
            self.sentences,
            self.corpus_stats,
            self._metadata,
            threshold=self.settings.abstain_threshold,
            risk_model=MODELS[self.settings.abstain_model],
            encode=NameVectors(self._encode),
            reader=self.reader,
        )

    @cached_property
    def reader(self):
        """The reader (``reading/``) over the configured spaCy pipeline; None when it is off."""
        if self.settings.reader_model == "off":
            return None
        from caucasus_qa.answering.reading import Reader

        return Reader.default(self.settings.reader_model)

    @cached_property
    def chat_model(self):
        """The configured language model (None for the extractive default)."""
        from caucasus_qa.answering.llm import load_chat_model

        return load_chat_model(self.settings)

    @cached_property
    def answerer(self):
        """The answer backend named by ``settings.llm``; extractive unless a model is configured."""
        if self.chat_model is None:
            return self.extractive
        from caucasus_qa.answering.generative import GenerativeAnswerer

        return GenerativeAnswerer(
            self.extractive,
            self.chat_model,
            self.judge,
            max_tokens=self.settings.llm_max_tokens,
            unsupported=self.settings.unsupported,
            deadline_s=self.settings.llm_deadline_s,
        )

    @cached_property
    def judge(self):
        """The support judge (``settings.judge``): alignment by default, or the language model."""
        from caucasus_qa.answering.support import make_judge

        return make_judge(self.settings.judge, self._encode, self.chat_model if self.settings.judge == "llm" else None)

    def _metadata(self, article_id: str) -> dict[str, str]:
        doc = self.store.article(article_id)
        return dict(doc.metadata) if doc is not None else {}

    @cached_property
    def query_engine(self):
        """A LlamaIndex query engine: ``.query(q)`` gives a ``Response`` with the cited ``source_nodes``."""
        from caucasus_qa.answering.engine import GroundedQueryEngine

        return GroundedQueryEngine(
            retriever=self.retriever, answerer=self.answerer, text_of=self.article_text, embed_query=self._embed_query
        )

    # -- the verbs --------------------------------------------------------------------
    def _ready(self) -> None:
        self._not_written_elsewhere()
        self.store.refresh()
        if not len(self.store):  # a count, not a listing: this runs on every question
            self.store.check_schema()
            raise StoreError("no articles ingested yet: run caucasus-qa ingest")

    def _not_written_elsewhere(self) -> None:
        busy = self.store.ingesting_elsewhere()
        if busy:  # Chroma's embedded store cannot be read by one process while another writes it
            raise StoreError(
                f"another process (pid {busy}) is ingesting into this store: answers resume when it finishes. "
                "To answer during ingests, add articles through this process (the chat's upload box) "
                "or share a Chroma server (`chroma run`, then --chroma-url)"
            )

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        history: Sequence[Turn] = (),
        backend: str | None = None,
        as_of: date | str | None = None,
    ) -> Answer:
        """Answer from the articles, or abstain; every quote is checked against its article.

        ``history`` holds the conversation's earlier turns, each a question or a (question,
        answer text) pair: a follow-up that depends on them is rewritten into a standalone
        question before retrieval (see ``conversation.py``). With the answers, "he" can be
        resolved to the person the last answer named. ``as_of`` (a date or "YYYY-MM-DD"): answer
        as of that day, from pages published by then, the most recent preferred.
        """
        return final(self.stream(question, top_k=top_k, history=history, backend=backend, as_of=as_of))

    def stream(
        self,
        question: str,
        top_k: int | None = None,
        history: Sequence[Turn] = (),
        backend: str | None = None,
        as_of: date | str | None = None,
    ) -> Iterator[Answer]:
        """Like :meth:`ask`, yielding the answer as it grows (sentence by sentence), final one last.
        ``backend="extractive"`` answers extractively even when a language model is configured."""
        from caucasus_qa.answering.llm import LLMError

        text, notes = clean_question(question)
        day = as_date(as_of)
        self._check_top_k(top_k)
        self._ready()
        standalone, focus = self._standalone(text, history)
        engine = self._extractive_engine if backend == "extractive" else self.query_engine
        try:
            for answer, _ in engine.stream(standalone, top_k=top_k, focus=focus, as_of=day):
                yield self._finish(answer, text, standalone, notes)
        except LLMError as exc:
            if not self.settings.llm_fallback:
                raise
            answer, _ = self._extractive_engine.answer(standalone, top_k=top_k, focus=focus, as_of=day)
            yield self._finish(answer, text, standalone, notes + [f"{exc}; answered extractively instead"])

    def _check_top_k(self, top_k: int | None) -> None:
        if top_k is not None and not (isinstance(top_k, int) and 1 <= top_k <= self.settings.candidates):
            raise QuestionError(f"top_k must be a whole number from 1 to {self.settings.candidates} (candidates)")

    @staticmethod
    def _finish(answer: Answer, text: str, standalone: str, notes: list[str]) -> Answer:
        answer.question = text
        answer.standalone = standalone if standalone != text else None
        answer.notes[:0] = notes
        return answer

    def _standalone(self, text: str, history: Sequence[Turn]) -> FollowUp:
        from caucasus_qa.answering.llm import LLMError, complete

        previous = [(clean_question(q)[0], a) for q, a in turns(history)]
        rewrite = None
        if self.chat_model is not None:

            def rewrite(prompt: str) -> str:
                try:
                    return complete(self.chat_model, prompt, max_tokens=40)
                except LLMError:
                    return ""  # fall back to the rule-based rewrite

        return follow_up(text, previous, rewrite)

    @cached_property
    def _extractive_engine(self):
        from caucasus_qa.answering.engine import GroundedQueryEngine

        return GroundedQueryEngine(
            retriever=self.retriever, answerer=self.extractive, text_of=self.article_text, embed_query=self._embed_query
        )

    def retrieve(self, question: str, top_k: int | None = None, as_of: date | str | None = None) -> list:
        """Scored passages (LlamaIndex ``NodeWithScore`` with ``.dense`` and ``.bm25``)."""
        text, _ = clean_question(question)
        day = as_date(as_of)
        self._check_top_k(top_k)
        self._ready()
        retriever = self.retriever.dated(day)
        if top_k is not None:
            retriever = copy.copy(retriever)  # per-call top-k, thread-safe
            retriever.top_k = top_k
        return retriever.retrieve(self._query_bundle(text))

    def ingest(
        self, paths: Iterable[str | Path] | None = None, *, sync: bool = False, reset: bool = False
    ) -> IngestReport:
        """Ingest files or folders (default: the configured corpus); see ``caucasus-qa ingest``."""
        with self._lock:
            report = ingest(
                self.settings, [Path(p) for p in paths] if paths else None, sync=sync, reset=reset, store=self.store
            )
        self.sentences.clear()
        return report

    def ingest_in_background(self, paths: Iterable[str | Path]) -> IngestJob:
        """Start ingesting in a background thread and return at once; answering goes on meanwhile.
        One at a time per assistant: a second call while one runs is refused with its progress."""
        job = self._job
        if job is not None and job.running:
            raise StoreError(
                f"an ingest is already running ({job.done} of {job.total} articles): wait for it to finish"
            )
        files = [Path(p) for p in paths]
        self._job = IngestJob(lambda progress: self._ingest_with(files, progress))
        return self._job

    def _ingest_with(self, files: list[Path], progress: Any) -> IngestReport:
        with self._lock:
            report = ingest(self.settings, files, progress=progress, store=self.store)
        self.sentences.clear()
        return report

    @property
    def ingest_job(self) -> IngestJob | None:
        """The last ingest started with :meth:`ingest_in_background` (running or finished)."""
        return self._job

    def catalog(self, query: str = "", offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        """A page of the stored articles' metadata (no text), those whose title, outlet, author,
        date or id contain ``query`` (any case); and how many match in all."""
        self._not_written_elsewhere()
        self.store.refresh()
        rows = self.store.catalog()
        if query.strip():
            needle = query.strip().lower()
            fields = ("id", "title", "outlet", "author", "published")
            rows = [r for r in rows if any(needle in str(r.get(k) or "").lower() for k in fields)]
        return rows[offset : offset + limit], len(rows)

    def warm(self, max_articles: int = 500) -> None:
        """Load the model and build caches now, so the first question is as fast as the rest."""
        self.store.refresh()
        ids = self.store.article_ids()
        if not ids:
            return
        _ = self.embed_model  # loads the model
        self.retriever.retrieve(self._query_bundle("warm-up"))
        self.corpus_stats()
        self.sentences.warm(ids[:max_articles])

    def _query_bundle(self, text: str):
        from llama_index.core.schema import QueryBundle

        return QueryBundle(text, embedding=self._embed_query(text))

    def articles(self) -> list[Article]:
        """The stored articles with metadata and chunk counts (``.text`` is the cleaned text)."""
        self.store.refresh()
        return [a for a in map(self.store.stored_article, self.store.article_ids()) if a is not None]

    def article(self, article_id: str) -> Article | None:
        return self.store.stored_article(article_id)
