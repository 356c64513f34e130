"""Benchmark: fits on small schools, regularised (the default "auto") against the plain maximum likelihood.

    PYTHONPATH=src:. python benchmarks/small_data.py            # 10 seeds per cell
    PYTHONPATH=src:. python benchmarks/small_data.py --seeds 3 --pareto-mle
    PYTHONPATH=src:. python benchmarks/small_data.py --compare-only

0. ``ltv compare`` (the command, in a fresh process, as a user runs it) on a simulated 60-customer school
   acquired over 12 months (the orders CSV of ``tests/predict/test_small_data.py``, imported), with each
   ``--regularization``: wall seconds, median of ``--repeat`` runs taken in turn, and the load average.
1. The fit time of every model on a 50-customer, 3-month school (regularisation "auto").
2. Over a grid of schools (30, 60, 200 customers acquired evenly over 3, 6, 12 months, simulated from the
   BG/NBD process, or Pareto/NBD's for Pareto/NBD), per model and setting: the bias and RMSE of the
   log-parameters against the simulating ones, and of log E[X(12 months)] of a new customer (what a
   prediction rests on), averaged over the seeds. Pareto/NBD's plain fit runs to a limit of the model and
   can take minutes on such data, so it is left out unless ``--pareto-mle``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)

TRUTH = {
    BetaGeoModel: {"r": 0.5, "alpha": 3.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeoModel: {"r": 0.5, "alpha": 3.0, "a": 0.8, "b": 2.5},
    ParetoNBDModel: {"r": 0.6, "alpha": 3.0, "s": 0.8, "beta": 6.0},
}


def timed_fit(model, data: pd.DataFrame) -> tuple[object, float]:  # noqa: ANN001
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data)
    return model, time.perf_counter() - start


def compare_times(repeat: int) -> None:
    from tests.predict.test_small_data import school_orders

    from ltvkit.data.workspace import Workspace

    ltv = Path(sys.executable).with_name("ltv")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ltv.duckdb"
        with Workspace.open(workspace) as ws:
            ws.import_file(school_orders(Path(tmp) / "orders.csv", 60, 12, seed=60), currency="RUB")
        print("ltv compare, 60 customers over 12 months (wall seconds, a fresh process each run)")
        times: dict[str, list[float]] = {"auto": [], "none": [], "map": []}
        loads = [os.getloadavg()[0]]
        for _ in range(repeat):
            for setting, taken in times.items():
                start = time.perf_counter()
                subprocess.run(
                    [str(ltv), "compare", "-w", str(workspace), "--regularization", setting, "--json"],
                    check=True,
                    capture_output=True,
                )
                taken.append(time.perf_counter() - start)
                loads.append(os.getloadavg()[0])
        for setting, taken in times.items():
            print(
                f"  --regularization {setting:5s} median {statistics.median(taken):6.2f} s  "
                f"(runs: {', '.join(f'{t:.1f}' for t in taken)})"
            )
        print(f"  1-minute load average {statistics.mean(loads):.1f} on {os.cpu_count()} cores\n")


def fit_times() -> None:
    rng = np.random.default_rng(50)
    purchase = BetaGeoModel.from_params(**TRUTH[BetaGeoModel]).simulate(
        T=rng.uniform(0.1, 3, 50), random_state=1
    )
    purchase["monetary_value"] = np.where(purchase["frequency"] > 0, rng.gamma(4, 500, 50), 0.0)
    cases = [
        (BetaGeoModel(), purchase),
        (ModifiedBetaGeoModel(), purchase),
        (ParetoNBDModel(), purchase),
        (GammaGammaModel(), purchase),
        (
            BetaGeoBetaBinomModel(),
            BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8).simulate(3, 50, 2),
        ),
        (
            ShiftedBetaGeometricModel(),
            ShiftedBetaGeometricModel.from_params(alpha=0.7, beta=1.2).simulate(50, 3, random_state=3),
        ),
    ]
    print("fit time, 50 customers, 3 months, regularization='auto'")
    for model, data in cases:
        fitted, seconds = timed_fit(model, data)
        params = ", ".join(f"{k}={v:.3g}" for k, v in fitted.params_.items())  # type: ignore[attr-defined]
        reason = fitted.regularization_.reason  # type: ignore[attr-defined]
        print(f"  {type(model).__name__:28s} {seconds:6.2f} s  ({reason}; {params})")


def grid(seeds: int, pareto_mle: bool) -> None:
    print(f"\nlog-parameter and log E[X(12)] error against the truth, mean over {seeds} seeds")
    print(
        f"  {'model':24s} {'school':8s} {'setting':8s} {'bias(log θ)':>26s} {'RMSE':>6s} "
        f"{'E[X12] bias':>11s} {'RMSE':>6s} {'max s':>6s}"
    )
    for cls, truth in TRUTH.items():
        settings = ["none", "auto"] if cls is not ParetoNBDModel or pareto_mle else ["auto"]
        true_log = np.log(list(truth.values()))
        true_x12 = np.log(cls.from_params(**truth).expected_purchases_new_customer(12.0))
        for customers in (30, 60, 200):
            for months in (3, 6, 12):
                errors: dict[str, list[np.ndarray]] = {s: [] for s in settings}
                x12: dict[str, list[float]] = {s: [] for s in settings}
                slowest = dict.fromkeys(settings, 0.0)
                for seed in range(seeds):
                    rng = np.random.default_rng(seed)
                    data = cls.from_params(**truth).simulate(
                        T=rng.uniform(0.1, months, customers), random_state=rng
                    )
                    for setting in settings:
                        fitted, seconds = timed_fit(cls(regularization=setting), data)
                        slowest[setting] = max(slowest[setting], seconds)
                        errors[setting].append(np.log(fitted.params_.to_numpy()) - true_log)  # type: ignore[attr-defined]
                        x12[setting].append(
                            float(np.log(fitted.expected_purchases_new_customer(12.0))) - true_x12  # type: ignore[attr-defined]
                        )
                for setting in settings:
                    e, p = np.array(errors[setting]), np.array(x12[setting])
                    print(
                        f"  {cls.__name__:24s} {customers:3d}×{months:<4d} {setting:8s} "
                        f"{np.array2string(e.mean(0), precision=2, suppress_small=True):>26s} "
                        f"{np.sqrt((e**2).mean()):6.2f} {p.mean():11.2f} {np.sqrt((p**2).mean()):6.2f} "
                        f"{slowest[setting]:6.2f}",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--pareto-mle", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ltv compare per setting")
    parser.add_argument("--compare-only", action="store_true", help="only the ltv compare timings")
    args = parser.parse_args()
    compare_times(args.repeat)
    if args.compare_only:
        return
    fit_times()
    grid(args.seeds, args.pareto_mle)


if __name__ == "__main__":
    main()
