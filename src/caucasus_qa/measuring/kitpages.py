"""The RealTime QA kit as a user drops it: a folder of ``.txt`` pages, and what their citations show.

Each kit page is written as ``ID.txt`` (the headline line, a blank line, the page text; no URL,
no fields), read with the same reader as ``caucasus-qa ingest`` (nothing is embedded), and the
metadata it gets is checked against the page itself (issue 3.2):

* the title is the page's headline (the file's first line);
* a page whose text opens with a dated line (one of its first three lines, short, holding a
  full date) gets that date;
* no date is shown that the page does not state;
* no dateline, byline or site tag is shown as a title or outlet.

The checks are written independently of the reader's own rules (so that they can catch them),
with looser patterns: a full date anywhere in a short line, "By " at the start of a value.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from caucasus_qa.measuring.realtimeqa import KIT_PAGES, TUNE_WEEKS, kit_lines

# "the text opens with a dated line": a line among the first three of the text, of at most this
# many words, that holds a full date. Datelines on the kit's pages are 4-12 words.
OPENING_LINES = 3
DATED_LINE_WORDS = 15
_FULL_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b",
    re.IGNORECASE,
)
_STAMP_WORDS = re.compile(r"(?i:updated|published|posted|at|on|a\.m\.|p\.m\.|[ecmp][sd]t|et|gmt|utc)|\d+[:.]\d+")
_MONTH_YEAR = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}\b", re.IGNORECASE
)


@dataclass(frozen=True)
class PageCheck:
    """What one page's citation would show, checked against the page."""

    id: str
    split: str  # "tune" or "test" (the kit's weeks 1-26 / 27-52)
    title_is_headline: bool
    opens_dated: bool
    date_right: bool  # only meaningful when opens_dated
    date_unstated: bool
    bad_title: str | None
    bad_outlet: str | None
    outlet: str | None
    read: bool = True  # False: not stored (a copy of another page's text: "stored once")


def _squash(text: str | None) -> str:
    return " ".join((text or "").replace("’", "'").replace("‘", "'").split()).lower()


def opening_date(text: str) -> str | None:
    """The first full date of a short line among the text's first lines, as YYYY-MM-DD."""
    from caucasus_qa.articles.dates import find_date

    lines = [line.strip() for line in text.split("\n") if line.strip()][:OPENING_LINES]
    for line in lines:
        if len(line.split()) <= DATED_LINE_WORDS and _FULL_DATE.search(line):
            day = find_date(line)
            if day is not None:
                return day.isoformat()
    return None


def stated(published: str, text: str) -> bool:
    """Whether the page states this date (a day anywhere in it; a month as "Month YYYY")."""
    from caucasus_qa.articles.dates import find_dates

    if len(published) == 7:
        year, month = published.split("-")
        return any(
            m.group(0).split()[-1] == year and _month_number(m.group(0)) == int(month)
            for m in _MONTH_YEAR.finditer(text)
        )
    return published in find_dates(text)


def _month_number(phrase: str) -> int:
    from caucasus_qa.text import MONTH_NUMBER

    return MONTH_NUMBER.get(phrase.split()[0].lower().rstrip("."), 0)


def flaw(value: str | None) -> str | None:
    """Why a shown title or outlet is not one: a dateline, a byline, a site tag; else None."""
    if not value:
        return None
    v = value.strip()
    rest = _STAMP_WORDS.sub(" ", _FULL_DATE.sub(" ", v))
    if _FULL_DATE.search(v) and len(re.findall(r"[A-Za-z]{2,}", rest)) <= 1 or re.fullmatch(r"[\W\d]*", v):
        return "dateline"  # a date and little else: "Jan. 3, 2026 Updated Jan. 7, 2026, 4:34 a.m. ET"
    if re.fullmatch(r"(?i:by|written by|posted by)\s+(?:[A-Z][\w.'’-]*\s*){1,4}", v) or v.startswith(("–", "—", "-")):
        return "byline"
    if re.search(r"[—–-]\s*$", v):  # "Washington CNN —": the start of a wire dateline
        return "dateline"
    if re.fullmatch(r"[a-z0-9.]+", v):  # "usatoday", "gannett": a site's tag, not its name
        return "tag"
    return None


