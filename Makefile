# tvbridge: make run | make test | make bench (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run run-sim test lint typecheck unit bench soak setup venv redis migrate secrets clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then echo "tvbridge needs Python 3.11 or newer (apt-get install python3 python3-venv)"; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "could not create a venv: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

redis: venv
	@bash scripts/ensure-redis.sh --install-only

migrate: venv
	$(PY) -m alembic -c migrations/alembic.ini upgrade head

secrets: venv
	@$(PY) -m config.secrets ensure

setup: venv redis migrate

run: setup secrets
	exec bash scripts/run.sh Procfile

run-sim: setup secrets
	BROKER=ibkr IBKR_PORT=$${IBKR_PORT:-7497} exec bash scripts/run.sh Procfile.sim

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy $(wildcard config trading app tasks bench ibsim broker_gateway)

test: setup lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not soak"

unit: venv
	$(VENV)/bin/pytest tests/unit

bench: setup
	$(PY) -m bench

soak: setup
	$(VENV)/bin/pytest -m soak tests

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
