"""caucasus-qa: answers from news articles, each claim backed by a verbatim, verified quote."""

from caucasus_qa.errors import CaucasusQAError
from caucasus_qa.settings import Settings, load_settings

__version__ = "0.1.0"
__all__ = ["Answer", "Article", "Assistant", "CaucasusQAError", "Citation", "Settings", "load_settings", "__version__"]


def __getattr__(name: str):
    """Import the heavy parts (llama-index, chromadb, torch) only when first used."""
    if name == "Assistant":
        from caucasus_qa.assistant import Assistant

        return Assistant
    if name in ("Answer", "Citation"):
        from caucasus_qa.answering import answer

        return getattr(answer, name)
    if name == "Article":
        from caucasus_qa.articles.formats import Article

        return Article
    raise AttributeError(f"module 'caucasus_qa' has no attribute {name!r}")
