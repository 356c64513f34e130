# Two commands on a fresh machine: `make demo` and `make test`. Everything is installed into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-scale browser java clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ltv demo --workspace demo/ltv.duckdb --dir demo

test: $(STAMP) browser java
	$(BIN)/python -m pytest -q

# The report and dashboard tests drive Debian's Chromium headless (never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# The Spark tests run a local Spark session, which needs a Java runtime.
java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# 10^6-10^8 transactions in Parquet on DuckDB and Spark (about an hour; --sizes 1e6 for a quick look).
bench-scale: $(STAMP) java
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis benchmarks/.data spark-warehouse
