"""Articles: reading files of any supported type into cleaned text plus metadata.

Each input file gives zero or more :class:`Article` objects, or a :class:`Skip` that says in
one line why it was not ingested. Reading never raises for a bad file: the rest of a batch
must still go through.
"""

from __future__ import annotations

import codecs
import json
import os
import tomllib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

from caucasus_qa.articles.boilerplate import CleanPage, clean_page, metadata_flaw, normalize
from caucasus_qa.articles.dates import normal
from caucasus_qa.articles.metadata import HTML_DATE_PARAMS, Facts, front_matter, html_facts, merge, url_facts

TEXT_TYPES = {".txt", ".md", ".markdown"}
HTML_TYPES = {".html", ".htm"}
JSONL_TYPES = {".jsonl"}
SUPPORTED = TEXT_TYPES | HTML_TYPES | JSONL_TYPES
SIDECAR_SUFFIX = ".meta.toml"
MANIFEST = "manifest.toml"
META_KEYS = ("title", "outlet", "published", "author", "url")


@dataclass(frozen=True)
class Article:
    """One cleaned article, ready to be chunked and stored."""

    id: str
    text: str
    title: str | None = None
    outlet: str | None = None
    published: str | None = None
    author: str | None = None
    url: str | None = None
    source_path: str = ""
    date_note: str | None = None
    notes: tuple[str, ...] = field(default=())
    chunks: int = 0  # filled in when read back from the store

    def metadata(self) -> dict[str, str]:
        """Flat metadata for the store (no None values: Chroma rejects them)."""
        values = asdict(self)
        values.pop("text")
        values.pop("chunks")
        values["notes"] = "; ".join(self.notes)
        values["article_id"] = values.pop("id")
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def to_document(article: Article):
    """The article as a LlamaIndex Document (what the store writes): its id is the article id, and
    only the title is embedded with the text."""
    from llama_index.core import Document

    meta = article.metadata()
    return Document(
        id_=article.id,
        text=article.text,
        metadata=meta,
        excluded_embed_metadata_keys=[k for k in meta if k != "title"],
        excluded_llm_metadata_keys=[k for k in meta if k not in ("title", "outlet", "published")],
    )


@dataclass(frozen=True)
class Skip:
    """A file (or line of a file) that was not ingested, and why; ``failed`` if it was bad input."""

    path: str
    reason: str
    failed: bool = True
    article_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Unread:
    """A file not read again: unchanged since an ingest stored every article read from it
    (``sources.py`` decides). ``articles``: (article id, ``copy_hash``) of each, still stored."""

    path: str
    articles: tuple[tuple[str, str], ...]
    # A JSONL file to read in part: (first byte, number of the line before it, end byte). The
    # bytes before it are unchanged since an ingest stored ``articles`` (a growing archive); the
    # end is where the file was when ``sources.py`` looked (lines appended later: next time).
    rest: tuple[int, int, int | None] | None = None


def discover(paths: Iterable[Path]) -> Iterator[Path | Skip]:
    """Expand folders (recursively, sorted) into files; missing paths become skips. A link in a
    folder that leads out of it is skipped: ingesting a folder never reads files elsewhere (a path
    named directly is read wherever it leads: the user chose it)."""
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for child in sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink()):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if child.name.endswith(SIDECAR_SUFFIX) or child.name == MANIFEST:
                    continue
                if child.is_symlink() and root not in child.resolve().parents:
                    yield Skip(str(child), "link to a file outside the folder: give that file itself to ingest it")
                    continue
                yield child
        elif path.exists() or path.is_symlink():
            yield path
        else:
            yield Skip(str(path), "no such file or folder")


def read_bytes(path: Path, max_bytes: int) -> bytes | Skip:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Skip(str(path), f"cannot read: {exc.strerror or exc}")
    if size > max_bytes:
        return Skip(
            str(path),
            f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (raise it with --max-file-mb)",
        )
    if size == 0:
        return Skip(str(path), "empty file")
    try:
        return path.read_bytes()
    except PermissionError:
        return Skip(str(path), "permission denied: cannot read this file")
    except OSError as exc:
        return Skip(str(path), f"cannot read: {exc.strerror or exc}")


