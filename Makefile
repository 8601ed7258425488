# Two commands matter: `make run` (the site with demo data) and `make test` (every test).
# Each creates .venv and installs what it needs when that is missing or out of date.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=5055 STRIPE_PORT=8455 SMTP_PORT=2525` picks the dev server's ports. Only a PORT
# given on make's command line counts for `make run`: a PORT exported for gunicorn (`make
# serve-prod`, gunicorn.conf.py) never moves the dev server. SMTP_PORT (the email printer) is
# any free port unless given.
RUN_PORT := $(if $(filter command line,$(origin PORT)),$(PORT),5000)
STRIPE_PORT ?= 8420
SMTP_PORT ?=

.PHONY: run serve-prod test test-sqlite test-postgres lint bench bench-load bench-page-cost frontend clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m marketplace.devserver --port $(RUN_PORT) --stripe-port $(STRIPE_PORT)$(if $(SMTP_PORT), --mail-port $(SMTP_PORT))

# Production: migrate, then gunicorn (gunicorn.conf.py reads PORT, WEB_CONCURRENCY,
# GUNICORN_THREADS). Workers share their metrics through PROMETHEUS_MULTIPROC_DIR, by default
# <instance>/prometheus-multiproc, which gunicorn empties of an earlier run's samples as it starts.
serve-prod: $(STAMP)
	$(BIN)/flask --app wsgi db upgrade
	PROMETHEUS_MULTIPROC_DIR="$${PROMETHEUS_MULTIPROC_DIR:-$${INSTANCE_DIR:-$(CURDIR)/instance}/prometheus-multiproc}" \
		$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Every test: on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set.
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL not set: skipping the PostgreSQL run"; fi

test-sqlite: $(STAMP)
	env -u TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider

test-postgres: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider

# Browser tests drive Debian's Chromium; install it when missing (needs root, as in CI).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Chromium with apt"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The self-contained benchmarks (each makes its own data). The load test and the page cost
# need the load-test world in PostgreSQL: see bench-load and bench-page-cost.
BENCHES := bench/search.py bench/matching.py bench/settlement.py bench/crisis.py
bench: $(STAMP)
	@for f in $(BENCHES); do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# CPU, wall time and SQL statements per request for each kind of request in the load mix.
bench-page-cost: $(STAMP)
	$(BIN)/python bench/page_cost.py $(PAGE_COST_ARGS)

# The load test: gunicorn on PostgreSQL, driven by locust (see bench/load.py for its flags).
bench-load: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/load.py $(LOAD_ARGS)

frontend:
	bash scripts/build_frontend.sh

clean:
	rm -rf $(VENV) instance/marketplace.sqlite3 instance/search-index