def check_page(row: dict, split: str, article: object | None) -> PageCheck:
    """``row``: the kit's page; ``article``: what the reader made of it (None: skipped)."""
    title = getattr(article, "title", None)
    outlet = getattr(article, "outlet", None)
    published = getattr(article, "published", None)
    expected = opening_date(row["text"])
    page_text = f"{row['title']}\n\n{row['text']}"
    return PageCheck(
        id=row["id"],
        split=split,
        title_is_headline=_squash(title) == _squash(row["title"]),
        opens_dated=expected is not None,
        date_right=expected is not None and published == expected,
        date_unstated=bool(published) and not stated(str(published), page_text),
        bad_title=flaw(title),
        bad_outlet=flaw(outlet),
        outlet=outlet,
        read=article is not None,
    )


def kit_rows(kit: Path, files: Sequence[str] = (KIT_PAGES,)) -> Iterator[tuple[dict, str]]:
    """Each kit page with its split, by the week it first appeared (weeks 1-26 tune)."""
    rows = [json.loads(line) for line in kit_lines(kit, files)]
    weeks = sorted({r["week"] for r in rows})
    tune = set(weeks[:TUNE_WEEKS])
    for row in rows:
        yield row, "tune" if row["week"] in tune else "test"


def write_folder(rows: Sequence[tuple[dict, str]], folder: Path) -> None:
    """The pages as a user's folder: ``ID.txt`` = headline, blank line, text."""
    folder.mkdir(parents=True, exist_ok=True)
    for row, _ in rows:
        (folder / f"{row['id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")


def check_kit(kit: Path, limit: int | None = None) -> list[PageCheck]:
    """Every kit page (or the first ``limit``) written as ``.txt``, read, and checked."""
    from caucasus_qa.articles.formats import Article, read_articles

    rows = list(kit_rows(kit))[:limit]
    with tempfile.TemporaryDirectory(prefix="caucasus-kitpages-") as tmp:
        folder = Path(tmp) / "pages"
        write_folder(rows, folder)
        read = {item.id: item for item in read_articles([folder], max_bytes=10_000_000) if isinstance(item, Article)}
    return [check_page(row, split, read.get(row["id"])) for row, split in rows]


def _line(name: str, num: int, den: int) -> str:
    return f"{name}: {num} of {den} ({num / den:.3f})" if den else f"{name}: none"


def render(checks: Sequence[PageCheck]) -> str:
    """The figures per split (tune / test / all), and the outlets shown most often."""
    copies = sum(not c.read for c in checks)
    out = [
        "Kit pages as .txt (headline line, blank line, text; no URL): what the citations show",
        f"({copies} of {len(checks)} pages not stored: the same text as another page, stored once)",
    ]
    for split in ("tune", "test", "all"):
        part = [c for c in checks if split in ("all", c.split) and c.read]
        dated = [c for c in part if c.opens_dated]
        out += [
            f"{split} ({len(part)} pages)",
            "  " + _line("title is the headline", sum(c.title_is_headline for c in part), len(part)),
            "  " + _line("dated where the text opens with a dated line", sum(c.date_right for c in dated), len(dated)),
            "  " + _line("a date shown that the page does not state", sum(c.date_unstated for c in part), len(part)),
            "  " + _line("dateline/byline/tag shown as title", sum(bool(c.bad_title) for c in part), len(part)),
            "  " + _line("dateline/byline/tag shown as outlet", sum(bool(c.bad_outlet) for c in part), len(part)),
            "  " + _line("outlet shown", sum(bool(c.outlet) for c in part), len(part)),
        ]
    top = Counter(c.outlet for c in checks if c.outlet).most_common(12)
    out.append("outlets shown most: " + ", ".join(f"{name} ({n})" for name, n in top))
    return "\n".join(out)
