# Two commands: `make run` (the dashboard) and `make test` (the test suite).
# Both create .venv if it is missing and install the pinned requirements first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.requirements-installed
PORT   ?= 8501
# localhost only by default; serving others needs an explicit ADDRESS (and sign-in: see the README)
ADDRESS ?= 127.0.0.1

.PHONY: run test test-fast lint bench bench-dashboard setup graphviz browser pdftools postgres clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $(STAMP)

# plotly.js's basic bundle (the charts' script; a new browser sets it up much faster than the full
# bundle): fetched once with npm, pinned to the plotly.js version the installed plotly writes for,
# and checked against its known digest (Debian's npm is installed if there is none). Served by the
# dashboard from static/, under a name with its version (a browser's cached copy never goes stale).
PLOTLY_JS_VERSION := 4.1.1
PLOTLY_BASIC_SHA256 := 99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba
PLOTLY_BASIC := static/plotly-basic-$(PLOTLY_JS_VERSION).min.js

$(PLOTLY_BASIC):
	@command -v npm >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	@rm -rf .cache/plotly-basic static/plotly-basic-*.min.js && mkdir -p .cache/plotly-basic static
	cd .cache/plotly-basic && npm pack --silent plotly.js-basic-dist-min@$(PLOTLY_JS_VERSION) >/dev/null && \
	  tar -xzf plotly.js-basic-dist-min-$(PLOTLY_JS_VERSION).tgz package/plotly-basic.min.js package/LICENSE
	echo "$(PLOTLY_BASIC_SHA256)  .cache/plotly-basic/package/plotly-basic.min.js" | sha256sum -c --quiet
	cp .cache/plotly-basic/package/LICENSE static/plotly-basic.LICENSE
	mv .cache/plotly-basic/package/plotly-basic.min.js $@

setup: $(STAMP) $(PLOTLY_BASIC)

# Debian's graphviz: its `dot` program draws the architecture diagram as SVG in the HTML reports.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends graphviz >/dev/null; }

# Debian's chromium for the browser tests (never a downloaded browser build), next to graphviz.
browser: graphviz
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation \
	    graphviz >/dev/null; }

# Debian's poppler-utils: the tests read the decision brief's PDF with its pdftotext (briefs print with chromium).
pdftools:
	@command -v pdftotext >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null; }

# Debian's PostgreSQL for the storage suite (the tests start and stop a throwaway cluster of their own).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

# .data/ holds the team's database (SQLite unless PIPELINE_TWIN_DATABASE_URL names one) and kept runs.
# chromium too: the dashboard prints decision briefs (PDF, slide pictures) with it, offline
run: setup browser
	@mkdir -p .data
	$(BIN)/python -m dashboard.serve --server.address $(ADDRESS) --server.port $(PORT) --browser.gatherUsageStats false

lint: setup
	$(BIN)/ruff check .

test: setup browser pdftools postgres lint
	$(BIN)/python -m pytest tests

test-fast: setup
	$(BIN)/python -m pytest tests -m "not e2e and not slow"

bench: setup
	$(BIN)/python bench/throughput.py

# seconds to a finished dashboard page in Debian's chromium, on fresh servers with a cold and a warm
# run cache (takes several minutes: it primes a cache first)
bench-dashboard: setup browser
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) .cache .pytest_cache test-artifacts static/plotly-basic-*.min.js static/plotly-basic.LICENSE
