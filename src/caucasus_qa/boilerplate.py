"""Boilerplate removal for pages saved as plain text (copy-paste or text dumps of web pages).

HTML goes through trafilatura first (see ``articles.py``); what reaches this module is lines
of text in which site chrome (menus, share counters, teasers for other stories, comment
prompts, copyright lines) is mixed with the article. trafilatura needs the DOM to do its
job, and no maintained library cleans such text dumps, so this is written by hand.

The rules are generic, never keyed to particular sites:

* a line is *prose* when it reads like a sentence (ends in sentence punctuation, or is long);
* the article body runs from the first prose line to the last one before an end marker
  (share bar, "Read more", comment prompt, copyright, syndication footer) after which
  little prose follows;
* inside the body only lines that match chrome patterns are dropped, so short section
  headings between paragraphs stay;
* before the body, the title is the heading that the page repeats (page dumps print it
  in the header and again above the article), and a date printed *before* the title is
  the site's clock, not a publication date.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from caucasus_qa.text import MONTH_NUMBER, MONTH_PATTERN, SENTENCE_END, words

_TRUNCATED = re.compile(r"(\.\.\.|…)\s*$")
_DOMAIN = re.compile(
    r"\b([A-Za-z0-9][A-Za-z0-9-]*)\.(com|org|net|info|news|tv|io|co|uk|us|de|fr|bg|ru|ua|by|"
    r"am|az|ge|kz|eu|pl|ro|it|es|in|me)\b",
    re.IGNORECASE,
)
_SOCIAL = re.compile(
    r"share(?: on)?|tweet|facebook|twitter|whatsapp|telegram|linkedin|pinterest|reddit|"
    r"messenger|viber|e-?mail|print|copy link|pin it|flipboard|vkontakte|\bvk\b|\bx\b",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    r"^\d+(?:[.,]\d+)?\s*[km]?(?:\s*(?:shares?|views?|comments?|likes?|reads?|reactions?))?$"
    r"|^(?:shares?|views?|comments?|likes?|reads?)(?:\s*\d+)?$",
    re.IGNORECASE,
)
_NAV = re.compile(
    r"^(?:home|menu|search|categories|sections|news|sign in|log ?in|subscribe|register|sign up|"
    r"newsletter|advertisement|advertising|sponsored(?: content)?|skip to (?:main )?content|"
    r"back to top|more|load more|show more|read more|see more|read next|view all|"
    r"view all results?|no results?(?: found)?|close|open menu|toggle navigation|"
    r"support(?: the website| us)?|the website|donate|all news|latest news|most read|popular|"
    r"trending|related|related (?:articles|stories|posts|news)|more (?:stories|news|from [\w .]+)|"
    r"you may also like|recommended(?: for you)?|editor'?s picks?|tags?:.*|topics?:.*|"
    r"(?:home|news)(?: [|/>»›] ?\w+)+|home news)\W*$",
    re.IGNORECASE,
)
_COMMENTS = re.compile(
    r"^(?:(?:write|leave|post|add|show|view|read) (?:a |your |all )?comments?\b.*|\d*\s*comments?"
    r"|join the (?:discussion|conversation).*|(?:discussion|comments) \(\d+\))\W*$",
    re.IGNORECASE,
)
# A label introducing another story ("READ MORE: Chef opens …"), or a prompt to sign up or share.
_PROMO = re.compile(
    r"^(?:read more|read also|also read|more on this|see also|related(?: stories| articles)?|recommended|"
    r"read next|don'?t miss|must read|watch|listen|editor'?s pick)\s*[:|»›>–—-]\s*\S.*$"
    r"|^click here\b.*$"
    r"|^(?=.{0,200}$).*\b(?:sign up|subscribe)\b.*\b(?:newsletter|updates|alerts|inbox)\b.*$"
    r"|^(?:like|liked|enjoyed|enjoy) (?:this|the) (?:article|story|post|piece)\b.*$"
    r"|^share (?:it|this(?: article| story)?) with\b.*$",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:copyright\b|©|\(c\)\s*\d{4}).*|.*\ball rights reserved\b.*", re.IGNORECASE)
_FOLLOW = re.compile(r"^follow\b.{0,80}\b(?:on|accounts?|social media|channels?)\b.*$", re.IGNORECASE)
_SYNDICATED = re.compile(r"^the post .+ appeared first on (?P<outlet>.+?)\.?$", re.IGNORECASE)
_SITE_HEADER = re.compile(r"^(?:last|latest) news (?:in|from|on) (?P<site>.+?)\W*$", re.IGNORECASE)
_BULLET = re.compile(r"^[•·▪►▸‣◦*-]\s+\S")
_CATEGORY = re.compile(r"^in [\w ]+(?:, [\w ]+)*$", re.IGNORECASE)
_BYLINE_LABEL = re.compile(
    r"^(?:author|authors|by|written by|text|reporter|words)\s*[:\-–—]?\s*"
    r"(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})\s*$",
    re.IGNORECASE,
)
_BYLINE_OUTLET = re.compile(
    r"^(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3}),\s*[\"“«„]?(?P<outlet>[^\"”»]{2,40}?)[\"”»]?$"
)
_MON = rf"(?P<mon>{MONTH_PATTERN})\.?"
_DATES = [
    re.compile(_MON + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.IGNORECASE),
    re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MON + r",?\s+(?P<year>\d{4})", re.IGNORECASE),
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"),
    re.compile(r"(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})"),
]
_MONTH_DAY = re.compile(
    _MON
    + r"\s+(?P<day>\d{1,2})\b(?!,?\s+\d{4})|\b(?P<day2>\d{1,2})\s+"
    + _MON.replace("mon>", "mon2>")
    + r"\b(?!,?\s+\d{4})",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b\.?", re.IGNORECASE)
_DATE_FILLER = re.compile(
    r"\b(?:updated|published|posted|on|at|last|modified|gmt|utc|[a-z]{1,4}t)\b|[\d\s,|/:.–—-]+",  # ET, CEST
    re.IGNORECASE,
)


def _named(pattern: re.Pattern[str], line: str, group: str) -> str:
    """A named group of ``pattern`` in a line already classified by it."""
    found = pattern.match(line)
    if found is None:
        raise ValueError(f"{pattern.pattern!r} does not match {line!r}")
    return found.group(group).strip()


@dataclass
class CleanPage:
    """The article found in a page, with whatever metadata the page itself gives."""

    text: str
    title: str | None = None
    published: str | None = None
    date_note: str | None = None
    author: str | None = None
    site: str | None = None
    source: str | None = None
    removed: list[str] = field(default_factory=list)

    @property
    def outlet(self) -> str | None:
        """ "Source via site" for syndicated copies, "site quoting source" for reprints."""
        if self.source and self.site and self.source.lower() != self.site.lower():
            return f"{self.source} via {self.site}" if self._syndicated else f"{self.site} quoting {self.source}"
        return self.source or self.site

    _syndicated: bool = False


def normalize(text: str) -> str:
    """Unicode NFC, Unix newlines, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def is_title_case(line: str) -> bool:
    """Headline Style Capitalisation: most longer words start upper-case."""
    long_words = [w for w in words(line) if len(w) >= 4 and w[0].isalpha()]
    return len(long_words) >= 3 and sum(w[0].isupper() for w in long_words) / len(long_words) >= 0.7


