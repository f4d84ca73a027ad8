"""The default answerer: composes answers from the articles' own sentences. Offline, instant.

No extractive-QA, cross-encoder or NLI model can be installed here, so answering is scoring:
every sentence of the retrieved chunks is scored for how well it answers the question
(embedding similarity with the bundled model, IDF-weighted overlap with the question's
terms, and whether it holds what the question asks for: a number, a date, a person, a
place, a reason). The best one to three non-redundant sentences become the answer, each
quoted verbatim with its offsets. Weak evidence means abstaining; the threshold is
calibrated on the eval set's dev split (see ``evaluate.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from caucasus_qa.answering.abstention import AGREEING, RERANKS, EvidenceFeatures, RiskModel, staleness
from caucasus_qa.answering.answer import ABSTAIN_TEXT, Answer, Citation, Claim
from caucasus_qa.answering.names import fits, names_in
from caucasus_qa.answering.places import asked_kind, named
from caucasus_qa.answering.reading import Reader, Reading
from caucasus_qa.answering.reading.candidates import Context
from caucasus_qa.answering.retrieval import PRESENT_TIME
from caucasus_qa.articles.evidence import Sentence, SentenceIndex, addresses_assistant
from caucasus_qa.store.lexicon import CorpusStats
from caucasus_qa.text import MONTH_PATTERN, name_terms, terms

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|millions?|dozens?|several|half"
)

QUESTION_TYPES: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"\bhow (many|much|old|long)\b|\bwhat (number|percentage|share|amount)\b", re.I),
    "date": re.compile(r"^\W*when\b|\b(what|which) (year|date|day|month)\b|\bsince when\b|\bwhat time\b", re.I),
    "person": re.compile(
        r"^\W*(who|whom|whose)\b|\bwhich (official|politician|president|minister|expert|person|"
        r"analyst|scientist|leader|spokes\w*|journalist|author|ruler|researcher|lecturer)\b|"
        r"\bwho\b",
        re.I,
    ),
    "place": re.compile(r"^\W*where\b|\b(which|what) (city|country|town|region|place|capital)\b|\bin what\b", re.I),
    "reason": re.compile(
        r"^\W*why\b|\bwhat (caused|led to|prompted|triggered|was the reason)\b|\breason\b|"
        r"\bhow come\b|\bcause of\b|^\W*how (did|do|does|was|were)\b.*\b(die|died|killed|happen|"
        r"start|begin|began)\b",
        re.I,
    ),
}
SENTENCE_TYPES: dict[str, re.Pattern[str]] = {
    "number": re.compile(rf"\b\d[\d,.]*\b|\b({_NUMBER_WORDS})\b", re.I),
    "date": re.compile(
        rf"\b({MONTH_PATTERN})\b|\b(1[89]|20)\d\d\b|\b(last|next) (week|month|year)\b|\b(yesterday|"
        r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        re.I,
    ),
    "person": re.compile(
        r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b|\b(said|says|told|noted|believes|added|"
        r"according to)\b"
    ),
    "place": re.compile(r"\b(in|at|near|from|over|to)\s+(the\s+)?[A-Z][\w-]+"),
    "reason": re.compile(
        r"\b(because|due to|as a result|led to|reason|caused|prompt\w*|in response|since|"
        r"following|trigger\w*|after|so that|therefore|why|(died|dies|death|killed) (of|from|by))\b",
        re.I,
    ),
}

# The reader's answer kinds (reading/question.py) whose answers are numbers or dates: two
# articles giving different ones about as likely are different accounts.
NUMERIC_KINDS = frozenset({"money", "count", "quantity", "percent", "date", "duration", "amount", "frequency"})

# What a sentence must hold to answer such a question at all: a when-question's answer has a date.
_REQUIRED = {"number", "date", "reason"}

# A calendar date ("December 25", "25 December", "December 2024", "2024-12-25"): for when-questions
# it beats a relative one ("late last year"), which the reader cannot place.
_CALENDAR_DATE = re.compile(
    rf"\b({MONTH_PATTERN})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({MONTH_PATTERN})\b|\b({MONTH_PATTERN}),?\s+(1[89]|20)\d\d\b"
    r"|\b(1[89]|20)\d\d-\d\d-\d\d\b",
    re.I,
)


_FOCUS = re.compile(r"\b(?:what|which|whose)\s+(?:kind of\s+|type of\s+|sort of\s+)?([^\W\d_]+)", re.I)
_TYPE_NOUNS = {
    "country",
    "city",
    "town",
    "region",
    "place",
    "year",
    "date",
    "day",
    "month",
    "person",
    "people",
    "kind",
    "type",
    "thing",
    "things",
    "role",
    "name",
    "number",
    "percentage",
    "time",
    "happened",
    "did",
    "does",
    "do",
    "was",
    "were",
    "is",
    "are",
    "has",
    "have",
    "had",
    "the",
    "a",
    "an",
}


def focus_terms(question: str) -> set[str]:
    """The noun a what/which question asks about ("what charges" → charg), as a stemmed term."""
    words = [m.group(1) for m in _FOCUS.finditer(question) if m.group(1).lower() not in _TYPE_NOUNS]
    return set(terms(" ".join(words))) if words else set()


def question_types(question: str) -> set[str]:
    return {name for name, pattern in QUESTION_TYPES.items() if pattern.search(question)}


@dataclass
class Scored:
    sentence: Sentence
    score: float
    support: float
    cos: float
    lex: float
    typed: bool
    terms: set[str] = field(default_factory=set)
    vector: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Weighed:
    """One question's evidence as every backend uses it (``ExtractiveAnswerer.weigh``): the
    candidate sentences best first, re-ranked; the evidence score; whether to decline."""

    ranked: list[Scored]
    confidence: float
    declined: bool
    reading: Reading | None = None  # what the reader made of it (None: no reader, or declined before reading)


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made (``_score_one``, ``vote``) and how the evidence score is
    discounted. Chosen by `caucasus-qa eval --split dev --tune` (grid search, overall accuracy
    0.892 on the five-article dev split; never tuned on its test split) unless noted."""

    cos: float = 0.35  # cosine of sentence and question
    lex: float = 0.5  # IDF-weighted share of the question's terms in the sentence
    type: float = 0.05  # holds what the question asks for (number, date, person, place, reason)
    passage: float = 0.08  # the retrieved passage's fused score
    oov: float = 0.2  # evidence score lost per share of the question's weight found nowhere in the corpus
    focus: float = 1.0  # extra IDF weight on the noun a which/what question asks about
    novel: float = 0.1  # share of the sentence's terms the question does not have
    untyped: float = 0.1  # lost by a when/how-many/why sentence without a date/number/reason (set by reason)
    # Cross-page name vote; RealTime QA tune weeks (0, 0.05, 0.15, 0.3 tried; docs/evaluation.md).
    vote: float = field(default=0.15, metadata=RERANKS)
    # Gained by a sentence naming a country (a US state) the question does not, when the question
    # asks "which country (state)" (places.py); RealTime QA tune weeks (0, 0.1, 0.2, 0.3 tried).
    place_named: float = 0.2
    # Gained by a sentence in the best ``Selection.fitted`` times how well its best new name fits
    # the kind of name the question asks for (names.py); RealTime QA tune weeks, 1,000-page store
    # (0, 0.05, 0.1, 0.15, 0.2, 0.3 tried: gold strict 0.375 → 0.425 at 0.1; docs/evaluation.md).
    name_fit: float = field(default=0.1, metadata=RERANKS)
    # Hand-set in the first round on the five-article dev split, not searched since:
    meta: float = 0.5  # share of ``lex`` for a question term only the article's title/outlet/author holds
    oov_common: float = 0.5  # share of ``oov`` for a missing word that is neither a name nor the asked-for noun
    heading: float = 0.5  # score kept by a heading (a title line states a topic, rarely an answer)
    asking: float = 0.6  # score kept by a sentence that is itself a question


