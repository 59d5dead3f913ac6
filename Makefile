# The two set-up commands of the README. Each installs what it needs first, into a project virtual environment
# (.venv), so both work on a fresh machine, including a Debian/Ubuntu Python that refuses system installs (PEP 668).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast install install-dev

$(PY):
	python3 -m venv $(VENV) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv $(VENV))
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e .

install-dev: $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

## Start the whole stack on embedded defaults (PostgreSQL, Prefect server, two workers, SMTP), with demo data.
run: install
	$(VENV)/bin/passerelles stack

## Lint, type-check, then every test (SQLite and PostgreSQL, real Prefect server and workers, SMTP, browser).
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 3 --dist loadgroup --durations=15

## Everyday work, in under a minute: lint, then the pure rules and the SQLite tests (no Prefect server, no browser).
test-fast: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -m "not slow" -k "not postgresql" -n 2
