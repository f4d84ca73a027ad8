"""Dates as pages state them: full dates, a month alone, and the lines that are only a date.

A stored date is a day, "YYYY-MM-DD", or, where the page names only a month, the month,
"YYYY-MM": never the month's first day, a date the page does not state (issue 3.2). ``as_date``
turns either into the day ``as_of`` compares (a month counts as its last day: a page dated
"March 2024" may be from any day of it), ``shown`` into what a citation prints.

Written by hand: dateparser and dateutil parse a string that *is* a date, and guess the parts
it lacks (the day of "March 2024", the year of "March 3"); these find dates *inside* lines of
text and keep unstated parts unknown.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from caucasus_qa.text import MONTH_NUMBER, MONTH_PATTERN, MONTHS, words

_MON = rf"(?P<mon>{MONTH_PATTERN})\.?"
FULL_DATES = [
    re.compile(r"\b" + _MON + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b", re.IGNORECASE),
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MON + r",?\s+(?P<year>\d{4})\b", re.IGNORECASE),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
    re.compile(r"\b(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})\b"),
]
# "March 2024", "Sept. 2025": a month with its year and no day.
MONTH_YEAR = re.compile(r"\b" + _MON + r",?\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)
_MONTH_DAY = re.compile(
    r"\b"
    + _MON
    + r"\s+(?P<day>\d{1,2})\b(?!,?\s+\d{4})|\b(?P<day2>\d{1,2})\s+"
    + _MON.replace("mon>", "mon2>")
    + r"\b(?!,?\s+\d{4})",
    re.IGNORECASE,
)
TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?|\b\d{1,2}\s*[ap]\.?m\b\.?", re.IGNORECASE)
WEEKDAY = re.compile(
    r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\b\.?", re.IGNORECASE
)
_DATE_FILLER = re.compile(
    r"\b(?:updated|published|posted|on|at|last|modified|first|gmt|utc|[a-z]{1,4}t)\b|[\d\s,|/:.–—-]+",  # ET, CEST
    re.IGNORECASE,
)
DATELINE_MAX_WORDS = 10  # a date, a time, a zone and an "Updated": the longest seen was 9 words


def _month(parts: dict[str, str | None]) -> int:
    return MONTH_NUMBER.get((parts.get("mon") or "").lower().rstrip(".")) or int(parts.get("month") or 0)


def find_date(line: str) -> date | None:
    """The first full date in ``line`` (by position), or None."""
    found = []
    for pattern in FULL_DATES:
        for m in pattern.finditer(line):
            try:
                found.append((m.start(), date(int(m["year"]), _month(m.groupdict()), int(m["day"]))))
            except ValueError:
                continue
    return min(found)[1] if found else None


def find_month(line: str) -> str | None:
    """The first "Month YYYY" in ``line`` that is not part of a full date, as "YYYY-MM"."""
    covered = [m.span() for pattern in FULL_DATES for m in pattern.finditer(line)]
    for m in MONTH_YEAR.finditer(line):
        if not any(a <= m.start() < b for a, b in covered):
            return f"{int(m['year']):04d}-{_month(m.groupdict()):02d}"
    return None


def find_dates(text: str) -> list[str]:
    """Every full date in ``text`` as "YYYY-MM-DD", and month-day dates without a year as "MM-DD"."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in FULL_DATES:
        for m in pattern.finditer(text):
            try:
                found.append(date(int(m["year"]), _month(m.groupdict()), int(m["day"])).isoformat())
                spans.append(m.span())
            except ValueError:
                continue
    for m in _MONTH_DAY.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            month = MONTH_NUMBER[(m.group("mon") or m.group("mon2")).lower().rstrip(".")]
            found.append(f"{month:02d}-{int(m.group('day') or m.group('day2')):02d}")
    return found


def is_dateline(line: str) -> bool:
    """A line that is a date or a month (maybe with time, weekday, "Updated") and nothing else."""
    if len(line) > 200 or len(words(line)) > DATELINE_MAX_WORDS:
        return False
    if find_date(line) is None and find_month(line) is None:
        return False
    rest = line
    for pattern in (*FULL_DATES, MONTH_YEAR):
        rest = pattern.sub(" ", rest)
    rest = WEEKDAY.sub(" ", TIME.sub(" ", rest))
    return not _DATE_FILLER.sub("", rest).strip()


def normal(value: object) -> str | None:
    """A stated date as stored: "YYYY-MM-DD" from a day (ISO, with a time, or in words), "YYYY-MM"
    from a month alone; None when ``value`` states neither (a bare year is not a date)."""
    text = str(value).strip() if value is not None else ""
    iso = re.fullmatch(r"((?:19|20)\d\d)-(\d\d)(?:-(\d\d))?(?:[T ].*)?", text)
    if iso:
        year, month, day = iso.groups()
        try:
            return (
                date(int(year), int(month), int(day)).isoformat()
                if day
                else date(int(year), int(month), 1).strftime("%Y-%m")
            )
        except ValueError:
            return None
    day_found = find_date(text)
    return day_found.isoformat() if day_found else find_month(text)


def as_date(value: str | None) -> date | None:
    """The day a stored date stands for in ``as_of``: the day itself, or a month's last day."""
    text = (value or "").strip()
    try:
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            return date(year, month, calendar.monthrange(year, month)[1])
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def shown(value: str | None) -> str | None:
    """A stored date as a citation prints it: a day as "YYYY-MM-DD", a month as "March 2024"."""
    if value and len(value) == 7 and as_date(value):
        return f"{MONTHS[int(value[5:7]) - 1][0].capitalize()} {value[:4]}"
    return value
