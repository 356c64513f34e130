"""The file import beside DuckDB's own ``read_csv`` of the same file: wall time and peak memory.

    python benchmarks/import_speed.py                   # 10^5 and 10^6 order rows, three paired runs
    python benchmarks/import_speed.py --rows 1e5 --repeat 5
    python benchmarks/import_speed.py --rows 1e7 --repeat 1
    python benchmarks/table.py --import-rows 1e5,1e6    # the same rows in the table of every step

A synthetic order CSV (written once to ``benchmarks/.data``, deterministic): order id, customer id, created
at, product, amount with two decimals, status (97% paid, 3% refunded), currency and channel, one customer
per five orders. Each run is a fresh process, so that its peak resident memory (``ru_maxrss``) is its own:

- ltvkit: ``Workspace.import_file`` into a new workspace file (read, map, account for every row, write);
- DuckDB: ``CREATE TABLE orders AS SELECT * FROM read_csv(file)`` in an in-memory DuckDB (detects the
  delimiter and the column types, reads every row into a table) — the floor of reading the file at all.

The two run alternately ``--repeat`` times; the table gives both medians, the median of the paired ratios,
the median peak memory of each, and the machine's 1-minute load average over the row (it is shared: read
the ratios, not the seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SRC = HERE.parent / "src"

OURS = """
import json, resource, sys, time
from pathlib import Path
from ltvkit.data.workspace import Workspace
with Workspace.open(Path(sys.argv[2]) / "ltv.duckdb") as ws:
    start = time.perf_counter()
    account = ws.import_file(sys.argv[1])
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "rows": account.read, "loaded": account.loaded}))
"""
THEIRS = """
import json, resource, sys, time
import duckdb
con = duckdb.connect()
start = time.perf_counter()
con.execute("CREATE TABLE orders AS SELECT * FROM read_csv(?)", [sys.argv[1]])
seconds = time.perf_counter() - start
(rows,), = con.execute("SELECT count(*) FROM orders").fetchall()
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "rows": rows, "loaded": rows}))
"""


def generate(n: int, path: Path) -> None:
    """Write ``n`` synthetic order rows to ``path`` with DuckDB (hash-based: the same file every time)."""
    import duckdb

    u = "hash(8 * i + {k}) / 18446744073709551616.0"
    customers = max(n // 5, 1)
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (
              SELECT 'O' || i AS order_id,
                'C' || CAST(floor({customers} * pow({u.format(k=1)}, 1.5)) AS BIGINT) AS customer_id,
                strftime(TIMESTAMP '2022-01-01'
                           + to_seconds(CAST(hash(8 * i + 2) % (1096 * 86400) AS BIGINT)),
                         '%Y-%m-%d %H:%M:%S') AS created_at,
                ['course', 'mentoring', 'tripwire', 'webinar', 'book']
                  [CAST(1 + hash(8 * i + 3) % 5 AS BIGINT)] AS product,
                printf('%.2f', round(5 + 195 * pow({u.format(k=4)}, 2), 2)) AS amount,
                CASE WHEN {u.format(k=5)} < 0.97 THEN 'paid' ELSE 'refunded' END AS status,
                'USD' AS currency,
                ['organic', 'ads', 'email', 'social', 'referral'][CAST(1 + hash(8 * i + 6) % 5 AS BIGINT)]
                  AS channel
              FROM range({n}) r(i)
            ) TO '{path}' (HEADER, DELIMITER ',')"""
        )


def _run(script: str, path: Path) -> dict[str, Any]:
    """One measurement in a fresh interpreter (its own peak memory)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        done = subprocess.run(
            [sys.executable, "-c", script, str(path), tmp],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_size(rows: int, repeat: int) -> dict[str, Any]:
    """The import row for a file of ``rows`` orders, in the shape of ``table.py``'s rows."""
    path = DATA / f"import-{rows:.0e}.csv"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        generate(rows, path)
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    loads = [os.getloadavg()[0]]
    for _ in range(repeat):
        ours.append(_run(OURS, path))
        theirs.append(_run(THEIRS, path))
        loads.append(os.getloadavg()[0])
    if any(r["loaded"] != rows for r in ours + theirs):
        raise RuntimeError(f"not every row of {path.name} was read: {ours + theirs}")
    row = {
        "size": rows,
        "stage": "import (orders CSV)",
        "ltvkit": statistics.median(r["seconds"] for r in ours),
        "reference": "read_csv",
        "theirs": statistics.median(r["seconds"] for r in theirs),
        "ratio": statistics.median(a["seconds"] / b["seconds"] for a, b in zip(ours, theirs, strict=True)),
        "load": statistics.mean(loads),
        "ltvkit_rss": statistics.median(r["rss"] for r in ours),
        "theirs_rss": statistics.median(r["rss"] for r in theirs),
        "bytes": path.stat().st_size,
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'rows':>6}  {'MB':>5}  {'ltvkit s':>9} {'GiB':>5}  {'read_csv s':>10} {'GiB':>5}  {'ratio':>6}  "
        f"{'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size']:>6.0e}  {r['bytes'] / 1e6:5.0f}  {r['ltvkit']:9.2f} {r['ltvkit_rss'] / 2**30:5.2f}  "
            f"{r['theirs']:10.2f} {r['theirs_rss'] / 2**30:5.2f}  {r['ratio']:5.2f}x  {r['load']:5.1f}"
        )
    print("\nratio: the median of paired runs (ltvkit / read_csv); GiB: peak resident memory of the process;")
    print("load: 1-minute load average during the row, on a machine with", os.cpu_count(), "cores.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="1e5,1e6", help="sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="paired runs per size (medians)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = [run_size(int(float(s)), args.repeat) for s in args.rows.split(",") if s]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
