"""Candidate answers: spans of the asked-for kind in the candidate sentences, each with the
features that tell "about the topic" (the article and passage around it) from "states the
answer" (the predicate next to the span, in the same clause).

For a question asking for a description (why, how, what happened) the sentence itself is the
candidate. Every feature is a number in about [0, 1]; ``FEATURES`` fixes their order for the
fitted model (``scoring.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from caucasus_qa.answering.reading.question import NAME_LABELS, TIME_UNITS, Asked
from caucasus_qa.articles.evidence import Sentence
from caucasus_qa.text import terms

# No feature for a page's date: asked as of a day, retrieval already prefers recent pages in the
# passage score ``base`` reads, and a fitted weight on the date itself came out negative on the
# RealTime QA tune weeks (pages with no date read as old), which would undo "recent ones preferred".
FEATURES = (
    "primary",  # the span carries a label of the asked-for kind
    "loose",  # ... or one that may fit
    "base",  # the sentence's score from sentence scoring, over the best one's
    "rank",  # 1 / (1 + the sentence's place in that ranking)
    "cos",  # cosine of sentence and question (the embedding model)
    "lex",  # IDF-weighted share of the question's terms in the sentence
    "pred",  # IDF-weighted share of the predicate's words in the sentence
    "pred_elsewhere",  # ... not in the sentence but elsewhere in its article (told there, not here)
    "pred_near",  # 1 / (1 + tokens between the span and the nearest predicate word)
    "pred_link",  # the span and a predicate word are linked in the parse (head chain of at most 2)
    "near",  # IDF-weighted share of the question's terms within a few tokens of the span
    "topic_sent",  # IDF-weighted share of the topic's terms in the sentence
    "topic_ctx",  # ... in the article's title, lead and the sentences around this one
    "elsewhere",  # IDF-weighted share of the question's terms its article has only far from here
    "focus_near",  # the focus noun ("which company") next to the span
    "role",  # for a name: the span is the doer (subject, or the agent of a passive)
    "unit",  # for a number: it counts what was asked ("420 drivers" for "how many drivers"): 1, 0 if another noun
    "named_near",  # share of the names the question gives that stand in the sentence or around it
    "votes",  # other articles give the same span (log-scaled)
    "lead",  # the sentence is the article's first (leads state topics, rarely details)
    "echo",  # share of the span's terms the question already has
    "description",  # the candidate is a whole sentence (a description question, or no span found)
    "phrase",  # the candidate is a noun phrase, not an entity (``PHRASE_KINDS``)
    "digit",  # the span has a digit ("2023" is more precise than "years")
    "evidence",  # the question's evidence score (best sentence's similarity, the question's terms found)
)
# Kinds whose answer carries its own label: a count is a CARDINAL, never a sum of money; a
# candidate of another label does not answer them (names are looser: the recogniser confuses
# people, companies and places far more often than numbers and dates).
STRICT_KINDS = frozenset({"money", "percent", "count", "date"})
# Kinds whose answer may be a plain noun phrase ("national minorities", "programmers").
PHRASE_KINDS = frozenset({"person", "name", "thing"})
# The least share of the question's topic (IDF-weighted) a candidate's passage must hold: on the
# tuning questions (reading-basics and five-article dev splits) no right candidate had less than
# 0.3, and every candidate of 6 of the 30 unanswerable questions had (0.4: one right one lost).
TOPIC_TIE = 0.3
# Words that, before a time unit, make a span a length of time ("a year", "several weeks"),
# with any number ("26 months"); words after one that make a length a point ("two weeks ago").
_LENGTH_WORDS = frozenset({"a", "an", "several", "few", "half", "many"})
_POINT_AFTER = frozenset({"ago", "later", "earlier", "before", "after"})
NEAR_TOKENS = 8  # window for ``near``: a clause's reach in news prose (hand-set, not tuned)
_SPACE = re.compile(r"\s+")


class Ranked(Protocol):
    """What sentence scoring hands over per sentence (``extractive.Scored``)."""

    sentence: Sentence
    score: float
    cos: float
    lex: float


@dataclass
class Candidate:
    """One possible answer: ``text`` is ``sentence.text[start:end]`` (the whole sentence for a
    description), ``x`` its features in ``FEATURES`` order, ``p`` the fitted model's probability."""

    sentence: Sentence
    start: int
    end: int
    label: str
    rank: int
    x: list[float] = field(default_factory=list)
    p: float = 0.0

    @property
    def text(self) -> str:
        return self.sentence.text[self.start : self.end]

    @property
    def key(self) -> str:
        return normal(self.text)


