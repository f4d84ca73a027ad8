"""Ingestion: articles → chunks → embeddings → store, incremental and safe to interrupt.

Only new or changed articles are embedded (their content hash is compared with the stored
one). LlamaIndex's ``IngestionPipeline`` chunks and embeds them in small batches into the
chunk collection; the sentence vectors follow, and each article's own record is written last.
An article with a record is therefore complete: a killed run loses at most one batch, and the
vectors it left for articles without a record are deleted before they are written again, so
the next run completes without duplicates. Nothing is rewritten whole: each batch adds records.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caucasus_qa import offline
from caucasus_qa.articles.formats import Article, Skip, Unread, read_articles, to_document
from caucasus_qa.errors import CaucasusQAError, StoreError, explain
from caucasus_qa.settings import Settings
from caucasus_qa.store.collections import INGEST_PID, Store, parts_tag
from caucasus_qa.store.collections import chunk_id as tagged_chunk_id
from caucasus_qa.store.embedding import export_question_model
from caucasus_qa.store.lexicon import save_for as save_lexicon
from caucasus_qa.store.sources import Sources, decode, encode, file_of

TOKENIZER = "cl100k_base"


@dataclass
class IngestReport:
    """What one ingest run did; ``failed`` lists bad inputs (the CLI exits 1 if any)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    relabelled: int = 0  # updated articles whose new metadata needed no new vectors
    chunks_total: int = 0
    articles_total: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Skip]:
        return [s for s in self.skipped if s.failed]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "chunks_embedded": self.chunks_embedded,
            "sentences_embedded": self.sentences_embedded,
            "chunks_total": self.chunks_total,
            "articles_total": self.articles_total,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
            "skipped": [{"path": s.path, "reason": s.reason, "failed": s.failed} for s in self.skipped],
        }


def chunk_id(i: int, doc) -> str:
    """Chunk ids tagged with what they were embedded from (``store.chunk_id``): an update's new
    chunks are written beside the old ones, which the record counts until it is switched."""
    return tagged_chunk_id(doc.node_id, i, parts_tag(doc))


def token_counter() -> Callable[[str], list[int]]:
    offline.apply()  # tiktoken reads its BPE files from llama-index-core's bundled cache
    import tiktoken

    return tiktoken.get_encoding(TOKENIZER).encode


def splitter(settings: Settings):
    """Sentence-respecting chunks measured in tiktoken tokens."""
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        tokenizer=token_counter(),
        id_func=chunk_id,
    )


def embed_sentences(store: Store, docs: Sequence, embed: Any, tags: dict[str, str | None] | None = None) -> int:
    """Split each article into sentences and store their vectors: what the answer step scores,
    computed here once so that answering a question never encodes an article. Stored under each
    article's ``tags`` entry (default: the tag of the version being written). Returns how many
    sentences were embedded."""
    import numpy as np

    from caucasus_qa.articles.evidence import split_sentences

    split = {doc.id_: split_sentences(doc.id_, doc.text) for doc in docs}
    texts = {doc.id_: doc.text for doc in docs}
    tags = tags if tags is not None else {doc.id_: parts_tag(doc) for doc in docs}
    # News pages repeat lines (promos, bylines, datelines): about 7% of a batch's sentences in
    # the RealTime QA kit. Each distinct text is embedded once.
    unique = list(dict.fromkeys(s.text for sentences in split.values() for s in sentences))
    row = {text: i for i, text in enumerate(unique)}
    vectors = np.asarray(embed.get_text_embedding_batch(unique) if unique else [], dtype=np.float32)
    for article_id, sentences in split.items():
        spans = [(s.start, s.end) for s in sentences]
        chosen = vectors[[row[s.text] for s in sentences]] if sentences else vectors[:0]
        store.put_sentences(article_id, spans, chosen, text=texts[article_id], tag=tags[article_id])
    return len(unique)


def _embedder(store: Store) -> Any:
    from caucasus_qa.store.embedding import load_embed_model

    return load_embed_model(store.settings.embed_model, store.settings.embed_batch_size)


def _pipeline(store: Store, late: bool = False):
    """Chunk and embed into the store; with ``late``, chunk only (``_late_batch`` embeds)."""
    from llama_index.core.ingestion import IngestionPipeline

    if late:
        return IngestionPipeline(transformations=[splitter(store.settings)], disable_cache=True)
    embed = _embedder(store)
    return IngestionPipeline(
        transformations=[splitter(store.settings), embed], vector_store=store.vector_store, disable_cache=True
    )


