"""Metadata: an article's title, outlet, author and date, as the page states them, never guessed.

One reader with one order of precedence, field by field (``LAYERS``, issue 3.2):

1. ``user``: what the user gives (``NAME.meta.toml``, ``manifest.toml``, JSONL fields);
2. ``structured``: the page's structured data: HTML ``<meta>``, OpenGraph and JSON-LD (read by
   trafilatura; its date by htmldate, restricted so that it never guesses: no extensive search,
   the original date, and only a date the page states), Markdown front matter (python-frontmatter);
3. ``lines``: the page's own lines: bylines, datelines, "Published … on …", "Updated" stamps,
   agency credits ("WASHINGTON (AP) —"). Read here by hand: trafilatura and htmldate need HTML
   markup, and no maintained library reads bylines from plain text;
4. ``url``: the page URL's host and a date in its path.

The line patterns are generic English news conventions, never keyed to particular sites.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlparse

from caucasus_qa.articles.dates import FULL_DATES, MONTH_YEAR, TIME, WEEKDAY, find_date, find_month, is_dateline, normal
from caucasus_qa.text import words

LAYERS = ("user", "structured", "lines", "url")
FIELDS = ("title", "outlet", "author", "published")


@dataclass(frozen=True)
class Facts:
    """The fields one layer states (None: it does not state it); ``date_note`` goes with ``published``."""

    title: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None
    date_note: str | None = None

    def stated(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in (*FIELDS, "date_note") if getattr(self, name)}

    def fill(self, other: Facts) -> Facts:
        """These facts, with what ``other`` states where these state nothing."""
        mine = self.stated()
        extra: dict[str, str | None] = {k: v for k, v in other.stated().items() if k not in mine and k != "date_note"}
        if "published" in extra:
            extra["date_note"] = other.date_note
        return replace(self, **extra)


def merge(layers: Sequence[Facts]) -> Facts:
    """Field by field, the first layer that states it (``layers`` in ``LAYERS`` order)."""
    out = Facts()
    for layer in layers:
        out = out.fill(layer)
    return out


# ---- lines of a page: bylines and date stamps -------------------------------------------------

_DATE_MARK = "\x00"  # stands for a date taken out of a line (``_take_dates``)
# A person's or outlet's name as bylines print it: capitalised words (or ALL CAPS), with the
# particles of names ("de", "van") and initials ("J.").
_NAME = r"[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|da|del|di|van|von|der|la|le|al|bin|ibn))*"
_NAMES = rf"{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*"
_BY = re.compile(
    rf"^(?i:by|written by|words by|text by|story by|reporting by|posted by|author|authors)\s*:?\s+(?P<names>{_NAMES})"
    rf"(?:\s*\((?P<outlet>{_NAME})\))?$"
)
_PUBLISHED_BY = re.compile(rf"^(?i:published|produced|distributed) by\s+(?P<outlet>{_NAME})$")
# Credits of the desk rather than the writer ("Editing by Tom Reyes"): read as a job title.
_DESK_CREDIT = re.compile(
    r"^(?i:editing|edited|additional reporting|compiled|photos?|graphics|video|illustrations?) by\s"
)
# A line crediting helpers, not the author ("Contributing: Ana Lima, Tom Reyes, USA TODAY"): a
# byline line that states nothing to show.
_CONTRIBUTORS = re.compile(
    r"^(?i:contributing|contributors|additional reporting|with reporting)\s*(?:by\s*)?:?\s+[A-Z]"
)
# "This story was originally published on June 12, 2022." (under an editor's note): a dated line
# that says it is the publication date.
_FIRST_PUBLISHED = re.compile(
    r"^(?i:(?:editor['’]?s note:\s*)?\(?this (?:story|article|report|piece|post) (?:was |has been )?"
    r"(?:originally |first |initially )?published)(?:\s+(?i:on))?\s+" + _DATE_MARK + r"\s*\.?\)?$"
)
_BRACKETED = re.compile(rf"^\((?P<outlet>{_NAME})\)$")
_BARE_NAME = re.compile(rf"^(?:the\s+)?{_NAME}$")
# Words that make a name segment an outlet's ("Hill County Herald", "USA TODAY", "Health Wire"):
# the nouns English-language news outlets are named with.
OUTLET_WORDS = frozenset(
    "times post news gazette herald press journal tribune courier wire daily today chronicle observer guardian "
    "telegraph star sun mail review reuters ap afp upi associated bloomberg cnn bbc npr radio tv television "
    "magazine register express standard independent inquirer bulletin record examiner monitor dispatch globe "
    "report reporter's weekly sentinel messenger mercury argus echo citizen leader ledger voice gazette network "
    "media agency broadcasting channel online digest".split()
)
# Section labels printed above a headline ("Opinion", "Editor's note"): never a title.
SECTION_LABELS = frozenset(
    "opinion analysis editorial commentary column review explainer explained breaking live exclusive sponsored "
    "advertisement letters obituary obituaries perspective interview podcast video watch listen fact check "
    "editor's note editors' note news world politics business sport sports".split()
)
# Words of a byline's job title ("Staff Writer", "Health Correspondent"): a segment with one is a role.
ROLE_WORDS = frozenset(
    "writer editor correspondent reporter columnist contributor staff producer analyst critic bureau chief "
    "senior deputy intern photographer freelance freelancer special contributing".split()
)
# The words of a date stamp around its dates: labels ("Updated:", but not "Published by"), "on",
# "at", time zones ("ET", "BST", "GMT").
_FILLER = re.compile(
    r"\b(?i:(?:last\s+|first\s+)?(?:updated|update|published|posted|modified))\b(?!\s+(?i:by)\b):?"
    r"|\b(?i:on|at)\b|\b[A-Z]{1,2}[SD]?T\b|\bGMT\b|\bUTC\b"
)
_SEPARATORS = re.compile(r"\s+[—–−|·•-]\s+|\s*[|·•;]\s*|,\s+|\s+[—–]\s*|\s*[—–]\s+")
LINE_MAX_WORDS = 20  # the longest byline-and-date line of the page shapes in tests/test_metadata.py is 12


def _undecorate(line: str) -> str:
    """A line without Markdown emphasis (``*…*``, ``**Published:**``) or a leading bullet."""
    text = re.sub(r"(\*\*|__|\*|_)(.+?)\1", r"\2", line.strip())
    return text.strip(" *_>•·").strip()


def _take_dates(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """``text`` with each stated day or month replaced by a mark, and those dates in order,
    each with whether an "Updated" label stands before it."""
    spans: list[tuple[int, int, str]] = []
    for pattern in FULL_DATES:
        for m in pattern.finditer(text):
            day = find_date(m.group(0))
            if day is not None and not any(a < m.end() and m.start() < b for a, b, _ in spans):
                spans.append((m.start(), m.end(), day.isoformat()))
    for m in MONTH_YEAR.finditer(text):
        month = find_month(m.group(0))
        if month and not any(a < m.end() and m.start() < b for a, b, _ in spans):
            spans.append((m.start(), m.end(), month))
    dates, out, at = [], [], 0
    for start, end, value in sorted(spans):
        out.append(text[at:start])
        dates.append((value, bool(re.search(r"updated?\W*(?:\S+\W+){0,4}$", text[at:start], re.IGNORECASE))))
        out.append(f" {_DATE_MARK} ")
        at = end
    out.append(text[at:])
    return "".join(out), dates


@dataclass(frozen=True)
class LineFacts(Facts):
    """What a byline or stamp line states; ``inferred``: read from the shape of names alone
    ("Ana Lima, Health Correspondent"), not from a label ("By …") or a date."""

    inferred: bool = False


# A person as a byline names one: two to four capitalised words, not "The …", no possessive.
_PERSON = re.compile(r"^(?!(?i:the|a|an)\b)(?!.*['’]s\b)[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,3}$")


def is_section_label(line: str) -> bool:
    """A section label such as "Opinion", "Editor's note" or "World | Politics"."""
    found = [w.lower() for w in re.findall(r"[\w'’]+", line.replace("’", "'"))]
    return bool(found) and len(found) <= 4 and all(w in SECTION_LABELS or w in ("and", "&") for w in found)


def is_person(text: str) -> bool:
    """Shaped like a person's name as a byline prints it (two to four capitalised words)."""
    return bool(_PERSON.match(text.strip()))


