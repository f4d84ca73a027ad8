"""Places a question asks for by kind: "which country …?" wants a sentence that names a country,
"which state …?" one that names a US state, and not just the ones the question itself names.

The regex type of ``extractive.SENTENCE_TYPES["place"]`` (a preposition before a capitalised
word) holds for nearly every news sentence, so it cannot tell a sentence that answers "which
country" from one that restates the question. The names come from pycountry (ISO 3166, kept
current by its maintainers) plus the short forms news writes that ISO does not use; no NER model
with bundled weights is on the registries this project installs from.
"""

from __future__ import annotations

import re
from functools import lru_cache

# How news names countries whose ISO name is formal ("Russian Federation", "Korea, Republic of").
SHORT_NAMES = (
    "Russia", "Iran", "Syria", "Venezuela", "Bolivia", "Vietnam", "South Korea", "North Korea", "Laos",
    "Moldova", "Tanzania", "Turkey", "Britain", "Great Britain", "UK", "US", "USA", "America",
    "Czech Republic", "Congo", "Palestine", "Ivory Coast", "Holland", "Macedonia", "Brunei",
)  # fmt: skip

_COUNTRY_QUESTION = re.compile(r"\b(which|what)\s+(\w+\s+){0,2}?(country|countries|nation|nations)\b", re.I)
_STATE_QUESTION = re.compile(r"\b(which|what)\s+(u\.?s\.?\s+|american\s+)?(state|states)\b", re.I)


@lru_cache(maxsize=2)
def _names(kind: str) -> frozenset[str]:
    import pycountry

    if kind == "state":
        names = {s.name for s in pycountry.subdivisions.get(country_code="US")}
    else:
        names = set(SHORT_NAMES)
        for country in pycountry.countries:
            names.update(getattr(country, a) for a in ("name", "common_name") if hasattr(country, a))
    return frozenset(n for n in names if "," not in n and "(" not in n)  # "Korea, Republic of": never in running text


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    """Every name of either kind, longest first, so that "New Mexico" is read whole, never as "Mexico"."""
    names = _names("country") | _names("state")
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")


def asked_kind(question: str) -> str | None:
    """ "country" or "state" when the question asks for one, else None."""
    if _COUNTRY_QUESTION.search(question):
        return "country"
    if _STATE_QUESTION.search(question):
        return "state"
    return None


def named(kind: str, text: str) -> set[str]:
    """The places of ``kind`` that ``text`` names."""
    return set(_pattern().findall(text)) & _names(kind)