def is_prose(line: str) -> bool:
    """Reads like running text: a sentence, not a menu item, headline or teaser snippet."""
    n = len(words(line))
    if _TRUNCATED.search(line) or _DOMAIN.search(line) and n < 25:
        return False
    if SENTENCE_END.search(line):
        headline = is_title_case(line) and not line.rstrip("\"'”’»)").endswith(".")
        return n >= 6 and not (headline and n < 25)
    return n >= 30


def is_social(line: str) -> bool:
    """Share bars such as "Share on Facebook", "Share198Tweet124Share"."""
    if len(line) > 200 or len(words(line)) > 8 or not _SOCIAL.search(line):  # cheap tests first
        return False
    rest = _SOCIAL.sub("", line)
    return not re.sub(r"[\d.,km\s|•·:/+-]+", "", rest, flags=re.IGNORECASE)


def find_date(line: str) -> date | None:
    for pattern in _DATES:
        m = pattern.search(line)
        if not m:
            continue
        parts = m.groupdict()
        month = MONTH_NUMBER.get((parts.get("mon") or "").lower().rstrip(".")) or int(parts.get("month") or 0)
        try:
            return date(int(parts["year"]), month, int(parts["day"]))
        except ValueError:
            continue
    return None


def find_dates(text: str) -> list[str]:
    """Every full date in ``text`` as "YYYY-MM-DD", and month-day dates without a year as "MM-DD"."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            parts = m.groupdict()
            month = MONTH_NUMBER.get((parts.get("mon") or "").lower().rstrip(".")) or int(parts.get("month") or 0)
            try:
                found.append(date(int(parts["year"]), month, int(parts["day"])).isoformat())
                spans.append(m.span())
            except ValueError:
                continue
    for m in _MONTH_DAY.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            month = MONTH_NUMBER[(m.group("mon") or m.group("mon2")).lower().rstrip(".")]
            found.append(f"{month:02d}-{int(m.group('day') or m.group('day2')):02d}")
    return found


def is_dateline(line: str) -> bool:
    """A line that is a date (maybe with time, weekday or a view counter) and nothing else."""
    if len(line) > CHROME_MAX_CHARS or len(words(line)) > 10 or find_date(line) is None:
        return False
    rest = line
    for pattern in _DATES:
        rest = pattern.sub(" ", rest)
    rest = _WEEKDAY.sub(" ", _TIME.sub(" ", rest))
    return not _DATE_FILLER.sub("", rest).strip()


def _closing_sentence(line: str) -> bool:
    """A short last paragraph that is still a sentence ("The mayor welcomed the result.")."""
    return bool(SENTENCE_END.search(line)) and len(words(line)) >= 3 and not is_title_case(line)


# Chrome lines are short: over a third of the 2025 RealTime QA pages (86,657 lines) the longest
# was a 969-character teaser, every other kind under 200. Longer lines are article text, and
# skipping their dozen regex scans keeps cleaning a 50 MB file linear and fast (docs/reliability.md).
CHROME_MAX_CHARS = 1000


def chrome_kind(line: str) -> str | None:
    """Name the kind of site chrome a line is, or None if it may be article text."""
    if len(line) > CHROME_MAX_CHARS:
        return None
    checks = [
        ("share", is_social(line)),
        ("counter", bool(_COUNTER.match(line))),
        ("navigation", bool(_NAV.match(line)) or (bool(_BULLET.match(line)) and len(words(line)) <= 4)),
        ("comments", bool(_COMMENTS.match(line))),
        ("copyright", bool(_COPYRIGHT.match(line)) and len(words(line)) <= 25),
        ("follow", bool(_FOLLOW.match(line))),
        ("syndication", bool(_SYNDICATED.match(line))),
        ("site", bool(_SITE_HEADER.match(line))),
        ("teaser", bool(_TRUNCATED.search(line)) and len(words(line)) >= 8),
        ("promo", bool(_PROMO.match(line))),  # removed where it stands; the article may go on after it
    ]
    return next((kind for kind, hit in checks if hit), None)


def metadata_flaw(value: str, article_id: str) -> str | None:
    """Why a title, outlet or author value is not one (a dateline, the article's id, a line of
    site chrome), or None. A citation shows such a value as unknown rather than as a source.
    A headline cut short with "..." is a title: search results and feeds shorten them."""
    value = value.strip()
    if value == article_id:
        return "the article's id"
    if is_dateline(value):
        return "a dateline"
    kind = chrome_kind(value)
    return f"site chrome ({kind})" if kind not in (None, "teaser") else None


_END_MARKERS = {"share", "comments", "copyright", "follow", "syndication", "navigation", "teaser"}


def _key(line: str) -> str:
    """Comparison key for spotting a repeated headline ("Title", "Title - 1", "TITLE")."""
    return " ".join(w.lower() for w in words(line))


class _Page:
    """One pass over a page's lines; methods find the parts, ``clean`` puts them together."""

    def __init__(self, text: str) -> None:
        self.lines = [line.strip() for line in normalize(text).split("\n")]
        self.kinds = [chrome_kind(line) if line else "blank" for line in self.lines]
        self.result = CleanPage(text="")
        self._prose: dict[int, bool] = {}

    def prose_at(self, i: int) -> bool:
        if i not in self._prose:  # asked more than once per line by anchor() and body_end()
            self._prose[i] = self.kinds[i] is None and is_prose(self.lines[i])
        return self._prose[i]

    def anchor(self) -> int | None:
        """First substantial paragraph: the article surely runs through it."""
        return next((i for i in range(len(self.lines)) if self.prose_at(i) and len(words(self.lines[i])) >= 15), None)

    def body_end(self, start: int) -> int:
        """First end marker after which little prose follows (teasers are not prose)."""
        prose_idx = [i for i in range(start, len(self.lines)) if self.prose_at(i)]
        for i in range(start, len(self.lines)):
            if self.kinds[i] not in _END_MARKERS:
                continue
            before = bisect.bisect_left(prose_idx, i)  # a count per marker would be quadratic
            if len(prose_idx) - before <= max(1, before // 4):
                return i
        return len(self.lines)

    def read_markers(self) -> None:
        """Site name and original outlet from header/footer lines anywhere on the page."""
        for line, kind in zip(self.lines, self.kinds):
            if kind == "syndication":
                self.result.source = _named(_SYNDICATED, line, "outlet")
                self.result._syndicated = True
            elif kind == "site" and not self.result.site:
                self.result.site = _named(_SITE_HEADER, line, "site")
        if not self.result.site:
            self.result.site = self._repeated_site_name() or self._domain_site_name()

    def _repeated_site_name(self) -> str | None:
        """A one- or two-word line printed more than once in page chrome is the site's name."""
        counts: dict[str, int] = {}
        for line, kind in zip(self.lines, self.kinds):
            if kind is None and 1 <= len(words(line)) <= 2 and not _BULLET.match(line):
                counts[line] = counts.get(line, 0) + 1
        repeated = [line for line, n in counts.items() if n >= 2 and not find_date(line)]
        return repeated[0] if repeated else None

    def _domain_site_name(self) -> str | None:
        for line, kind in zip(self.lines, self.kinds):
            m = _DOMAIN.search(line)
            if m and (kind is not None or not is_prose(line)):
                return m.group(1)
        return None

    def header(self, start: int) -> list[int]:
        return [i for i in range(start) if self.lines[i] and self.kinds[i] is None]

    def find_title(self, header: list[int]) -> int | None:
        """The header line the page repeats; else the longest headline-like line."""
        all_keys = [_key(line) for line in self.lines if line]
        candidates = [
            i
            for i in header
            if 3 <= len(words(self.lines[i])) <= 30
            and not is_dateline(self.lines[i])
            and not _CATEGORY.match(self.lines[i])
            and not _BYLINE_LABEL.match(self.lines[i])
        ]
        for i in candidates:
            k = _key(self.lines[i])
            if sum(1 for other in all_keys if other == k or other.startswith(k + " ")) >= 2:
                return i
        short = [i for i in candidates if len(words(self.lines[i])) <= 20] or candidates
        return max(short, key=lambda i: len(words(self.lines[i])), default=None)

    def read_header_byline(self, header: list[int]) -> None:
        for i in header:
            label = _BYLINE_LABEL.match(self.lines[i])
            if label and not self.result.author:
                self.result.author = label.group("name").strip()

    def standfirst(self, header: list[int], title: int | None) -> list[int]:
        """Lede and standfirst between the headline and the body; captions and notices go."""
        title_key = _key(self.lines[title]) if title is not None else None
        keep = []
        for i in header:
            line = self.lines[i]
            if (
                title is not None
                and i <= title
                or is_dateline(line)
                or _DOMAIN.search(line)
                or _BYLINE_LABEL.match(line)
            ):
                continue
            if title_key and (_key(line) == title_key or _key(line).startswith(title_key + " ")):
                continue
            if is_prose(line) or (len(words(line)) >= 8 and not is_title_case(line)):
                keep.append(i)
        return keep

    def read_dates(self, header: list[int], title: int | None) -> None:
        """A date above the title is the site's clock; one below it is the publication date."""
        for i in header:
            day = find_date(self.lines[i]) if is_dateline(self.lines[i]) else None
            if day is None:
                continue
            if title is not None and i < title:
                self.result.date_note = (
                    f"the page shows {day.isoformat()} above the headline: that is the site's clock "
                    "when the page was saved, not the publication date"
                )
            elif self.result.published is None:
                self.result.published = day.isoformat()

    def read_byline(self, body: list[int]) -> list[int]:
        """Take an author line from the end of the body; return the body without it."""
        for i in reversed(body[-3:]):
            line = self.lines[i]
            label = _BYLINE_LABEL.match(line)
            outlet = _BYLINE_OUTLET.match(line) if not is_prose(line) else None
            found = label or outlet
            if found is not None:
                self.result.author = found.group("name").strip()
                if outlet and not self.result.source:
                    self.result.source = outlet.group("outlet").strip()
                return [j for j in body if j != i]
        return body

    def body(self, start: int, end: int) -> list[int]:
        """Body lines: chrome, datelines, repeated lines and a trailing byline/heading removed."""
        seen: set[str] = set()
        body = []
        for i in range(start, end):
            line = self.lines[i]
            if line and self.kinds[i] is None and not is_dateline(line) and line not in seen:
                seen.add(line)
                body.append(i)
        body = self.read_byline(body)
        while body and not (is_prose(self.lines[body[-1]]) or _closing_sentence(self.lines[body[-1]])):
            body.pop()
        return body

    def clean(self) -> CleanPage:
        start = self.anchor()
        if start is None:
            self.result.removed = [line for line in self.lines if line]
            return self.result
        self.read_markers()
        header = self.header(start)
        title = self.find_title(header)
        self.read_dates(header, title)
        self.read_header_byline(header)
        body = self.body(start, self.body_end(start))
        keep = ([title] if title is not None else []) + self.standfirst(header, title) + body
        if title is not None:
            self.result.title = self.lines[title]
        else:
            self.result.title = next((self.lines[i] for i in body if not is_prose(self.lines[i])), None)
        self.result.text = "\n\n".join(self.lines[i] for i in keep)
        kept = set(keep)
        self.result.removed = [line for i, line in enumerate(self.lines) if line and i not in kept]
        return self.result


def clean_page(text: str) -> CleanPage:
    """Find the article in a page dump: cleaned text plus title, date, author, outlet."""
    return _Page(text).clean()
