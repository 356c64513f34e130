"""Scale benchmark: the same analyses on DuckDB and Spark, from 10^6 to 10^8 transactions in Parquet.

    python benchmarks/scale.py                          # 1e6 1e7 1e8 on DuckDB, Spark (local[2]) to 1e7
    python benchmarks/scale.py --sizes 1e6 --spark-max 1e6

Synthetic order logs (written once to ``benchmarks/.data``, deterministic): one customer per 10 transactions
on average with a skewed share of the orders, first purchases spread over three years, 95% paid, 2% refunded,
3% cancelled, five channels and products. Each engine runs in a fresh process that reads the Parquet files
where they are (no import) and times each stage; a sampler thread records the peak resident memory of the
process and its children (Spark's JVM) during the stage.

The stages after the scan read the orders as a workspace holds them after an import: the file's columns
renamed to the order fields by a plain projection (``as_imported``; this file is clean, so that is what the
source's mapping gives, without its per-row parsing and checks, whose cost is the import's: the scan row,
``import_speed.py``). Stages:

- scan (to ``--mapping-max`` transactions): the source's mapping of every row and its account (one pass);
- summary: per-customer (x, t_x, T, m), kept as a table in the engine;
- cohorts: the monthly cohort table (retention, revenue, LTV by age);
- compress: distinct (x, t_x, T) with counts, read from the summary — what the purchase model needs;
- fit BG/NBD, fit Gamma-Gamma: the optimisers, on what came back (BG/NBD on the compressed rows, in weeks:
  on its time grain past 200,000 distinct histories, see ``ltvkit.models.base.coarsened``);
- scoring: P(alive), expected purchases and CLV for every customer, joined in the engine, written to Parquet;
- report: the HTML report (overview, LTV, cohorts, channels, Pareto, first products, the predicted value
  by channel, the comparison of two cohorts, the first actions).

Timings on a shared machine are noisy: read ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
DAYS = 1096  # 2022-01-01 .. 2024-12-31
SPARK_URL = "spark://local[2]?spark.driver.memory=10g"
DUCKDB_URL = "duckdb://?memory_limit=4GB"  # the engine's share of the 6 GiB the run is held to


def generate(n: int, path: Path) -> None:
    """Write ``n`` synthetic orders to ``path`` with DuckDB (hash-based, so the same file every time)."""
    import duckdb

    customers = max(n // 10, 1)
    # hash(i, k) of DuckDB is correlated across k (the same customer would get the same day); hash(8·i + k)
    # gives independent uniforms per transaction i and per customer c
    u = "hash(8 * i + {k}) / 18446744073709551616.0"
    con = duckdb.connect()
    con.execute("SET memory_limit = '5GB'")
    con.execute(
        f"""
        COPY (
          WITH tx AS (
            SELECT i, CAST(floor({customers} * pow({u.format(k=1)}, 1.5)) AS BIGINT) AS c,
                   {u.format(k=2)} AS u_day, {u.format(k=3)} AS u_amount, {u.format(k=4)} AS u_status,
                   CAST(hash(8 * i + 5) % 86400 AS BIGINT) AS second
            FROM range({n}) r(i)
          ), born AS (SELECT *, CAST(hash(8 * c + 6) % {DAYS} AS BIGINT) AS birth FROM tx)
          SELECT 'O' || i AS order_id, 'C' || c AS customer_id,
                 TIMESTAMP '2022-01-01' + to_days("""
        f"""CAST(birth + floor(pow(u_day, 2) * ({DAYS} - birth)) AS INTEGER))
                   + to_seconds(second) AS paid_at,
                 round(5 + 195 * pow(u_amount, 2), 2) AS total,
                 CASE WHEN u_status < 0.95 THEN 'paid' WHEN u_status < 0.97 THEN 'refunded' """
        """ELSE 'cancelled' END
                   AS status,
                 ['organic', 'ads', 'email', 'social', 'referral']"""
        """[CAST(1 + hash(8 * c + 7) % 5 AS BIGINT)] AS channel,
                 ['course', 'mentoring', 'tripwire', 'webinar', 'book']"""
        f"""[CAST(1 + hash(8 * i + 8) % 5 AS BIGINT)] AS product
          FROM born
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """
    )


class PeakMemory:
    """Peak resident memory (MiB) of this process and its children while a ``with`` block runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()

    def _rss(self) -> float:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    @contextmanager
    def watch(self) -> Iterator[None]:
        self.peak, self._stop = self._rss(), threading.Event()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, self._rss())


class AsImported:
    """The orders of a generated file as a workspace holds them after an import (see the module docstring),
    and the source's (empty) spend."""

    def __init__(self, source: Any, path: Path) -> None:
        import ibis

        from ltvkit.io.orders import ORDER

        raw = source.backend.read_parquet(str(path), table_name="bench_raw")
        refunded = raw.status == "refunded"
        given = {
            "order_key": raw.order_id,
            "order_id": raw.order_id,
            "customer_id": raw.customer_id,
            "ordered_at": raw.paid_at,
            "amount": raw.total,
            "refunded": ibis.ifelse(refunded, raw.total, 0.0),
            "currency": ibis.literal("USD"),
            "status": raw.status,
            "product": raw.product,
            "quantity": ibis.literal(1.0),
            "channel": raw.channel,
        }
        self.orders = raw.select(**{f.name: given.get(f.name, ibis.null()).cast(f.dtype) for f in ORDER})
        self._source = source

    def table(self, name: str) -> Any:
        return self.orders if name == "orders" else self._source.table(name)


