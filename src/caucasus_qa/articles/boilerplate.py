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

from caucasus_qa.articles.dates import find_date, is_dateline
from caucasus_qa.articles.metadata import (
    Facts,
    LineFacts,
    is_person,
    is_section_label,
    read_credit,
    read_credit_line,
    read_line,
)
from caucasus_qa.text import SENTENCE_END, words

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
    r"^(?:(?i:author|authors|text|reporter|words)\s*[:\-–—]\s*|(?i:by|written by|author)\s+)"
    r"(?P<name>(?!(?i:the|a|an)\b)[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})\s*$"
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
    place: str | None = None  # the place of a wire dateline ("WASHINGTON (AP) —"), taken out of the text
    removed_dateline: str | None = None
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
        self._meta: dict[int, LineFacts | None] = {}
        self.start: int | None = None  # the anchor, once found

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
        """A one- or two-word line printed more than once above the article is the site's name
        (a masthead and a logo's text). Lines repeated inside a story are its own: the signature
        of each entry of a live blog ("– Marina Lee"), a speaker's label in a transcript."""
        counts: dict[str, int] = {}
        start = self.anchor()
        for line, kind in zip(self.lines[:start], self.kinds[:start]):
            if (
                kind is None
                and 1 <= len(words(line)) <= 2
                and not _BULLET.match(line)
                and line[0].isalnum()
                and not (
                    is_person(line)  # a byline printed twice ("Ana Lima" above and under a photo)
                )
            ):
                counts[line] = counts.get(line, 0) + 1
        repeated = [line for line, n in counts.items() if n >= 2 and not find_date(line)]
        return repeated[0] if repeated else None

    def _domain_site_name(self) -> str | None:
        """The domain a follow-us line names as its subject ("Follow Example.org social media
        accounts"), as printed. Not a domain elsewhere: alone on a line it is as likely a link to
        another site; in an e-mail address or a columnist's contact line it names a mail host."""
        for line in self.lines:
            m = _DOMAIN.search(line)
            if m is None or line[max(m.start() - 1, 0)] == "@":
                continue
            if re.match(rf"(?i:follow)\s+(?:the\s+)?{re.escape(m.group(0))}\b", line):
                return m.group(0).removeprefix("www.")
        return None

    def meta_at(self, i: int) -> LineFacts | None:
        """What line ``i`` states if it is a byline or date stamp (``metadata.read_line``)."""
        if i not in self._meta:
            header = self.start is None or i < self.start
            self._meta[i] = read_line(self.lines[i], infer=header) if self.kinds[i] is None else None
        return self._meta[i]

    def is_meta(self, i: int, inferred: bool = True) -> bool:
        """A byline, date stamp or dateline line: metadata, never the title or the text. Not
        ``inferred``: a line read as a byline from its names' shape alone does not count."""
        line, facts = self.lines[i], self.meta_at(i)
        return bool(
            is_dateline(line)
            or _BYLINE_LABEL.match(line)
            or read_credit_line(line)
            or facts is not None
            and (inferred or not facts.inferred)
        )

    def header(self, start: int) -> list[int]:
        return [i for i in range(start) if self.lines[i] and self.kinds[i] in (None, "teaser")]

    def find_title(self, header: list[int]) -> int | None:
        """A text's first line when it stands alone (the headline of a saved page); else the
        header line the page repeats; else the longest headline-like line."""
        all_keys = [_key(line) for line in self.lines if line]
        candidates = [
            i
            for i in header
            if 3 <= len(words(self.lines[i])) <= 30 and not _CATEGORY.match(self.lines[i]) and not self.is_meta(i)
        ]
        first = next((i for i, line in enumerate(self.lines) if line), None)
        alone = first is not None and (first + 1 == len(self.lines) or not self.lines[first + 1])
        if alone and first in header and self.headline_like(first):
            return first
        for i in candidates:
            k = _key(self.lines[i])
            if self.kinds[i] is None and sum(1 for other in all_keys if other == k or other.startswith(k + " ")) >= 2:
                return i
        plain = [i for i in candidates if self.kinds[i] is None]
        short = [i for i in plain if len(words(self.lines[i])) <= 20] or plain
        return max(short, key=lambda i: len(words(self.lines[i])), default=None)

    def headline_like(self, i: int) -> bool:
        """Line ``i`` can be a saved page's headline: two to thirty words, not a section label,
        byline or stamp (a headline such as "Ana Lima's Big Night | CNN" may read like a byline)."""
        line = self.lines[i]
        return 2 <= len(words(line)) <= 30 and not is_section_label(line) and not self.is_meta(i, inferred=False)

    def read_header_meta(self, header: list[int], title: int | None) -> None:
        """Author, outlet and date from the header's bylines, stamps and datelines. A date alone
        above the title is the site's clock; one below it is the publication date."""
        for i in (i for i in header if i != title):
            facts, credit, label = self.meta_at(i), read_credit_line(self.lines[i]), _BYLINE_LABEL.match(self.lines[i])
            if credit is not None:
                self.result.source = self.result.source or credit.outlet
                self.result.place = self.result.place or credit.place
            elif label is not None:
                self.result.author = self.result.author or label.group("name").strip()
            elif facts is not None:
                self.read_stamp(facts, above_title=title is not None and i < title)

    def read_stamp(self, facts: Facts, above_title: bool) -> None:
        if facts.published and above_title and not (facts.author or facts.outlet):
            self.result.date_note = (
                f"the page shows {facts.published} above the headline: that is the site's clock "
                "when the page was saved, not the publication date"
            )
            return
        self.result.author = self.result.author or facts.author
        self.result.source = self.result.source or facts.outlet
        if facts.published and self.result.published is None:
            self.result.published, self.result.date_note = facts.published, facts.date_note

    def read_lead_credit(self, start: int) -> None:
        """A wire dateline opening the story ("WASHINGTON (AP) — …") is metadata, not text."""
        credit = read_credit(self.lines[start])
        if credit is None:
            return
        self.result.removed_dateline = self.lines[start][: credit.length].strip()
        self.lines[start] = self.lines[start][credit.length :]
        self.result.source = self.result.source or credit.outlet
        self.result.place = self.result.place or credit.place
        if credit.published and self.result.published is None:
            self.result.published, self.result.date_note = credit.published, "the story's wire dateline"

    def standfirst(self, header: list[int], title: int | None) -> list[int]:
        """Lede and standfirst between the headline and the body; captions and notices go."""
        title_key = _key(self.lines[title]) if title is not None else None
        keep = []
        for i in header:
            line = self.lines[i]
            if title is not None and i <= title or self.kinds[i] is not None or _DOMAIN.search(line) or self.is_meta(i):
                continue
            if title_key and (_key(line) == title_key or _key(line).startswith(title_key + " ")):
                continue
            if is_prose(line) or (len(words(line)) >= 8 and not is_title_case(line)):
                keep.append(i)
        return keep

    def read_byline(self, body: list[int]) -> list[int]:
        """Take an author line from the end of the body; return the body without it."""
        for i in reversed(body[-3:]):
            label = _BYLINE_LABEL.match(self.lines[i])
            facts = read_line(self.lines[i], infer=False) if label is None and not is_prose(self.lines[i]) else None
            if self.listed_pair(i):
                continue
            if label is not None:
                self.result.author = label.group("name").strip()
            elif facts is not None and (facts.author or facts.outlet):
                self.result.author = facts.author or self.result.author
                self.result.source = self.result.source or facts.outlet
            else:
                continue
            return [j for j in body if j != i]
        return body

    def read_body_meta(self, i: int) -> None:
        """A byline inside or under the text ("Author: Ana Lima", "Reporting by …") names the
        author; a date stamp there is not taken as the publication date."""
        label, facts = _BYLINE_LABEL.match(self.lines[i]), self.meta_at(i)
        if label is not None:
            self.result.author = label.group("name").strip()
        elif facts is not None:
            self.result.author = facts.author or self.result.author
            self.result.source = self.result.source or facts.outlet

    def listed_pair(self, i: int) -> bool:
        """Line ``i`` reads as a name and a quoted name, and so does the line before or after it:
        a list of names and titles ('Ana Lima, “Lakeside Nights”'), text, not a signature."""
        facts = read_line(self.lines[i], infer=False)
        return facts is not None and facts.inferred and self._listed(i)

    def _listed(self, i: int) -> bool:
        """Whether the line before or after line ``i`` reads, like it, as a name and a quoted name."""
        near = [j for j in range(i - 1, -1, -1) if self.lines[j]][:1]
        near += [j for j in range(i + 1, len(self.lines)) if self.lines[j]][:1]
        return any((f := read_line(self.lines[j], infer=False)) is not None and f.inferred for j in near)

    def body(self, start: int, end: int) -> list[int]:
        """Body lines: chrome, datelines, repeated lines and a trailing byline/heading removed."""
        seen: set[str] = set()
        body = []
        for i in range(start, end):
            line = self.lines[i]
            if not line or self.kinds[i] is not None or line in seen:
                continue
            if i != start and self.is_meta(i) and not self.listed_pair(i):
                self.read_body_meta(i)
                continue
            seen.add(line)
            body.append(i)
        body = self.read_byline(body)
        while body and not (is_prose(self.lines[body[-1]]) or _closing_sentence(self.lines[body[-1]])):
            body.pop()
        return body

    def clean(self) -> CleanPage:
        start = self.start = self.anchor()
        if start is None:
            self.result.removed = [line for line in self.lines if line]
            return self.result
        self.read_markers()
        header = self.header(start)
        title = self.find_title(header)
        self.read_header_meta(header, title)
        self.read_lead_credit(start)
        body = self.body(start, self.body_end(start))
        keep = ([title] if title is not None else []) + self.standfirst(header, title) + body
        self.result.title = self.lines[title] if title is not None else None
        self.result.text = "\n\n".join(self.lines[i] for i in keep)
        kept = set(keep)
        self.result.removed = [line for i, line in enumerate(self.lines) if line and i not in kept]
        if self.result.removed_dateline:
            self.result.removed.append(self.result.removed_dateline)
        return self.result


def clean_page(text: str) -> CleanPage:
    """Find the article in a page dump: cleaned text plus title, date, author, outlet."""
    return _Page(text).clean()
