"""Store integrity: is every article complete, is nothing left over, does every offset still hold?

``check`` reads the three collections once and lists what is wrong; ``repair`` deletes leftovers
(chunks and sentence records of articles that have no record, chunks past an article's count)
and embeds again, from the stored article text, what an article lacks. An article's record is
written last at ingest, so its text and metadata are the truth the rest is checked against.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from caucasus_qa.store import Store


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
        }


def _chunks_by_article(store: Store) -> dict[str, list[int]]:
    """Chunk numbers per article id, from the chunk ids ("<article>#<n>")."""
    found: dict[str, list[int]] = defaultdict(list)
    for chunk_id in store.all_ids(store.collection):
        article_id, _, n = chunk_id.rpartition("#")
        found[article_id].append(int(n) if n.isdigit() else -1)
    return found


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
    articles = {a: int(store.article(a).metadata.get("chunks", 0)) for a in store.article_ids()}
    chunks = _chunks_by_article(store)
    sentence_ids = set(store.all_ids(store.sentence_collection))
    report = CheckReport(len(articles), sum(len(v) for v in chunks.values()), len(sentence_ids))
    report.findings += _settings_findings(store)
    for article_id, numbers in sorted(chunks.items()):
        extra = [n for n in numbers if article_id not in articles or not 0 <= n < articles[article_id]]
        if extra:
            report.findings.append(Finding("orphan-chunks", article_id, f"{len(extra)} chunks with no article record"))
    for article_id in sorted(sentence_ids - set(articles)):
        report.findings.append(Finding("orphan-sentences", article_id, "sentences with no article record"))
    for article_id, count in sorted(articles.items()):
        have = set(chunks.get(article_id, []))
        if missing := [n for n in range(count) if n not in have]:
            report.findings.append(Finding("missing-chunks", article_id, f"{len(missing)} of {count} chunks missing"))
        elif article_id not in sentence_ids:
            report.findings.append(Finding("missing-sentences", article_id, "no sentence vectors"))
        elif offsets:
            report.findings += _offset_findings(store, article_id)
    return report


def repair(store: Store, report: CheckReport) -> CheckReport:
    """Fix what ``check`` found: leftovers deleted, incomplete articles embedded again from their
    stored text (nothing else is touched). Settings mismatches cannot be repaired: rebuild."""
    from caucasus_qa.ingestion import reembed

    articles = set(store.article_ids())
    chunks = _chunks_by_article(store)
    for f in report.findings:
        if f.kind == "orphan-chunks":
            count = int(store.article(f.article_id).metadata.get("chunks", 0)) if f.article_id in articles else 0
            numbers = chunks.get(f.article_id, [])
            store.collection.delete(ids=[f"{f.article_id}#{n}" for n in numbers if not 0 <= n < count])
        elif f.kind == "orphan-sentences":
            store.sentence_collection.delete(ids=[f.article_id])
    broken = sorted({f.article_id for f in report.findings if f.kind in ("missing-chunks", "missing-sentences",
                                                                         "bad-offsets")})  # fmt: skip
    reembed(store, broken)
    store.persist()
    report.repaired = [str(f) for f in report.findings if f.kind != "settings"]
    return report
