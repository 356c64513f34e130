"""Benchmark: fit and score BG/NBD + Gamma-Gamma on the full CDNOW data and on simulated bases.

    python benchmarks/run.py                   # CDNOW full, 10^5, 10^6, 10^7 customers; lifetimes beside
    python benchmarks/run.py --sizes 1e5 --no-lifetimes

For each data set and stage it prints wall time (median of ``--repeat`` runs for the fast stages) and the
peak memory the stage allocated (tracemalloc). Simulated customers follow the CDNOW BG/NBD and Gamma-Gamma
estimates, with purchase times in whole days like real exports, over up to 78 weeks.

With lifetimes (the reference Python implementation) installable, the same stages run in a side virtual
environment (``benchmarks/.lifetimes-venv``, created on first use) on the same data, and the table shows the
ratio lifetimes / ltvkit. Timings on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltvkit.data.workspace import Workspace
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.models.base import compress
from ltvkit.predict.clv import customer_value
from ltvkit.predict.summaries import customer_summary

HERE = Path(__file__).resolve().parent
CDNOW = HERE.parent.parent / "shared" / "data" / "CDNOW_master.txt"
SIDE_ENV = HERE / ".lifetimes-venv"
SIDE_REQUIREMENTS = ["lifetimes==0.11.3", "numpy<2", "pandas<2.1", "scipy<1.12"]
BG_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_TRUTH = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HORIZON_WEEKS = 52


def measure(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float, float]:
    """Result, median seconds over ``repeat`` untraced runs, and peak MiB allocated in one more, traced run
    (tracing slows Python-heavy code several-fold, so it is never timed)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, statistics.median(times), peak / 2**20


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T_days = rng.integers(0, 78 * 7 + 1, n)
    data = BetaGeoModel.from_params(**BG_TRUTH).simulate(T=T_days / 7.0, random_state=rng)
    data["recency"] = np.floor(data["recency"] * 7) / 7  # purchase times in whole days
    repeat = data["frequency"].to_numpy() > 0
    spend = GammaGammaModel.from_params(**GG_TRUTH).simulate(
        data["frequency"].to_numpy()[repeat], random_state=rng
    )
    data["monetary_value"] = 0.0
    data.loc[repeat, "monetary_value"] = np.round(spend["monetary_value"].to_numpy(), 2)
    return data[["frequency", "recency", "T", "monetary_value"]]


def ltvkit_stages(summary: pd.DataFrame, repeat: int) -> tuple[list[tuple[str, float, float]], int]:
    rows: list[tuple[str, float, float]] = []
    table, secs, mib = measure(lambda: compress(summary, ("frequency", "recency", "T")), repeat)
    rows.append(("compress", secs, mib))
    bg, secs, mib = measure(lambda: BetaGeoModel(unit="week").fit(table), repeat)
    rows.append(("fit BG/NBD", secs, mib))
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gg, secs, mib = measure(lambda: GammaGammaModel().fit(repeaters), repeat)
    rows.append(("fit Gamma-Gamma", secs, mib))
    _, secs, mib = measure(
        lambda: customer_value(
            bg, gg, summary, horizon=HORIZON_WEEKS, unit="week", discount_rate=0.1, interval=None
        )
    )
    rows.append(("score (P(alive), E[purchases], CLV)", secs, mib))
    return rows, len(table)


SIDE_SCRIPT = (
    r"""
import json, resource, sys, time
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
d = np.load(sys.argv[1])
f, r, T, m = (pd.Series(d[c]) for c in ("frequency", "recency", "T", "monetary_value"))
out = {}
t = time.perf_counter(); bg = BetaGeoFitter().fit(f, r, T); out["fit BG/NBD"] = time.perf_counter() - t
rep = (f > 0) & (m > 0)
t = time.perf_counter(); gg = GammaGammaFitter().fit(f[rep], m[rep]); """
    r"""out["fit Gamma-Gamma"] = time.perf_counter() - t
t = time.perf_counter()
bg.conditional_probability_alive(f, r, T)
gg.customer_lifetime_value(bg, f, r, T, m.where(rep, 0.0), time=12, discount_rate=0.1 / 12, freq="W")
out["score (P(alive), E[purchases], CLV)"] = time.perf_counter() - t
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""
)


def side_env_python() -> Path | None:
    python = SIDE_ENV / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {SIDE_ENV} with {', '.join(SIDE_REQUIREMENTS)} …", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(SIDE_ENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *SIDE_REQUIREMENTS], check=True, timeout=900
        )
        subprocess.run([str(python), "-c", "import lifetimes"], check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"lifetimes is not installable here ({exc}); its columns stay empty", file=sys.stderr)
        return None
    return python


def lifetimes_stages(python: Path, summary: pd.DataFrame, timeout: float) -> dict[str, float] | str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(
            path,
            **{c: summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")},
        )
        try:
            done = subprocess.run(
                [str(python), "-c", SIDE_SCRIPT, str(path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"over {timeout:.0f} s"
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    return json.loads(done.stdout)


def cdnow_summary() -> tuple[pd.DataFrame, list[tuple[str, float, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        with Workspace.open(Path(tmp) / "ltv.duckdb") as ws:
            _, secs_import, mib_import = measure(lambda: ws.import_file(CDNOW))
            summary, secs, mib = measure(lambda: customer_summary(ws.table("orders"), unit="week").execute())
    return summary, [("import CSV", secs_import, mib_import), ("summary (Ibis on DuckDB)", secs, mib)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="simulated base sizes, comma-separated")
    parser.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes side-by-side")
    parser.add_argument("--lifetimes-max", type=float, default=1e6, help="largest base to give lifetimes")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each fast stage (median reported)")
    args = parser.parse_args()
    python = None if args.no_lifetimes else side_env_python()

    datasets: list[tuple[str, Callable[[], tuple[pd.DataFrame, list[tuple[str, float, float]]]]]] = []
    if CDNOW.exists():
        datasets.append(("CDNOW full", cdnow_summary))
    for size in (int(float(s)) for s in args.sizes.split(",") if s):

        def make(size: int = size) -> tuple[pd.DataFrame, list[tuple[str, float, float]]]:
            data, secs, mib = measure(lambda: simulate(size, seed=size))
            return data, [("simulate", secs, mib)]

        datasets.append((f"simulated {size:.0e}".replace("e+0", "e"), make))

    header = (
        f"{'data':<16} {'customers':>11} {'distinct':>9} {'stage':<38} "
        f"{'ltvkit s':>9} {'peak MiB':>9} {'lifetimes s':>12} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, build in datasets:
        summary, prep = build()
        stages, distinct = ltvkit_stages(summary, args.repeat)
        side: dict[str, float] | str = {}
        if python is not None and len(summary) <= args.lifetimes_max:
            side = lifetimes_stages(python, summary, timeout=1800)
        for stage, secs, mib in prep + stages:
            if isinstance(side, dict) and stage in side:
                theirs, ratio = f"{side[stage]:.3f}", f"{side[stage] / secs:.1f}x"
            else:
                theirs = side if isinstance(side, str) and stage.startswith("fit BG") else ""
                ratio = ""
            print(
                f"{name:<16} {len(summary):>11,} {distinct:>9,} {stage:<38} "
                f"{secs:>9.3f} {mib:>9.1f} {theirs:>12} {ratio:>7}"
            )
        if isinstance(side, dict) and "peak_mib" in side:
            print(
                f"{name:<16} {'':>11} {'':>9} {'(lifetimes process peak RSS)':<38} "
                f"{'':>9} {side['peak_mib']:>9.1f}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
