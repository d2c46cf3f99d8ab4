# Quick start: `make up` serves the app on http://localhost:8501; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PORT ?= 8501
# The browser test drives Debian's chromium (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
APT_INSTALL ?= yes  # no: never install, only say what is missing
# Test files run on this many processes (pytest-xdist; a file's tests stay in one process, so
# its module fixtures are built once). Many tests wait on workers, leases and a browser, so
# three processes overlap that waiting on a 2-core machine (2026-12-05, Intel, one run each:
# 489 s with two, 414 s with three, 426 s with four; BENCHMARKS.md). 0: one process. Files are
# handed out in collection order (--no-loadscope-reorder), which tests/conftest.py starts with
# the longest.
TEST_WORKERS ?= 3

# The lock files pin every package, with its hashes: requirements.lock for the app (the
# Dockerfile), requirements-dev.lock for the app and the dev tools (`make up`, `make test`).
# `make lock` refreshes them from pyproject.toml, keeping the pins that still fit;
# `make lock LOCK_ARGS='--upgrade-package streamlit'` (or `--upgrade`) moves pins forward.
LOCK := requirements-dev.lock
LOCK_VENV := .venv-lock
PIP_TOOLS ?= pip-tools==7.7.0
# pip's own constraint file, where this machine has one (it caps torch at the wheels on its disk).
LOCK_CONSTRAINTS ?= $(wildcard /etc/xdg/pip/constraints.txt)
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	$(addprefix --constraint=,$(LOCK_CONSTRAINTS)) $(LOCK_ARGS)

.PHONY: up test test-cpu lint format venv clean browser lock

# Installs exactly the lock (pip refuses any package whose hash is not in it), then the project
# itself, in place, without touching its dependencies; `pip check` stops a lock that no longer
# satisfies pyproject.toml.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r $(LOCK)
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	$(VENV)/bin/pip check >/dev/null || { $(VENV)/bin/pip check >&2; \
	  echo "error: $(LOCK) does not satisfy pyproject.toml; run 'make lock'" >&2; exit 1; }
	touch $(STAMP)

lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) \
	  && $(LOCK_VENV)/bin/pip install -q '$(PIP_TOOLS)'; }
	$(PIP_COMPILE) --extra dev --output-file requirements-dev.lock pyproject.toml
	$(PIP_COMPILE) --constraint requirements-dev.lock --output-file requirements.lock pyproject.toml

venv: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/autospikformer up --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Installs Debian's chromium when it is missing and we may (root with apt-get); otherwise stops
# with one line saying how: the browser test is never skipped.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$(strip $(APT_INSTALL))" = yes ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser test" >&2; \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: $(CHROMIUM) is missing; install Debian's chromium (sudo apt-get install chromium) for the browser test" >&2; \
	    exit 1; \
	  fi; }
	@test -x $(CHROMIUM) || { echo "error: installing chromium failed; see apt-get's output above" >&2; exit 1; }

test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The suite as `make test` runs it, then where its CPU went, per test file, every process a test
# started counted (servers killed by their group too: tests/cpu_ledger.py).
test-cpu: $(STAMP) browser
	rm -rf .cpu-ledger && mkdir .cpu-ledger
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  -p tests.cpu_ledger --cpu-ledger-dir .cpu-ledger $(PYTEST_ARGS)
	$(VENV)/bin/python -m tests.cpu_ledger .cpu-ledger

clean:
	rm -rf .autospikformer .pytest_cache .ruff_cache .cpu-ledger
