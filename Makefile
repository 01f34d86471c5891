# The two commands a new user needs: `make demo` and `make test`. Each builds .venv from pyproject.toml
# when it is missing or older than pyproject.toml, so nothing has to be installed by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
.DEFAULT_GOAL := help

.PHONY: help demo test test-unit test-db test-worker test-faults test-install browser matrix lint bench bench-scale \
	faults venv docs clean-local

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

venv: $(STAMP) ## Build .venv from pyproject.toml (every other target does when it is missing or stale)

DEMO_PORT ?= 8000
demo: $(STAMP) ## Run the example project: web, worker, beat and sample goals (embedded servers without URLs)
	$(BIN)/python manage.py demo --port $(DEMO_PORT)

test: $(STAMP) ## ruff, then every tier of the suite (the browser tests skip without Chromium: make browser)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# One tier each (tests/tiers.py): unit needs no server; db PostgreSQL; worker a broker and a real worker too.
test-unit: $(STAMP) ## Pure logic: starts and connects to no server
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-db: $(STAMP) ## Real PostgreSQL, no worker
	$(BIN)/python -m pytest tests/db $(PYTEST_ARGS)

test-worker: $(STAMP) ## A real Celery worker process
	$(BIN)/python -m pytest tests/worker $(PYTEST_ARGS)

test-faults: $(STAMP) ## The fault scenarios at their short sizes
	$(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

test-install: $(STAMP) ## The built wheel in a generated host project, and the demo on embedded servers
	$(BIN)/python -m pytest tests/install $(PYTEST_ARGS)

# The one step that installs a system package, on purpose: Debian's Chromium for the browser tests.
browser: ## Install Debian's Chromium for the browser tests (as root with apt-get)
	scripts/ensure-debian-package /usr/bin/chromium chromium

# The suite on the other supported Django x Python pairs (make test runs the default one, 3.11 with Django 5.2),
# each in a fresh virtual environment built by nox: see noxfile.py.
matrix: $(STAMP) ## The suite on the other supported Python x Django pairs (nox)
	$(BIN)/nox -t others $(NOX_ARGS)

# Benchmarks run on purpose, never in CI (about 63 minutes on 2 cores): see bench/README.md.
bench: $(STAMP) ## Benchmarks, run on purpose (about 63 minutes); see bench/README.md
	scripts/ensure-debian-package /usr/bin/ab apache2-utils
	$(BIN)/python bench/reconcile_scale.py
	$(BIN)/python bench/admin_scale.py
	$(BIN)/python bench/throughput.py --n 2000 --runs 3 --brokers redis
	$(BIN)/python bench/throughput.py --n 2000 --runs 3 --brokers rabbitmq --work noop
	$(BIN)/python bench/status_reads.py
	$(BIN)/python bench/bulk_submit.py --n 100000 --loop-n 5000 --runs 3
	$(BIN)/python bench/fan_in.py --children 10000 --runs 3
	$(BIN)/python bench/deferred.py
	$(BIN)/python bench/schedules.py
	$(BIN)/python bench/events.py --threads 4
	$(BIN)/python bench/limits.py
	$(BIN)/python bench/task_backend.py
	$(BIN)/python bench/tracing.py

# 1M and 10M goals with their journal (about 35 minutes, most of it building; about 25 GB of disk at 10M):
# the reconciler, the admin's lists, the status read, and pruning 1M goals under load. See bench/README.md.
bench-scale: $(STAMP) ## 1M and 10M goals (about 35 minutes, 25 GB of disk)
	$(BIN)/python bench/scale.py

# The fault-injection suite at full size (about 30 minutes): real faults against real processes, on the services
# DATABASE_URL and CELERY_BROKER_URL name; see faults/README.md. make test runs a short version of each.
faults: $(STAMP) ## The fault-injection suite at full size (about 30 minutes)
	$(BIN)/python -m faults

# The documentation site (Sphinx, MyST Markdown, furo) from docs/; every warning fails the build.
docs: $(STAMP) ## Build the documentation into docs/_build/html (warnings are errors)
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html
	@echo "docs/_build/html/index.html"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

# Removes the embedded servers' data (PostgreSQL and Redis started when no URL is set).
clean-local: ## Remove the embedded servers' data
	rm -rf .local
