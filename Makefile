# Two commands on a fresh machine: `make demo` and `make test`. Everything is installed into .venv from the
# committed locks in requirements/ (exact versions, the ones the tests passed with).
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
DEMO_STAMP := $(VENV)/.demo-installed
TEST_STAMP := $(VENV)/.test-installed
# The extras a full development install takes; requirements/test.lock pins them.
EXTRAS := --extra test --extra spark --extra lint

.PHONY: demo test test-fast gates bench bench-scale browser java lock test-latest clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# The demo needs ltvkit and its runtime dependencies only (no Spark, no browser driver).
$(DEMO_STAMP): requirements/demo.lock pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements/demo.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(TEST_STAMP): requirements/test.lock pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements/test.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/ltv demo --workspace demo/ltv.duckdb --dir demo

# Lint, format and type gates (CI runs them before the tests).
gates: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

test: $(TEST_STAMP) browser java
	$(BIN)/python -m pytest -q

# While working: the suite without the slow statistical checks and the Spark session (CI runs everything).
test-fast: $(TEST_STAMP) browser
	$(BIN)/python -m pytest -q -m "not slow and not spark"

# Refresh the locks from pyproject.toml's ranges (then run `make test` and commit both files).
lock: | $(UV)
	$(UV) pip compile --quiet --upgrade --python-version 3.11 pyproject.toml -o requirements/demo.lock
	$(UV) pip compile --quiet --upgrade --python-version 3.11 pyproject.toml $(EXTRAS) -o requirements/test.lock

# The suite against the newest versions pyproject.toml's ranges allow, in a separate venv: how upgrades that
# break are found before users find them.
test-latest: browser java | $(UV)
	$(PYTHON) -m venv .venv-latest
	$(UV) pip install --quiet --python .venv-latest/bin/python --upgrade -e ".[test,spark]"
	.venv-latest/bin/python -m pytest -q

# The report and dashboard tests drive Debian's Chromium headless (never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# The Spark tests run a local Spark session, which needs a Java runtime.
java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run.py

# 10^6-10^8 transactions in Parquet on DuckDB and Spark (about an hour; --sizes 1e6 for a quick look).
bench-scale: $(TEST_STAMP) java
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) .venv-latest demo .pytest_cache .hypothesis benchmarks/.data spark-warehouse