def _late(store: Store) -> bool:
    """Whether this store's sentences are pooled from the chunk pass (``pooling``): as the store
    was built, and only for a model that pools by the mean."""
    from caucasus_qa.store.pooling import LATE, supports

    return store.sentence_vectors == LATE and supports(_embedder(store)._model)


def _late_batch(store: Store, nodes: list, batch: Sequence) -> int:
    """Embed ``nodes`` once, store them and their articles' sentences pooled from that pass;
    returns how many sentence vectors were stored."""
    from caucasus_qa.store.pooling import pool

    pooled = pool(_embedder(store)._model, nodes, {d.id_: d.text for d in batch}, store.settings.embed_batch_size)
    for node, vector in zip(nodes, pooled.chunks, strict=True):
        node.embedding = vector.tolist()
    if nodes:
        store.vector_store.add(nodes)
    for doc in batch:  # the offsets ``pool`` split the text at
        store.put_sentences(
            doc.id_, pooled.spans[doc.id_], pooled.sentences[doc.id_], text=doc.text, tag=parts_tag(doc)
        )
    return sum(len(v) for v in pooled.sentences.values())


def _classify(store: Store, docs: Sequence, report: IngestReport) -> list:
    """Sort documents into added / updated / unchanged by the stored content hashes. An update
    of metadata alone (not the text or title, which are embedded) is stored in place here."""
    from caucasus_qa.store.collections import embedded_hash

    todo = []
    stored = store.hashes([d.id_ for d in docs])
    changed = [d for d in docs if stored.get(d.id_) not in (None, d.hash)]
    embedded = store.embedded_hashes([d.id_ for d in changed])
    for doc in docs:
        known = stored.get(doc.id_)
        if known is None:
            report.added.append(doc.id_)
        elif known == doc.hash:
            report.unchanged.append(doc.id_)
            continue
        else:
            report.updated.append(doc.id_)
            if embedded.get(doc.id_) == embedded_hash(doc) and store.relabel(doc):
                report.relabelled += 1
                continue
        todo.append(doc)
    if report.relabelled:
        store.persist()
        report.notes.append(f"updated the metadata of {report.relabelled} articles in place (nothing re-embedded)")
    return todo


Progress = bool | Callable[[int, int], None]  # a bar on stderr, or a callback given (done, total) articles


# Free disk a batch needs before it starts. Chroma fails a write on a full disk midway and then
# cannot even answer until space is freed (its log cannot be applied), so an ingest stops first.
# A store takes ~60 bytes of disk per byte of article text (150 kit pages: 78 MB for 1.3 MB of
# text, scripts/ab_ingest.py); 100x leaves room, and Chroma's compaction wants scratch space.
DISK_PER_TEXT_BYTE = 100
DISK_RESERVE_MB = 20


def check_space(store: Store, batch: Sequence) -> None:
    """Refuse to start a batch the disk may not hold (embedded stores; a server has its own disk)."""
    if store.settings.chroma_url:
        return
    free = shutil.disk_usage(store.settings.store).free
    need = DISK_RESERVE_MB * 1_000_000 + DISK_PER_TEXT_BYTE * sum(len(d.text.encode("utf-8")) for d in batch)
    if free < need:
        raise StoreError(
            f"the disk is nearly full ({free / 1e6:.0f} MB free where {store.settings.store} is; the next "
            f"{len(batch)} articles need about {need / 1e6:.0f} MB): free some space and run the same command "
            "again (what was stored is kept and answers)"
        )


STOP_POINTS = ("embedding", "vectors", "sentences", "records")