def run_engine(engine: str, path: Path, out_dir: Path, *, scan: bool) -> list[dict[str, Any]]:
    """Every stage on one engine, in this process; one row per stage."""
    from ltvkit.analytics.cohorts import cohort_table
    from ltvkit.data.sources import Source, write_result
    from ltvkit.models import BetaGeoModel
    from ltvkit.predict.clv import customer_value_table
    from ltvkit.predict.summaries import compressed, customer_summary
    from ltvkit.service.report import build_report
    from ltvkit.service.valuation import _fit_spend

    rows: list[dict[str, Any]] = []
    memory = PeakMemory()

    def stage(name: str, fn: Callable[[], Any], **extra: Any) -> Any:
        with memory.watch():
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
        rows.append({"stage": name, "seconds": seconds, "peak_mib": memory.peak, **extra})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        return result

    url = f"{SPARK_URL}&spark.sql.warehouse.dir={out_dir / 'warehouse'}" if engine == "spark" else DUCKDB_URL
    source = stage("connect", lambda: Source.open(url, str(path), currency="USD"))
    if scan:
        account = stage("scan", source.account)
        rows[-1]["rows"] = account.rows
    imported = AsImported(source, path)
    orders = imported.orders
    summary = stage(
        "summary",
        lambda: source.backend.create_table(
            "bench_summary", customer_summary(orders, unit="week"), overwrite=True
        ),
    )
    rows[-1]["rows"] = int(summary.count().execute())
    stage("cohorts", lambda: cohort_table(orders))
    stats = stage("compress", lambda: compressed(summary).execute())
    rows[-1]["rows"] = len(stats)
    purchase = stage("fit BG/NBD", lambda: BetaGeoModel(unit="week").fit(stats))
    spend, _ = stage("fit Gamma-Gamma", lambda: _fit_spend(summary))
    target = out_dir / f"scores-{engine}.parquet"
    stage(
        "scoring",
        lambda: write_result(
            source.backend,
            customer_value_table(purchase, spend, summary, horizon=52, unit="week", discount_rate=0.1),
            target,
        ),
    )
    stage("report", lambda: build_report(imported, out_dir / f"report-{engine}.html"))
    source.close()
    return rows


def child(engine: str, path: Path, scan: bool) -> list[dict[str, Any]] | str:
    """Run one engine on one file in a fresh process; its rows, or the error it ended with."""
    with tempfile.TemporaryDirectory(dir=DATA) as out_dir:
        proc = subprocess.run(
            [sys.executable, __file__, "--engine", engine, "--file", str(path), "--out-dir", out_dir]
            + (["--scan"] if scan else []),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(results: dict[tuple[int, str], list[dict[str, Any]] | str]) -> None:
    stages = ["scan", "summary", "cohorts", "compress", "fit BG/NBD", "fit Gamma-Gamma", "scoring", "report"]
    print(
        f"\n{'transactions':>13} {'engine':<7} " + " ".join(f"{s:>16}" for s in stages) + f" {'total s':>8}"
    )
    for (n, engine), rows in results.items():
        if isinstance(rows, str):
            print(f"{n:>13,} {engine:<7} failed: {rows}")
            continue
        by = {r["stage"]: r for r in rows}
        cells = [
            f"{by[s]['seconds']:7.1f}s {by[s]['peak_mib'] / 1024:5.1f}G" if s in by else "—" for s in stages
        ]
        total = sum(by[s]["seconds"] for s in stages if s in by)
        print(f"{n:>13,} {engine:<7} " + " ".join(f"{c:>16}" for c in cells) + f" {total:8.1f}")
    print("\nEach cell: wall seconds and peak resident memory (GiB, process + JVM) during the stage.")
    print(
        "Rows: "
        + "; ".join(
            f"{n:,} {e}: {next(r['rows'] for r in rows if r['stage'] == 'summary'):,} customers, "
            f"{next(r['rows'] for r in rows if r['stage'] == 'compress'):,} distinct (x, t_x, T)"
            for (n, e), rows in results.items()
            if not isinstance(rows, str)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["1e6", "1e7", "1e8"], help="transactions per data set")
    parser.add_argument("--spark-max", default="1e7", help="largest size run on Spark (0: none)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--mapping-max", type=float, default=1e7, help="largest size scanned through the source's mapping"
    )
    parser.add_argument("--scan", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:  # the child process
        print(json.dumps(run_engine(args.engine, args.file, args.out_dir, scan=args.scan)))
        return
    DATA.mkdir(exist_ok=True)
    results: dict[tuple[int, str], list[dict[str, Any]] | str] = {}
    for size in (int(float(s)) for s in args.sizes):
        path = DATA / f"orders-{size:.0e}.parquet"
        if not path.exists():
            start = time.perf_counter()
            generate(size, path)
            print(f"generated {path.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        for engine in ("duckdb", "spark"):
            if engine == "spark" and size > float(args.spark_max):
                continue
            print(f"{size:,} transactions on {engine} ...", file=sys.stderr, flush=True)
            results[(size, engine)] = child(engine, path, size <= args.mapping_max)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({f"{n} {e}": r for (n, e), r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
