"""One table: each step of ltvkit beside its floor, on the synthetic order logs of ``scale.py``.

    python benchmarks/table.py                                  # 10^5 and 10^6 customers
    python benchmarks/table.py --customers 1e5 --repeat 5
    python benchmarks/table.py --with-1e7                       # and 10^7 customers (10^8 orders)
    python benchmarks/table.py --lifetimes /tmp/venv/bin/python # lifetimes beside, from its own venv
    python benchmarks/table.py --steps summary,scoring          # only these groups of rows
    python benchmarks/table.py --customers 1e7 --e2e-only --lifetimes /tmp/venv/bin/python
    python benchmarks/table.py --customers 1e6 --report-only --repeat 2

Rows, for each size (about ten orders per customer, Parquet read where it is, no import):

- summary from the file (to ``--mapping-max`` customers): ``customer_summary`` on the source, so the
  source's mapping (column parsing, row checks, repeated orders) runs inside it, beside one hand-made DuckDB
  query on the raw file that computes the same per-customer numbers without any of that; called bare (a
  first query reads the currencies and the last day) and with the end and currency given (one query);
- mapping once (kept): the mapped orders written once to a temporary table, as the report does;
- summary (as called bare, and with the end and currency given): ``customer_summary`` on those kept orders
  to Arrow, beside the same numbers written by hand as one SQL query on the same table;
- fit BG/NBD, Pareto/NBD, Gamma-Gamma: on the compressed statistics read from the engine, the purchase
  models in weeks, so on their time grain past 200,000 distinct histories (lifetimes, if given, fits the
  per-customer columns, as it is used); when the grain applies, the BG/NBD fit on every distinct history at
  day resolution beside it and how far its estimates and predictions are;
- fit BG/NBD with the BLAS on one thread (as ``fit`` runs) beside the BLAS's own thread pool;
- scoring: ``customer_value`` in memory (P(alive), E[purchases], CLV over 52 weeks) beside the engine
  path ``customer_value_table`` (the join done in DuckDB, out as Arrow), which the issue takes as the floor;
- intervals: ``customer_value`` with 90% intervals beside the same without, for BG/NBD and Pareto/NBD
  (``intervals.py``).
- report (to ``--mapping-max`` customers): the HTML report from the source, with the predicted value by
  channel and without, beside the summary from the file (``--report-only``: these rows alone, paired).
- end to end: from the orders to every customer's CLV (summary, compressed statistics, both fits, scoring)
  beside lifetimes given the same summary by the plain DuckDB query (its time counted) and fitting and
  scoring the per-customer columns; with ``--e2e-only`` this row alone, on the orders as imported.
- with ``--steps``, only some groups of rows (``summary``, ``fit``, ``scoring``, ``intervals``, ``report``);
  without ``summary`` the other rows run on the plain query's summary (no mapping pass).
- with ``--import-rows 1e5,1e6``: the import of an order CSV of that many rows beside DuckDB's ``read_csv``
  of the same file (``import_speed.py``, each run in a fresh process).

Each pair runs alternately ``--repeat`` times; the table gives both medians, the median of the paired
ratios and the machine's 1-minute load average (``os.getloadavg``) over the row, as the machine is shared:
read ratios, not seconds. lifetimes is not a dependency of ltvkit: it runs in the interpreter given with
``--lifetimes`` (a separate virtual environment with lifetimes 0.11 and its old numpy and pandas), once per
size, on the same summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import import_speed
import numpy as np
import pandas as pd
from scale import DATA, DAYS, AsImported, generate

HORIZON_WEEKS = 52
END = pd.Timestamp("2022-01-01") + pd.Timedelta(days=DAYS - 1)

FLOOR_SQL = """
WITH days AS (
  SELECT customer_id, CAST(paid_at AS DATE) AS day, sum(total) AS value
  FROM read_parquet('{path}') WHERE status = 'paid' GROUP BY ALL
)
SELECT customer_id, CAST(count(*) - 1 AS DOUBLE) AS frequency,
       CAST(max(day) - min(day) AS DOUBLE) / 7 AS recency,
       CAST(DATE '{end}' - min(day) AS DOUBLE) / 7 AS T,
       CASE WHEN count(*) > 1 THEN (sum(value) - arg_min(value, day)) / (count(*) - 1) ELSE 0 END
         AS monetary_value,
       min(day) AS first_purchase, max(day) AS last_purchase, sum(value) AS revenue
