# The two set-up commands of the README. Each installs what it needs first, so both work on a fresh machine.
PYTHON ?= python3

.PHONY: run test install install-dev

install:
	$(PYTHON) -m pip install -q -e .

install-dev:
	$(PYTHON) -m pip install -q -e ".[dev]"
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

## Start the whole stack on embedded defaults, with demo data (Ctrl-C stops it).
run: install
	passerelles stack

## Lint, then every test (SQLite and PostgreSQL, real Prefect server, real SMTP server, real browser).
test: install-dev
	ruff check .
	mypy
	$(PYTHON) -m pytest