@dataclass(frozen=True)
class Selection:
    """How the scored sentences become the quoted ones (``select``, ``_choose``, ``vote``).
    Hand-set in the first round on the five-article dev split unless noted; reachable by
    ``eval --weight NAME=VALUE`` like :class:`Weights`."""

    max_sentences: int = 3  # quoted at most
    runner_up_other: float = 0.85  # share of the best score a sentence of another article needs
    runner_up_same: float = 0.92  # the same for a sentence of an article already quoted
    redundant: float = 0.5  # term overlap above which a runner-up repeats a chosen sentence
    dated_floor: float = 0.5  # share of the best score a sentence with a calendar date needs to come along
    conflict_close: float = 0.9  # share of the best score within which two accounts are compared
    # Cosine between two sentences above which they report the same thing.
    same_topic: float = 0.6
    # Lower: two sentences about one event in different words (MiniLM gives paraphrases ~0.8, two
    # reports of one event ~0.45-0.6, unrelated sentences of one news story ~0.2-0.35).
    same_event: float = 0.4
    # The best sentences whose names vote (about the sentences of the top passages).
    voters: int = field(default=20, metadata=RERANKS)
    # The best sentences whose names are typed for ``Weights.name_fit``: each name costs ~2-4 ms on
    # 2 cores; RealTime QA tune weeks, 1,000-page store: 8 / 12 / 20 gave gold strict 0.412 / 0.425 / 0.425.
    fitted: int = field(default=12, metadata=RERANKS)
    # Share of the reader's best probability that another article's same answer needs to be quoted
    # beside it (hand-set: corroboration, not a second answer; not tuned).
    corroborates: float = field(default=0.5, metadata=RERANKS)


