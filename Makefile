# Municipium. `make demo` and `make test` each set up everything they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT ?= 8000
# pytest-xdist workers; two cores here, so two workers.
WORKERS ?= 2

.PHONY: setup demo serve test test-sqlite test-postgres bench messages clean

$(BIN)/python:
	"$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=75"

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Compiled message catalogues are built here rather than committed, with Babel (already a
# dependency) so that GNU gettext need not be installed.
messages: $(VENV)/.installed
	$(BIN)/python -m municipium.lib.messages compile

setup: $(VENV)/.installed messages

demo: setup
	$(BIN)/municipium demo --port $(PORT)

serve: setup
	$(BIN)/municipium serve --port $(PORT)

test: test-sqlite test-postgres

test-sqlite: setup
	$(BIN)/python -m pytest -q -n $(WORKERS) -p no:cacheprovider

test-postgres: setup
	@$(BIN)/python scripts/wait-for-postgres "$(PG_URL)"
	DATABASE_URL="$(PG_URL)" $(BIN)/python -m pytest -q -n $(WORKERS) -p no:cacheprovider

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build *.egg-info
