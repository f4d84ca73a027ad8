"""The exceptions this package raises; each message says what to do next.

CaucasusQAError
├── ConfigError          bad setting, unknown key, unreadable config file
├── StoreError           store cannot be opened or is in an unexpected state
│   └── StoreMismatchError  store was built with another embedding model or chunking
└── QuestionError        empty or unusable question
"""

from __future__ import annotations


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
