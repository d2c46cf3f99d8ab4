# Quick start: `make up` serves the app on http://localhost:8501; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PORT ?= 8501
# The browser test drives Debian's chromium (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
APT_INSTALL ?= yes  # no: never install, only say what is missing
# Test files run on this many processes (pytest-xdist; a file's tests stay in one process, so
# its module fixtures are built once). Many tests wait on workers, leases and a browser, so two
# processes overlap that waiting on a 2-core machine. 0: one process.
TEST_WORKERS ?= 2

.PHONY: up test lint format venv clean browser

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

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
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf .autospikformer .pytest_cache .ruff_cache
