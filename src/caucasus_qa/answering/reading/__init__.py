"""Reading: the answer step that reads the retrieved sentences against the question.

A question asks for a kind of thing (a sum of money, a company, a person, a count, a date, a
description) *in relation to* something (the bike lanes' cost, who carried out the repairs).
The retrieval and sentence scoring before this step find sentences *about* the topic; this step
finds the one that *states* the thing asked for, with a real language model (spaCy's parser and
entity recogniser) instead of regexes:

- ``language``: the spaCy pipeline (a setting), loaded once, its parses cached;
- ``question``: what a question asks (its kind, the focus noun, the predicate, the topic);
- ``candidates``: spans of the asked-for kind in the candidate sentences, each with its features;
- ``scoring``: a logistic model over those features, fitted on the tuning split (``fitted.json``);
- ``abstention``: declining when no candidate of the asked kind is tied to what was asked;
- ``composition``: the short answer, verbatim inside the quote that supports it.

This stage imports the text utilities, the evidence sentences and the answer types below it;
nothing here imports retrieval, the store's internals or any face.
"""

from caucasus_qa.answering.answer import AnswerSpan
from caucasus_qa.answering.reading.question import Asked, analyse
from caucasus_qa.answering.reading.reader import Reader, Reading

__all__ = ["AnswerSpan", "Asked", "Reader", "Reading", "analyse"]
