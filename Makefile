# Two commands set everything up on a fresh machine with python3 (3.11+) and make:
#   make demo   creates .venv, installs the project, runs the bundled Wangjiang scenario
#   make test   creates .venv, installs the project with dev tools, runs ruff and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-matrix clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sanitation demo --out out/demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench-matrix: $(STAMP)
	$(BIN)/python benchmarks/matrix.py

clean:
	rm -rf $(VENV) out .pytest_cache