def decode(data: bytes) -> tuple[str, str | None] | None:
    """Text and a note on the encoding when it was not UTF-8; None for binary data."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):  # UTF-16/32 text is full of NUL bytes: look for its mark first
            try:
                return data.decode(encoding), f"decoded as {encoding}"
            except UnicodeDecodeError:
                return None
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # imported here: only needed for odd files

    best = from_bytes(data).best()
    if best is None:
        return None
    text = str(best)
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * min(len(text), 8192):
        return None
    return text, f"decoded as {best.encoding}"


def load_overrides(path: Path) -> dict[str, str] | Skip:
    """Metadata from ``NAME.meta.toml`` beside the file, then ``manifest.toml`` in its folder."""
    found: dict[str, str] = {}
    manifest = path.parent / MANIFEST
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    for source, table_key in ((manifest, path.stem), (sidecar, None)):
        if not source.is_file():
            continue
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return Skip(str(path), f"bad metadata file {source.name}: {exc}")
        data = data.get(table_key, {}) if table_key else data
        unknown = sorted(set(data) - set(META_KEYS))
        if unknown:
            return Skip(
                str(path), f"{source.name}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(META_KEYS)}"
            )
        found.update({k: str(v) for k, v in data.items()})
    return _check_date(path, found)


def _check_date(path: Path, meta: dict[str, str]) -> dict[str, str] | Skip:
    """The user's ``published`` as stored (a day, or a month: ``dates.normal``), or why it is not a date."""
    if meta.get("published"):
        value = normal(meta["published"])
        if value is None:
            return Skip(
                str(path),
                f"published = {meta['published']!r} is not a date: write YYYY-MM-DD (or YYYY-MM for a month)",
            )
        meta["published"] = value
    return meta


def page_facts(page: CleanPage) -> Facts:
    """What the page's own lines state (``metadata`` layer ``lines``)."""
    return Facts(
        title=page.title, outlet=page.outlet, author=page.author, published=page.published, date_note=page.date_note
    )


def _article(article_id: str, path: Path, page: CleanPage, layers: list[Facts], notes: list[str]) -> Article:
    """The article of a cleaned page, its metadata merged from ``layers`` (highest first)."""
    facts = merge(layers)
    if page.removed_dateline:
        notes.append(f"dateline {page.removed_dateline!r} read as metadata, left out of the text")
    return Article(
        id=article_id,
        text=page.text,
        title=facts.title,
        outlet=facts.outlet,
        published=facts.published,
        author=facts.author,
        source_path=str(path),
        # a date seen but not taken (the site's clock above the headline) is still worth saying
        date_note=facts.date_note if facts.published else page.date_note,
        notes=tuple(notes),
    )


def from_text(article_id: str, path: Path, text: str, markdown: bool) -> Article | Skip:
    """A plain-text or Markdown page: its front matter (Markdown), then its own lines."""
    structured, notes = Facts(), []
    if markdown:
        structured, text, note = front_matter(text)
        notes += [note] if note else []
        text = "\n".join(line.lstrip("#").strip() if line.startswith("#") else line for line in text.split("\n"))
    page = clean_page(text)
    if not page.text:
        return Skip(str(path), "no article text found (only menus, links or very short lines)", article_id=article_id)
    return _article(article_id, path, page, [structured, page_facts(page)], notes)


def from_html(article_id: str, path: Path, html: str) -> Article | Skip:
    """trafilatura finds the main text and the structured metadata (``<meta>``, OpenGraph,
    JSON-LD; the date through htmldate, restricted: ``metadata.HTML_DATE_PARAMS``); our text
    cleaner then trims leftovers and reads the page's own lines."""
    import trafilatura  # heavy import, only for HTML

    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True, favor_precision=True,
        date_extraction_params=dict(HTML_DATE_PARAMS),
    )  # fmt: skip
    body = getattr(doc, "text", None) if doc is not None else None
    if not body:
        return Skip(str(path), "no article text found in the HTML page", article_id=article_id)
    title = getattr(doc, "title", None)
    page = clean_page(f"{title}\n\n{body}" if title else body)
    if not page.text:
        return Skip(str(path), "no article text found in the HTML page", article_id=article_id)
    url = getattr(doc, "url", None)
    article = _article(article_id, path, page, [html_facts(doc, html), page_facts(page), Facts(**url_facts(url))], [])
    return replace(article, url=url)


