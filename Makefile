# tvbridge: make run | make test | make bench (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run run-sim test lint typecheck unit bench soak setup venv dev redis migrate secrets \
	var clean delete-data

# Running needs only the runtime packages; the tools that test and measure come on top.
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

$(RUNTIME): requirements.txt
	@if [ -z "$(PYTHON)" ]; then echo "tvbridge needs Python 3.11 or newer (apt-get install python3 python3-venv)"; exit 1; fi
	@test -x $(PY) || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet --upgrade pip; } \
		|| { echo "could not create a venv: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(RUNTIME)

dev: $(DEV)

# Every path a process writes to exists before any process starts.
var:
	@mkdir -p var/redis

redis: venv
	@bash scripts/ensure-redis.sh --install-only

migrate: venv var
	$(PY) -m alembic -c migrations/alembic.ini upgrade head

secrets: venv var
	@$(PY) -m config.secrets ensure

setup: venv redis migrate

run: setup secrets
	exec bash scripts/run.sh Procfile

run-sim: setup secrets
	BROKER=ibkr IBKR_PORT=$${IBKR_PORT:-7497} exec bash scripts/run.sh Procfile.sim

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: dev
	$(VENV)/bin/mypy $(wildcard config trading app tasks bench ibsim broker_gateway)

test: dev setup lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not soak"

unit: dev
	$(VENV)/bin/pytest tests/unit

bench: dev setup
	$(PY) -m bench

soak: dev setup
	$(VENV)/bin/pytest -m soak tests

# Caches only: the ledger, the secrets, Redis's data and ibsim's state under var/ stay.
clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

# Deletes the data: every alert and order recorded, the generated secrets, Redis's data.
delete-data:
	@if [ ! -d var ]; then echo "nothing to delete: no var/"; exit 0; fi; \
	echo "This deletes var/: the ledger (every alert, order and fill), the generated"; \
	echo "secrets, Redis's data and ibsim's state. Stop the stack first."; \
	if [ "$${CONFIRM:-}" = delete ]; then answer=delete; \
	else read -r -p "Type 'delete' to go on: " answer || answer=; fi; \
	if [ "$$answer" != delete ]; then echo "kept var/"; exit 1; fi; \
	rm -rf var && echo "deleted var/"
