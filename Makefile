# Legitka — two commands:
#   make run   install everything, migrate, seed the demo city, serve http://127.0.0.1:5000 (PORT=8080 for another)
#   make test  install test tools, make sure PostgreSQL and Redis run, lint, run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
# make run PORT=8080: the demo on another port
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# The real OpenID Connect provider the city sign-in's tests run (tests/oidc_provider.py): npm's
# oidc-provider, installed from the committed lock file once, again only when the lock changes.
OIDC_PROVIDER := tests/oidc/node_modules/.installed

.PHONY: run test system-deps services install lint bench worker clean

run: system-deps $(RUN_STAMP)
	$(FLASK) legitka migrate
	$(FLASK) legitka seed-demo
	$(FLASK) legitka purge  # batch files past their retention (the worker does this hourly)
	@PORT=$(PORT) bash infra/scripts/print-demo-logins.sh
	$(BIN)/flask --app portal.wsgi run --host 127.0.0.1 --port $(PORT)

test: system-deps services $(TEST_STAMP) $(OIDC_PROVIDER)
	@bash infra/scripts/system-deps.sh 7zip  # the printers' unpacking tool, to prove packages open
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Debian libraries the stack needs (WeasyPrint: pango, harfbuzz subset, fonts; venv for pip).
system-deps:
	@bash infra/scripts/system-deps.sh

services:
	@bash infra/scripts/ensure-services.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Translations are compiled at install time (the .mo files are build output, not in git).
$(RUN_STAMP): pyproject.toml portal/translations/en/LC_MESSAGES/messages.po | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations >/dev/null
	@touch $@

$(TEST_STAMP): pyproject.toml portal/translations/en/LC_MESSAGES/messages.po | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations >/dev/null
	@touch $@ $(RUN_STAMP)

# Node 20 or later; Debian's own nodejs and npm when there is none.
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json
	@command -v npm >/dev/null || bash infra/scripts/system-deps.sh nodejs npm
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	@touch $@

install: $(TEST_STAMP)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

worker: $(RUN_STAMP)
	$(FLASK) legitka worker

bench: $(TEST_STAMP)
	$(BIN)/python -m bench.roster_import
	$(BIN)/python -m bench.photo_checks
	$(BIN)/python -m bench.package
	$(BIN)/python -m bench.dashboard  # city only; national: python -m bench.dashboard --national

clean:
	rm -rf $(VENV) instance tests/oidc/node_modules
