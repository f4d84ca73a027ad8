"""Text utilities shared by cleaning, answering, judging and follow-ups: words, content terms,
month names and sentence ends. Defined once here so the modules that read text agree on them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from caucasus_qa import offline

# A word: letters and digits, with inner apostrophes ("don't", "Kadyrov’s").
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A line or sentence that ends like a sentence: final punctuation, maybe inside closing quotes.
SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$|[\"”»]$")

# Month names and the abbreviations news pages use, in calendar order; the full name first.
MONTHS: tuple[tuple[str, ...], ...] = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sept", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)
MONTH_NUMBER: dict[str, int] = {name: i for i, names in enumerate(MONTHS, start=1) for name in names}
MONTH_NAMES: frozenset[str] = frozenset(names[0] for names in MONTHS)
# A regex alternation of every month name, longest first so "september" is not read as "sep".
MONTH_PATTERN = "|".join(sorted(MONTH_NUMBER, key=len, reverse=True))

# Words that shape a question rather than name its content ("how many", "what kind of").
_QUESTION_WORDS = {
    "according",
    "also",
    "would",
    "could",
    "say",
    "said",
    "says",
    "article",
    "articles",
    "piece",
    "many",
    "much",
    "often",
    "long",
    "exactly",
    "kind",
    "type",
    "sort",
    "happen",
    "happened",
    "mention",
    "mentioned",
    "describe",
    "described",
    "name",
    "named",
    "tell",
    "told",
    "one",
    "ones",
    "date",
    "dates",
    "cause",
    "caused",
    "whom",
    "whose",
    "whats",
    "what's",
    "who's",
}


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stop words plus the words that shape a question."""
    offline.apply()  # NLTK_DATA: the stop word list shipped with llama-index-core
    from nltk.corpus import stopwords as nltk_stopwords

    return frozenset(nltk_stopwords.words("english")) | _QUESTION_WORDS


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


_BRITISH = [
    (re.compile(r"(\w{3,})is(e|ed|es|ing|ation|ations)$"), r"\1iz\2"),
    (re.compile(r"(\w{2,})our(s|ed|ing)?$"), r"\1or\2"),
    (re.compile(r"(\w{2,})yse(s|d)?$"), r"\1yze\2"),
]
_POSSESSIVE = re.compile(r"'s$")


def _spelling(word: str) -> str:
    """Fold British -ise/-our/-yse spellings onto American ones ("apologised" meets "apologized")."""
    for pattern, repl in _BRITISH:
        word = pattern.sub(repl, word)
    return word


def words(text: str) -> list[str]:
    return WORD.findall(text)


def terms(text: str) -> list[str]:
    """Content terms: lower-cased, stop words dropped, spelling folded, stemmed."""
    return [t for t in map(_term, WORD.findall(text)) if t]


# Words whose term is remembered (about 40 MB at most). News repeats its words: 85,205 chunks of
# the kit have ~15M words but far fewer distinct ones, and folding and stemming each occurrence
# was 65 of the 87 s that building a 5,384-page store's lexicon took (docs/performance.md).
TERM_CACHE = 500_000


@lru_cache(maxsize=TERM_CACHE)
def _term(word: str) -> str:
    """One word's content term, or "" for a stop word or a single character."""
    folded = _POSSESSIVE.sub("", word.lower().replace("’", "'"))
    if folded in stopwords() or len(folded) <= 1:
        return ""
    return str(_stemmer().stemWord(_spelling(folded)))


def name_terms(text: str) -> set[str]:
    """Terms of capitalised words after the first, and numbers: names a corpus either has or not.
    A missing common word ("sour") is likelier a paraphrase than a missing topic."""
    found = WORD.findall(text)
    picked = [w for i, w in enumerate(found) if (i > 0 and w[:1].isupper()) or w[:1].isdigit()]
    return set(terms(" ".join(picked)))