def _segment(seg: str) -> tuple[str, str] | None:
    """One segment of a line as (kind, value): "author", "outlet" (said to be one: "published by";
    "bracketed": "(Reuters)"), "named"
    (an outlet by its name's words; "quoted" if in quotes), "name", "role", "" (date or filler);
    None if it is not metadata."""
    seg = WEEKDAY.sub(" ", TIME.sub(" ", seg.replace(_DATE_MARK, " ")))
    seg = " ".join(_FILLER.sub(" ", seg).split()).strip(" .,:")
    quoted = bool(re.fullmatch(r"[\"“«„].+[\"”»]", seg))
    seg = seg.strip('"“”«»„')
    if not seg:
        return "", ""
    by = _BY.match(seg)
    if by and not re.match(r"(?i:the|a|an)\b", by["names"]):
        return "author", by["names"].strip() + (f"\x01{by['outlet']}" if by["outlet"] else "")
    for pattern, kind in ((_PUBLISHED_BY, "outlet"), (_BRACKETED, "bracketed")):
        m = pattern.match(seg)
        if m:
            return kind, m["outlet"].strip()
    lowered = {w.lower() for w in words(seg)}
    plain = {w for w in words(seg) if w.islower()} - ROLE_WORDS - {"and"}  # "Letters to the editor" is no job
    if lowered & ROLE_WORDS and len(lowered) <= 5 and not plain or _DESK_CREDIT.match(seg):
        return "role", seg
    if _BARE_NAME.match(seg) and len(words(seg)) <= 6:
        if quoted:  # a signature's outlet in quotes: 'Ivan Petrov, "Deutsche Welle"'
            return "quoted", seg
        return "named" if lowered & OUTLET_WORDS else "name", seg
    return None


