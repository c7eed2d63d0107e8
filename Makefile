# The two commands the README opens with: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run worker test lint bench setup clean

$(BIN)/greenlight: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/greenlight

setup: $(BIN)/greenlight

run: setup
	$(BIN)/greenlight run

worker: setup
	$(BIN)/greenlight worker

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
