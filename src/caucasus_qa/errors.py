"""The exceptions this package raises; each message says what to do next.

CaucasusQAError
├── ConfigError          bad setting, unknown key, unreadable config file
├── StoreError           store cannot be opened or is in an unexpected state
│   └── StoreMismatchError  store was built with another embedding model or chunking
└── QuestionError        empty or unusable question
"""

from __future__ import annotations

import errno


class CaucasusQAError(Exception):
    """Base class: the CLI prints the message on one line and exits non-zero."""

    exit_code = 1


class ConfigError(CaucasusQAError):
    exit_code = 2


class StoreError(CaucasusQAError):
    pass


class StoreMismatchError(StoreError):
    pass


class QuestionError(CaucasusQAError):
    exit_code = 2


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run the same command again (what was stored is kept)",
    errno.EROFS: "the store's folder is read-only, and Chroma writes even to open it for reading: make it "
    "writable, or copy it (cp -r) and pass the copy as --store DIR; nothing in it was changed",
    errno.EACCES: "permission denied: run as a user who may write the store's folder, or use another --store DIR",
}


def server_down(url: str | None, exc: BaseException) -> StoreError:
    """A Chroma server that does not answer (``url`` when known)."""
    where = f" at {url}" if url else ""
    return StoreError(
        f"cannot reach the Chroma server{where} ({type(exc).__name__}): start it again (`chroma run`); "
        "answering resumes by itself once it is back"
    )


def explain(exc: BaseException) -> CaucasusQAError | None:
    """The one-line error a user should see for a low-level failure (disk full, read-only or
    damaged store, a store server gone), or None when it is not one of those (a bug: log it)."""
    if isinstance(exc, CaucasusQAError):
        return exc
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        return StoreError(_OS_HINTS[exc.errno])
    if "readonly" in text or "read-only" in text:
        return StoreError(_OS_HINTS[errno.EROFS])
    if "disk is full" in text or "no space left" in text:
        return StoreError(_OS_HINTS[errno.ENOSPC])
    if "malformed" in text or "not a database" in text:
        return StoreError(
            "the store is damaged (its database file cannot be read): restore the store folder from a backup, "
            "or delete it and run `caucasus-qa ingest` to rebuild it"
        )
    if type(exc).__module__.startswith(("httpx", "httpcore")):
        return server_down(None, exc)
    if type(exc).__module__.startswith(("chromadb", "sqlite3")):
        return StoreError(f"the store failed ({type(exc).__name__}: {str(exc)[:200]}): run `caucasus-qa check`")
    return None
