# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test test-postgres lint bench demo-data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,distributed]' --config-settings editable_mode=compat
	touch $(STAMP)

setup: $(STAMP)

## run: set up, seed a demo SQLite database on first run, serve API + dashboard on :8000
run: $(STAMP)
	$(BIN)/ipfin serve --demo

## test: set up and run the whole test suite (lint included)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

## test-postgres: the database tests again on a throw-away local PostgreSQL (needs the server binaries)
test-postgres: $(STAMP)
	bash .ci/with-postgres.sh $(BIN)/pytest -m db

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy ipfin ipfin_app api valuation pledge risk_sharing securitization dashboard

bench: $(STAMP)
	$(BIN)/python bench/demo_data.py
	$(BIN)/python bench/valuation.py
	$(BIN)/python bench/securitization.py
	$(BIN)/python bench/dashboard.py --loans 1000000

demo-data: $(STAMP)
	$(BIN)/ipfin demo-data --reset

clean:
	rm -rf $(VENV) data build *.egg-info
