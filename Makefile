# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run test test-postgres lint bench demo-data clean fuzz docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,distributed]'
	touch $(STAMP)

setup: $(STAMP)

## run: set up, seed a demo SQLite database on first run, serve API + dashboard (make run PORT=8080)
run: $(STAMP)
	$(BIN)/ipfin serve --demo --host $(HOST) --port $(PORT)

## test: set up and run the whole test suite (lint included)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

## test-postgres: the database tests again on a throw-away local PostgreSQL (needs the server binaries)
test-postgres: $(STAMP)
	bash .ci/with-postgres.sh $(BIN)/pytest -m db

## fuzz: schemathesis over the whole API (officer and admin), many more examples than `make test` runs
fuzz: $(STAMP)
	IPFIN_FUZZ_EXAMPLES=$${IPFIN_FUZZ_EXAMPLES:-40} $(BIN)/pytest -q -s tests/api/test_fuzz.py

## docs: the documentation site (tour, Python API reference from the docstrings) built into site/
docs: $(STAMP)
	$(BIN)/mkdocs --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet -e '.[docs]'
	$(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy ipfin ipfin_app api valuation pledge risk_sharing securitization dashboard

bench: $(STAMP)
	$(BIN)/python bench/demo_data.py
	$(BIN)/python bench/valuation.py
	$(BIN)/python bench/securitization.py
	$(BIN)/python bench/dashboard.py --loans 1000000
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/risk_sharing.py
	$(BIN)/python bench/early_warning.py

demo-data: $(STAMP)
	$(BIN)/ipfin demo-data --reset

clean:
	rm -rf $(VENV) data build *.egg-info
