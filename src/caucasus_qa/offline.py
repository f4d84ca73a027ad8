"""Make every library this package uses work without internet.

:func:`apply` sets the variables below, and is called just before the package hands control
to a library that reads them: loading the embedding or language model, opening Chroma,
splitting text (tiktoken, NLTK data), starting the UI (Gradio), and at the start of the CLI.
Importing ``caucasus_qa`` changes nothing: a notebook keeps its environment until the package
actually loads something, and a value the user already set always wins.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_FLAGS = {
    # Hugging Face: never ask the hub; models come from local paths only.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # Chroma and Gradio phone home for telemetry/analytics unless told not to.
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def _llama_static(name: str) -> Path | None:
    """A data folder shipped inside llama-index-core, found without importing it (slow)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "_static" / name
    return path if path.is_dir() else None


def tiktoken_cache_dir() -> Path | None:
    """tiktoken's BPE files: ``get_encoding`` downloads them unless this cache is set."""
    return _llama_static("tiktoken_cache")


_applied = False


def apply() -> None:
    """Set offline flags unless the user already chose otherwise (once per process)."""
    global _applied
    if _applied:
        return
    _applied = True
    for key, value in _FLAGS.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        cache = tiktoken_cache_dir()
        if cache is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    nltk_data = _llama_static("nltk_cache")  # punkt sentence splitter data, also shipped there
    if nltk_data is not None and str(nltk_data) not in os.environ.get("NLTK_DATA", ""):
        os.environ["NLTK_DATA"] = os.pathsep.join(filter(None, [os.environ.get("NLTK_DATA"), str(nltk_data)]))