def with_url_facts(meta: dict[str, str]) -> dict[str, str]:
    """``meta`` completed from its URL; what the metadata says wins over what the URL says."""
    facts = url_facts(meta.get("url"))
    if meta.get("published"):
        facts.pop("published", None)
        facts.pop("date_note", None)
    return {**facts, **meta}


def from_jsonl(path: Path, max_bytes: int, part: tuple[int, int, int | None] | None = None) -> Iterator[Article | Skip]:
    """One article per line: ``text`` plus optional id/title/outlet/published/author/url.

    JSONL is taken to be clean already (it comes from a program, not a browser): the text is
    normalized but not run through boilerplate removal. A whole archive may come as one file, so
    it is read a line at a time and the size limit applies to each line (article), not the file.
    """
    start, before, end = part or (0, 0, None)
    try:
        with path.open("rb") as fh:
            rows = yield from _jsonl_rows(path, _lines(fh, start, end), max_bytes, before)
        if not rows and not start:
            yield Skip(str(path), "empty file (no JSON lines)", article_id=path.stem)
    except OSError as exc:
        yield Skip(str(path), f"cannot read: {exc.strerror or exc}", article_id=path.stem)


def _lines(fh: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    """The lines of ``fh`` from byte ``start`` up to byte ``end`` (to the end if None)."""
    fh.seek(start)
    at = start
    for raw in fh:
        if end is not None and at >= end:
            return
        at += len(raw)
        yield raw


def _jsonl_rows(
    path: Path, lines: Iterable[bytes], max_bytes: int, before: int = 0
) -> Generator[Article | Skip, None, int]:
    """Each non-blank line's article or the reason it was skipped; returns how many there were.
    ``before``: lines of the file before the first of ``lines`` (their numbers name articles)."""
    rows = 0
    for lineno, raw in enumerate(lines, start=before + 1):
        if not raw.strip():
            continue
        rows += 1
        where = f"{path}:{lineno}"
        if len(raw) > max_bytes:
            yield Skip(where, f"line is {len(raw) / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit "
                              "(raise it with --max-file-mb)")  # fmt: skip
            continue
        try:
            row = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            yield Skip(where, "not UTF-8 text")
            continue
        except json.JSONDecodeError as exc:
            yield Skip(where, f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            yield Skip(where, 'each line needs an object with a non-empty "text"')
            continue
        meta = _check_date(Path(where), {k: str(row[k]) for k in META_KEYS if row.get(k) not in (None, "")})
        if isinstance(meta, Skip):
            yield meta
            continue
        meta = with_url_facts(meta)
        article_id = str(row.get("id") or f"{path.stem}-{lineno}")
        yield Article(id=article_id, text=normalize(row["text"]), source_path=where, **cast(dict[str, Any], meta))
    return rows


def read_file(path: Path, max_bytes: int, part: tuple[int, int, int | None] | None = None) -> Iterator[Article | Skip]:
    """All articles in one file (of a JSONL file, those of ``part``: see ``Unread.rest``), or the
    reason it was skipped."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        yield Skip(
            str(path),
            f"unsupported file type {suffix or '(none)'}; supported: {' '.join(sorted(SUPPORTED))}",
            failed=False,
        )
        return
    if not os.access(path, os.R_OK) and path.exists():
        yield Skip(str(path), "permission denied: cannot read this file", article_id=path.stem)
        return
    if suffix in JSONL_TYPES:
        yield from from_jsonl(path, max_bytes, part)
        return
    data = read_bytes(path, max_bytes)
    if isinstance(data, Skip):
        yield replace(data, article_id=path.stem)
        return
    decoded = decode(data)
    if decoded is None:
        yield Skip(str(path), "binary file, not text", article_id=path.stem)
        return
    text, note = decoded
    if not text.strip():
        yield Skip(str(path), "empty file (only whitespace)", article_id=path.stem)
        return
    yield _finish(path, text, suffix, note)


def _finish(path: Path, text: str, suffix: str, note: str | None) -> Article | Skip:
    article = (
        from_html(path.stem, path, text)
        if suffix in HTML_TYPES
        else from_text(path.stem, path, text, markdown=suffix != ".txt")
    )
    if isinstance(article, Skip):
        return article
    overrides = load_overrides(path)
    if isinstance(overrides, Skip):
        return replace(overrides, article_id=path.stem)
    notes = (*article.notes, *(n for n in (note,) if n))
    changes: dict[str, Any] = dict(overrides)
    if "published" in changes:
        changes.setdefault("date_note", None)
    return replace(article, notes=notes, **changes)


def with_assistant_note(article: Article) -> Article:
    """Flag, at ingest, text that addresses an AI assistant: it is kept (it is what the page
    says) but never used as an answer (``evidence.addresses_assistant``)."""
    from caucasus_qa.articles.evidence import count_addressing_assistant

    n = count_addressing_assistant(article.text)
    if not n:
        return article
    note = f"{n} passage{'s' if n > 1 else ''} addressed to an AI assistant: never used as an answer"
    return replace(article, notes=(*article.notes, note))


def with_checked_metadata(article: Article) -> Article:
    """Unknown stays unknown: a title, outlet or author that is really a dateline, the article's id
    or site chrome is dropped (with a note), never shown in a citation as a source."""
    changes: dict[str, Any] = {}
    notes = list(article.notes)
    for key in ("title", "outlet", "author"):
        value = getattr(article, key)
        flaw = metadata_flaw(value, article.id) if value else None
        if flaw:
            changes[key] = None
            notes.append(f"{key} {value[:60]!r} is {flaw}: left unknown")
    return replace(article, notes=tuple(notes), **changes) if changes else article


def _copy_key(article: Article) -> tuple:
    return (article.text, article.title, article.outlet, article.published, article.author, article.url)


def copy_hash(article: Article) -> str:
    """A short digest of what makes two articles the same publication (``read_articles``)."""
    import hashlib

    return hashlib.sha1(json.dumps(_copy_key(article)).encode()).hexdigest()[:16]


def read_articles(
    paths: Iterable[Path], max_bytes: int, unread: Callable[[Path], Unread | None] | None = None
) -> Iterator[Article | Skip | Unread]:
    """Every article under ``paths``; duplicates of an id already seen are skipped, and so is a
    second copy of the same article (same text and metadata: a file saved twice would be cited
    twice). A syndicated copy under another outlet, URL or date is another publication: kept.
    ``unread`` may answer for a file instead of reading it (an unchanged file: ``sources.py``)."""
    seen: dict[str, str] = {}
    texts: dict[str, str] = {}
    for item in discover(paths):
        known = unread(item) if unread is not None and isinstance(item, Path) else None
        if known is not None:
            for article_id, key in known.articles:
                seen.setdefault(article_id, known.path)
                texts.setdefault(key, article_id)
            yield known
            if known.rest is None:
                continue
        if isinstance(item, Skip):
            yield item
            continue
        for result in read_file(item, max_bytes, known.rest if known is not None else None):
            if isinstance(result, Article):
                result = _unique(with_assistant_note(with_checked_metadata(result)), seen, texts)
            yield result


def _unique(article: Article, seen: dict[str, str], texts: dict[str, str]) -> Article | Skip:
    """The article, or a skip if its id or its whole publication was already read."""
    key = copy_hash(article)
    if article.id in seen:
        return Skip(
            article.source_path,
            f"article id {article.id!r} already comes from {seen[article.id]}: rename one of the files",
        )
    if key in texts:
        return Skip(article.source_path, f"same text as article {texts[key]!r}: stored once", failed=False)
    seen[article.id] = article.source_path
    texts[key] = article.id
    return article
