# Municipium. `make demo` and `make test` each set up everything they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT ?= 8000
# pytest-xdist workers; two cores here, so two workers.
WORKERS ?= 2

.PHONY: setup demo serve test test-sqlite test-postgres bench messages clean browser lint

$(BIN)/python:
	"$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=75"

# Development and tests take requirements-dev.lock (the runtime lock plus pytest, Playwright,
# linters); a production install takes requirements.lock alone (see README, "Operating").
$(VENV)/.installed: $(BIN)/python requirements.lock requirements-dev.lock pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
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

# Lint: ruff (rules and formatting), mypy on the pure helpers and the services modules
# (django-stubs), and import-linter's floor contracts (pyproject.toml). CI runs it first.
MYPY_FILES = municipium/lib $(wildcard municipium/*/services.py)
lint: setup
	$(BIN)/ruff check municipium tests bench scripts manage.py
	$(BIN)/ruff format --check municipium tests bench scripts manage.py
	$(BIN)/mypy $(MYPY_FILES)
	@if grep -q "tool.importlinter" pyproject.toml; then $(BIN)/lint-imports; fi

# The browser tests drive Debian's Chromium (never a browser download). Installed here when
# missing and we may (root, as on CI); otherwise say what to run.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "Chromium is needed for the browser tests: sudo apt-get install chromium" >&2; exit 1; fi; \
	fi

test-sqlite: setup browser
	$(BIN)/python -m pytest -q -n $(WORKERS) -p no:cacheprovider

test-postgres: setup browser
	@$(BIN)/python scripts/wait-for-postgres "$(PG_URL)"
	DATABASE_URL="$(PG_URL)" $(BIN)/python -m pytest -q -n $(WORKERS) -p no:cacheprovider

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build *.egg-info
