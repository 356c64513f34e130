"""What 90% intervals cost: ``customer_value`` with ``interval=0.9`` beside the same without, per model.

    PYTHONPATH=src python benchmarks/intervals.py                    # 10^5 customers, 5 paired runs
    PYTHONPATH=src python benchmarks/intervals.py --customers 1e5,1e6 --repeat 3 --pareto-max 1e5

Customers are simulated as in ``run.py`` (the CDNOW BG/NBD and Gamma-Gamma estimates, purchase days in whole
days, up to 78 weeks observed); BG/NBD and Pareto/NBD are fitted on them and Gamma-Gamma with q > 1, as
``ltv predict`` does, and every customer is scored over 52 weeks at 10% a year. The two calls run
alternately ``--repeat`` times (A, B, A, B …); the table gives both medians, the median of the paired ratios
(the issue's bound: at most 2) and the mean 1-minute load average over the row, as the machine is shared.
``table.py`` prints the same rows for its own data through :func:`rows`.
"""

from __future__ import annotations

import argparse
import os
import warnings
from typing import Any

import pandas as pd
from run import simulate
from table import paired

from ltvkit.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from ltvkit.models.base import PurchaseModel, compress
from ltvkit.predict.clv import customer_value

SETTINGS: dict[str, Any] = {"horizon": 52, "unit": "week", "discount_rate": 0.1}


def rows(
    models: dict[str, PurchaseModel], spend: GammaGammaModel, frame: pd.DataFrame, repeat: int
) -> list[tuple[str, float, float, float, float]]:
    """Per purchase model: (stage, seconds with intervals, seconds without, median paired ratio, load)."""
    out = []
    for name, model in models.items():
        ours, theirs, ratio, load = paired(
            lambda model=model: customer_value(model, spend, frame, interval=0.9, **SETTINGS),
            lambda model=model: customer_value(model, spend, frame, interval=None, **SETTINGS),
            repeat,
        )
        assert theirs is not None and ratio is not None
        out.append((f"scoring with 90% intervals, {name}", ours, theirs, ratio, load))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", default="1e5", help="sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="paired runs per row (medians)")
    parser.add_argument("--pareto-max", type=float, default=1e6, help="largest size with Pareto/NBD")
    args = parser.parse_args()
    header = (
        f"{'customers':>9} {'distinct':>8}  {'step':<36} {'with s':>7} {'without s':>9} {'ratio':>6} "
        f"{'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for size in (int(float(s)) for s in args.customers.split(",") if s):
        frame = simulate(size, seed=size)
        table = compress(frame, ("frequency", "recency", "T"))
        repeaters = frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spend = GammaGammaModel(q_constraint=True).fit(
                compress(repeaters, ("frequency", "monetary_value"))
            )
            models: dict[str, PurchaseModel] = {"BG/NBD": BetaGeoModel(unit="week").fit(table)}
            if size <= args.pareto_max:
                models["Pareto/NBD"] = ParetoNBDModel(unit="week").fit(table)
        for stage, ours, theirs, ratio, load in rows(models, spend, frame, args.repeat):
            print(
                f"{size:>9.0e} {len(table):>8,}  {stage:<36} {ours:7.2f} {theirs:9.2f} {ratio:5.2f}x "
                f"{load:5.1f}",
                flush=True,
            )
    print("\nratio: the median of the paired ratios (with / without); load: 1-minute load average on a")
    print(f"machine with {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
