# Everyday commands of the IOC dashboard.
#
#   make run          install (first time only), build the demo database if needed, start the app and the worker
#   make serve        the same database, served by WORKERS app processes behind HAProxy on PORT (README: Serving
#                     several processes); the worker too on PostgreSQL, none on DuckDB
#   make demo         rebuild the demo database from scratch (python -m dashboard demo)
#   make lint         ruff check, ruff format --check and the import-linter layer contracts
#   make test         lint, then the whole test suite (browser and PostgreSQL tests included when possible)
#   make screenshots  regenerate docs/img/overview.png and artifacts/screenshots/*.png
#   make bench        benchmark at scale 1 (10 M reports; builds data/bench-1.duckdb once); see docs/benchmarks.md
#   make clean        remove caches, test artifacts and build leftovers
#
# Database used by `make run` / `make db`:
#   * IOC_DATABASE_URL unset (or set to the default duckdb:///data/ioc.duckdb): the demo
#     database data/ioc.duckdb is built once, when the file does not exist yet. Run
#     `make demo` to rebuild it.
#   * IOC_DATABASE_URL (or .streamlit/secrets.toml) points anywhere else, e.g. PostgreSQL:
#     only `python -m dashboard init-db` runs. It creates missing tables and never touches
#     existing data, so it is safe on every start. Load data yourself, or run `make demo`
#     to fill that database with demo data.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501
# App processes of `make serve` (behind HAProxy, which listens on PORT).
WORKERS ?= 2
PYTEST_ARGS ?=
# Test processes (pytest-xdist; whole test files per process, see tests/conftest.py); TEST_WORKERS=1 runs them in one.
TEST_WORKERS ?= 2
SCREENSHOT_ARGS ?=
BENCH_ARGS ?= --scale 1.0

# Stamp files: an install step re-runs only when its input is newer than its stamp.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
DEMO_DB := data/ioc.duckdb

.PHONY: venv dev demo db run serve lint test screenshots bench clean distclean

venv: $(RUNTIME_STAMP)

dev: $(DEV_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q -e . --no-deps
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PIP) install -q -r requirements-dev.txt
	touch $@

demo: venv
	$(PY) -m dashboard demo

# Built only when missing; never rebuilt because code changed (use `make demo` for that). `make db` then runs
# init-db on it, which adds what a newer version of the code needs (tables, optional columns) and keeps the data.
$(DEMO_DB): | $(RUNTIME_STAMP)
	$(PY) -m dashboard demo

# Asks the app which URL it will use (environment, then .streamlit/secrets.toml, then default),
# so `make run` and the app never disagree about the database.
db: venv
	@url=$$($(PY) -c 'from dashboard import config; print(config.database_url())'); \
	if [ "$$url" = "duckdb:///$(CURDIR)/$(DEMO_DB)" ]; then \
		$(MAKE) --no-print-directory $(DEMO_DB) && $(PY) -m dashboard init-db; \
	else \
		echo "IOC_DATABASE_URL is not the default demo database: running init-db only"; \
		$(PY) -m dashboard init-db; \
	fi

# The app and the worker (python -m dashboard worker) in one command: the worker runs in the background and is
# stopped (SIGTERM: it lets a running job finish) when the app exits, on Ctrl-C too.
run: venv db
	@$(PY) -m dashboard users first-admin
	@$(PY) -m dashboard worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT)

# Several app processes behind HAProxy (Debian package haproxy), sticky sessions, WebSockets; on PostgreSQL one
# worker beside them. Ctrl-C stops every process. Production: scripts/serve_production.sh.
serve: venv db
	$(PY) -m dashboard serve --workers $(WORKERS) --port $(PORT)

# Style and layers first (seconds), then the suite. pytest exits with 5 when it collected no tests; that is a
# failure here, said plainly.
lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: venv dev lint
	@status=0; $(PY) -m pytest -q $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5); check PYTEST_ARGS and tests/" >&2; fi; \
	exit $$status

screenshots: venv dev
	$(PY) scripts/screenshot.py $(SCREENSHOT_ARGS)

# Not part of `make test`: the scale-1 build takes about ten minutes and several GB of disk.
bench: venv
	$(PY) -m dashboard bench $(BENCH_ARGS)

clean:
	rm -rf artifacts .pytest_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -print0 | xargs -0 rm -rf

# Also removes the virtual environment and the demo database.
distclean: clean
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB).wal
