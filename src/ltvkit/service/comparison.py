"""Use case: compare two cohorts or two groups of customers at equal ages (``ltv cohorts --compare``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.cohorts import Period, compare_cohorts


def compare_groups(
    orders: ir.Table,
    first: str,
    second: str,
    *,
    split: str | None = None,
    period: Period = "month",
    currency: str | None = None,
    observation_end: str | dt.date | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`~ltvkit.analytics.cohorts.compare_cohorts` by age, and the comparison at the oldest age both
    have reached: the differences (second − first) in retention and LTV with their 90% intervals, and
    whether each interval excludes zero (a difference beyond chance)."""
    table = compare_cohorts(
        orders, first, second, split=split, period=period, currency=currency, observation_end=observation_end
    )
    last = table.iloc[-1]
    info: dict[str, Any] = {"first": first, "second": second, "split": split, "age": int(last["age"])}
    for metric in ("retention", "ltv"):
        low, high = float(last[f"{metric}_low"]), float(last[f"{metric}_high"])
        info[f"{metric}_diff"] = float(last[f"{metric}_diff"])
        info[f"{metric}_interval"] = [low, high]
        info[f"{metric}_significant"] = bool(np.isfinite(low) and (low > 0 or high < 0))
    return table, info
