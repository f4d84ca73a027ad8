"""Answering: a question in, an ``Answer`` out, every quote verbatim from a stored article.

Owns: ``retrieval`` (dense and BM25, fused, as of a date), ``extractive`` (the default answerer,
from the articles' own sentences) and its ``reading`` subpackage (which sentence states the
thing asked), ``abstention`` (declining beyond the evidence), ``generative`` and ``llm`` (opt-in
language models), ``support`` (does a claim follow from its quotes?), ``engine`` (retrieve →
answer → verify), ``conversation`` (follow-ups made standalone), ``names`` and ``places`` (what
a sentence names), and ``answer`` (the objects every face receives).

May import: the floor, ``articles`` and ``store``. Nothing here imports a face or a benchmark.
"""