def normal(text: str) -> str:
    """A span's text for comparing across pages: lower-case, single spaces, no edge punctuation."""
    return _SPACE.sub(" ", text.lower()).strip(" .,;:'\"“”‘’()")


@dataclass(frozen=True)
class Context:
    """What the candidates of one question are read against: the IDF of each question term, the
    text around a sentence (title, lead, neighbours), the lead's position, whole articles' terms."""

    idf: dict[str, float]
    around: Callable[[Sentence], str]
    lead_index: Callable[[str], int]
    words: Callable[[str], set[str]] = lambda _: set()  # the terms of a whole article
    evidence: float = 0.0  # the question's evidence score from sentence scoring (extractive.evidence_score)


def spans(asked: Asked, doc: Any, asked_terms: set[str]) -> list[tuple[int, int, str]]:
    """(start, end, label) of the entities of the asked-for kind in a sentence's parse, less the
    ones the question already names; for a question asking for a person or a thing of a kind no
    entity label names ("which groups", "who were the detainees"), its noun phrases too (label
    ``NP``), less the ones made only of the question's own words."""
    wanted = asked.labels if asked.kind in STRICT_KINDS else asked.labels | asked.loose
    out = []
    for ent in _entities(doc):
        if ent.label_ not in wanted or ent.text.lower() in asked.named or not _fits_time(asked, ent):
            continue
        if ent.label_ in NAME_LABELS and all(t.lower_ in asked.named for t in ent):
            continue
        if _describes(ent):
            continue
        before = doc[ent.start - 1] if ent.start > 0 else None
        start = before.idx if before is not None and before.is_currency and ent.label_ == "MONEY" else ent.start_char
        out.append((start, ent.end_char, ent.label_))  # "£12": the recogniser may leave the £ out
    if asked.kind in PHRASE_KINDS:
        out += _phrases(asked, doc, asked_terms, {(s, e) for s, e, _ in out})
    elif asked.focus is not None and asked.kind not in STRICT_KINDS:
        out += _named_by_focus(asked, doc, {(s, e) for s, e, _ in out})
    return out


def _describes(ent: Any) -> bool:
    """A name used to describe a noun, not to name what was asked: a nationality as an adjective
    ("the famed Italian city"), a place or people before "-based"/"-owned" ("the Ashby-based
    chain"). Which city is not "Italian"; the name, if any, stands beside the noun. The parse
    says this; the recogniser labels both a NORP or GPE like any name."""
    root = ent.root
    if ent.label_ == "NORP" and (root.pos_ == "ADJ" or root.dep_ == "amod"):
        return True
    doc = ent.doc
    hyphen = doc[ent.end] if ent.end < len(doc) else None
    return root.dep_ == "npadvmod" and hyphen is not None and hyphen.text == "-" and root.head.i == ent.end + 1


# What may stand between a day and its time of day in one point in time ("10 p.m. on Thursday").
_TIME_JOINERS = frozenset({"on", "at", ","})


def _entities(doc: Any) -> list[Any]:
    """The parse's entities, with a day and its time of day joined into one point in time: the
    recogniser labels "Tuesday" a DATE and "afternoon" a TIME, and a "when" answer is both."""
    from spacy.tokens import Span

    out: list[Any] = []
    for ent in doc.ents:
        last = out[-1] if out else None
        between = doc[last.end : ent.start] if last is not None else []
        if (
            last is not None
            and {last.label_, ent.label_} <= {"DATE", "TIME"}
            and last.label_ != ent.label_
            and len(between) <= 1
            and all(t.lower_ in _TIME_JOINERS for t in between)
        ):
            out[-1] = Span(doc, last.start, ent.end, label="DATE")
        else:
            out.append(ent)
    return out


