"""The ONNX question encoder: same vectors as the model, answering without torch, safe fallbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from caucasus_qa.settings import BUNDLED_MODEL, load_settings
from caucasus_qa.store import encoder
from caucasus_qa.store.embedding import load_embed_model, load_question_model, model_path

TOWN = Path(__file__).parent / "data" / "town"
FOLDER = Path(model_path(BUNDLED_MODEL))
TEXTS = [
    "Why did the council close the old bridge?",
    "Le conseil municipal a voté mardi la fermeture du vieux pont.",
    "Ferries run every 40 minutes; tickets cost 2.50 euros.",
    "x",
    "The festival opened on Friday with a parade through the harbour district. " * 60,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("model-cache")
    assert encoder.export(load_embed_model(BUNDLED_MODEL), FOLDER, cache)
    return cache


def test_export_gives_the_models_vectors(exported: Path):
    onnx = encoder.load(FOLDER, exported)
    model = load_embed_model(BUNDLED_MODEL)
    assert isinstance(onnx, encoder.OnnxEmbedding)
    ours = np.asarray(onnx.get_text_embedding_batch(TEXTS))
    theirs = np.asarray(model.get_text_embedding_batch(TEXTS))
    assert np.abs(ours - theirs).max() < encoder.TOLERANCE
    for text in TEXTS:
        assert np.abs(np.asarray(onnx.get_query_embedding(text)) - model.get_query_embedding(text)).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_export_is_reused_not_redone(exported: Path):
    folder = encoder.folder_for(FOLDER, exported)
    made = (folder / "model.onnx").stat().st_mtime_ns
    assert encoder.export(load_embed_model(BUNDLED_MODEL), FOLDER, exported)
    assert (folder / "model.onnx").stat().st_mtime_ns == made
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no half-written export left


def test_questions_use_the_export_and_torch_on_request(exported: Path):
    assert isinstance(load_question_model(load_settings(model_cache=str(exported))), encoder.OnnxEmbedding)
    chosen = load_question_model(load_settings(model_cache=str(exported), question_encoder="torch"))
    assert not isinstance(chosen, encoder.OnnxEmbedding)


def test_an_export_that_disagrees_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(encoder, "TOLERANCE", -1.0)  # any difference, even 0, is too much
    assert not encoder.export(load_embed_model(BUNDLED_MODEL), FOLDER, tmp_path)
    assert encoder.load(FOLDER, tmp_path) is None
    assert list((tmp_path / "onnx").iterdir()) == []  # the attempt left nothing behind


def test_a_damaged_export_falls_back_to_torch(exported: Path, tmp_path: Path):
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(exported, cache)
    folder = encoder.folder_for(FOLDER, cache)
    (folder / "model.onnx").write_bytes(b"not a model")
    assert encoder.load(FOLDER, cache) is None
    model = load_question_model(load_settings(model_cache=str(cache)))
    assert not isinstance(model, encoder.OnnxEmbedding) and len(model.get_query_embedding("a question")) == 384


def test_a_pipeline_it_cannot_reproduce_is_not_exported(tmp_path: Path):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(FOLDER))
    pooled = SentenceTransformer(modules=[transformer, models.Pooling(384, pooling_mode="max")], device="cpu")
    embed = load_embed_model(BUNDLED_MODEL).model_copy()
    embed._model = pooled
    assert not encoder.export(embed, FOLDER, tmp_path)
    assert not (tmp_path / "onnx").exists() or not any((tmp_path / "onnx").iterdir())


def test_an_edited_model_gets_a_new_export(tmp_path: Path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(FOLDER, copy)
    before = encoder.folder_for(copy, tmp_path)
    config = json.loads((copy / "sentence_bert_config.json").read_text())
    (copy / "sentence_bert_config.json").write_text(json.dumps(config | {"max_seq_length": 128}))
    assert encoder.folder_for(copy, tmp_path) != before


def test_a_new_process_answers_without_importing_torch(tmp_path: Path):
    """After an ingest (which exports the model), `ask` never loads torch: the fast cold start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUCASUS_QA_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    store = tmp_path / "store"
    assert run_cli("ingest", str(TOWN), "--store", str(store), env=env).returncode == 0
    assert list((tmp_path / "cache" / "caucasus-qa" / "onnx").iterdir())
    probe = (
        "import sys; from caucasus_qa import Assistant; "
        f"a = Assistant(store={str(store)!r}).ask('Why was the bridge closed?'); "
        "print(len(a.citations), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    cited, torch_loaded = out.stdout.split()
    assert int(cited) >= 1 and torch_loaded == "False"
