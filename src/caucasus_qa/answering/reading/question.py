"""What a question asks: the kind of answer, the focus noun, the predicate and the topic.

Read off spaCy's parse of the question: the wh-word and what it attaches to ("which company",
"how much", "what is the cost of"), the main verb and its particle ("carried out", "cost",
"led"), and the rest of the content words, which name the topic ("the tunnel repairs").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caucasus_qa.text import terms

# The answer kinds, and the entity labels (OntoNotes, which spaCy's English pipelines are trained
# on) that an answer of the kind carries: (labels that fit, labels that may fit).
NAME_LABELS = frozenset({"ORG", "PERSON", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
NUMBER_LABELS = frozenset({"MONEY", "PERCENT", "QUANTITY", "CARDINAL"})
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "person": (frozenset({"PERSON"}), frozenset({"ORG", "NORP"})),
    "org": (frozenset({"ORG"}), frozenset({"PERSON", "GPE", "FAC", "NORP", "PRODUCT"})),
    "place": (frozenset({"GPE", "LOC", "FAC"}), frozenset({"ORG", "NORP"})),
    "money": (frozenset({"MONEY"}), frozenset({"CARDINAL"})),
    "count": (frozenset({"CARDINAL", "QUANTITY"}), frozenset({"PERCENT", "MONEY"})),  # "how many miles"
    "quantity": (frozenset({"QUANTITY"}), frozenset({"CARDINAL", "PERCENT"})),
    "percent": (frozenset({"PERCENT"}), frozenset({"CARDINAL", "QUANTITY"})),
    "date": (frozenset({"DATE", "TIME"}), frozenset({"EVENT"})),
    "duration": (frozenset({"DATE", "TIME"}), frozenset({"QUANTITY", "CARDINAL"})),
    "name": (NAME_LABELS, frozenset()),
    # "by how much", "how much of": a number of some unit the question does not say
    "amount": (frozenset(), NUMBER_LABELS),
    # "what was the turnout": a focus noun that names no kind; the span next to it will tell
    "thing": (frozenset(), NAME_LABELS | NUMBER_LABELS | frozenset({"DATE", "TIME"})),
    "frequency": (frozenset(), frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY"})),
    "description": (frozenset(), frozenset()),
}

# Nouns that name an answer kind rather than a topic ("which company", "what year"). A closed
# list by design: these are the words English uses for the entity classes above; any other
# focus noun ("which striker") asks for a name and is matched against the candidates themselves.
_KIND_NOUNS: dict[str, str] = {
    **dict.fromkeys(
        "person people man woman official politician leader minister mayor president chief director "
        "spokesperson spokesman spokeswoman author player coach manager judge scientist researcher "
        "engineer artist singer actor candidate winner chair chairman chairwoman head founder owner "
        "doctor expert analyst lawyer officer member governor senator".split(),
        "person",
    ),
    **dict.fromkeys(
        "company firm business contractor organisation organization agency group club team union party "
        "bank airline university charity insurer supplier developer manufacturer retailer operator "
        "publisher broadcaster network newspaper outlet committee court department ministry authority "
        "body institute foundation band label studio".split(),
        "org",
    ),
    **dict.fromkeys(
        "place city country town village state region county district island street neighbourhood "
        "neighborhood area venue site location capital province".split(),
        "place",
    ),
    **dict.fromkeys("year date day month time week season decade century".split(), "date"),
    **dict.fromkeys("period duration".split(), "duration"),
    **dict.fromkeys(
        "amount sum cost price budget fee fine salary wage pay bill value fund funding money revenue income "
        "grant compensation spending investment".split(),
        "money",
    ),
    **dict.fromkeys("percentage percent share proportion".split(), "percent"),
    **dict.fromkeys("number".split(), "count"),
    **dict.fromkeys("distance length height depth width weight size area".split(), "quantity"),
}
# Words that make a "how much" or "what … cost" question ask for a sum of money: the verbs and
# nouns of paying (a closed class in English; any other "how much" asks for an amount).
_MONEY_WORDS = set(
    "cost pay spend raise earn charge fine worth price fee sell buy fund budget salary wage fare save "
    "invest bid donate owe afford".split()
)
# Nouns that stand for the noun after "of": "what is the name of the firm", "what kind of dog".
_HOLLOW = {"name", "kind", "type", "sort", "title"}
# Kinds whose "who/which … is the X of Y" question names a relation a sentence must state.
_RELATION_KINDS = {"person", "org", "name", "place"}
# Verbs that carry no predicate of their own in a question ("who is", "what did they do").
_LIGHT_VERBS = {"be", "do", "have", "happen", "get"}
_DO_FORMS = {"do", "does", "did"}  # the auxiliary of a do-question ("how many … does the board supply")
# What the subject of a do-question is made of ("the Corran choir's autumn tour"), the misread verb included.
_SUBJECT_POS = {"DET", "PRON", "NOUN", "PROPN", "ADJ", "NUM", "PART"}
# Nouns of time that "how many" counts in a duration ("how many hours"): spaCy labels "two hours"
# DATE or TIME, never CARDINAL, so the question asks for a length of time.
TIME_UNITS = frozenset("second minute hour day night week fortnight month year decade century".split())
# Kinds whose focus noun is what is counted or measured ("how many households"): it is read
# against the noun a number counts (``candidates.features``, "unit"), not as a predicate.
_COUNTED_KINDS = {"count", "quantity", "duration", "amount"}
# "How far/tall/big…": a measure; "how old": an age (a number).
_MEASURES = {"far", "tall", "high", "big", "large", "deep", "wide", "heavy", "long", "fast", "hot", "cold"}


@dataclass(frozen=True)
class Asked:
    """One question read: ``kind`` is a key of ``KINDS``; ``predicate`` holds lemmas (lower-case)
    of what is asked about the topic; ``topic`` and ``terms`` are stemmed terms (``text.terms``)."""

    text: str
    wh: str
    kind: str
    focus: str | None
    predicate: frozenset[str]
    topic: frozenset[str]
    named: frozenset[str]  # lower-cased texts the question itself names: never its answer
    relation: frozenset[str] = frozenset()  # "who is the architect of …": a sentence must say architect

    @property
    def labels(self) -> frozenset[str]:
        return KINDS[self.kind][0]

    @property
    def loose(self) -> frozenset[str]:
        return KINDS[self.kind][1]

    @property
    def wants_span(self) -> bool:
        return self.kind != "description"


def _wh(doc: Any) -> Any | None:
    """The question word: the first WDT/WP/WP$/WRB token, else None (a yes/no or a command)."""
    return next((t for t in doc if t.tag_ in ("WDT", "WP", "WP$", "WRB")), None)


def _focus(doc: Any, wh: Any) -> Any | None:
    """The noun the question word asks about: "which company" → company; "what is the cost of X"
    → cost; "what is the name of the firm" → firm."""
    noun = None
    after = doc[wh.i + 2] if wh.i + 2 < len(doc) else None
    if wh.lower_ == "how" and after is not None and doc[wh.i + 1].lower_ in ("many", "much"):
        return _counted(after)  # "how many drivers": what is counted
    if wh.dep_ == "det" and wh.head.pos_ in ("NOUN", "PROPN"):
        noun = wh.head
    elif wh.lower_ == "what" and wh.head.lemma_ == "be":
        noun = next((t for t in wh.head.children if t is not wh and t.dep_ in ("nsubj", "attr") and _common(t)), None)
    elif wh.lower_ in ("what", "which") and wh.i + 1 < len(doc) and doc[wh.i + 1].pos_ == "NOUN":
        noun = doc[wh.i + 1]  # a parse that missed the determiner ("what percentage of ...")
    if noun is not None and noun.lemma_.lower() in _HOLLOW:
        inner = next((c for t in noun.children if t.dep_ == "prep" for c in t.children if c.dep_ == "pobj"), None)
        noun = inner or noun
    return noun


def _common(token: Any) -> bool:
    """A common noun, or a proper-noun tag on an attribute something has ("Armenia's GDP", "the
    GDP of Armenia"): the tagger calls acronyms proper nouns, but a possessed one names no one."""
    if token.pos_ == "NOUN":
        return True
    return token.pos_ == "PROPN" and any(c.dep_ == "poss" or c.lower_ == "the" for c in token.children)


def _counted(token: Any) -> Any | None:
    """The noun "how many/much" asks about: the head of "league goals", "federal funding"."""
    while token.dep_ in ("compound", "amod", "nmod") and token.head.i > token.i and token.head.pos_ == "NOUN":
        token = token.head
    return token if token.pos_ == "NOUN" else None


def _how_kind(doc: Any, wh: Any) -> str:
    """The kind a how-question asks for: "how much" money (a quantity when a noun follows),
    "how many" a count, "how long" a duration, "how tall" a measure, otherwise a description."""
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    word = nxt.lower_ if nxt is not None else ""
    after = doc[wh.i + 2] if wh.i + 2 < len(doc) else None
    counted = _counted(after) if after is not None and word in ("much", "many") else None
    if word == "much":
        if counted is not None:  # "how much money" asks a sum, "how much rain" a quantity
            return "money" if _KIND_NOUNS.get(counted.lemma_.lower()) == "money" else "quantity"
        paying = any(t.lemma_.lower() in _MONEY_WORDS for t in doc)
        return "money" if paying and not (wh.i > 0 and doc[wh.i - 1].lower_ == "by") else "amount"
    if word == "many":
        return "duration" if counted is not None and counted.lemma_.lower() in TIME_UNITS else "count"
    if word == "long":
        return "duration"  # "how long is the span" asks a length: QUANTITY may fit a duration
    if word == "old":
        return "count"
    if word == "often":
        return "frequency"  # "every twenty minutes", "twice a week"
    if word in _MEASURES or (nxt is not None and nxt.pos_ in ("ADJ", "ADV")):
        return "quantity"  # "how tall", "how strong"
    return "description"


def _kind(doc: Any, wh: Any | None, focus: Any | None) -> str:
    if wh is None:
        return "description"
    word = wh.lower_
    if word == "how":
        return _how_kind(doc, wh)
    if word == "when":
        return "date"
    if word == "where":
        return "place"
    if word == "why":
        return "description"
    if focus is not None:
        lemma = focus.lemma_.lower()
        if lemma in _KIND_NOUNS:
            return _KIND_NOUNS[lemma]
        if word in ("which", "whose") or (word == "what" and focus.i == wh.i + 1):
            return "name"
        if word == "what":
            return "thing"  # "what was the turnout"
    if word in ("who", "whom", "whose"):
        return "person"
    if word == "what" and any(t.lemma_.lower() in _MONEY_WORDS for t in doc):
        return "money"  # "what will tickets cost"
    return "description"  # "what happened", "what did the council decide"


def _predicate(doc: Any, focus: Any | None, kind: str) -> set[str]:
    """The lemmas of what is asked about the topic: the main verb with its particle (unless a
    light verb), and a focus noun that is not a kind word ("the architect", "the cost")."""
    out: set[str] = set()
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is not None and _verb(root) and root.lemma_.lower() not in _LIGHT_VERBS:
        out.add(root.lemma_.lower())
        out.update(c.lemma_.lower() for c in root.children if c.dep_ == "prt")
    elif (verb := _do_verb(doc)) is not None:
        out.add(verb.lemma_.lower())
    if root is not None:  # "cost to dismantle", "expect to rise": the verb the main one governs
        out.update(
            c.lemma_.lower() for c in root.children if c.dep_ in ("xcomp", "ccomp", "advcl") and c.pos_ == "VERB"
        )
    out.update(t.lemma_.lower() for t in doc if t.lemma_.lower() in _MONEY_WORDS)
    if focus is not None and kind not in _COUNTED_KINDS and _KIND_NOUNS.get(focus.lemma_.lower(), "money") == "money":
        out.add(focus.lemma_.lower())
    if not out and root is not None:  # "who is the mayor of X": the attribute names what is asked
        out.update(_relation(root))
    return out


def _verb(token: Any) -> bool:
    """A verb, or what the parser hangs an auxiliary on though it tags it a noun ("will … supply")."""
    return token.pos_ in ("VERB", "AUX") or (token.pos_ == "NOUN" and any(c.dep_ == "aux" for c in token.children))


def _do_verb(doc: Any) -> Any | None:
    """The verb of a do-question ("how many households does the board supply"), where the
    parser took it for a noun: en_core_web_sm often tags a question's last bare verb NN and
    hangs it in the subject ("the board supply"). The subject after "does" is one noun phrase
    (a determiner only first, modifiers and names before common nouns); the verb is the last
    common noun of that run ("the Ashby Four record | their album", "Ines Calder score | last
    season"). Written by hand because no pipeline installable here parses these questions right."""
    wh = _wh(doc)
    do = next((t for t in doc[wh.i + 1 :] if t.lower_ in _DO_FORMS and t.dep_ in ("aux", "ROOT")), None) if wh else None
    if do is None:
        return None
    run: list[Any] = []
    for t in doc[do.i + 1 :]:
        nouns = any(r.pos_ in ("NOUN", "PROPN") for r in run)
        common = any(r.pos_ == "NOUN" for r in run)
        if (
            t.pos_ not in _SUBJECT_POS
            or (t.pos_ in ("DET", "PRON") and run)
            or (t.pos_ in ("ADJ", "NUM") and nouns)
            or (t.pos_ == "PROPN" and common)
        ):
            break  # a second phrase begins: "their album", "last season", "Silver Lanes"
        run.append(t)
    verb = next((t for t in reversed(run[1:]) if t.pos_ in ("NOUN", "VERB")), None)
    return verb if verb is not None and verb.i > do.i + 1 else None


def _relation(root: Any) -> set[str]:
    """The noun of a "who/what is the X of Y" question (mayor, architect, agent): the relation the
    answer must be said to stand in."""
    if root.lemma_.lower() != "be":
        return set()
    return {c.lemma_.lower() for c in root.children if c.dep_ in ("attr", "acomp", "nsubj") and c.pos_ == "NOUN"}


def analyse_doc(doc: Any) -> Asked:
    """The question in ``doc`` (a spaCy parse) read."""
    wh = _wh(doc)
    focus = _focus(doc, wh) if wh is not None else None
    kind = _kind(doc, wh, focus)
    predicate = _predicate(doc, focus, kind)
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    skip = {t.i for t in doc if t.lemma_.lower() in predicate or t.tag_ in ("WDT", "WP", "WP$", "WRB")}
    if focus is not None:
        skip.add(focus.i)
    content = [t.text for t in doc if t.i not in skip and t.pos_ in ("NOUN", "PROPN", "ADJ", "NUM", "VERB")]
    named = {e.text.lower() for e in doc.ents} | {t.lower_ for t in doc if t.pos_ == "PROPN"}
    return Asked(
        text=doc.text,
        wh=wh.lower_ if wh is not None else "",
        kind=kind,
        focus=focus.lemma_.lower() if focus is not None else None,
        predicate=frozenset(predicate),
        topic=frozenset(terms(" ".join(content))) - frozenset(terms(" ".join(predicate))),
        named=frozenset(named),
        relation=frozenset(_relation(root)) if root is not None and kind in _RELATION_KINDS else frozenset(),
    )


def analyse(question: str, parse: Any) -> Asked:
    """``question`` read with ``parse`` (a ``language.Parser``, or any text → spaCy Doc callable)."""
    doc = parse.one(question) if hasattr(parse, "one") else parse(question)
    return analyse_doc(doc)
