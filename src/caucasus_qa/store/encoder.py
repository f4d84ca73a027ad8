"""The question encoder: the embedding model's network run by ONNX Runtime, without torch.

Why: a new process that answers one question spent about 6 s importing torch, transformers and
sentence-transformers to embed it (``python -X importtime``, docs/performance.md), and a warm
question ~21 ms in the forward pass. The same network exported once to ONNX (2 s, by the first
ingest or the first question that finds no export) loads in 0.4 s and embeds a question in ~6 ms.
Stored vectors still come from sentence-transformers (ingest); an export is kept only if its
vectors agree with the model's on probe texts (``TOLERANCE``), and a model whose pipeline is not
transformer → mean/CLS pooling → optional normalisation is never exported: it keeps the torch path.

Written here because no kept library runs a local sentence-transformers folder through ONNX
Runtime without importing torch (sentence-transformers' own onnx backend and optimum import it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

log = logging.getLogger(__name__)

# Exported vectors must match sentence-transformers' to this (max absolute difference per
# dimension of a unit vector); measured 1.6e-7 for all-MiniLM-L6-v2, so this only catches a wrong
# export, not float noise.
TOLERANCE = 1e-4
# Bump when the export or its manifest changes: older exports are then made again.
FORMAT = 1
ONNX_OPSET = 17
# Texts per forward pass, sorted by length (as sentence-transformers does) to cut padding.
BATCH = 16
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The sentence-transformers pipelines whose pooling is reproduced outside the model (here and in
# ``pooling``): a transformer, its pooling, and optionally normalisation.
PIPELINES = (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
_PROBES = (
    "A short question?",
    "Ünïcödé, “quotes”, emoji 🎉 and numbers 1,234.5",
    "",
    "news " * 400,  # past any model's maximum length: checks truncation
)


def default_cache() -> Path:
    """Where exports live when the settings name no folder: the user's cache, as pip and HF do."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "caucasus-qa"


def folder_for(model_folder: Path, cache: Path) -> Path:
    """The export's folder: keyed by the model folder's path and its files' sizes and times, so an
    edited or replaced model gets a new export."""
    files = sorted(p for p in model_folder.rglob("*") if p.is_file())
    stamp = [str(model_folder.resolve()), str(FORMAT)]
    stamp += [f"{p.relative_to(model_folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files]
    key = hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:16]
    return cache / "onnx" / f"{model_folder.name}-{key}"


class OnnxEmbedding(BaseEmbedding):
    """A LlamaIndex embedding over an exported model: same vectors as the model, no torch."""

    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _manifest: dict = PrivateAttr()

    def __init__(self, export: Path, **kwargs: Any) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
        super().__init__(model_name=manifest["model"], embed_batch_size=512, **kwargs)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        # Idle threads spin by default, taking the CPU from the rest of the answer (and from other
        # requests): on 2 cores plain torch retrieval beside it went from 34 to 51 ms p50.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(export / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(export / "tokenizer.json"))
        tokenizer.enable_truncation(manifest["max_seq_length"])
        tokenizer.enable_padding(pad_id=manifest["pad_id"], pad_token=manifest["pad_token"])
        self._tokenizer = tokenizer
        self._manifest = manifest

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    def encode(self, texts: list[str], prompt: str = "") -> np.ndarray:
        """Unit vectors (if the model normalises) of ``texts``, in order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self._manifest["dimension"]), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            out[rows] = self._forward([prompt + texts[i] for i in rows])
        return out

    def _forward(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        columns = {
            "input_ids": [e.ids for e in encoded],
            "attention_mask": mask,
            "token_type_ids": [e.type_ids for e in encoded],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._manifest["inputs"]}
        hidden = self._session.run(None, feed)[0]
        if self._manifest["pooling"] == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self._manifest["normalize"]:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.encode([query], self._manifest["query_prompt"])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, self._manifest["text_prompt"]).tolist()


def load(model_folder: Path, cache: Path) -> OnnxEmbedding | None:
    """The export of ``model_folder`` if one was made and kept; None otherwise."""
    export = folder_for(model_folder, cache)
    if not (export / "manifest.json").is_file():
        return None
    try:
        return OnnxEmbedding(export)
    except Exception as exc:  # a damaged cache must not stop answering: the torch path still works
        log.warning("cannot load the ONNX export in %s (%s): embedding questions with torch", export, exc)
        # Exports appear whole (os.replace), so this one is damaged: remove it, or every process
        # would load torch and find it again; the export that follows makes a new one.
        shutil.rmtree(export, ignore_errors=True)
        return None


def _manifest(model: Any, name: str) -> dict | None:
    """What the ONNX path needs to reproduce ``model`` (a SentenceTransformer), or None if its
    pipeline is one this module does not reproduce."""
    kinds = [type(m).__name__ for m in model]
    if kinds not in PIPELINES:
        return None
    pooling = getattr(model[1], "pooling_mode", None)  # sentence-transformers 6: "mean", "cls", ...
    tokenizer = model.tokenizer
    if pooling not in ("mean", "cls") or not getattr(model[1], "include_prompt", True):
        return None
    if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token is None:
        return None
    prompts = model.prompts or {}
    return {
        "model": name,
        "format": FORMAT,
        "pooling": pooling,
        "normalize": kinds[-1] == "Normalize",
        "max_seq_length": int(model.max_seq_length),
        "dimension": int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()),
        "inputs": [k for k in _INPUTS if k in _features(model, ["probe"])],
        "pad_id": int(tokenizer.pad_token_id),
        "pad_token": str(tokenizer.pad_token),
        "query_prompt": prompts.get("query") or "",
        "text_prompt": prompts.get("text") or "",
    }


def _features(model: Any, texts: list[str]) -> dict:
    """The model's tokenizer output for ``texts`` (``preprocess`` from sentence-transformers 6)."""
    return dict((getattr(model, "preprocess", None) or model.tokenize)(texts))