FROM days WHERE day <= DATE '{end}' GROUP BY customer_id
"""

SIDE_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
d = np.load(sys.argv[1])
f, r, T, m = (pd.Series(d[c]) for c in ("frequency", "recency", "T", "monetary_value"))
rep = (f > 0) & (m > 0)
out = {}
def timed(name, fn):
    start = time.perf_counter()
    try:
        return fn()
    finally:  # a fit that stops without converging is timed too (how long it took to fail)
        out[name] = time.perf_counter() - start
try:
    bg = timed("fit BG/NBD", lambda: BetaGeoFitter().fit(f, r, T))
    if len(f) <= float(sys.argv[2]) and sys.argv[3] == "pareto":
        timed("fit Pareto/NBD", lambda: ParetoNBDFitter().fit(f, r, T))
    gg = timed("fit Gamma-Gamma", lambda: GammaGammaFitter().fit(f[rep], m[rep]))
    timed("scoring", lambda: (bg.conditional_probability_alive(f, r, T), gg.customer_lifetime_value(
        bg, f, r, T, m.where(rep, 0.0), time=12, discount_rate=0.1 / 12, freq="W")))
except Exception as exc:
    out["error"] = next((t.strip() for t in str(exc).splitlines() if t.strip()), type(exc).__name__)[:60]
print(json.dumps(out))
"""


def paired(
    ours: Callable[[], Any], theirs: Callable[[], Any] | None, repeat: int
) -> tuple[float, float | None, float | None, float]:
    """Medians of ``ours`` and ``theirs`` run alternately, the median of their paired ratios, and the mean
    1-minute load average over the runs."""
    mine: list[float] = []
    other: list[float] = []
    loads = [os.getloadavg()[0]]
    for _ in range(repeat):
        for fn, times in ((ours, mine), (theirs, other)):
            if fn is not None:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        loads.append(os.getloadavg()[0])
    ratio = statistics.median(a / b for a, b in zip(mine, other, strict=True)) if other else None
    return statistics.median(mine), statistics.median(other) if other else None, ratio, statistics.mean(loads)


def grain_effect(exact: Any, grained: Any, frame: pd.DataFrame) -> str:
    """How far the fit on the time grain is from the fit on every distinct history at day resolution: each
    parameter in its standard errors, and the mean P(alive) and the total expected purchases in a year."""
    shift = ", ".join(
        f"{name} {(grained.params_[name] - exact.params_[name]) / exact.standard_errors_[name]:+.1f} SE"
        for name in exact.params_.index
    )
    columns = {c: frame[c].to_numpy() for c in ("frequency", "recency", "T")}
    alive = [m.probability_alive(**columns).mean() for m in (exact, grained)]
    purchases = [m.expected_purchases(HORIZON_WEEKS, **columns).sum() for m in (exact, grained)]
    return (
        f"(grain {grained.grain_days_:g} days, {grained.n_distinct_:,} rows for {exact.n_distinct_:,}: "
        f"{shift}; mean P(alive) {alive[1] / alive[0] - 1:+.2%}, purchases in a year "
        f"{purchases[1] / purchases[0] - 1:+.2%})"
    )


