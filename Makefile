# errata — the two commands are `make demo` and `make test`; both bootstrap what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Where the reference data lives (see ../shared/data/README.md). Override: make demo ERRATA_DATA_DIR=...
ERRATA_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export ERRATA_DATA_DIR
UV_SYSTEM_CERTS ?= 1
export UV_SYSTEM_CERTS
# compile bytecode at install: shells that set PYTHONDONTWRITEBYTECODE (common in containers)
# would otherwise compile errata and its dependencies again on every run (seconds per start)
UV_COMPILE_BYTECODE ?= 1
export UV_COMPILE_BYTECODE
# Python caches compiled modules (some shells disable it; start-up would then cost seconds)
unexport PYTHONDONTWRITEBYTECODE
# Debian packages that the tests use: WordNet 3.0 for the taxonomy rebuild test; chromium for
# the report and review browser tests (Playwright drives the system binary); postgresql for the
# review storage tests, which start their own server in a temporary directory.
APT_PACKAGES ?= wordnet-base wordnet-sense-index chromium postgresql
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
# The tests cover every optional part; the demo and the benchmarks need only the core (the
# openworld/predict extras bring PyTorch, several GB).
EXTRAS ?= --extra review --extra openworld --extra predict --extra imagenetx --extra labelissues
RUN := $(UV) run --frozen $(EXTRAS)
# make test runs the suite in this many processes (pytest-xdist; one file's tests stay in one
# process, so a module's fixtures are built once): 2 matches the 2-core CI machine (6.0 min in
# one process, 4.5 min in two); TEST_WORKERS=0 runs it in this process (a debugger, -x).
TEST_WORKERS ?= 2
CORE_RUN := $(UV) run --frozen

.PHONY: help uv env env-core apt sources demo test docs bench lint golden resources clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

uv:  ## install uv when missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

env: uv  ## create the locked environment (.venv) with every extra
	@$(UV) sync --frozen --inexact --quiet $(EXTRAS)
	@.venv/bin/python -m compileall -q src/errata

env-core: uv  ## the locked environment without the optional extras
	@$(UV) sync --frozen --inexact --quiet
	@.venv/bin/python -m compileall -q src/errata

apt:  ## install the Debian packages the tests need, when missing
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

sources: env  ## fetch the registry wheels the resources are generated from (for the rebuild tests)
	@$(RUN) python tools/sources.py fetch

demo: env-core  ## analyse the reference ResNet-50 predictions and write a report
	@$(CORE_RUN) errata analyze cleanlab-resnet50 --order imagefolder --labels real --out demo-output --report demo-output/report.html

test: env apt sources  ## run the whole test suite
	@$(RUN) python -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

docs: env  ## serve the documentation at http://127.0.0.1:8000 (make test builds it strictly)
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs serve -a 127.0.0.1:8000

bench: env-core  ## run the benchmarks and update benchmarks/RESULTS.md (BENCH_ARGS="--only big" …)
	@$(CORE_RUN) python benchmarks/run.py $(BENCH_ARGS)

lint: env  ## ruff, mypy and the layer contracts (import-linter)
	@$(RUN) ruff check src tests tools benchmarks
	@$(RUN) mypy
	@$(RUN) lint-imports

golden: env  ## re-record the golden CLI outputs (tests/golden/expected; review the diff before committing)
	@$(RUN) python tools/record_golden.py

resources: env apt sources  ## regenerate the package resources from their sources
	@$(RUN) python tools/build_resources.py
	@$(RUN) python tools/build_confusables.py

clean:
	rm -rf .venv demo-output .pytest_cache site