@dataclass
class ExtractiveAnswerer:
    """Scores sentences of the retrieved passages and quotes the best ones."""

    sentences: SentenceIndex
    stats: Callable[[], CorpusStats]
    metadata: Callable[[str], dict[str, str]]
    threshold: float  # settings.abstain_threshold
    weights: Weights = field(default_factory=lambda: Weights())
    selection: Selection = field(default_factory=lambda: Selection())
    risk_model: RiskModel | None = None  # declines beyond the threshold (abstention.py); None: threshold only
    encode: Callable[[list[str]], np.ndarray] | None = None  # embeds names for ``name_fit``; None: off
    reader: Reader | None = None  # reads the best sentences for the asked-for span (reading/); None: off
    name: str = "extractive"

    def scoring_with(self, stats: CorpusStats) -> ExtractiveAnswerer:
        """This answerer scoring with ``stats`` (the term statistics retrieval used) instead of
        the store's current ones."""
        return replace(self, stats=lambda: stats)

    # -- scoring -----------------------------------------------------------------------
    def score(self, question: str, q_emb: np.ndarray, passages: Sequence[Any]) -> tuple[list[Scored], float]:
        """All candidate sentences, best first, and the share of question weight not in the corpus."""
        idf, oov = self._question_weights(question)
        total = sum(idf.values()) or 1.0
        wanted = question_types(question)
        kind = asked_kind(question)
        place = (kind, named(kind, question)) if kind else None
        seen: set[tuple[str, int]] = set()
        out: list[Scored] = []
        for passage in passages:
            node = passage.node
            for sentence, vector in self.sentences.within(
                passage.article_id, node.start_char_idx or 0, node.end_char_idx or 0
            ):
                if (sentence.article_id, sentence.start) in seen or addresses_assistant(sentence.text):
                    continue
                seen.add((sentence.article_id, sentence.start))
                out.append(
                    self._score_one(
                        sentence,
                        vector,
                        q_emb,
                        idf,
                        total,
                        wanted,
                        passage.score or 0.0,
                        self._article_terms(sentence.article_id),
                        place,
                    )
                )
        out.sort(key=lambda s: s.score, reverse=True)
        return out, oov

    def _question_weights(self, question: str) -> tuple[dict[str, float], float]:
        """Each question term's IDF (the asked-about noun's raised by ``focus``), and the share
        of the question's weight found nowhere in the corpus."""
        stats = self.stats()
        idf = {t: stats.idf(t) for t in set(terms(question))}
        total = sum(idf.values()) or 1.0
        # A missing name, or a missing thing asked about ("which airline"), means a missing topic.
        names, focus = name_terms(question), focus_terms(question)
        common = self.weights.oov_common
        oov = (
            sum(v * (1.0 if t in names | focus else common) for t, v in idf.items() if stats.df.get(t, 0) == 0) / total
        )
        for t in focus & set(idf):
            idf[t] *= 1 + self.weights.focus
        return idf, oov

    def _article_terms(self, article_id: str) -> set[str]:
        """Title, outlet and author terms: a question may name the article ("the DW piece")."""
        meta = self.metadata(article_id)
        return set(terms(" ".join(meta.get(k, "") for k in ("title", "outlet", "author", "published"))))

    def _score_one(
        self,
        sentence: Sentence,
        vector: np.ndarray,
        q_emb: np.ndarray,
        idf: dict[str, float],
        total: float,
        wanted: set[str],
        passage_score: float,
        article_terms: set[str],
        place: tuple[str, set[str]] | None = None,
    ) -> Scored:
        """One sentence's score. ``place``: the kind of place the question asks for and the ones
        it names itself (``places.py``)."""
        s_terms = set(terms(sentence.text))
        lex = sum(v for t, v in idf.items() if t in s_terms) / total
        meta = sum(v for t, v in idf.items() if t in article_terms and t not in s_terms) / total
        novelty = len(s_terms - set(idf)) / max(1, len(s_terms))
        cos = float(np.dot(vector, q_emb))
        typed = any(SENTENCE_TYPES[t].search(sentence.text) for t in wanted) if wanted else False
        calendar = "date" in wanted and bool(_CALENDAR_DATE.search(sentence.text))
        w = self.weights
        score = (
            w.cos * cos
            + w.lex * (lex + w.meta * meta)
            + w.type * ((typed or not wanted) + calendar)
            + w.passage * passage_score
            + w.novel * novelty
        )
        if place is not None and named(place[0], sentence.text) - place[1]:
            score += w.place_named
        if wanted & _REQUIRED and not any(SENTENCE_TYPES[t].search(sentence.text) for t in wanted & _REQUIRED):
            score *= 1 - w.untyped  # "when…?" answered by a sentence without any date
        if sentence.is_heading:
            score *= w.heading
        elif sentence.text.rstrip("\"'”’») ").endswith("?"):
            score *= w.asking
        return Scored(sentence, score, 0.5 * cos + 0.5 * lex, cos, lex, typed, s_terms, vector)

    # -- selection ---------------------------------------------------------------------
    def confidence(self, question: str, selected: list[Scored]) -> float:
        """Evidence strength: the best sentence's similarity, and how much of the question's
        (IDF-weighted) terms the selected sentences cover together (multi-part questions)."""
        if not selected:
            return 0.0
        stats = self.stats()
        idf = {t: stats.idf(t) for t in set(terms(question))}
        covered = set().union(*(s.terms for s in selected))
        lex = sum(v for t, v in idf.items() if t in covered) / (sum(idf.values()) or 1.0)
        return 0.5 * max(s.cos for s in selected) + 0.5 * lex

    def evidence_score(self, question: str, scored: list[Scored], oov: float) -> float:
        """What abstention is decided on, for every backend: the confidence of the ungated selection,
        less the share of the question's weight that occurs nowhere in the corpus."""
        return self.confidence(question, self.select(scored, gate=False)) - self.weights.oov * oov

    def assess(
        self, question: str, scored: list[Scored], oov: float, passages: Sequence[Any], as_of: date | None = None
    ) -> tuple[float, bool]:
        """The evidence score, and whether to decline: below the threshold, or (with a risk
        model) too likely unanswerable. Every backend declines by this."""
        confidence = self.evidence_score(question, scored, oov)
        if not scored or confidence < self.threshold:
            return confidence, True
        return confidence, self.risky(question, scored, oov, passages, confidence, as_of)

    def risky(
        self,
        question: str,
        scored: list[Scored],
        oov: float,
        passages: Sequence[Any],
        confidence: float,
        as_of: date | None,
    ) -> bool:
        """Whether the risk model, where one applies to a store of this size, declines."""
        chunks = self.stats().n
        if self.risk_model is None or not self.risk_model.applies(chunks):
            return False  # no features worked out where no model uses them
        features = self.features(question, scored, oov, passages, confidence, as_of)
        return self.risk_model.declines(features, chunks)

    def never_declining(self) -> ExtractiveAnswerer:
        """This answerer with no threshold and no risk model: every question's answer and evidence
        score (for calibrating on an eval set)."""
        return replace(self, threshold=float("-inf"), risk_model=None)

    def features(
        self,
        question: str,
        scored: list[Scored],
        oov: float,
        passages: Sequence[Any],
        confidence: float,
        as_of: date | None = None,
    ) -> EvidenceFeatures:
        """The risk model's inputs (abstention.py), from what scoring already computed."""
        asked = set(terms(question))
        top = scored[0]
        top_names = names_in(top.sentence.text, asked)
        agree = {s.sentence.article_id for s in scored[:AGREEING] if top_names & names_in(s.sentence.text, asked)}
        stale = present_stale = None
        if as_of is not None:
            quoted = {s.sentence.article_id for s in self.select(scored, gate=False)}
            published = [self.metadata(a).get("published") for a in quoted]
            stale, present_stale = staleness(as_of, published, bool(PRESENT_TIME.search(question)))
        return EvidenceFeatures(
            evidence=confidence,
            oov=oov,
            top=top.score,
            cos=top.cos,
            lex=top.lex,
            gap=top.score - scored[1].score if len(scored) > 1 else 0.0,
            passage=(passages[0].score or 0.0) if passages else 0.0,
            agree=float(len(agree)),
            stale=stale,
            present_stale=present_stale,
        )

    def related(self, scored: list[Scored]) -> list[Citation]:
        """The closest sentences, shown with an abstention as related, not as an answer."""
        return [self.cite(s.sentence, i + 1) for i, s in enumerate(scored[:3])]

    def select(self, scored: list[Scored], gate: bool = True) -> list[Scored]:
        """The best sentence, plus up to two close runners-up that add something new."""
        if not scored:
            return []
        best, sel = scored[0], self.selection
        chosen = [best]
        for cand in scored[1:]:
            if len(chosen) >= sel.max_sentences:
                break
            other_article = all(c.sentence.article_id != cand.sentence.article_id for c in chosen)
            bar = sel.runner_up_other if other_article else sel.runner_up_same
            if cand.score < bar * best.score or cand.sentence.is_heading or (gate and cand.support < self.threshold):
                continue
            if any(_overlap(cand.terms, c.terms) > sel.redundant and not _disagree(cand, c, sel) for c in chosen):
                continue
            chosen.append(cand)
        return chosen

    def _with_explanations(self, selected: list[Scored]) -> list[Scored]:
        """For why-questions: a chosen sentence followed by one that explains it ("The reason for
        this was ...") brings that sentence along; the cause often sits in the next sentence."""
        out = list(selected)
        for s in selected:
            sentences, vectors = self.sentences.get(s.sentence.article_id)
            nxt = sentences[s.sentence.index + 1] if s.sentence.index + 1 < len(sentences) else None
            if nxt is None or any(o.sentence == nxt for o in out) or not _EXPLAINS.search(nxt.text):
                continue
            if addresses_assistant(nxt.text):
                continue
            out.append(Scored(nxt, s.score * 0.99, s.support, s.cos, s.lex, True, set(terms(nxt.text))))
        return out[: self.selection.max_sentences + 1]

    def _with_calendar_date(self, selected: list[Scored], scored: list[Scored]) -> list[Scored]:
        """For when-questions answered only by a relative date ("late last year"), the best close
        sentence that gives a calendar date comes along, so the reader can place the event."""
        if any(_CALENDAR_DATE.search(s.sentence.text) for s in selected):
            return selected
        best = selected[0]
        for cand in scored[1:]:
            if cand.score < self.selection.dated_floor * best.score:
                break
            if (
                cand not in selected
                and not cand.sentence.is_heading
                and _CALENDAR_DATE.search(cand.sentence.text)
                and _similar(cand, best, self.selection.same_event)
            ):
                dated = Scored(
                    cand.sentence, best.score * 0.99, cand.support, cand.cos, cand.lex, True, cand.terms, cand.vector
                )
                return [best, dated, *selected[1:]]
        return selected

    def _with_context(self, selected: list[Scored]) -> list[Scored]:
        """A very short sentence ("38 people died.") brings the sentence before it, which says what
        it is about, when both stand in the same paragraph."""
        out = list(selected)
        for s in selected:
            if len(s.sentence.text.split()) > 5 or s.sentence.index == 0:
                continue
            sentences, _ = self.sentences.get(s.sentence.article_id)
            prev = sentences[s.sentence.index - 1]
            text = self.sentences.text(s.sentence.article_id)
            if "\n" in text[prev.end : s.sentence.start] or any(o.sentence == prev for o in out):
                continue
            if addresses_assistant(prev.text):
                continue
            out.insert(
                out.index(s), Scored(prev, s.score * 0.99, s.support, s.cos, s.lex, s.typed, set(terms(prev.text)))
            )
        return out

    # -- composing ---------------------------------------------------------------------
    def cite(self, sentence: Sentence, n: int) -> Citation:
        meta = self.metadata(sentence.article_id)
        return Citation(
            n=n,
            quote=sentence.text,
            article_id=sentence.article_id,
            title=meta.get("title"),
            outlet=meta.get("outlet"),
            published=meta.get("published"),
            author=meta.get("author"),
            start=sentence.start,
            end=sentence.end,
        )

    def stream(self, question: str, passages: Sequence[Any], **context: Any) -> Iterator[Answer]:
        """The :class:`~caucasus_qa.answering.answer.Answerer` interface: an extractive answer comes whole."""
        yield self.answer(question, passages, **context)

    def answer(
        self,
        question: str,
        passages: Sequence[Any],
        *,
        q_emb: np.ndarray | None = None,
        focus: str | None = None,
        focus_emb: Any = None,
        stats: CorpusStats | None = None,
        as_of: date | None = None,
        **_: Any,
    ) -> Answer:
        """``focus``: a follow-up's own words, matched instead of the text it was searched with;
        ``stats``: the term statistics retrieval used (else the store's current ones); ``as_of``:
        the date the question is asked as of (the risk model weighs the evidence's age)."""
        if stats is not None:
            scorer = self.scoring_with(stats)
            return scorer.answer(question, passages, q_emb=q_emb, focus=focus, focus_emb=focus_emb, as_of=as_of)
        if focus:
            question, q_emb = focus, focus_emb
        weighed = self.weigh(question, q_emb, passages, as_of)
        scored = weighed.ranked
        base: dict[str, Any] = dict(question=question, score=weighed.confidence, backend=self.name)
        reading = weighed.reading
        if weighed.declined:
            notes = [f"declined: {reading.declined}"] if reading is not None and reading.declined else []
            return Answer(text=ABSTAIN_TEXT, abstained=True, related=self.related(scored), notes=notes, **base)
        kinds = question_types(question)
        chosen, conflict = self._quoted(question, kinds, scored, reading)
        citations = [self.cite(s.sentence, i + 1) for i, s in enumerate(chosen)]
        if reading is not None:
            base["span"] = reading.span(1)
        attribute = conflict or "date" in kinds or len({c.article_id for c in citations}) > 1
        claims = [
            Claim(_claim_text(c, citations[i - 1] if i else None, attribute), (c.n,)) for i, c in enumerate(citations)
        ]
        return Answer(text="", abstained=False, citations=citations, claims=claims, conflict=conflict, **base)

    def weigh(self, question: str, q_emb: Any, passages: Sequence[Any], as_of: date | None = None) -> Weighed:
        """The evidence selection both backends share: score every candidate sentence, decide
        whether to decline (before any re-ranking, so the risk model sees what it was fitted on),
        then re-rank. The generative backend reads its sources from ``ranked`` in this order."""
        scored, oov = self.score(question, np.asarray(q_emb), passages)
        if self.reader is None or not scored:
            confidence, declined = self.assess(question, scored, oov, passages, as_of)
            return Weighed(self.rank(question, scored), confidence, declined)
        # The reader decides instead of the evidence threshold (the evidence score is one of its
        # features); a risk model fitted for large news stores still declines where it applies.
        confidence = self.evidence_score(question, scored, oov)
        risky = self.risky(question, scored, oov, passages, confidence, as_of)
        ranked = self.rank(question, scored)
        reading = self.reader.read(question, ranked, self.context(question, confidence))
        ranked = reading.reorder(ranked)
        if reading.best is not None:  # sentence selection starts from the reader's best sentence
            ranked[0] = replace(ranked[0], score=max(s.score for s in ranked) + 1e-9)
        return Weighed(ranked, confidence, risky or reading.declined is not None, reading)

    def context(self, question: str, evidence: float) -> Context:
        """What the reader reads candidates against: the question's IDF, each sentence's
        surroundings (the article's title and lead, two sentences either side), whole articles."""
        stats = self.stats()
        idf = {t: stats.idf(t) for t in set(terms(question))}

        def lead_index(article_id: str) -> int:
            sentences, _ = self.sentences.get(article_id)
            return next((s.index for s in sentences if not s.is_heading), 0)

        surroundings: dict[tuple[str, int], str] = {}  # a sentence's, read once however many spans it holds

        def around(sentence: Sentence) -> str:
            key = (sentence.article_id, sentence.index)
            if key not in surroundings:
                sentences, _ = self.sentences.get(sentence.article_id)
                lead = lead_index(sentence.article_id)
                near = sentences[max(0, sentence.index - 2) : sentence.index + 3]
                title = self.metadata(sentence.article_id).get("title", "")
                parts = [title, *(s.text for s in sentences[lead : lead + 1]), *(s.text for s in near)]
                surroundings[key] = " ".join(parts)
            return surroundings[key]

        kept: dict[str, set[str]] = {}

        def words(article_id: str) -> set[str]:
            if article_id not in kept:
                kept[article_id] = set(terms(self.sentences.text(article_id)))
            return kept[article_id]

        return Context(idf, around, lead_index, words, evidence)

    def rank(self, question: str, scored: list[Scored]) -> list[Scored]:
        """The scored sentences re-ranked by what no single sentence shows: the names other pages
        give too (``vote``) and how well a sentence's names fit what is asked (``fit_names``)."""
        scored = vote(question, scored, self.weights.vote, self.selection.voters)
        if self.encode is None or self.reader is not None:  # the reader types names with its model
            return scored
        return fit_names(question, scored, self.weights.name_fit, self.encode, self.selection.fitted)

    def _quoted(
        self, question: str, kinds: set[str], scored: list[Scored], reading: Reading | None
    ) -> tuple[list[Scored], bool]:
        """The sentences to quote and whether they are different accounts: the reader's answer
        for a span; for a description, sentence selection with the reader's best sentence first."""
        if reading is not None and reading.best is not None and reading.best.label != "SENTENCE":
            return self._choose_read(reading, scored)
        chosen, conflict = self._choose(question, kinds, scored)
        if reading is not None and reading.best is not None:
            top = (reading.best.sentence.article_id, reading.best.sentence.start)
            chosen.sort(key=lambda s: (s.sentence.article_id, s.sentence.start) != top)
        return chosen, conflict

    def _choose_read(self, reading: Reading, scored: list[Scored]) -> tuple[list[Scored], bool]:
        """The reader's answer: the sentence holding the best candidate first, then sentences of
        other articles that give the same answer (at most ``max_sentences`` in all); and whether
        another article gives a different number or date about as likely (both are quoted)."""
        best, sel = reading.best, self.selection
        assert best is not None
        by_key = {(s.sentence.article_id, s.sentence.start): s for s in scored}
        chosen = [by_key[(best.sentence.article_id, best.sentence.start)]]
        numeric = reading.asked.kind in NUMERIC_KINDS
        rival = next(
            (
                c
                for c in reading.candidates[1:]
                if numeric
                and c.key != best.key
                and c.p >= sel.corroborates * best.p
                and c.sentence.article_id != best.sentence.article_id
                and _similar(by_key[(c.sentence.article_id, c.sentence.start)], chosen[0], sel.same_event)
            ),
            None,
        )  # another page's number or date for the same event: a different account
        if rival is not None:
            chosen.append(by_key[(rival.sentence.article_id, rival.sentence.start)])
        for c in reading.candidates[1:]:
            if len(chosen) >= sel.max_sentences:
                break
            s = by_key.get((c.sentence.article_id, c.sentence.start))
            if s is None or c.key != best.key or c.p < sel.corroborates * best.p:
                continue
            if all(o.sentence.article_id != s.sentence.article_id for o in chosen):
                chosen.append(s)
        if reading.asked.kind == "date":  # a relative date ("late last week") brings a calendar one
            chosen = self._with_calendar_date(chosen, scored)
        return chosen, rival is not None

    def _choose(self, question: str, kinds: set[str], scored: list[Scored]) -> tuple[list[Scored], bool]:
        """The sentences to quote, in reading order, and whether they give different accounts."""
        selected = self.select(scored)
        if "reason" in kinds:
            selected = self._with_explanations(selected)
        if "date" in kinds:
            selected = self._with_calendar_date(selected, scored)
        selected = self._with_context(selected)
        # companions (explaining or context sentences) score just below their sentence: keep the best three
        sel = self.selection
        selected = sorted(selected, key=lambda s: -s.score)[: sel.max_sentences]
        close = [s for s in selected if s.score >= sel.conflict_close * selected[0].score and s.typed]
        return _in_reading_order(selected), _conflicting(close, selected, kinds, sel)


