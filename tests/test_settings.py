"""Settings resolve as defaults < caucasus-qa.toml < CAUCASUS_QA_* env < flags."""

from pathlib import Path

import pytest
from conftest import write

from caucasus_qa import load_settings
from caucasus_qa.errors import ConfigError


def test_defaults_point_at_repo_layout():
    s = load_settings(environ={})
    assert s.store == Path("vectorstore") and s.corpus == Path("ingest/articles")
    assert s.embed_model == "all-MiniLM-L6-v2" and s.chroma_url is None


def test_file_then_env_then_flags_override_each_other(tmp_path):
    cfg = write(tmp_path / "caucasus-qa.toml", 'top_k = 7\nchunk_size = 300\ncollection = "from-file"\n')
    s = load_settings(config=cfg, environ={})
    assert (s.top_k, s.chunk_size, s.collection) == (7, 300, "from-file")
    s = load_settings(config=cfg, environ={"CAUCASUS_QA_TOP_K": "9"})
    assert (s.top_k, s.chunk_size) == (9, 300)
    s = load_settings(config=cfg, environ={"CAUCASUS_QA_TOP_K": "9"}, top_k=11, chunk_size=None)
    assert (s.top_k, s.chunk_size) == (11, 300)


def test_config_file_in_working_folder_is_found():
    write(Path("caucasus-qa.toml"), 'store = "elsewhere"\n')
    assert load_settings(environ={}).store == Path("elsewhere")


@pytest.mark.parametrize(
    "environ,message",
    [
        ({"CAUCASUS_QA_TOPK": "3"}, "unknown setting"),
        ({"CAUCASUS_QA_TOP_K": "many"}, "not a valid int"),
        ({"CAUCASUS_QA_CHUNK_OVERLAP": "500"}, "smaller than chunk_size"),
    ],
)
def test_bad_values_are_errors_that_name_the_setting(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_unknown_key_in_file_is_an_error(tmp_path):
    cfg = write(tmp_path / "c.toml", "chunk_sise = 100\n")
    with pytest.raises(ConfigError, match="chunk_sise"):
        load_settings(config=cfg, environ={})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config=tmp_path / "nope.toml", environ={})
