"""How long customers stay: a Kaplan–Meier estimate of the customer lifetime with censoring, and the expected
lifetime it implies.

A customer's lifetime runs from the first purchase to the last. It has *ended* (an event) when the customer
has bought nothing in the ``inactive_after_days`` before the last day of the data; otherwise it is
*censored* at the last day of the data: the customer is still buying, and their lifetime is at least that
long. Averaging lifetimes observed so far (what a plain "last − first" does) cuts young customers short; the
Kaplan–Meier estimator counts each one only for as long as it was watched (Kaplan & Meier 1958)::

    S(t) = Π_{t_i ≤ t} (1 − d_i / n_i)

with d_i lifetimes ending at t_i and n_i customers still watched just before. The expected lifetime is the
area under S up to the longest lifetime watched (the restricted mean; when S has not reached zero there, the
true mean is longer, and :class:`ExpectedLifetime` says so), plus the month that a single purchase stands
for, as in the historical breakdown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ltvkit.errors import ParameterError

DAYS_PER_YEAR = 365.25
ONE_MONTH_YEARS = 1 / 12


def kaplan_meier(durations: np.ndarray, ended: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
    """The Kaplan–Meier table: per distinct duration ``time``, ``at_risk`` (still watched just before),
    ``ended``, ``censored`` and ``survival`` S(time); ``weights`` count each lifetime that many times."""
    durations = np.asarray(durations, dtype=float)
    ended = np.asarray(ended, dtype=bool)
    if len(durations) == 0:
        raise ParameterError("there are no lifetimes to estimate from")
    if np.any(durations < 0) or not np.all(np.isfinite(durations)):
        raise ParameterError("lifetimes must be finite and not negative")
    times, index = np.unique(durations, return_inverse=True)
    return _km_table(times, index, ended, np.ones(len(durations)) if weights is None else weights)


def _km_table(times: np.ndarray, index: np.ndarray, ended: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    events = np.bincount(index, weights=weights * ended, minlength=len(times))
    counts = np.bincount(index, weights=weights, minlength=len(times))
    at_risk = counts.sum() - np.concatenate([[0.0], np.cumsum(counts)[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(at_risk > 0, 1 - events / at_risk, 1.0)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "ended": events,
            "censored": counts - events,
            "survival": np.cumprod(factor),
        }
    )


def restricted_mean(table: pd.DataFrame) -> float:
    """Area under the Kaplan–Meier step function from 0 to its last time."""
    times = table["time"].to_numpy()
    survival = table["survival"].to_numpy()
    widths = np.diff(np.concatenate([[0.0], times]))
    before = np.concatenate([[1.0], survival[:-1]])
    return float(widths @ before)


@dataclass(frozen=True)
class ExpectedLifetime:
    """The expected customer lifetime in years, with what it rests on: ``ended`` lifetimes and ``censored``
    (still buying), the longest watched (``watched_years``) and the share still buying at that point
    (``survival_at_end``; above zero, ``years`` is a lower bound)."""

    years: float
    observed_mean_years: float
    ended: int
    censored: int
    watched_years: float
    survival_at_end: float
    inactive_after_days: int

    @property
    def is_lower_bound(self) -> bool:
        return self.survival_at_end > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"is_lower_bound": self.is_lower_bound}


def lifetime_spans(
    first: pd.Series, last: pd.Series, end: pd.Timestamp, inactive_after_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: the lifetime in years (last − first if it has ended, end − first if censored) and
    whether it has ended (no purchase in the ``inactive_after_days`` before ``end``)."""
    first, last = pd.to_datetime(first).dt.normalize(), pd.to_datetime(last).dt.normalize()
    end = pd.Timestamp(end).normalize()
    if (last > end).any():
        raise ParameterError(f"a purchase is dated after the end of the data ({end:%Y-%m-%d})")
    ended = (last < end - pd.Timedelta(days=inactive_after_days)).to_numpy()
    stop = np.where(ended, last.to_numpy(), np.datetime64(end.to_datetime64()))
    days = (pd.to_datetime(stop) - first).dt.days.to_numpy(dtype=float)
    return days / DAYS_PER_YEAR, ended


def expected_lifetime(
    first: pd.Series, last: pd.Series, end: pd.Timestamp, *, inactive_after_days: int = 180
) -> ExpectedLifetime:
    """The Kaplan–Meier expected lifetime (restricted mean + one month) of customers with these first and last
    purchases, observed until ``end``; see the module docstring."""
    spans, ended = _checked_spans(first, last, end, inactive_after_days)
    return _lifetime_of(kaplan_meier(spans, ended), first, last, inactive_after_days)


