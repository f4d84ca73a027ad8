"""One typed settings object, resolved as: defaults < caucasus-qa.toml < CAUCASUS_QA_* env < flags.

Unknown keys are errors, not silently ignored: a typo in a config file should stop the run.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from caucasus_qa.errors import ConfigError

CONFIG_FILE = "caucasus-qa.toml"
ENV_PREFIX = "CAUCASUS_QA_"
BUNDLED_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    """Everything that changes where data lives or how it is processed."""

    store: Path = Path("vectorstore")
    chroma_url: str | None = None
    collection: str = "articles"
    corpus: Path = Path("ingest/articles")
    embed_model: str = BUNDLED_MODEL
    embed_batch_size: int = 16
    chunk_size: int = 200
    chunk_overlap: int = 40
    top_k: int = 5
    candidates: int = 30
    fusion: str = "convex"
    dense_weight: float = 0.7
    abstain_threshold: float = 0.36  # calibrated on the eval dev split (README: Evaluation)
    llm: str = "extractive"
    llm_model: str = ""
    llm_url: str = ""
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_fallback: int = 0
    llm_max_tokens: int = 96
    llm_deadline_s: float = 5.5  # stop generating after this long once a sentence is verified (0: never)
    llm_ctx: int = 2048
    llm_threads: int = 0
    unsupported: str = "drop"
    judge: str = "alignment"  # support judge for generated sentences and the eval: alignment | llm
    max_file_mb: float = 10.0
    batch_docs: int = 64
    _sources: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.chunk_size < 32:
            raise ConfigError(f"chunk_size {self.chunk_size} is too small: use at least 32 tokens")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("chunk_overlap must be at least 0 and smaller than chunk_size")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ConfigError("top_k must be at least 1 and at most candidates")
        if self.llm not in ("extractive", "llamacpp", "openai"):
            raise ConfigError(f"llm {self.llm!r}: use extractive, llamacpp or openai")
        if self.judge not in ("alignment", "llm"):
            raise ConfigError(f"judge {self.judge!r}: use 'alignment' or 'llm'")
        if self.unsupported not in ("drop", "flag"):
            raise ConfigError(f"unsupported {self.unsupported!r}: use 'drop' or 'flag'")
        if self.fusion not in ("convex", "zscore", "rrf"):
            raise ConfigError(f"fusion {self.fusion!r}: use 'convex', 'zscore' or 'rrf'")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError("dense_weight must be between 0 and 1")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]", self.collection):
            raise ConfigError(f"collection {self.collection!r}: use 3-512 letters, digits, '.', '_' or '-', "
                              "starting and ending with a letter or digit")
        if self.llm_deadline_s < 0:
            raise ConfigError("llm_deadline_s must be 0 (no deadline) or a number of seconds")
        if self.max_file_mb <= 0:
            raise ConfigError("max_file_mb must be positive")

    @property
    def docstore_path(self) -> Path:
        """Where the cleaned articles and chunks live (also in server mode: local state)."""
        return self.store / f"{self.collection}.docstore.json"

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _field_types() -> dict[str, type]:
    return {f.name: f.type for f in fields(Settings) if not f.name.startswith("_")}


def _coerce(key: str, value: Any, origin: str) -> Any:
    """Turn a config/env value into the field's type, with a message naming where it came from."""
    kind = _field_types()[key]
    try:
        if kind in ("Path", Path):
            return Path(os.path.expanduser(str(value)))
        if kind in ("int", int):
            return int(value)
        if kind in ("float", float):
            return float(value)
        if kind == "str | None":
            return None if value in ("", None) else str(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {key} = {value!r} is not a valid {kind}") from None


def _check_keys(values: Mapping[str, Any], origin: str) -> None:
    unknown = sorted(set(values) - set(_field_types()))
    if unknown:
        known = ", ".join(sorted(_field_types()))
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(unknown)}; known: {known}")


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    data = data.get("caucasus-qa", data)
    _check_keys(data, str(path))
    return {k: _coerce(k, v, str(path)) for k, v in data.items()}


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {k[len(ENV_PREFIX):].lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    values.pop("config", None)  # CAUCASUS_QA_CONFIG names the file, it is not a setting
    values.pop("auth", None)  # CAUCASUS_QA_AUTH belongs to the UI login
    values.pop("debug", None)
    _check_keys(values, "environment")
    return {k: _coerce(k, v, f"{ENV_PREFIX}{k.upper()}") for k, v in values.items()}


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Resolve settings; ``flags`` set to None are treated as "not given"."""
    environ = os.environ if environ is None else environ
    config = config or (Path(environ["CAUCASUS_QA_CONFIG"]) if "CAUCASUS_QA_CONFIG" in environ else None)
    values: dict[str, Any] = {}
    sources = ["defaults"]
    if config is not None and not config.is_file():
        raise ConfigError(f"config file {config} does not exist")
    path = config or Path(CONFIG_FILE)
    if path.is_file():
        values.update(_from_file(path))
        sources.append(str(path))
    env_values = _from_env(environ)
    if env_values:
        values.update(env_values)
        sources.append("environment")
    given = {k: v for k, v in flags.items() if v is not None}
    _check_keys(given, "flags")
    values.update({k: _coerce(k, v, f"--{k.replace('_', '-')}") for k, v in given.items()})
    return Settings(**values, _sources=tuple(sources + (["flags"] if given else [])))