def read_line(raw: str, infer: bool = True) -> LineFacts | None:
    """The facts a byline or date-stamp line states ("By Maria Lopez, Springfield Gazette,
    March 3, 2024"; "Jan. 3, 2026 Updated Jan. 7, 2026, 4:34 a.m. ET"; "Published by Health
    Wire on 2 February 2025"), or None if the line is not such a line: every part of it must
    read as a name, an outlet, a job title or a date, and it must state an author, an outlet
    said to be one, or a date. A person's name followed by an outlet's name in quotes is the
    author ('Ana Lima, "Radio North"'); with ``infer`` (lines under a headline), also one followed
    by a job title or an outlet's name ("Ana Lima, USA TODAY")."""
    text = _undecorate(raw)
    if not text or len(words(text)) > LINE_MAX_WORDS or text.endswith(("?", "!")):
        return None
    if is_dateline(text):  # a date with a time, a weekday, a view counter ("Jul 5, 2025 10:01 375")
        value = find_date(text)
        day, note = _published([(value.isoformat() if value else str(find_month(text)), False)])
        return LineFacts(published=day, date_note=note)
    if _CONTRIBUTORS.match(text):
        return LineFacts()
    marked, dates = _take_dates(text)
    if dates and _FIRST_PUBLISHED.match(" ".join(marked.split())):
        return LineFacts(published=dates[0][0], date_note=_month_note(dates[0][0], "the page's “first published” line"))
    if re.search(rf"{_DATE_MARK}\s*(?:[-–—]|to)\s*{_DATE_MARK}|\d{{4}}\s*[-–—]\s*{_DATE_MARK}", marked):
        return None  # a span of dates ("11/1/1966 - 4/4/1967: Regional Director") dates a career, not the page
    parts = [_segment(seg) for seg in _SEPARATORS.split(marked)]
    if any(part is None for part in parts):
        return None
    return _line_facts([p for p in parts if p is not None and p[0]], dates, infer)


def _line_facts(parts: list[tuple[str, str]], dates: list[tuple[str, bool]], infer: bool) -> LineFacts | None:
    kinds = [kind for kind, _ in parts]
    authors = [v.split("\x01")[0] for k, v in parts if k == "author"]
    outlets = [v.split("\x01")[1] for k, v in parts if k == "author" and "\x01" in v]
    if kinds == ["bracketed"]:
        return None  # "(LAUGHTER)" in a transcript; an agency in brackets comes with a byline or dateline
    outlets += [v for k, v in parts if k in ("outlet", "bracketed")] + [v for k, v in parts if k in ("named", "quoted")]
    inferred = (
        not authors
        and len(kinds) >= 2
        and kinds[0] == "name"
        and kinds[1] in (("role", "named", "quoted") if infer else ("quoted",))
        and is_person(parts[0][1])
    )
    if inferred:
        authors.append(parts[0][1])
    if not (dates or authors or "outlet" in kinds or "bracketed" in kinds):
        return None
    day, note = _published(dates)
    return LineFacts(
        outlet=outlets[0] if outlets else None,
        author=authors[0] if authors else None,
        published=day,
        date_note=note,
        inferred=inferred and not dates,
    )


