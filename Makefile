# One task runner for people, README and CI alike.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STORE ?= $(CURDIR)/.store
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: install serve test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch is pinned and installed first: here that takes the local CPU wheel, while an unpinned
# torch (pulled in by sentence-transformers) would fetch gigabytes of CUDA packages.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Ingest is incremental: an unchanged data/articles/ is hashed, found current, and nothing is embedded.
serve: install
	$(BIN)/rag ingest data/articles --store $(STORE)
	$(BIN)/rag serve --store $(STORE) --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/ingest_ask.py

clean:
	rm -rf $(VENV) .store .pytest_cache
