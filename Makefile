# The few commands a person types. `make lab` starts the course; `make test` runs every test.
# Both create the virtual environment in .venv when it is missing or out of date.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
# processes `make test` runs the tests on (TEST_WORKERS=0: all in this one process). Four on two
# cores: many tests wait on servers, browsers and timeouts, so more workers than cores keep the
# CPU busy (fresh clones: 10:04-13:13 with four, 11:29 with three, 14:45-15:10 with two).
TEST_WORKERS ?= 4
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

RUNTIME_STAMP := $(VENV)/.installed-runtime
TEST_STAMP    := $(VENV)/.installed-test
SITE_STAMP    := $(VENV)/.installed-site
# axe-core (npm) for the accessibility tests: installed here, never committed.
AXE           := $(VENV)/npm/node_modules/axe-core/axe.min.js
AXE_VERSION   := 4.14.1

# The cohort's JupyterHub (README: "For a cohort"). Its environment is built from Debian's
# Python, outside /root, because every user's server runs from it as that user. It needs
# Debian's python3-venv and npm (`make system-deps` installs them with the test packages).
HUB_PYTHON ?= /usr/bin/python3
HUB_PREFIX ?= /opt/dialectic-hub
HUB_ROOT   ?= /srv/dialectic-hub
HUB_IP     ?= 127.0.0.1
HUB_PORT   ?= 8000
HUB_AUTH   ?= dummy
ROSTER     ?= hub/roster.example.csv
HUB_STAMP  := $(HUB_PREFIX)/.installed
HUB_DEPS   := $(HUB_PREFIX)/.installed-deps
PROXY      := $(HUB_PREFIX)/proxy/node_modules/.bin/configurable-http-proxy

.PHONY: lab test lint demo site system-deps data help hub hub-env

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

lab: $(RUNTIME_STAMP)  ## start JupyterLab on course/, opening 01_orientation (ARGS=--no-browser for headless)
	@# Run from course/ so terminals open there; .venv/bin first on PATH so `dialectic` works in
	@# them. lab-config/ (self-study settings, read before the environment's) hides nbgrader's
	@# panels, which need a course, and keeps the terminal's shell from resetting PATH.
	@# grader.lab is `jupyter lab` without a 2-second IRI grammar build (see its docstring).
	cd course && PATH="$(abspath $(BIN)):$$PATH" JUPYTER_CONFIG_PATH="$(abspath lab-config)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(abspath $(BIN))/python -m grader.lab --LabApp.default_url=/lab/tree/01_orientation.ipynb $(ROOT_FLAG) $(ARGS)

test: lint $(TEST_STAMP) system-deps $(AXE) hub-env  ## run the whole test suite (after the lint)
	@# .venv/bin on PATH as in an activated environment: nbgrader runs `alembic` by name
	@# pytest-xdist: each test file runs whole on one of TEST_WORKERS processes (its module
	@# fixtures are built once); the files that take longest start first (tests/conftest.py
	@# orders them; --no-loadscope-reorder keeps xdist from putting the files with most tests first).
	PATH="$(abspath $(BIN)):$$PATH" DIALECTIC_HUB_PREFIX="$(HUB_PREFIX)" $(BIN)/python -m pytest \
	  -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25 $(ARGS)

lint: $(TEST_STAMP)  ## check the code's style with ruff (pyproject.toml); `ruff format .` mends layout
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

hub: $(RUNTIME_STAMP) hub-env  ## start the cohort's JupyterHub (ROSTER=roster.csv; HUB_IP=127.0.0.1 HUB_PORT=8000)
	$(BIN)/dialectic hub users --roster $(ROSTER)
	$(BIN)/dialectic hub courses --roster $(ROSTER) --root $(HUB_ROOT)
	$(HUB_PREFIX)/bin/dialectic hub start --roster $(ROSTER) --root $(HUB_ROOT) --auth $(HUB_AUTH) \
	  --ip $(HUB_IP) --port $(HUB_PORT) $(ARGS)

# Built as root (CI is root; the hub must be root to start servers as other users). Only the
# course package is reinstalled when grader/ changes; the rest when pyproject.toml does.
hub-env:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory $(HUB_STAMP) $(PROXY); \
	else echo "hub-env: needs root (it installs into $(HUB_PREFIX)); the hub tests will say so." >&2; fi

$(HUB_DEPS): pyproject.toml
	@test -x $(HUB_PREFIX)/bin/python || $(HUB_PYTHON) -m venv $(HUB_PREFIX)
	$(HUB_PREFIX)/bin/python -m pip install --quiet --upgrade pip
	$(HUB_PREFIX)/bin/python -m pip install --quiet .
	@touch $@

$(HUB_STAMP): $(HUB_DEPS) $(shell find grader -name '*.py' -o -name '*.yaml')
	$(HUB_PREFIX)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	for ext in formgrader validate_assignment assignment_list course_list; do \
	  $(HUB_PREFIX)/bin/jupyter server extension enable --sys-prefix nbgrader.server_extensions.$$ext >/dev/null 2>&1 || exit 1; \
	done
	chmod -R a+rX $(HUB_PREFIX)
	@touch $@

$(PROXY):
	npm install --silent --no-audit --no-fund --prefix $(HUB_PREFIX)/proxy configurable-http-proxy@5.3.0

demo: $(RUNTIME_STAMP)  ## build, simulate, autograde and give feedback on every assignment in demo-course/
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dialectic demo --out demo-course $(ARGS)

site: $(SITE_STAMP)  ## build the course website into _site/ (every module executed)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dialectic site --out _site $(ARGS)

data: $(RUNTIME_STAMP)  ## regenerate the synthetic physiology data and validate all data
	$(BIN)/dialectic generate-physiology
	$(BIN)/dialectic validate-data

$(RUNTIME_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@# nbgrader's server extensions install enabled; enable them explicitly (idempotent) so a
	@# stale config cannot leave the Validate button or the formgrader switched off.
	for ext in formgrader validate_assignment assignment_list course_list; do \
	  $(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.$$ext >/dev/null 2>&1 || exit 1; \
	done
	@touch $@

$(TEST_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,site]'
	@touch $(SITE_STAMP)
	@touch $@

$(SITE_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[site]'
	@touch $@

$(AXE):
	@command -v npm >/dev/null || { echo "The accessibility tests need npm (Debian: apt-get install npm)." >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@$(AXE_VERSION)

# System packages some tests drive for real: Debian's chromium (a downloaded browser build
# cannot be fetched here), PostgreSQL's server binaries (the analytics read both SQLite
# and PostgreSQL gradebooks), npm (axe-core for the accessibility audits; the hub's proxy) and
# Debian's venv module (the cohort's hub environment is built from Debian's Python).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	$(HUB_PYTHON) -c "import ensurepip" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The tests need Debian packages:$$missing. Run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
