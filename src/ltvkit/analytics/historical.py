"""Historical LTV and its breakdown, and the concentration of revenue (Pareto / Lorenz).

The breakdown is an identity, so each factor shows which lever moves LTV::

    LTV = net revenue / customers = AOV × purchase frequency × lifetime

    AOV       = net revenue / purchases
    lifetime  = mean over customers of (last purchase − first purchase) + one month, in years
                (the month stands for the period a single purchase covers, so one-time buyers count)
    frequency = purchases per customer / lifetime  (purchases a year)

That lifetime is the one observed *so far*: young customers are cut short, so it is a description of the
past, not an LTV to set a budget by. :attr:`LtvSummary.expected` is that: the Kaplan–Meier expected lifetime
with censoring (:mod:`ltvkit.analytics.lifetime`) times the revenue per active customer-year, with a bootstrap
interval; :attr:`LtvSummary.grade` says whether the data support the models (:mod:`ltvkit.analytics.grade`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.cohorts import customer_values, last_observed_day, money_orders

__all__ = ["customer_values"]  # where it was defined first: imported from here too
from ltvkit.analytics.grade import DataGrade, data_grade
from ltvkit.analytics.lifetime import ExpectedLtv, expected_ltv
from ltvkit.errors import ParameterError

ONE_MONTH_YEARS = 1 / 12


def customer_values_frame(orders: ir.Table, *, currency: str | None = None) -> pd.DataFrame:
    """:func:`customer_values` fetched, ordered by customer id (so that the bootstrap of the expected LTV
    gives each customer the same weight on any engine)."""
    return customer_values(orders, currency=currency).order_by("customer_id").execute()


@dataclass(frozen=True)
class LtvSummary:
    """Historical LTV of one currency's customers and its factors (see the module docstring)."""

    currency: str
    customers: int
    purchases: int
    net_revenue: float
    aov: float
    purchases_per_customer: float
    lifetime_years: float
    frequency_per_year: float
    ltv_mean: float
    ltv_median: float
    repeat_rate: float
    repeat_revenue_share: float
    active_share: float
    inactive_after_days: int
    gross_profit_ltv: float | None
    margin_ltv: float | None
    first_purchase: str
    last_day: str
    expected: ExpectedLtv
    grade: DataGrade

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"expected": self.expected.to_dict(), "grade": self.grade.to_dict()}


def ltv_summary(
    orders: ir.Table,
    *,
    currency: str | None = None,
    margin: float | None = None,
    inactive_after_days: int = 180,
    end: dt.date | None = None,
    values: pd.DataFrame | None = None,
) -> LtvSummary:
    """Historical LTV, its breakdown, repeat behaviour and the share of customers still active (a purchase in
    the last ``inactive_after_days`` before the last day of the data). ``gross_profit_ltv`` uses the orders'
    cost and fee where the data has them; ``margin_ltv`` applies a margin rate. A caller that has them
    already passes the last day of the data (``end``) and the :func:`customer_values_frame` (``values``)."""
    if margin is not None and not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of revenue in (0, 1], not {margin}")
    per = customer_values_frame(orders, currency=currency) if values is None else values
    if per.empty:
        raise ParameterError("there are no purchases to summarise")
    end = last_observed_day(orders) if end is None else end
    money = money_orders(orders, currency)
    code = currency.upper() if currency else str(money.currency.max().execute())
    first_orders = float(per["first_order_revenue"].sum())
    span_years = (
        pd.to_datetime(per["last_purchase"]) - pd.to_datetime(per["first_purchase"])
    ).dt.days / 365.25
    lifetime = float((span_years + ONE_MONTH_YEARS).mean())
    n = len(per)
    purchases = int(per["purchases"].sum())
    net = float(per["net_revenue"].sum())
    recent = pd.to_datetime(per["last_purchase"]) >= pd.Timestamp(end) - pd.Timedelta(
        days=inactive_after_days
    )
    first_day = pd.Timestamp(per["first_purchase"].min())
    grade = data_grade(
        n, int((per["purchases"] > 1).sum()), (pd.Timestamp(end) - first_day.normalize()).days + 1
    )
    return LtvSummary(
        currency=code,
        customers=n,
        purchases=purchases,
        net_revenue=net,
        aov=net / purchases,
        purchases_per_customer=purchases / n,
        lifetime_years=lifetime,
        frequency_per_year=purchases / n / lifetime,
        ltv_mean=net / n,
        ltv_median=float(per["net_revenue"].median()),
        repeat_rate=float((per["purchases"] > 1).mean()),
        repeat_revenue_share=1 - first_orders / net if net else 0.0,
        active_share=float(recent.mean()),
        inactive_after_days=inactive_after_days,
        gross_profit_ltv=float(per["gross_profit"].sum()) / n if per["has_costs"].any() else None,
        margin_ltv=net * margin / n if margin is not None else None,
        first_purchase=first_day.date().isoformat(),
        last_day=end.isoformat(),
        expected=expected_ltv(per, pd.Timestamp(end), inactive_after_days=inactive_after_days),
        grade=grade,
    )


