# Orderly: `make run` serves the embedded mode; `make test` lints, type-checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Serving needs only the package; tests, chaos and benchmarks need the dev extra (test tools,
# the FDA data, the benchmark's DBOS peer). Each is installed once, and again when
# pyproject.toml changes.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest chaos bench web browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The web app (web/): its packages from the npm registry as the lockfile pins them, installed
# again when the lockfile changes; built (a static export, web/out) when its sources or the
# GraphQL schema it is typed from change. The server serves web/out at /.
WEB_STAMP := web/node_modules/.installed
WEB_BUILT := web/out/index.html
WEB_SOURCES := $(shell find web/src web/scripts -type f -not -name generated.ts) \
	web/package.json web/next.config.ts web/tsconfig.json docs/schema.graphql

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_BUILT): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && NEXT_TELEMETRY_DISABLED=1 npm run --silent build >build.log 2>&1 || { cat build.log; exit 1; }
	touch $@

web: $(WEB_BUILT)

# The browser the web app's tests drive: Debian's chromium (no browser is downloaded by a
# test tool). Installing it needs root.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# the simulated ERP (at the default ORDERLY_ERP_URL) runs beside the server, stopped with it
run: $(SERVE_STAMP) web
	$(BIN)/orderly migrate
	$(BIN)/orderly demo load
	$(BIN)/orderly erp-sim --host 127.0.0.1 --port 8070 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(BIN)/orderly serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench chaos
	$(BIN)/ruff format --check src tests bench chaos
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy src
	$(BIN)/mypy --follow-imports=silent chaos

# Most tests wait on servers, not on the CPU: three workers share them out a module at a time,
# so that the deployment a module's tests share is started once. The tests that stop PostgreSQL
# or RabbitMQ (`outage`) would fail the other workers' tests, so they run after, alone.
PYTEST_WORKERS ?= 3

pytest: $(DEV_STAMP) web browser
	$(BIN)/python -m tests.services_check
	$(BIN)/pytest -q -m "not chaos and not outage" -n $(PYTEST_WORKERS) --dist loadfile --durations=25
	$(BIN)/pytest -q -m "outage and not chaos"

test: lint typecheck pytest

# every crash point of every saga step, in both modes; then the fault-injection suite against a
# cluster, in each of its modes (chaos/results/latest.json). CHAOS_SEED repeats a run's faults.
CHAOS_SEED ?=
chaos: $(DEV_STAMP)
	$(BIN)/python -m tests.services_check
	$(BIN)/pytest -q -m chaos
	$(BIN)/python -m chaos --size full $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var bench/results web/node_modules web/.next web/out