def stop_at(point: str, offset: int) -> None:
    """Fault injection for the kill -9 tests (docs/reliability.md): with CAUCASUS_QA_STOP_AT set to
    ``point``, the ingest announces it on stderr at that point of its second batch and waits there
    to be killed. "embedding": before the batch's vectors (nothing of it written); "vectors": its
    chunks written, nothing else; "sentences": chunks and sentence vectors, no records; "records":
    one article record written, the batch's others not. Otherwise one lookup per batch."""
    if os.environ.get("CAUCASUS_QA_STOP_AT") == point and offset > 0:
        print(f"stopped at {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


def batch_size(batch_docs: int, todo: int) -> int:
    """Articles per batch: at most ``batch_docs``, and about 20 batches for a small ingest, so
    that its progress moves and a stopped ingest keeps most of its work."""
    return max(1, min(batch_docs, math.ceil(todo / 20)))


def _embed_batches(store: Store, todo: list, report: IngestReport, progress: Progress) -> None:
    from tqdm.auto import tqdm

    tell = progress if callable(progress) else (lambda done, total: None)
    tell(0, len(todo))
    if not todo:
        return
    late = _late(store)
    pipeline = _pipeline(store, late)
    size = batch_size(store.settings.batch_docs, len(todo))
    updated = set(report.updated)  # the articles whose previous sentence record goes once replaced
    bar_on = progress is True
    with tqdm(total=len(todo), desc="Embedding articles", unit="article", disable=not bar_on, leave=False) as bar:
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            check_space(store, batch)
            previous = {d.id_: store.sentence_record_id(d.id_) for d in batch if d.id_ in updated}
            stop_at("embedding", start)
            nodes = pipeline.run(documents=batch)  # same ids as before for the same text: overwritten
            if late:
                report.sentences_embedded += _late_batch(store, nodes, batch)
            stop_at("vectors", start)
            if not late:
                report.sentences_embedded += embed_sentences(store, batch, _embedder(store))
            stop_at("sentences", start)
            per_article = Counter(n.ref_doc_id for n in nodes)
            for doc in batch:  # last: an article with a record has all its chunks and sentences
                store.put_article(doc, per_article[doc.id_], parts_tag(doc))
                stop_at("records", start if doc is batch[0] else 0)
            store.forget_except([d.id_ for d in batch], {n.node_id for n in nodes})  # what they no longer have
            store.forget_sentences([old for a, old in previous.items() if old != store.sentence_record_id(a)])
            store.persist()
            report.chunks_embedded += len(nodes)
            bar.update(len(batch))
            tell(min(start + size, len(todo)), len(todo))


def _backfill_sentences(store: Store, unchanged: list, report: IngestReport) -> None:
    """Sentence vectors for unchanged articles of a store built before they were stored."""
    missing = set(store.without_sentences([d.id_ for d in unchanged]))
    todo = [d for d in unchanged if d.id_ in missing]
    tags = {d.id_: store.parts(d.id_) for d in todo}  # under the ids their records count
    for start in range(0, len(todo), store.settings.batch_docs):
        report.sentences_embedded += embed_sentences(store, todo[start : start + store.settings.batch_docs],
                                                     _embedder(store), tags)  # fmt: skip
    if todo:
        store.persist()


def reembed(store: Store, article_ids: list[str]) -> IngestReport:
    """Chunk and embed these stored articles again from their stored text and metadata (the
    record is the truth: ``caucasus-qa check --repair`` uses this for incomplete articles)."""
    report = IngestReport()
    docs = [to_document(a) for a in map(store.stored_article, article_ids) if a is not None]
    report.updated = [d.id_ for d in docs]
    _embed_batches(store, docs, report, progress=False)
    return report


def _read(store: Store, paths: list[Path], report: IngestReport) -> tuple[list[Article], Sources]:
    """The articles of ``paths`` (skips go to the report), leaving unchanged files unread."""
    max_bytes = int(store.settings.max_file_mb * 1e6)
    stored = {p: (sig, decode(arts)) for p, (sig, arts) in store.source_records().items()}
    complete: set[str] = set()  # stored articles with their sentence vectors (else: read, to backfill them)
    if stored:
        ids = store.article_ids()
        complete = set(ids) - set(store.without_sentences(ids))
    sources = Sources(max_bytes, stored, complete)
    articles: list[Article] = []
    for item in read_articles(paths, max_bytes, sources.unread):
        if isinstance(item, Unread):
            sources.unread_ids += [article_id for article_id, _ in item.articles]
            continue
        sources.note(item)
        if isinstance(item, Article):
            articles.append(item)
        else:
            report.skipped.append(item)
    if sources.unread_files:
        n = sources.unread_files
        report.notes.append(f"{n} file{'s' if n > 1 else ''} unchanged since an earlier ingest: not read again")
    if sources.resumed_files:
        n = sources.resumed_files
        plural = "s" if n > 1 else ""
        report.notes.append(f"{n} JSONL file{plural} read from where the last ingest stopped (new lines only)")
    return articles, sources


def _sync(store: Store, keep: set[str], paths: list[Path], report: IngestReport) -> None:
    """Delete stored articles that came from under ``paths`` but were not read from there this
    time (file gone, or JSONL line removed); articles from anywhere else are left alone."""
    roots = [Path(p).expanduser().resolve() for p in paths]
    for article_id in store.article_ids():
        if article_id in keep:
            continue
        doc = store.article(article_id)
        source_path = doc.metadata.get("source_path", "") if doc is not None else ""
        source = Path(file_of(source_path)) if source_path else None
        if source is not None and any(source == root or root in source.parents for root in roots):
            store.delete_article(article_id)
            report.deleted.append(article_id)
    store.persist()


def ingest(
    settings: Settings,
    paths: Iterable[Path] | None = None,
    *,
    reset: bool = False,
    sync: bool = False,
    progress: Progress = False,
    store: Store | None = None,
) -> IngestReport:
    """Ingest files or folders (default: the configured corpus) into the store. ``progress``: True
    for a bar on stderr, or a function called with (articles done, articles to embed).

    >>> report = ingest(load_settings(), [Path("ingest/articles")])   # doctest: +SKIP
    >>> report.added, report.chunks_total                               # doctest: +SKIP
    """
    from filelock import FileLock, Timeout

    started = time.perf_counter()
    paths = list(paths) if paths else [settings.corpus]
    settings.store.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.store / ".ingest.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreError(f"another ingest is writing to {settings.store}: wait for it to finish") from None
    pid_file = settings.store / INGEST_PID  # readers in other processes wait for it to go (Store.ingesting_elsewhere)
    try:
        pid_file.write_text(str(os.getpid()))
        return _ingest_locked(settings, paths, reset, sync, progress, store, started)
    finally:
        pid_file.unlink(missing_ok=True)
        lock.release()


def _ingest_locked(settings, paths, reset, sync, progress, store, started) -> IngestReport:
    store = store or Store(settings)
    report = IngestReport()
    if reset:
        store.reset()
    store.check_schema()
    store.check_chunking()
    if store.unrecorded():  # a killed run's finished articles: make them part of a version
        store.persist()
    moved = store.migrate_sentences()
    if moved:
        report.notes.append(f"packed the stored sentence vectors of {moved} articles (nothing re-embedded)")
        store.persist()
    articles, sources = _read(store, paths, report)
    docs = [to_document(a) for a in articles]
    _embed_batches(store, _classify(store, docs, report), report, progress)
    unchanged = set(report.unchanged)
    _backfill_sentences(store, [d for d in docs if d.id_ in unchanged], report)
    if sources.read:
        done = sources.finished(set(store.article_ids()))
        store.put_sources({path: (sig, encode(arts)) for path, (sig, arts) in done.items()})
    report.unchanged += sources.unread_ids
    if sync:
        missing = [s for s in report.skipped if s.reason == "no such file or folder"]
        if missing:
            report.notes.append("not removing anything (--sync): some paths do not exist")
        else:
            keep = {a.id for a in articles} | {s.article_id for s in report.skipped if s.article_id}
            _sync(store, keep | set(sources.unread_ids), paths, report)
    save_lexicon(store)  # BM25 and term statistics of the new version: built here, not on a question
    export_question_model(settings, only_if_loaded=True)  # so the next process answers without torch
    report.articles_total = len(store)
    report.chunks_total = store.collection.count()
    report.seconds = time.perf_counter() - started
    return report


class IngestJob:
    """An ingest running in a background thread (the chat's uploads): its progress while it runs,
    then its report, or the error that stopped it (one line, as the CLI would print it)."""

    def __init__(self, run: Callable[[Callable[[int, int], None]], IngestReport]) -> None:
        self.done = 0
        self.total = 0
        self.report: IngestReport | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True, name="caucasus-qa-ingest")
        self._thread.start()

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _run(self, run: Callable[[Callable[[int, int], None]], IngestReport]) -> None:
        try:
            self.report = run(self._progress)
        except CaucasusQAError as exc:
            self.error = str(exc)
        except Exception as exc:  # a disk full or a store gone is one line; a bug is logged, not lost
            known = explain(exc)
            self.error = str(known) if known else f"ingest failed ({type(exc).__name__}); see the server log"
            if known is None:
                raise

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> IngestReport | None:
        self._thread.join(timeout)
        return self.report