def pareto_shares(
    values: np.ndarray, shares: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)
) -> pd.DataFrame:
    """Share of net revenue from the top ``shares`` of customers, given each customer's net revenue
    (``values``): ``top_share``, ``customers``, ``revenue``, ``revenue_share``."""
    ranked = np.sort(np.asarray(values, dtype=float))[::-1]
    total = ranked.sum()
    rows = []
    for share in shares:
        n = max(1, int(np.ceil(share * len(ranked))))
        rows.append(
            {
                "top_share": share,
                "customers": n,
                "revenue": float(ranked[:n].sum()),
                "revenue_share": float(ranked[:n].sum() / total) if total else 0.0,
            }
        )
    return pd.DataFrame(rows)


def lorenz_points(values: np.ndarray, points: int = 101) -> tuple[pd.DataFrame, float]:
    """Cumulative share of revenue against cumulative share of customers, top customers first (the Pareto
    curve), at ``points`` evenly spaced customer shares, and the Gini coefficient, given each customer's net
    revenue (``values``)."""
    ranked = np.sort(np.asarray(values, dtype=float))[::-1]
    n = len(ranked)
    cumulative = np.concatenate([[0.0], np.cumsum(ranked)]) / ranked.sum()
    grid = np.linspace(0, 1, points)
    curve = np.interp(grid * n, np.arange(n + 1), cumulative)
    ascending = ranked[::-1]
    gini = (
        float((2 * np.arange(1, n + 1) - n - 1) @ ascending / (n * ascending.sum()))
        if ascending.sum()
        else 0.0
    )
    return pd.DataFrame({"customer_share": grid, "revenue_share": curve}), gini


def _ranked_revenue(orders: ir.Table, currency: str | None) -> ir.Table:
    """Customers by net revenue, largest first (ties by customer id, so every engine ranks alike):
    ``rank`` (1 = largest), ``value``, ``cumulative`` (of the ranks up to this one), ``customers`` (n),
    ``total`` and ``gini_sum`` = Σ (n + 1 − 2·rank)·value (the Gini numerator), all in the engine."""
    per = customer_values(orders, currency=currency)
    order = [ibis.desc(per.net_revenue), per.customer_id]
    n = per.count().over()
    ranked = per.select(
        value=per.net_revenue,
        rank=ibis.row_number().over(order_by=order) + 1,
        cumulative=per.net_revenue.sum().over(ibis.cumulative_window(order_by=order)),
        customers=n,
        total=per.net_revenue.sum().over(),
    )
    return ranked.mutate(gini_sum=((ranked.customers + 1 - 2 * ranked.rank) * ranked.value).sum().over())


def pareto_table(
    orders: ir.Table, *, currency: str | None = None, shares: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)
) -> pd.DataFrame:
    """Share of net revenue from the top ``shares`` of customers (by their net revenue): ``top_share``,
    ``customers``, ``revenue``, ``revenue_share``. The engine ranks the customers and returns only the
    rows at the ``ceil(share · n)``-th rank (at least the first)."""
    ranked = _ranked_revenue(orders, currency)
    cut = {share: ibis.greatest((share * ranked.customers).ceil().cast("int64"), 1) for share in shares}
    rows = ranked.filter(ibis.or_(*(ranked.rank == at for at in cut.values()))).execute()
    if rows.empty:
        raise ParameterError("there are no purchases")
    total = float(rows["total"].iloc[0])
    n = int(rows["customers"].iloc[0])
    at_rank = rows.set_index("rank")["cumulative"]
    table = []
    for share in shares:
        top = max(1, int(np.ceil(share * n)))
        revenue = float(at_rank[top])
        table.append(
            {
                "top_share": share,
                "customers": top,
                "revenue": revenue,
                "revenue_share": revenue / total if total else 0.0,
            }
        )
    return pd.DataFrame(table)


def lorenz_curve(
    orders: ir.Table, *, currency: str | None = None, points: int = 101
) -> tuple[pd.DataFrame, float]:
    """Cumulative share of revenue against cumulative share of customers, top customers first (the Pareto
    curve), at ``points`` evenly spaced customer shares (linear between customers); and the Gini coefficient
    of customer revenue, Σ (2i − n − 1) x_(i) / (n Σ x) over ascending x.

    Only the customers whose rank spans a grid point come back: rank k covers positions [k − 1, k), and
    grid point j sits at position j·n/m (m = points − 1), so rank k is needed when
    ⌈(k − 1)·m / n⌉·n < k·m (integer arithmetic in the engine)."""
    ranked = _ranked_revenue(orders, currency)
    m = points - 1
    k, n = ranked.rank, ranked.customers
    needed = (((k - 1) * m + n - 1) // n) * n < k * m
    rows = ranked.filter(needed).order_by("rank").execute()
    if rows.empty:
        raise ParameterError("there are no purchases")
    n_all = int(rows["customers"].iloc[0])
    total = float(rows["total"].iloc[0])
    grid = np.linspace(0, 1, points)
    position = grid * n_all
    # the row whose span [rank − 1, rank) holds each position; the last point (position n) is the total
    holder = np.searchsorted(rows["rank"].to_numpy(), np.floor(position) + 1)
    holder = np.minimum(holder, len(rows) - 1)
    value = rows["value"].to_numpy()[holder]
    before = rows["cumulative"].to_numpy()[holder] - value
    cumulative = np.where(
        position >= n_all, total, before + (position - (rows["rank"].to_numpy()[holder] - 1)) * value
    )
    curve = cumulative / total
    gini = float(rows["gini_sum"].iloc[0]) / (n_all * total) if total else 0.0
    return pd.DataFrame({"customer_share": grid, "revenue_share": curve}), gini
