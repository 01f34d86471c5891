# The two commands a new user needs: `make demo` and `make test`. Each builds .venv from pyproject.toml
# when it is missing or older than pyproject.toml, so nothing has to be installed by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test matrix lint bench bench-scale faults venv clean-local

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

venv: $(STAMP)

DEMO_PORT ?= 8000
demo: $(STAMP)
	$(BIN)/python manage.py demo --port $(DEMO_PORT)

test: $(STAMP)
	scripts/ensure-debian-package /usr/bin/chromium chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite on the other supported Django x Python pairs (make test runs the default one, 3.11 with Django 5.2),
# each in a fresh virtual environment built by nox: see noxfile.py.
matrix: $(STAMP)
	$(BIN)/nox -t others $(NOX_ARGS)

# Benchmarks run on purpose, never in CI (about 25 minutes on 2 cores): see bench/README.md.
bench: $(STAMP)
	scripts/ensure-debian-package /usr/bin/ab apache2-utils
	$(BIN)/python bench/reconcile_scale.py
	$(BIN)/python bench/admin_scale.py
	$(BIN)/python bench/throughput.py --n 2000 --runs 3 --brokers redis
	$(BIN)/python bench/throughput.py --n 2000 --runs 3 --brokers rabbitmq --work noop
	$(BIN)/python bench/status_reads.py
	$(BIN)/python bench/bulk_submit.py --n 100000 --loop-n 5000 --runs 3
	$(BIN)/python bench/fan_in.py --children 10000 --runs 3

# 1M and 10M goals with their journal (about 35 minutes, most of it building; about 25 GB of disk at 10M):
# the reconciler, the admin's lists, the status read, and pruning 1M goals under load. See bench/README.md.
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

# The fault-injection suite at full size (about 30 minutes): real faults against real processes, on the services
# DATABASE_URL and CELERY_BROKER_URL name; see faults/README.md. make test runs a short version of each.
faults: $(STAMP)
	$(BIN)/python -m faults

lint: $(STAMP)
	$(BIN)/ruff check .

# Removes the embedded servers' data (PostgreSQL and Redis started when no URL is set).
clean-local:
	rm -rf .local