def lifetimes_times(
    python: str, summary: pd.DataFrame, pareto_max: float, skip_pareto: bool, timeout: float
) -> dict[str, Any]:
    """lifetimes' seconds per step on ``summary``, in its own interpreter (or why there are none)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "summary.npz"
        columns = ("frequency", "recency", "T", "monetary_value")
        np.savez(path, **{c: summary[c].to_numpy(dtype=float) for c in columns})
        try:
            done = subprocess.run(
                [python, "-c", SIDE_SCRIPT, str(path), str(pareto_max), "no" if skip_pareto else "pareto"],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def end_to_end(
    orders: Any, floor_summary: Callable[[], Any], side: dict[str, Any]
) -> tuple[float, float | None]:
    """Seconds from the orders to every customer's CLV over 52 weeks: ltvkit (summary kept in the engine,
    compressed statistics, BG/NBD in weeks and Gamma-Gamma, scoring joined in the engine, out as Arrow)
    beside lifetimes (the same summary by the plain DuckDB query, then its fits and scoring on the
    per-customer columns, as it is used; None without lifetimes' times; when lifetimes stopped on an
    error, such as a fit that does not converge, the steps it took until then: a lower bound)."""
    from ltvkit.models import BetaGeoModel
    from ltvkit.predict.clv import customer_value_table
    from ltvkit.predict.summaries import compressed, customer_summary
    from ltvkit.service.valuation import _fit_spend

    start = time.perf_counter()
    backend = orders._find_backend()
    summary = backend.create_table("e2e_summary", customer_summary(orders, unit="week"), overwrite=True)
    purchase = BetaGeoModel(unit="week").fit(compressed(summary).execute())
    spend, _ = _fit_spend(summary, for_value=True)
    settings = {"horizon": HORIZON_WEEKS, "unit": "week", "discount_rate": 0.1}
    customer_value_table(purchase, spend, summary, **settings).to_pyarrow()
    ours = time.perf_counter() - start
    steps = [step for step in ("fit BG/NBD", "fit Gamma-Gamma", "scoring") if step in side]
    if not steps:
        return ours, None
    start = time.perf_counter()
    floor_summary()
    return ours, time.perf_counter() - start + sum(side[step] for step in steps)


def run_size(customers: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    import duckdb
    import intervals

    from ltvkit.data.sources import Source
    from ltvkit.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
    from ltvkit.predict.clv import customer_value, customer_value_table
    from ltvkit.predict.summaries import compressed, customer_summary
    from ltvkit.service.report import build_reports

    path = DATA / f"orders-{customers * 10:.0e}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        generate(customers * 10, path)
    source = Source.open("duckdb://", str(path), currency="USD")
    orders = source.table("orders")
    floor = duckdb.connect()
    floor_sql = FLOOR_SQL.format(path=path, end=END.date().isoformat())
    rows: list[dict[str, Any]] = []

    def row(stage: str, reference: str, result: tuple[float, float | None, float | None, float]) -> None:
        ours, theirs, ratio, load = result
        rows.append(
            {"size": customers, "stage": stage, "ltvkit": ours, "reference": reference, "theirs": theirs}
            | {"ratio": ratio, "load": load}
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    steps = set(args.steps.split(","))
    given = {"observation_end": END.date(), "currency": "USD"}
    if "summary" not in steps:  # the other rows on the plain query's summary, without the mapping
        summary = source.backend.create_table(
            "summary", source.backend.con.sql(floor_sql).to_arrow_table(), overwrite=True
        )
    mapped = args.mapping_max >= customers
    if mapped and "summary" in steps:  # the source's mapping runs inside every query on it
        for stage, options in (("summary from the file", {}), ("summary from the file, given", given)):
            row(
                stage,
                "DuckDB query",
                paired(
                    lambda options=options: customer_summary(orders, unit="week", **options).to_pyarrow(),
                    lambda: floor.sql(floor_sql).to_arrow_table(),
                    args.repeat,
                ),
            )
    if "summary" in steps:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        kept = source.backend.create_table("kept_orders", orders, temp=True)
        seconds = time.perf_counter() - start
        row("mapping once (kept)", "", (seconds, None, None, (load + os.getloadavg()[0]) / 2))
        kept_sql = FLOOR_SQL.replace("read_parquet('{path}')", "kept_orders").replace("paid_at", "ordered_at")
        kept_sql = kept_sql.replace("sum(total)", "sum(amount - refunded)").format(end=END.date().isoformat())
        kept_sql = kept_sql.replace(
            "status = 'paid'", "status IN ('paid', 'partially_refunded') AND currency = 'USD'"
        )
        for stage, options in (("summary", {}), ("summary, end+currency given", given)):
            row(
                stage,
                "same in SQL",
                paired(
                    lambda options=options: customer_summary(kept, unit="week", **options).to_pyarrow(),
                    lambda: source.backend.con.sql(kept_sql).to_arrow_table(),
                    args.repeat,
                ),
            )
        summary = source.backend.create_table("summary", customer_summary(kept, unit="week"), overwrite=True)
    frame = summary.to_pandas()
    stats = compressed(summary).execute()
    repeat = summary.filter((summary.frequency > 0) & (summary.monetary_value > 0))
    pairs = compressed(repeat, ("frequency", "monetary_value")).execute()
    side = (
        lifetimes_times(args.lifetimes, frame, args.lifetimes_pareto_max, args.no_pareto, 1800)
        if args.lifetimes
        else {}
    )

    fitted: dict[str, Any] = {}
    fits = [
        ("fit BG/NBD", BetaGeoModel, stats),
        ("fit Pareto/NBD", ParetoNBDModel, stats),
        ("fit Gamma-Gamma", GammaGammaModel, pairs),
    ]
    for stage, model, data in (f for f in fits if not (args.no_pareto and f[1] is ParetoNBDModel)):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        fitted[stage] = model(**({} if model is GammaGammaModel else {"unit": "week"})).fit(data)
        seconds = time.perf_counter() - start
        if "fit" in steps:
            row(stage, "lifetimes", (seconds, side.get(stage), None, (load + os.getloadavg()[0]) / 2))
    grained = fitted["fit BG/NBD"]
    if (
        grained.grain_days_ is not None and "fit" in steps
    ):  # the same fit on every distinct history at day resolution
        load = os.getloadavg()[0]
        start = time.perf_counter()
        exact = BetaGeoModel().fit(stats)
        seconds = time.perf_counter() - start
        row("fit BG/NBD, days (no grain)", "", (seconds, None, None, (load + os.getloadavg()[0]) / 2))
        rows.append({"size": customers, "stage": grain_effect(exact, grained, frame)})
    purchase_fit = BetaGeoModel(unit="week")
    if "fit" in steps:
        row(
            "fit BG/NBD, BLAS 1 thread",
            "BLAS default",
            paired(
                lambda: purchase_fit.fit(stats),
                lambda: purchase_fit._fit(stats, None),  # fit() without its threadpool_limits
                args.repeat,
            ),
        )
    bg, gg = fitted["fit BG/NBD"], fitted["fit Gamma-Gamma"]
    settings = {"horizon": HORIZON_WEEKS, "unit": "week", "discount_rate": 0.1}
    if "scoring" in steps:
        row(
            "scoring in memory",
            "engine path",
            paired(
                lambda: customer_value(bg, gg, frame, interval=None, **settings),
                lambda: customer_value_table(bg, gg, summary, **settings).to_pyarrow(),
                args.repeat,
            ),
        )
        if "scoring" in side:
            scored = rows[-1]
            row("scoring (lifetimes)", "lifetimes", (scored["ltvkit"], side["scoring"], None, scored["load"]))
    purchase_models = {"BG/NBD": bg} | ({} if args.no_pareto else {"Pareto/NBD": fitted["fit Pareto/NBD"]})
    if "intervals" in steps:
        for stage, ours, theirs, ratio, load in intervals.rows(purchase_models, gg, frame, args.repeat):
            row(stage, "without", (ours, theirs, ratio, load))
    if mapped and {"summary", "report"} <= steps:
        summary_seconds = rows[0]["ltvkit"]
        for stage, predictions in (("report", True), ("report, no predictions", False)):
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                build_reports(source, {"en": Path(tmp) / "r.html"}, predictions=predictions)
                seconds = time.perf_counter() - start
            ratio = seconds / summary_seconds
            row(stage, "summary", (seconds, summary_seconds, ratio, (load + os.getloadavg()[0]) / 2))
    load = os.getloadavg()[0]
    ours, theirs = end_to_end(kept, lambda: source.backend.con.sql(kept_sql).to_arrow_table(), side)
    row("end to end", "lifetimes", (ours, theirs, None, (load + os.getloadavg()[0]) / 2))
    if "error" in side:
        rows.append({"size": customers, "stage": f"lifetimes: {side['error']}"})
    rows.append(
        {"size": customers, "stage": f"({len(frame):,} customers, {len(stats):,} distinct histories)"}
    )
    source.close()
    return rows


def end_to_end_only(customers: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The end-to-end row alone (``--e2e-only``, for 10^7 customers): ltvkit on the orders as imported
    (``scale.AsImported``: no mapping pass), lifetimes on the plain query's summary of the raw file."""
    import duckdb

    from ltvkit.data.sources import Source

    path = DATA / f"orders-{customers * 10:.0e}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        generate(customers * 10, path)
    source = Source.open("duckdb://?memory_limit=4GB", str(path), currency="USD")
    floor_sql = FLOOR_SQL.format(path=path, end=END.date().isoformat())
    floor = duckdb.connect()
    floor.execute("SET memory_limit = '3GB'")
    frame = floor.sql(floor_sql).df()
    side = lifetimes_times(args.lifetimes, frame, 0, True, 3600) if args.lifetimes else {}
    del frame
    load = os.getloadavg()[0]
    ours, theirs = end_to_end(
        AsImported(source, path).orders, lambda: floor.sql(floor_sql).to_arrow_table(), side
    )
    rows: list[dict[str, Any]] = [
        {"size": customers, "stage": "end to end", "ltvkit": ours, "reference": "lifetimes", "theirs": theirs}
        | {"ratio": None, "load": (load + os.getloadavg()[0]) / 2}
    ]
    rows += [
        {"size": customers, "stage": f"lifetimes {k}: {v:.1f} s" if k != "error" else f"lifetimes: {v}"}
        for k, v in side.items()
    ]
    source.close()
    return rows


