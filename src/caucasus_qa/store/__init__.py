"""The store: articles written into Chroma and read back, with what is built beside them.

Owns: ``collections`` (the Chroma collections, embedded or on a ``chroma run`` server),
``ingestion`` (articles → chunks → vectors, incremental and safe to interrupt), ``embedding``
and ``encoder`` (the bundled model, in torch and as ONNX for questions), ``pooling`` (late-chunked
sentence vectors), ``lexicon`` and ``words`` (BM25 and term statistics), ``sources`` (which files
an ingest read) and ``integrity`` (``check`` and ``repair``).

May import: the floor and ``articles``. Nothing here asks a question or answers one.
"""

from caucasus_qa.store.collections import Store

__all__ = ["Store"]