def _published(dates: list[tuple[str, bool]]) -> tuple[str | None, str | None]:
    """(date, note) of a stamp's dates: the first not labelled "Updated", else the update."""
    if not dates:
        return None, None
    original = [value for value, updated in dates if not updated]
    if original:
        later = [value for value, updated in dates if updated]
        note = f"the page's date line (updated {later[0]})" if later else "the page's date line"
        return original[0], _month_note(original[0], note)
    value = dates[0][0]
    return value, _month_note(value, "the page's “Updated” stamp (first published earlier)")


def _month_note(value: str, note: str) -> str:
    return f"{note}; a month only: as of its last day" if len(value) == 7 else note


# ---- wire datelines: "WASHINGTON (AP) — The Senate …" -----------------------------------------

_PLACE = r"[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3}"  # ALL CAPS: "WASHINGTON", "NEW YORK"
_TITLE_PLACE = r"[A-Z][a-z.'’-]+(?:\s+[A-Z][a-z.'’-]+){0,2}"  # "Calder", "New Delhi"
# "March 3", "3 March", with a year or without: "Nov. 19, 2024", "3 March 2025"
_DAY = r"(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?|\d{1,2}\s+[A-Z][a-z]{2,8}(?:\s+\d{4})?)"
_DASH = r"\s*(?:[—–−]|--?)\s+"
CREDIT = re.compile(
    rf"^(?P<place>{_PLACE}|{_TITLE_PLACE}(?=,?\s*(?:{_DAY}\s*)?\())(?:,\s*(?P<day>{_DAY}))?"
    rf"\s*(?:\((?P<agency>[^()]{{2,40}})\))?{_DASH}(?=\S)"
)
# A dateline printed as its own line, the outlet after the place: "New Delhi CNN —", "Kyiv,
# Ukraine CNN —", "CNN —".
# An outlet alone must be an acronym of at most five letters: "WASHINGTON —" is a place.
CREDIT_LINE = re.compile(
    r"^(?:(?P<place>[A-Z][\w.'’-]*(?:,?\s+[A-Z][\w.'’-]*){0,4}?)\s+(?P<outlet>[A-Z]{2,}(?:\s+[A-Z][a-z]+)?)"
    r"|(?P<alone>[A-Z]{2,5}))"
    r"\s*(?:[—–−]|--?)$"
)


@dataclass(frozen=True)
class Credit:
    """A wire dateline at the start of a story: its place and the agency credited, if any."""

    place: str | None
    outlet: str | None
    length: int  # characters of the paragraph it takes (the text starts after them)
    published: str | None = None  # the dateline's day, when it states the year


def read_credit(paragraph: str) -> Credit | None:
    """The dateline at the start of a story's first paragraph, or None."""
    m = CREDIT.match(paragraph)
    if m is None or not m.group("agency") and not m.group("place").isupper():
        return None
    if len(words(m.group("place"))) > 4:
        return None
    day = find_date(m.group("day") or "")
    outlet = (m.group("agency") or "").strip() or None
    return Credit(m.group("place"), outlet, m.end(), day.isoformat() if day else None)


def read_credit_line(line: str) -> Credit | None:
    """A dateline on a line of its own ("London CNN Business —"), or None."""
    m = CREDIT_LINE.match(line.strip())
    if m is None:
        return None
    return Credit(m.group("place"), m.group("outlet") or m.group("alone"), len(line))


# ---- structured data: Markdown front matter and HTML ------------------------------------------

# Front-matter keys for each field, in the names static-site generators and CMS exports use.
FRONT_MATTER_KEYS: Mapping[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "outlet": ("outlet", "publisher", "source", "site", "site_name", "publication"),
    "author": ("author", "authors", "byline", "by"),
    "published": ("date", "published", "pubdate", "date_published", "published_at"),
}