def report_only(customers: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The report rows alone (``--report-only``): the report from the source, with the predicted value by
    channel and without, each paired with the summary from the file (the mapping inside both)."""
    from ltvkit.data.sources import Source
    from ltvkit.predict.summaries import customer_summary
    from ltvkit.service.report import build_reports

    path = DATA / f"orders-{customers * 10:.0e}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        generate(customers * 10, path)
    source = Source.open("duckdb://", str(path), currency="USD")
    orders = source.table("orders")
    rows: list[dict[str, Any]] = []
    for stage, predictions in (("report", True), ("report, no predictions", False)):

        def report(predictions: bool = predictions) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                build_reports(source, {"en": Path(tmp) / "r.html"}, predictions=predictions)

        ours, theirs, ratio, load = paired(
            report, lambda: customer_summary(orders, unit="week").to_pyarrow(), args.repeat
        )
        rows.append(
            {"size": customers, "stage": stage, "ltvkit": ours, "reference": "summary", "theirs": theirs}
            | {"ratio": ratio, "load": load}
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    source.close()
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'customers':>9}  {'step':<28} {'ltvkit s':>9}  {'beside':<13} {'s':>9} {'ratio':>7} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if "ltvkit" not in r:
            print(f"{r['size']:>9.0e}  {r['stage']}")
            continue
        theirs = f"{r['theirs']:9.2f}" if r["theirs"] is not None else f"{'—':>9}"
        ratio = r["ratio"] if r["ratio"] is not None else (r["ltvkit"] / r["theirs"] if r["theirs"] else None)
        shown = f"{ratio:6.2f}x" if ratio is not None else f"{'':>7}"
        print(
            f"{r['size']:>9.0e}  {r['stage']:<28} {r['ltvkit']:9.2f}  {r['reference']:<13} {theirs} {shown} "
            f"{r['load']:5.1f}"
        )
    print("\nratio: ltvkit / beside (the median of paired runs where both ran alternately); load: 1-minute")
    print("load average during the row, on a machine with", os.cpu_count(), "cores.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", default="1e5,1e6", help="sizes, comma-separated")
    parser.add_argument("--with-1e7", action="store_true", help="also 10^7 customers (10^8 orders)")
    parser.add_argument("--repeat", type=int, default=3, help="paired runs per row (medians)")
    parser.add_argument("--lifetimes", help="a Python interpreter with lifetimes 0.11 installed")
    parser.add_argument("--lifetimes-pareto-max", type=float, default=1e5, help="largest Pareto/NBD fit")
    parser.add_argument("--no-pareto", action="store_true", help="skip the Pareto/NBD fits")
    parser.add_argument(
        "--mapping-max", type=float, default=1e5, help="largest size read through the mapping every time"
    )
    parser.add_argument(
        "--steps",
        default="summary,fit,scoring,intervals,report",
        help="groups of rows to run, comma-separated (the report needs the summary's)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--e2e-only", action="store_true", help="only the end-to-end row (orders as imported)"
    )
    parser.add_argument("--report-only", action="store_true", help="only the report rows, paired")
    parser.add_argument("--import-rows", default="", help="also the file import at these sizes (orders)")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.customers.split(",") if s] + ([10**7] if args.with_1e7 else [])
    only = end_to_end_only if args.e2e_only else report_only if args.report_only else run_size
    rows = [r for size in sizes for r in only(size, args)]
    rows += [import_speed.run_size(int(float(s)), args.repeat) for s in args.import_rows.split(",") if s]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
