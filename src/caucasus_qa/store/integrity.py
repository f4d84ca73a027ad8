"""Store integrity: is every article complete, is nothing left over, does every offset still hold?

``check`` reads the three collections once and lists what is wrong; ``repair`` deletes leftovers
(chunks and sentence records no article record counts: of an article without a record, past its
count, or of a version its record does not count, as an update killed before its record was
switched leaves them) and embeds again, from the stored article text, what an article lacks. An
article's record is written last at ingest, so its text and metadata are the truth the rest is
checked against.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from caucasus_qa.articles.metadata import coverage
from caucasus_qa.store.collections import Store


@dataclass
class Finding:
    """One thing wrong: its kind, the article it concerns, and what to say about it."""

    kind: str  # orphan-chunks, orphan-sentences, missing-chunks, missing-sentences, bad-offsets, settings
    article_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.article_id}: {self.detail}"


@dataclass
class CheckReport:
    """Counts and findings of one check (``ok`` when nothing was found)."""

    articles: int = 0
    chunks: int = 0
    sentence_records: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    metadata: dict[str, int] = field(default_factory=dict)  # how many lack a title, outlet, date (not findings)
    sentence_vectors: str = "own"  # how the store was built (``pooling``)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "articles": self.articles,
            "chunks": self.chunks,
            "sentence_records": self.sentence_records,
            "findings": [vars(f) for f in self.findings],
            "repaired": self.repaired,
            "metadata": self.metadata,
            "sentence_vectors": self.sentence_vectors,
        }


def _by_article(ids: list[str], tail: re.Pattern[str]) -> dict[str, set[str]]:
    """Chunk or sentence-record ids per article: the article id is what precedes the last "#"
    when ``tail`` matches what follows it; otherwise (an untagged sentence record) the id itself."""
    found: dict[str, set[str]] = defaultdict(set)
    for i in ids:
        article_id, _, rest = i.rpartition("#")
        found[article_id if article_id and tail.fullmatch(rest) else i].add(i)
    return found


_CHUNK_TAIL = re.compile(r"\d+(?:\.[0-9a-f]{12})?")  # "<n>", "<n>.<tag>"
_SENTENCE_TAIL = re.compile(r"[0-9a-f]{12}")  # "<tag>"


@dataclass
class _Parts:
    """What the store holds against what its article records count."""

    chunks: dict[str, set[str]]  # chunk ids per article, as stored
    sentences: dict[str, set[str]]  # sentence-record ids per article, as stored
    counted: dict[str, tuple[set[str], str]]  # per recorded article: the chunk ids and sentence id it counts

    @classmethod
    def of(cls, store: Store) -> _Parts:
        counted = {a: (set(store.chunk_ids(a)), store.sentence_record_id(a)) for a in store.article_ids()}
        return cls(_by_article(store.all_ids(store.collection), _CHUNK_TAIL),
                   _by_article(store.all_ids(store.sentence_collection), _SENTENCE_TAIL), counted)  # fmt: skip

    def orphan_chunks(self, article_id: str) -> set[str]:
        return self.chunks.get(article_id, set()) - self.counted.get(article_id, (set(), ""))[0]

    def orphan_sentences(self, article_id: str) -> set[str]:
        return self.sentences.get(article_id, set()) - {self.counted.get(article_id, (set(), ""))[1]}


def _settings_findings(store: Store) -> list[Finding]:
    meta, want = store.collection.metadata or {}, store.expected_metadata()
    return [
        Finding("settings", "-", f"{key} is {meta.get(key)!r} in the store, {want[key]!r} in the settings")
        for key in ("embed_model", "chunk_size", "chunk_overlap")
        if meta.get(key) not in (None, want[key])
    ]


def _offset_findings(store: Store, article_id: str) -> list[Finding]:
    """Every chunk's text and every sentence span must stand at its offsets in the article."""
    text = store.article(article_id).text
    bad = [
        n.node_id
        for n in store.chunks(article_id)
        if text[n.start_char_idx or 0 : n.end_char_idx or 0] != n.get_content()
    ]
    records, vectors = store.sentence_records(article_id)
    spans = [r for r in records if not 0 <= r["start"] < r["end"] <= len(text)]
    out = [Finding("bad-offsets", article_id, f"chunk {c} is not at its offsets in the article") for c in bad]
    if spans or len(vectors) != len(records):
        out.append(Finding("bad-offsets", article_id, f"{len(spans)} sentence spans outside the article"))
    elif text.strip() and not records:  # a record exists (checked by the caller) but not for this text
        out.append(Finding("bad-offsets", article_id, "sentence vectors were cut from another text"))
    return out


def check(store: Store, offsets: bool = True) -> CheckReport:
    """Everything wrong with the store; ``offsets`` also re-reads every chunk and sentence span."""
    parts = _Parts.of(store)
    report = CheckReport(len(parts.counted), sum(map(len, parts.chunks.values())),
                         sum(map(len, parts.sentences.values())))  # fmt: skip
    report.findings += _settings_findings(store)
    report.metadata = coverage(store.catalog())
    report.sentence_vectors = store.sentence_vectors
    for article_id in sorted(parts.chunks):
        if extra := parts.orphan_chunks(article_id):
            detail = f"{len(extra)} chunks no article record counts"
            report.findings.append(Finding("orphan-chunks", article_id, detail))
    for article_id in sorted(parts.sentences):
        if parts.orphan_sentences(article_id):
            report.findings.append(Finding("orphan-sentences", article_id, "sentences no article record counts"))
    for article_id, (chunk_ids, sentences) in sorted(parts.counted.items()):
        if missing := chunk_ids - parts.chunks.get(article_id, set()):
            report.findings.append(
                Finding("missing-chunks", article_id, f"{len(missing)} of {len(chunk_ids)} chunks missing")
            )
        elif sentences not in parts.sentences.get(article_id, set()):
            report.findings.append(Finding("missing-sentences", article_id, "no sentence vectors"))
        elif offsets:
            report.findings += _offset_findings(store, article_id)
    return report


def repair(store: Store, report: CheckReport) -> CheckReport:
    """Fix what ``check`` found: leftovers deleted, incomplete articles embedded again from their
    stored text (nothing else is touched). Settings mismatches cannot be repaired: rebuild."""
    from caucasus_qa.store.ingestion import reembed

    parts = _Parts.of(store)
    for f in report.findings:
        if f.kind == "orphan-chunks":
            store.collection.delete(ids=sorted(parts.orphan_chunks(f.article_id)))
        elif f.kind == "orphan-sentences":
            store.forget_sentences(sorted(parts.orphan_sentences(f.article_id)))
    broken = sorted({f.article_id for f in report.findings if f.kind in ("missing-chunks", "missing-sentences",
                                                                         "bad-offsets")})  # fmt: skip
    reembed(store, broken)
    store.persist()
    report.repaired = [str(f) for f in report.findings if f.kind != "settings"]
    return report