def front_matter(text: str) -> tuple[Facts, str, str | None]:
    """Markdown front matter's facts, the text after it, and a note when it could not be read."""
    if not text.startswith("---"):
        return Facts(), text, None
    import frontmatter  # python-frontmatter: imported here, only Markdown with front matter needs it

    try:
        meta, content = frontmatter.parse(text)
    except Exception as exc:  # noqa: BLE001 - YAML errors come in several classes; the text is kept
        return Facts(), text, f"front matter not read ({type(exc).__name__}): kept as text"
    found = {name: _value(meta, keys) for name, keys in FRONT_MATTER_KEYS.items()}
    published = normal(found.pop("published")) if found.get("published") else None
    note = _month_note(published, "the front matter's date") if published else None
    return Facts(**found, published=published, date_note=note), content, None


def _value(meta: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
        elif isinstance(value, dict):
            value = value.get("name")
        if value not in (None, ""):
            return str(value).strip()
    return None


# htmldate, as trafilatura calls it: no extensive search (it turns "March 2024" in the text into
# 2024-01-01), the original date rather than the last update.
HTML_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def html_facts(doc: Any, html: str) -> Facts:
    """The structured facts trafilatura read from a page (``doc``); its date only if the page states it."""
    published = normal(getattr(doc, "date", None)) if getattr(doc, "date", None) else None
    if published and not _stated_in_html(published, html):
        published = None
    return Facts(
        title=getattr(doc, "title", None),
        outlet=getattr(doc, "sitename", None),
        author=getattr(doc, "author", None),
        published=published,
        date_note="the page's metadata" if published else None,
    )


def _stated_in_html(day: str, html: str) -> bool:
    """Whether the page states this day: as an ISO date (in a tag or attribute), a URL path or words."""
    from caucasus_qa.articles.dates import find_dates

    if day in html or day.replace("-", "/") in html:
        return True
    return day in find_dates(re.sub(r"<[^>]+>", " ", html))


# ---- the URL ----------------------------------------------------------------------------------

# A date as a path segment, /2025/07/05/ or /2025-07-05/: how most news sites publish URLs
# (trafilatura reads HTML pages' dates the same way, through htmldate).
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?=/|-|$)")


def url_facts(url: str | None) -> dict[str, str]:
    """What a page's URL says about it: the site (as the outlet) and a publication date in its
    path. Nothing is guessed: no URL, no date segment or an impossible date gives nothing."""
    if not url:
        return {}
    parsed = urlparse(url if "//" in url else f"//{url}")
    facts = {"outlet": parsed.hostname.removeprefix("www.")} if parsed.hostname else {}
    found = _URL_DATE.search(parsed.path)
    if found:
        try:
            facts["published"] = date(*map(int, found.groups())).isoformat()
            facts["date_note"] = "date read from the URL"
        except ValueError:
            pass
    return facts


# ---- what is unknown ----------------------------------------------------------------------------

COVERAGE_FIELDS = {"title": "without_title", "outlet": "without_outlet", "published": "without_date",
                   "author": "without_author"}  # fmt: skip


def unknown(row: Mapping[str, Any]) -> list[str]:
    """The fields of a stored article's metadata that the page did not state."""
    return [name for name in COVERAGE_FIELDS if not row.get(name)]


def coverage(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many stored articles lack each field (and how many are dated by a month only)."""
    out = {"articles": len(rows), **{key: 0 for key in COVERAGE_FIELDS.values()}, "month_only": 0}
    for row in rows:
        for name in unknown(row):
            out[COVERAGE_FIELDS[name]] += 1
        out["month_only"] += len(str(row.get("published") or "")) == 7
    return out


def coverage_line(counts: Mapping[str, int]) -> str:
    """ "of 5 articles: 1 without a title, 2 without an outlet, 2 without a date, 3 without an author"."""
    names = {"without_title": "a title", "without_outlet": "an outlet", "without_date": "a date",
             "without_author": "an author"}  # fmt: skip
    parts = [f"{counts[key]} without {name}" for key, name in names.items()]
    month = f"; {counts['month_only']} dated by a month only" if counts.get("month_only") else ""
    return f"metadata of {counts['articles']} articles: {', '.join(parts)}{month} (shown as unknown)"