def _named_by_focus(asked: Asked, doc: Any, taken: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Noun phrases headed by the focus noun that name one ("the Marsh Ferry district" for "in
    which district"), or the name after it ("the village of Low Sallow"): the recogniser misses
    many such names, and the head noun says the kind."""
    out = []
    chunks = list(doc.noun_chunks)
    for chunk in chunks:
        if chunk.root.lemma_.lower() != asked.focus:
            continue
        named = _name_after(chunk, chunks)  # "of Elm Tarrow": whatever label the recogniser gave it
        if named is None and chunk.root.ent_type_:
            continue  # an entity: a candidate already where its label fits
        chunk = named if named is not None else chunk
        if not any(t.pos_ == "PROPN" and t.lower_ not in asked.named for t in chunk):
            continue
        words = [t for t in chunk if not t.is_stop]
        start, end = words[0].idx, words[-1].idx + len(words[-1].text)
        if not any(s <= start < e or s < end <= e for s, e in taken):
            out.append((start, end, "NP"))
    return out


def _name_after(chunk: Any, chunks: Sequence[Any]) -> Any | None:
    """The noun phrase after "of" that ``chunk``'s head governs ("the village | of Low Sallow")."""
    head = chunk.root
    return next(
        (c for c in chunks if c.root.dep_ == "pobj" and c.root.head.lower_ == "of" and c.root.head.head.i == head.i),
        None,
    )


def _phrases(asked: Asked, doc: Any, asked_terms: set[str], taken: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Noun phrases as candidates: for "who are the X" (people described, not named) and for
    things; for "who did it" only the doer of what was asked ("a local choir closed the
    evening"), not any phrase near it ("the new album" produced nothing)."""
    out = []
    doers_only = asked.kind == "person" and not asked.relation
    for chunk in doc.noun_chunks:
        words = [t for t in chunk if not t.is_stop and t.pos_ != "PRON"]
        if not words or chunk.root.ent_type_ or set(terms(chunk.text)) <= asked_terms:
            continue  # pronouns, entities (already candidates) and restatements of the question
        if doers_only and not _does(chunk.root, asked.predicate):
            continue
        start, end = words[0].idx, words[-1].idx + len(words[-1].text)
        if (start, end) not in taken:
            out.append((start, end, "NP"))
    return out


def _does(token: Any, predicate: frozenset[str]) -> bool:
    """``token`` is the doer of a verb the question asks about."""
    verb = _done_by(token)
    return verb is not None and verb.lemma_.lower() in predicate


def _is_length(ent: Any) -> bool:
    """The span is a length of time ("26 months", "about a year"), not a point in it ("the
    coming school year", "December", "two weeks ago")."""
    doc = ent.doc
    after = doc[ent.end] if ent.end < len(doc) else None
    if after is not None and after.lower_ in _POINT_AFTER:
        return False
    unit = any(t.lemma_.lower() in TIME_UNITS for t in ent)
    return unit and any(t.like_num or t.lower_ in _LENGTH_WORDS for t in ent)


def _fits_time(asked: Asked, ent: Any) -> bool:
    """A date or time span of the right sort: a length for "how long", a point for "when"."""
    if ent.label_ not in ("DATE", "TIME"):
        return True
    if asked.kind == "duration":
        return _is_length(ent)
    if asked.kind == "date":
        return not _is_length(ent)
    return True


def _weighted(found: set[str], wanted: frozenset[str] | set[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(t, 1.0) for t in wanted)
    return sum(idf.get(t, 1.0) for t in wanted if t in found) / total if total else 0.0


def _lemmas(doc: Any) -> list[str]:
    """Each token's lower-cased lemma, worked out once per parse (a sentence has many candidates)."""
    kept = doc.user_data.get("cqa_lemmas")
    if kept is None:
        kept = doc.user_data["cqa_lemmas"] = [t.lemma_.lower() for t in doc]
    return kept


def _span_tokens(doc: Any, start: int, end: int) -> list[Any]:
    return [t for t in doc if t.idx < end and t.idx + len(t) > start]


def _linked(a: Any, b: Any, hops: int = 2) -> bool:
    """``a`` and ``b`` within ``hops`` of each other along head chains (one may govern the other,
    or both hang from one word)."""
    up_a = [a, *list(a.ancestors)[:hops]]
    up_b = [b, *list(b.ancestors)[:hops]]
    return any(x.i == y.i for x in up_a for y in up_b)


def _done_by(token: Any) -> Any | None:
    """The verb ``token`` names the doer of: as its subject, as the agent of a passive ("built
    by X"), or in apposition to one of those; None where it is no doer."""
    while token.dep_ in ("compound", "appos", "conj") and token.head is not token:
        token = token.head
    if token.dep_ in ("nsubj", "nsubjpass"):
        return token.head
    if token.dep_ == "pobj" and token.head.dep_ == "agent":
        return token.head.head
    return None


def _doer(token: Any) -> bool:
    """The token names who did it (``_done_by``)."""
    return _done_by(token) is not None


def _counted_by(root: Any) -> Any | None:
    """The noun a number span counts: the one it modifies ("420 drivers"), or its own head noun
    where the recogniser took the unit in ("about 30 acres"); None where it names no noun."""
    if root.pos_ == "NOUN" and not root.like_num:
        return root
    counted = root.head if root.dep_ in ("nummod", "quantmod", "compound") else None
    return counted if counted is not None and counted.pos_ == "NOUN" else None


def features(asked: Asked, cand: Candidate, r: Ranked, doc: Any, ctx: Context, votes: int, top: float) -> list[float]:
    """The feature vector of one candidate (see ``FEATURES``)."""
    s = cand.sentence
    whole = cand.label == "SENTENCE"
    own = _span_tokens(doc, cand.start, cand.end) if not whole else list(doc)
    root = min(own, key=lambda t: len(list(t.ancestors))) if own else None
    lemma_of = _lemmas(doc)
    lemmas = set(lemma_of)
    own_i = {t.i for t in own}
    pred_tokens = [doc[i] for i, lem in enumerate(lemma_of) if lem in asked.predicate and i not in own_i]
    first, last = (own[0].i, own[-1].i) if own else (0, 0)
    gap = min((max(first - t.i, t.i - last, 0) for t in pred_tokens), default=None)
    question_terms = set(ctx.idf)
    window = doc[max(0, first - NEAR_TOKENS) : last + NEAR_TOKENS + 1].text if not whole else s.text
    sent_terms = set(terms(s.text))
    span_terms = set(terms(cand.text))
    focus_gap = None
    if asked.focus is not None:
        focus_gap = min(
            (max(first - i, i - last, 0) for i, lem in enumerate(lemma_of) if lem == asked.focus and i not in own_i),
            default=None,
        )
    around = set(terms(ctx.around(s)))
    pred_stems = {p: (terms(p) or [p])[0] for p in asked.predicate}
    weight = {p: ctx.idf.get(st, 1.0) for p, st in pred_stems.items()}
    total = sum(weight.values()) or 1.0
    here = {p for p, st in pred_stems.items() if p in lemmas or st in sent_terms}
    pred_here = sum(weight[p] for p in here) / total if asked.predicate else 0.0
    elsewhere = ctx.words(s.article_id)
    pred_elsewhere = sum(weight[p] for p, st in pred_stems.items() if p not in here and st in elsewhere) / total
    unit = 0.5
    if asked.focus is not None and asked.kind in ("count", "quantity", "amount") and root is not None and not whole:
        counted = _counted_by(root)
        if counted is not None:
            unit = float(counted.lemma_.lower() == asked.focus)
    near_text = (ctx.around(s) + " " + s.text).lower()
    named_near = sum(1 for n in asked.named if n in near_text) / len(asked.named) if asked.named else 1.0
    return [
        float(cand.label in asked.labels),
        float(cand.label in asked.loose),
        r.score / top if top > 0 else 0.0,
        1.0 / (1 + cand.rank),
        r.cos,
        r.lex,
        pred_here,
        pred_elsewhere,
        0.0 if gap is None or whole else 1.0 / (1 + gap),
        float(root is not None and not whole and any(_linked(root, t) for t in pred_tokens)),
        _weighted(set(terms(window)), question_terms, ctx.idf),
        _weighted(sent_terms, asked.topic, ctx.idf),
        _weighted(around, asked.topic, ctx.idf),
        _weighted(elsewhere - around - sent_terms, question_terms, ctx.idf),
        0.0 if focus_gap is None or whole else 1.0 / (1 + focus_gap),
        float(root is not None and not whole and asked.kind in ("person", "org", "name") and _doer(root)),
        unit,
        named_near,
        min(1.0, math.log1p(votes) / math.log(5)),
        float(s.index == ctx.lead_index(s.article_id)),
        len(span_terms & question_terms) / len(span_terms) if span_terms and not whole else 0.0,
        float(whole),
        float(cand.label == "NP"),
        float(any(ch.isdigit() for ch in cand.text)),
        ctx.evidence,
    ]


def gather(asked: Asked, ranked: Sequence[Ranked], docs: Sequence[Any], ctx: Context) -> list[Candidate]:
    """Every candidate of the asked-for kind in ``ranked`` (parsed as ``docs``), with features;
    whole sentences where the question asks for a description. None where no sentence holds a
    span of the asked kind: then nothing states what was asked (``abstention.declines``)."""
    found: list[tuple[Candidate, Any, Ranked]] = []
    for rank, (r, doc) in enumerate(zip(ranked, docs)):
        if asked.wants_span:
            for start, end, label in spans(asked, doc, set(ctx.idf)):
                found.append((Candidate(r.sentence, start, end, label, rank), doc, r))
    if not asked.wants_span:  # a description: the sentences are the candidates
        found = [
            (Candidate(r.sentence, 0, len(r.sentence.text), "SENTENCE", i), d, r)
            for i, (r, d) in enumerate(zip(ranked, docs))
        ]
    articles: dict[str, set[str]] = {}
    for c, _, _ in found:
        articles.setdefault(c.key, set()).add(c.sentence.article_id)
    top = max((r.score for r in ranked), default=0.0)
    out = []
    for c, doc, r in found:
        c.x = features(asked, c, r, doc, ctx, len(articles[c.key]) - 1, top)
        if c.label == "SENTENCE" or tied(asked, c, doc):
            out.append(c)
    return out


def tied(asked: Asked, c: Candidate, doc: Any) -> bool:
    """A span is tied to what was asked: its passage is about the question's topic (``TOPIC_TIE``
    of the topic's weight around it), and where the question asks who holds a role ("who is the
    architect of …") or for a thing by its name ("what was the turnout") its sentence says so."""
    if c.x[FEATURES.index("topic_ctx")] < TOPIC_TIE and asked.topic:
        return False
    if asked.kind == "count" and c.x[FEATURES.index("unit")] == 0.0:
        return False  # "3,000 cars" does not say how many people came
    if asked.kind == "thing" and asked.focus is not None and not _says(doc, {asked.focus}):
        return False  # "what is the turnout": a sentence that never says turnout does not give it
    return not asked.relation or _says(doc, asked.relation)


def _says(doc: Any, lemmas: set[str] | frozenset[str]) -> bool:
    """The sentence holds one of ``lemmas``, as a lemma or a stem."""
    words = set(_lemmas(doc)) | set(terms(doc.text))
    return any(w in words or (terms(w) or [w])[0] in words for w in lemmas)
