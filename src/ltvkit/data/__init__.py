"""Where the orders are: the workspace (a DuckDB file), sources in any engine, the demo school."""