def _claim_text(c: Citation, before: Citation | None, attribute: bool) -> str:
    """The quote, opened with "According to <outlet> (<date>): " where sources must be told apart
    and a new article starts."""
    named = attribute and (before is None or before.article_id != c.article_id) and c.attribution
    return f"{c.attribution}: {c.quote}" if named else c.quote


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def _in_reading_order(chosen: list[Scored]) -> list[Scored]:
    """Group by article (best article first), then by position within the article."""
    first_seen: dict[str, int] = {}
    for i, s in enumerate(chosen):
        first_seen.setdefault(s.sentence.article_id, i)
    return sorted(chosen, key=lambda s: (first_seen[s.sentence.article_id], s.sentence.index))


_EXPLAINS = re.compile(
    r"^\W*(the|one|a|main) (main |key )?(reason|cause|trigger)s?\b|^\W*(this|that|it) (was|is) "
    r"(because|due to|caused by|triggered by|the result of)|^\W*(because|as a result)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_NUMBER = re.compile(rf"\b\d[\d,.]*\d\b|\b\d\b|\b({_NUMBER_WORDS})\b", re.I)


def _values(text: str) -> dict[str, set[str]]:
    """The checkable facts of a sentence: full dates, and numbers that are not years or days of dates."""
    from caucasus_qa.articles.dates import find_dates

    dates = set(find_dates(text))
    date_parts = {p.lstrip("0") for d in dates for p in d.split("-")}
    numbers = {
        m.group(0).lower()
        for m in _NUMBER.finditer(text)
        if not _YEAR.match(m.group(0)) and m.group(0).lstrip("0") not in date_parts
    }
    return {"date": dates, "number": numbers}


def _similar(a: Scored, b: Scored, floor: float) -> bool:
    return a.vector is not None and b.vector is not None and float(np.dot(a.vector, b.vector)) >= floor


def _disagree(a: Scored, b: Scored, sel: Selection) -> bool:
    """Sentences from different articles about the same thing, stating different dates or numbers."""
    if a.sentence.article_id == b.sentence.article_id:
        return False
    if a.vector is not None and b.vector is not None and float(np.dot(a.vector, b.vector)) < sel.same_topic:
        return False
    va, vb = _values(a.sentence.text), _values(b.sentence.text)
    return any(va[k] and vb[k] and not (va[k] & vb[k]) for k in ("date", "number"))


# Words with which a report disputes another account ("contradicting claims that…", "denied").
_DISPUTE = re.compile(
    r"\b(contradict\w*|den(?:y|ies|ied)|disput\w*|refut\w*|reject\w*|claim(?:s|ed)?|"
    r"insist\w*|contrary to)\b",
    re.I,
)


def _conflicting(close: list[Scored], chosen: list[Scored], kinds: set[str], sel: Selection) -> bool:
    """Different accounts: for a how-many / when question, close sentences from different articles
    stating different numbers or dates; for any question, a chosen sentence that disputes an account
    next to another article's chosen sentence (a cause of death, a charge, a motive)."""
    if kinds & {"number", "date"} and any(_disagree(a, b, sel) for i, a in enumerate(close) for b in close[i + 1 :]):
        return True
    # Both sentences already answer the question, so no topic test: different articles suffice.
    return any(
        a.sentence.article_id != b.sentence.article_id
        and (_DISPUTE.search(a.sentence.text) or _DISPUTE.search(b.sentence.text))
        for i, a in enumerate(chosen)
        for b in chosen[i + 1 :]
    )


def vote(question: str, scored: list[Scored], weight: float, voters: int = Selection.voters) -> list[Scored]:
    """For a question that asks for a name (which / who / where), the names the best sentences
    mention that the question does not vote, weighted by sentence score and counted once per
    article: a name several pages give is likelier the answer. Each sentence then gains
    ``weight`` times its best name's votes over the most any name won, and is sorted again."""
    if not weight or not scored or not (question_types(question) & {"person", "place"} or focus_terms(question)):
        return scored
    asked = set(terms(question))
    ballots: dict[str, dict[str, float]] = {}
    for s in scored[:voters]:
        for name in names_in(s.sentence.text, asked):
            per_article = ballots.setdefault(name, {})
            per_article[s.sentence.article_id] = max(per_article.get(s.sentence.article_id, 0.0), s.score)
    totals = {name: sum(v.values()) for name, v in ballots.items()}
    top = max(totals.values(), default=0.0) or 1.0
    out = []
    for s in scored:
        share = max((totals.get(n, 0.0) for n in names_in(s.sentence.text, asked)), default=0.0) / top
        out.append(Scored(s.sentence, s.score + weight * share, s.support, s.cos, s.lex, s.typed, s.terms, s.vector))
    return sorted(out, key=lambda x: x.score, reverse=True)


def fit_names(
    question: str, scored: list[Scored], weight: float, encode: Callable[[list[str]], np.ndarray], depth: int
) -> list[Scored]:
    """Each of the best ``depth`` sentences gains ``weight`` times how well its best new name fits
    the kind of name the question asks for (``names.fits``); then all are sorted again. Not for
    questions that ask for a number, a date or a reason ("what percentage"): no name answers them."""
    if not weight or not scored or question_types(question) & _REQUIRED:
        return scored
    gains = fits(question, [s.sentence.text for s in scored[:depth]], encode)
    out = [replace(s, score=s.score + weight * g) for s, g in zip(scored, gains, strict=False)] + scored[depth:]
    return sorted(out, key=lambda x: x.score, reverse=True)
