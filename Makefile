# Orderly: `make run` serves the embedded mode; `make test` lints, type-checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest chaos bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/orderly migrate
	$(BIN)/orderly demo load
	$(BIN)/orderly serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/python -m tests.services_check
	$(BIN)/pytest -q -m "not chaos"

test: lint typecheck pytest

# every crash point of every saga step, in both modes (minutes)
chaos: $(STAMP)
	$(BIN)/python -m tests.services_check
	$(BIN)/pytest -q -m chaos

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var bench/results