def _checked_spans(
    first: pd.Series, last: pd.Series, end: pd.Timestamp, inactive_after_days: int
) -> tuple[np.ndarray, np.ndarray]:
    if inactive_after_days <= 0:
        raise ParameterError(f"inactive_after_days must be positive, not {inactive_after_days}")
    return lifetime_spans(first, last, end, inactive_after_days)


def _lifetime_of(
    table: pd.DataFrame, first: pd.Series, last: pd.Series, inactive_after_days: int
) -> ExpectedLifetime:
    """:class:`ExpectedLifetime` from the Kaplan–Meier ``table`` of these customers' lifetimes."""
    observed = (pd.to_datetime(last) - pd.to_datetime(first)).dt.days.to_numpy(dtype=float) / DAYS_PER_YEAR
    return ExpectedLifetime(
        years=restricted_mean(table) + ONE_MONTH_YEARS,
        observed_mean_years=float(observed.mean()) + ONE_MONTH_YEARS,
        ended=round(table["ended"].sum()),
        censored=round(table["censored"].sum()),
        watched_years=float(table["time"].iloc[-1]),
        survival_at_end=float(table["survival"].iloc[-1]),
        inactive_after_days=inactive_after_days,
    )


@dataclass(frozen=True)
class ExpectedLtv:
    """Revenue a customer brings over their expected lifetime::

        expected LTV = AOV × purchases a year while active × expected lifetime
                     = net revenue / active customer-years × expected lifetime (Kaplan–Meier)

    with an active customer-year counted from each first purchase to the last purchase (ended lifetimes) or
    to the end of the data (censored), plus a month; ``low``/``high`` are a bootstrap interval over
    customers (see :func:`expected_ltv`)."""

    value: float
    low: float
    high: float
    interval: float
    aov: float
    purchases_per_year: float
    lifetime: ExpectedLifetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lifetime": self.lifetime.to_dict()}


def expected_ltv(
    per: pd.DataFrame,
    end: pd.Timestamp,
    *,
    inactive_after_days: int = 180,
    interval: float = 0.9,
    draws: int = 200,
    random_state: int = 0,
) -> ExpectedLtv:
    """:class:`ExpectedLtv` of customers given per customer as ``first_purchase``, ``last_purchase``,
    ``purchases`` and ``net_revenue``, observed until ``end``.

    The interval is a bootstrap over customers that follows distinct lifetimes, not customers: the
    customers sharing a lifetime (the same span, ended or not) have the same exposure and the same place in
    the Kaplan–Meier table, so a resample (Poisson weights, each customer drawn Poisson(1) times) draws
    W ~ Poisson(n) customers of a group of n, and their revenue is a sum of W draws from the group's
    revenues: drawn as normal with mean W·μ and variance W·σ² (the group's mean and variance: exact in both
    moments given W; the ratio's percentiles rest on many groups)."""
    if not 0 < interval < 1:
        raise ParameterError(f"the interval is a probability in (0, 1), not {interval}")
    first, last = per["first_purchase"], per["last_purchase"]
    spans, ended = _checked_spans(first, last, end, inactive_after_days)
    revenue = per["net_revenue"].to_numpy(dtype=float)
    purchases = per["purchases"].to_numpy(dtype=float)
    times, at_time = np.unique(spans, return_inverse=True)
    codes, group = np.unique(2 * at_time + ended, return_inverse=True)
    size = np.bincount(group).astype(float)
    mean = np.bincount(group, weights=revenue) / size
    spread = np.sqrt(np.bincount(group, weights=(revenue - mean[group]) ** 2) / size)
    index, group_ended = codes // 2, (codes % 2).astype(bool)
    exposure = times[index] + ONE_MONTH_YEARS

    def value_of(weights: np.ndarray, total_revenue: float) -> float:
        life = restricted_mean(_km_table(times, index, group_ended, weights)) + ONE_MONTH_YEARS
        return float(total_revenue / (weights @ exposure) * life)

    rng = np.random.default_rng(random_state)
    drawn = rng.poisson(size, (draws, len(size))).astype(float)
    revenues = drawn @ mean + (np.sqrt(drawn) * rng.standard_normal(drawn.shape)) @ spread
    with threadpool_limits(limits=1, user_api="blas"):  # two dot products a draw: a thread pool only waits
        values = [
            value_of(weights, total) if weights.any() else float("nan")  # no customer (a handful only)
            for weights, total in zip(drawn, revenues, strict=True)
        ]
    tail = (1 - interval) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    table = _km_table(times, index, group_ended, size)
    return ExpectedLtv(
        value=value_of(size, float(revenue.sum())),
        low=float(low),
        high=float(high),
        interval=interval,
        aov=float(revenue.sum() / purchases.sum()),
        purchases_per_year=float(purchases.sum() / (size @ exposure)),
        lifetime=_lifetime_of(table, first, last, inactive_after_days),
    )