def export(embed: Any, model_folder: Path, cache: Path) -> bool:
    """Export ``embed`` (the loaded LlamaIndex HuggingFace embedding of ``model_folder``) for
    :func:`load`; True if a usable export now exists. Never raises: the torch path always works."""
    target = folder_for(model_folder, cache)
    if (target / "manifest.json").is_file():
        return True
    try:
        manifest = _manifest(embed._model, str(embed.model_name))
    except Exception as exc:  # a sentence-transformers version whose modules look otherwise
        log.warning("cannot read %s's pipeline (%s): questions use torch", model_folder, exc)
        manifest = None
    if manifest is None:
        log.info("embedding model %s: its pipeline is not exported to ONNX; questions use torch", model_folder)
        return False
    unwritable = "cannot export %s to ONNX in %s (%s): questions use torch"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    except OSError as exc:
        log.warning(unwritable, model_folder, cache, exc)
        return False
    try:
        _write(embed, manifest, tmp)
        worst = _disagreement(embed, OnnxEmbedding(tmp))
        if worst > TOLERANCE:
            log.warning("ONNX export of %s differs by %.2g from the model: not used", model_folder, worst)
            return False
        os.replace(tmp, target)  # atomic: a reader sees a whole export or none
    except OSError as exc:
        if not (target / "manifest.json").is_file():  # else another process finished first
            log.warning(unwritable, model_folder, cache, exc)
            return False
    except Exception as exc:  # the exporter raises many types for models it cannot trace
        log.warning("cannot export %s to ONNX (%s: %s): questions use torch", model_folder, type(exc).__name__, exc)
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _write(embed: Any, manifest: dict, folder: Path) -> None:
    import torch

    model = embed._model
    network = model[0].auto_model.eval()
    names = manifest["inputs"]

    class Hidden(torch.nn.Module):
        """The transformer with positional inputs and one output, as the exporter wants it."""

        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.network(**dict(zip(names, tensors, strict=True))).last_hidden_state

    sample = _features(model, ["a probe sentence", "another"])
    axes = {k: {0: "batch", 1: "tokens"} for k in [*names, "hidden"]}
    # The tracer warns that shape checks become constants; _disagreement checks the result on
    # batches of one and of several lengths, so the warnings are noise to a user.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(), tuple(sample[k] for k in names), str(folder / "model.onnx"), input_names=names,
            output_names=["hidden"], dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False,
        )  # fmt: skip
    model.tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _disagreement(embed: Any, onnx: OnnxEmbedding) -> float:
    """Largest difference between the model's vectors and the export's, queries and texts."""
    texts = list(_PROBES)
    ours = np.asarray(embed.get_text_embedding_batch(texts), dtype=np.float32)
    theirs = np.asarray(onnx.get_text_embedding_batch(texts), dtype=np.float32)
    query_ours = np.asarray([embed.get_query_embedding(t) for t in texts], dtype=np.float32)
    query_theirs = np.asarray([onnx.get_query_embedding(t) for t in texts], dtype=np.float32)
    return float(max(np.abs(ours - theirs).max(), np.abs(query_ours - query_theirs).max()))
