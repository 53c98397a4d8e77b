# Two commands set everything up on a fresh machine with python3 (3.11+) and make:
#   make demo   creates .venv, installs the project, runs the bundled Wangjiang scenario
#   make test   creates .venv, installs the project with dev tools, runs ruff (with the
#               complexity limit), import-linter (the layers), mypy and pytest
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
	@# browser tests (tests/test_web_*.py) drive Debian's chromium via Playwright (never
	@# `playwright install`); CI runs as root. Without chromium those tests fail with a message.
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) \
	  || echo "make test: could not install chromium (not root?): the browser tests will fail"
	fc-list :lang=zh 2>/dev/null | grep -q . || (apt-get update && apt-get install -y fonts-wqy-microhei) \
	  || echo "make test: no Chinese font: screenshots will show boxes for Chinese labels"
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	@# PostgreSQL and a Dask scheduler with two workers on 127.0.0.1, stopped by PID afterwards
	bash .ci/with_services.sh $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench-matrix: $(STAMP)
	$(BIN)/python benchmarks/matrix.py

clean:
	rm -rf $(VENV) out .pytest_cache
