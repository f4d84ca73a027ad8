"""caucasus-qa: answers from news articles, each claim backed by a verbatim, verified quote."""

from caucasus_qa import offline as _offline

_offline.apply()

from caucasus_qa.errors import CaucasusQAError  # noqa: E402
from caucasus_qa.settings import Settings, load_settings  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CaucasusQAError", "Settings", "load_settings", "__version__"]
