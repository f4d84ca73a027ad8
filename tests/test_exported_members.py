"""The public surface, pinned: a change to what users import or call is a deliberate change here."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import caucasus_qa
from caucasus_qa.assistant import COLLABORATORS, Assistant

PUBLIC = {"Answer", "Article", "Assistant", "CaucasusQAError", "Citation", "Settings", "load_settings", "__version__"}
ASSISTANT = {
    "settings",
    "store",
    "embed_model",
    "retriever",
    "lexicon",
    "sentences",
    "corpus_stats",
    "extractive",
    "reader",
    "chat_model",
    "answerer",
    "judge",
    "query_engine",
    "using",
    "ask",
    "stream",
    "retrieve",
    "ingest",
    "warm",
    "articles",
    "catalog",
    "ingest_in_background",
    "ingest_job",
    "article",
    "article_text",
}


def test_the_package_exports_exactly_its_public_names():
    assert set(caucasus_qa.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(caucasus_qa, name) is not None


def test_the_assistant_s_public_members_are_pinned():
    members = {name for name, _ in inspect.getmembers(Assistant) if not name.startswith("_")}
    members |= {name for name in Assistant.__annotations__ if not name.startswith("_")}
    assert members == ASSISTANT


def test_every_collaborator_can_be_handed_in_and_none_shadows_a_setting():
    from dataclasses import fields

    from caucasus_qa import Settings

    params = inspect.signature(Assistant).parameters
    assert set(COLLABORATORS) <= set(params) and set(COLLABORATORS) <= ASSISTANT
    # Assistant(judge="llm") must reach the settings, not be taken for a collaborator
    assert not set(params) & {f.name for f in fields(Settings)} - {"store", "chroma_url"}


def test_importing_the_package_leaves_the_environment_alone():
    code = (
        "import os, json; before = dict(os.environ); import caucasus_qa; from caucasus_qa import Assistant, "
        "Answer, Settings; import caucasus_qa.assistant; "
        "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("HF_", "TRANSFORMERS_", "TIKTOKEN_", "NLTK_", "ANONYMIZED_", "CHROMA_", "GRADIO_", "TOKENIZERS_")
        )
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
