# meshhouse: `make run` brings the platform up, `make test` runs the suite.
# Every target honours MESHHOUSE_HOME (default ./.meshhouse); DAGSTER_HOME lives inside it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export MESHHOUSE_HOME ?= $(CURDIR)/.meshhouse
export DAGSTER_HOME ?= $(MESHHOUSE_HOME)/dagster
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# installed modules compiled once, at install: every process (run workers, code servers, dbt)
# then imports bytecode instead of compiling ~9,000 files, also where PYTHONDONTWRITEBYTECODE is set
export UV_COMPILE_BYTECODE := 1

UV_VERSION := 0.13.9
TOOLS := $(CURDIR)/.tools
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
RUN := $(UV) run --frozen --no-sync
DAGSTER_PORT ?= 3000
DEMO_DAYS ?= 3
DEMO_EVENTS_PER_DAY ?= 5000
# per service, emitted live by `make run` (about one event a second in all)
DEMO_LIVE_EVENTS_PER_DAY ?= 20000

.PHONY: help env browser run serve demo test reliability catalog slo bench governance lint format dagster-home clean

help:
	@echo "make run    - set up, simulate demo data, start Dagster (UI on :$(DAGSTER_PORT)) with sensors running"
	@echo "make test   - set up and run the whole test suite"
	@echo "make demo   - headless: simulate, materialize every asset for the landed days, print a summary"
	@echo "make reliability - the fault-injection suite: crashes, concurrent writers, the fuzzer, properties"
	@echo "make bench  - benchmark Bronze -> Silver against the DuckDB limit and a pandas peer"
	@echo "make governance - contracts check against CONTRACTS_BASE (default HEAD~1) and the governance lint"
	@echo "make catalog - write the static data catalog to \$$MESHHOUSE_HOME/catalog (index.html, index.json)"
	@echo "make slo    - write the SLO report to \$$MESHHOUSE_HOME/slo from the \$$DAGSTER_HOME instance"
	@echo "make lint   - ruff, and import-linter on the architecture's layers"

$(TOOLS)/bin/uv:
	python3 -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

# The environment, exactly as locked, plus the dbt model contracts (generated) and manifests.
env: $(if $(shell command -v uv 2>/dev/null),,$(TOOLS)/bin/uv)
	$(UV) sync --frozen
	$(RUN) meshhouse dbt-prepare

dagster-home:
	@mkdir -p "$(DAGSTER_HOME)"
	@cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

run: env serve

# `make run` without the install step (the environment already synced; the make-run test drives
# it with its own MESHHOUSE_HOME and DAGSTER_PORT). The embedded PostgreSQL and NATS start under
# $(MESHHOUSE_HOME) (kept running afterwards: `meshhouse servers down` stops them); the live
# services run beside Dagster and stop with it.
serve: dagster-home
	$(RUN) meshhouse simulate --if-empty --days $(DEMO_DAYS) --events-per-day $(DEMO_EVENTS_PER_DAY)
	$(RUN) meshhouse servers up
	$(RUN) meshhouse service run --events-per-day $(DEMO_LIVE_EVENTS_PER_DAY) >> "$(MESHHOUSE_HOME)/services.log" 2>&1 & \
	services=$$!; trap 'kill $$services 2>/dev/null' EXIT INT TERM; \
	echo "live services: pid $$services, log $(MESHHOUSE_HOME)/services.log"; \
	$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

demo: env dagster-home
	$(RUN) meshhouse demo --days $(DEMO_DAYS) --events-per-day $(DEMO_EVENTS_PER_DAY)

# Debian's Chromium, headless: the catalog's pages are tested in a real browser.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

test: env browser
	$(RUN) pytest -n 2 --dist worksteal --durations=15

# Trials (kill -9 mid-run, concurrent writers, atheris), then the property tests with far more
# examples; the table of trials, then the JSON summary as the last line.
reliability: env
	HYPOTHESIS_PROFILE=reliability $(RUN) pytest -q -p no:cacheprovider tests/unit/test_hostile_input.py
	$(RUN) meshhouse reliability --json

catalog: env
	$(RUN) meshhouse catalog --out $(MESHHOUSE_HOME)/catalog

slo: env dagster-home
	$(RUN) meshhouse slo report --out $(MESHHOUSE_HOME)/slo

bench: env
	$(RUN) meshhouse bench --json

# Federated governance in CI: no breaking contract change reaches a consumer, every product follows the rules.
CONTRACTS_BASE ?= HEAD~1
governance: env
	$(RUN) meshhouse contracts check --base $(CONTRACTS_BASE)
	$(RUN) meshhouse governance check

lint: env
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports  # the rooms' layering (pyproject.toml [tool.importlinter])

format: env
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean:
	rm -rf "$(MESHHOUSE_HOME)" .pytest_cache
