"""Measuring: the commands that print figures (``caucasus-qa eval`` and ``bench``).

Owns: ``evaluate`` (the five-article eval set and its report), ``basics`` (the reading-basics
eval and the reader's fit), ``realtimeqa`` and ``kitpages`` (the RealTime QA kit), ``scale``
and ``load`` (stores of real news by size, questions under load), ``benchmarks`` (ingest and
answer timings) and ``beir`` (BEIR SciFact retrieval).

May import: every stage below, through the ``Assistant`` where it can. Imported by nothing but
the CLI's ``eval`` and ``bench`` commands: the runtime never loads benchmark code.
"""
