"""Cohorts: customers grouped by the month (or week) of their first purchase, followed by age.

Definitions (``docs/definitions.md``):

- a customer's **cohort** is the calendar month (or ISO week, starting Monday) of their first purchase;
- **age** k of a purchase is the number of whole calendar periods between the cohort and the purchase's period
  (a first purchase on 31 January and a repeat on 1 February are ages 0 and 1 in monthly cohorts);
- a customer is **active** at age k when they made a purchase in that period; **retention** is active / cohort
  size; **revenue** is the net revenue of the cohort's orders in that period (refunds are counted in the
  period of the order they refund); **LTV** at age k is the cumulative net revenue up to k per cohort
  customer;
- a cell is **censored** (empty, never zero) when its period is not fully observed: it ends after the last
  day of the data.

Every function takes an Ibis table of orders and returns Ibis expressions or small pandas frames, so the
heavy work runs in the engine (DuckDB by default).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.definitions import REVENUE_STATUSES, is_purchase, net_revenue
from ltvkit.choices import METRICS, SPLITS
from ltvkit.errors import MissingDataError, ParameterError

Period = Literal["month", "week"]
Metric = Literal["customers", "retention", "revenue", "ltv", "orders"]
NO_VALUE = "(none)"  # a first-purchase field the order does not have
FIRST_FIELDS = {  # the first purchase's fields a customer is grouped by: name → order column
    "channel": "channel",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "first_product": "product",
}


def _check(period: str, split: str | None = None) -> None:
    if period not in ("month", "week"):
        raise ParameterError(f"cohorts are by month or week, not {period!r}")
    if split is not None and split not in SPLITS:
        raise ParameterError(f"cannot split by {split!r}; use one of {', '.join(SPLITS)}")


def _period_start(ts: ir.TimestampValue | ir.DateValue, period: Period) -> ir.DateValue:
    return ts.truncate("M" if period == "month" else "W").cast("date")


def _period_index(day: ir.DateValue, period: Period) -> ir.IntegerValue:
    """An integer that grows by one per calendar period (months since year 0, or weeks since 1970)."""
    if period == "month":
        return day.year() * 12 + day.month() - 1
    return day.delta(ibis.date("1970-01-05"), unit="day") // 7  # 1970-01-05 is a Monday


def money_orders(orders: ir.Table, currency: str | None = None) -> ir.Table:
    """Orders that carry revenue (purchases and refunds), of one currency; fails with several currencies and
    no choice, as money is never summed across currencies."""
    money = orders.filter(orders.status.isin(REVENUE_STATUSES))
    if currency is not None:
        return money.filter(money.currency == currency.upper())
    currencies = sorted(money.select("currency").distinct().execute()["currency"])
    if len(currencies) > 1:
        raise ParameterError(
            f"the orders are in several currencies ({', '.join(currencies)}); choose one",
            parameter="currency",
        )
    return money


def first_order_first(orders: ir.Table) -> list[ir.Value]:
    """The order of a customer's orders: by time, then by order key, product and amount, so that orders at the
    same moment rank the same on every engine (a table without order ids has no key; a bare table of orders,
    a test's, may have no product either)."""
    return [orders[c] for c in ("ordered_at", "order_key", "product", "amount") if c in orders]


def customer_values(orders: ir.Table, *, currency: str | None = None) -> ir.Table:
    """Per customer (one aggregation, no window): ``purchases``, ``net_revenue``, ``gross_profit``
    (net − cost − fee), ``has_costs``, ``first_purchase``, ``last_purchase``, and the ``channel``,
    ``utm_*``, ``first_product`` and ``first_order_revenue`` (net) of the first purchase (the first in
    :func:`~ltvkit.analytics.cohorts.first_order_first`, missing fields as ``(none)``)."""
    money = money_orders(orders, currency)
    rows = money.mutate(net=net_revenue(money), purchase=is_purchase(money))
    rows = rows.mutate(
        gross=rows.net - rows.cost.fill_null(0.0) - rows.fee.fill_null(0.0),
        costed=rows.cost.notnull() | rows.fee.notnull(),
    )
    fields = {  # a bare table of orders (a test's) may have none of them
        name: rows[column].fill_null(NO_VALUE) for name, column in FIRST_FIELDS.items() if column in rows
    }
    first = ibis.struct(fields | {"first_order_revenue": rows.amount - rows.refunded})
    key = ibis.struct({f"k{i}": value for i, value in enumerate(first_order_first(rows))})
    per = rows.group_by("customer_id").aggregate(
        purchases=rows.purchase.sum(),
        net_revenue=rows.net.sum(),
        gross_profit=rows.gross.sum(),
        has_costs=rows.costed.any(),
        first_purchase=rows.ordered_at.min(where=rows.purchase),
        last_purchase=rows.ordered_at.max(where=rows.purchase),
        first=first.argmin(key, where=rows.purchase),
    )
    per = per.filter(per.purchases > 0)
    return per.select(
        *(c for c in per.columns if c != "first"), **{name: per.first[name] for name in first.names}
    )


def customers(orders: ir.Table, *, currency: str | None = None, period: Period = "month") -> ir.Table:
    """One row per customer (a customer id with a purchase): ``first_purchase`` (timestamp), ``cohort``
    (period start), ``cohort_index``, and the ``channel``, ``utm_*``, ``first_product`` and
    ``first_order_revenue`` (net) of the first purchase."""
    return customers_of(customer_values(orders, currency=currency), period)


def customers_of(values: ir.Table, period: Period = "month") -> ir.Table:
    """:func:`customers` from the per-customer table of :func:`customer_values` (a projection, no scan of
    the orders)."""
    _check(period)
    return values.select(
        "customer_id",
        "first_purchase",
        *FIRST_FIELDS,
        "first_order_revenue",
        cohort=_period_start(values.first_purchase, period),
        cohort_index=_period_index(values.first_purchase.date(), period),
    )


def cohort_activity(
    orders: ir.Table,
    *,
    currency: str | None = None,
    period: Period = "month",
    values: ir.Table | None = None,
) -> ir.Table:
    """Each customer's revenue orders with ``age`` (periods since the cohort), ``net`` revenue,
    ``gross_profit`` (net − cost − fee, where known) and ``purchase`` (a purchase, not a refund), joined to
    :func:`customers` (from ``values``, the :func:`customer_values` of these orders, when the caller has
    them as a table)."""
    money = money_orders(orders, currency)
    people = customers_of(customer_values(orders, currency=currency) if values is None else values, period)
    joined = money.inner_join(people, "customer_id")
    age = _period_index(joined.ordered_at.date(), period) - joined.cohort_index
    net = net_revenue(joined)
    return joined.mutate(
        age=age,
        net=net,
        gross_profit=net - joined.cost.fill_null(0.0) - joined.fee.fill_null(0.0),
        purchase=is_purchase(joined),
    ).filter(age >= 0)  # refunds dated before the first purchase cannot happen; orders before it are not ours


def last_observed_day(orders: ir.Table) -> dt.date:
    """The last day of the data: the newest order of any status."""
    value = orders.ordered_at.max().execute()
    if value is None or pd.isna(value):
        raise ParameterError("the workspace has no orders; import some first")
    return pd.Timestamp(value).date()


def _observed_ages(cohort: pd.Series, period: Period, end: dt.date) -> pd.Series:
    """The largest fully observed age of each cohort (−1 if none): the number of whole periods from the
    cohort's start to the day after ``end``, less one."""
    start = pd.to_datetime(cohort)
    after = pd.Timestamp(end) + pd.Timedelta(days=1)
    if period == "month":
        return (after.year * 12 + after.month - 1) - (start.dt.year * 12 + start.dt.month - 1) - 1
    return (after - start).dt.days // 7 - 1


def cohort_cells(
    orders: ir.Table,
    *,
    period: Period = "month",
    currency: str | None = None,
    end: dt.date,
    values: ir.Table | None = None,
) -> pd.DataFrame:
    """One engine query for every cohort table: active ``customers``, ``orders``, net ``revenue`` and
    ``gross_profit`` of the orders up to ``end`` by ``cohort``, every first-purchase field of
    :data:`~ltvkit.choices.SPLITS` and ``age``. A customer's first-purchase fields never change, so each
    customer is in exactly one group and the distinct customers of any coarser grouping are sums of these
    cells (:func:`cohort_table_from_cells`). ``values``: the :func:`customer_values` of these orders, when
    the caller has them as a table."""
    _check(period)
    activity = cohort_activity(orders, currency=currency, period=period, values=values)
    activity = activity.filter(activity.ordered_at.date() <= end)
    return (
        activity.group_by(["cohort", *SPLITS, "age"])
        .aggregate(
            customers=activity.customer_id.nunique(where=activity.purchase),
            orders=activity.purchase.sum(),
            revenue=activity.net.sum(),
            gross_profit=activity.gross_profit.sum(),
        )
        .execute()
    )


def cohort_table_from_cells(
    cells: pd.DataFrame, *, period: Period = "month", split: str | None = None, end: dt.date
) -> pd.DataFrame:
    """:func:`cohort_table` from :func:`cohort_cells`: the cells summed over the fields not split by; a
    cohort's ``size`` is its customers at age 0 (everyone's first purchase is at age 0)."""
    _check(period, split)
    keys = ["cohort"] + ([split] if split else [])
    columns = [*keys, "age", "size", *METRICS, "gross_profit", "cumulative_gross_profit"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    summed = cells.groupby([*keys, "age"], as_index=False)[
        ["customers", "orders", "revenue", "gross_profit"]
    ].sum()
    sizes = summed[summed["age"] == 0][keys].assign(size=summed.loc[summed["age"] == 0, "customers"])
    sizes = sizes.reset_index(drop=True)
    sizes["max_age"] = _observed_ages(sizes["cohort"], period, end)
    # every observed (cohort, age) cell, including ages with no activity (zero, not missing)
    grid = sizes.loc[sizes.index.repeat((sizes["max_age"] + 1).clip(lower=0))].copy()
    grid["age"] = grid.groupby(keys, sort=False).cumcount()
    table = grid.merge(summed, on=[*keys, "age"], how="left").fillna(
        {"customers": 0, "orders": 0, "revenue": 0.0, "gross_profit": 0.0}
    )
    table = table.sort_values([*keys, "age"], kind="stable").reset_index(drop=True)
    table["size"] = table["size"].astype(int)
    table["customers"] = table["customers"].astype(int)
    table["orders"] = table["orders"].astype(int)
    table["retention"] = table["customers"] / table["size"]
    grouped = table.groupby(keys, sort=False)
    table["ltv"] = grouped["revenue"].cumsum() / table["size"]
    table["cumulative_gross_profit"] = grouped["gross_profit"].cumsum() / table["size"]
    table["cohort"] = pd.to_datetime(table["cohort"])
    return table[columns]


def cohort_table(
    orders: ir.Table,
    *,
    period: Period = "month",
    split: str | None = None,
    currency: str | None = None,
    observation_end: str | dt.date | None = None,
) -> pd.DataFrame:
    """Long table of cohorts by age: ``cohort``, [``split``], ``age``, ``size``, ``customers`` (active),
    ``orders``, ``revenue``, ``gross_profit``, ``retention``, ``ltv`` (cumulative net revenue per cohort
    customer) and ``cumulative_gross_profit`` per customer. Censored cells are absent from the long table
    (and empty in :func:`cohort_matrix`)."""
    _check(period, split)
    end = pd.Timestamp(observation_end).date() if observation_end is not None else last_observed_day(orders)
    cells = cohort_cells(orders, period=period, currency=currency, end=end)
    return cohort_table_from_cells(cells, period=period, split=split, end=end)


def cohort_matrix(
    table: pd.DataFrame, metric: str = "retention", split_value: str | None = None
) -> pd.DataFrame:
    """Cohort × age matrix of one metric from :func:`cohort_table`; censored cells are NaN."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    data = table
    split = [c for c in table.columns if c in SPLITS]
    if split and split_value is not None:
        data = table[table[split[0]] == split_value]
    index = ["cohort", *split] if split and split_value is None else ["cohort"]
    matrix = data.pivot_table(index=index, columns="age", values=metric, aggfunc="first")
    matrix.columns.name = "age"
    return matrix


def _group_start(label: str, period: Period) -> pd.Timestamp:
    """The cohort a label names: ``2025-03`` (or a day in it) → 2025-03-01; a day → its ISO week's Monday."""
    try:
        day = pd.Timestamp(label)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"{label!r} is not a cohort (use YYYY-MM, or a date for weekly cohorts)"
        ) from exc
    return day.to_period("M" if period == "month" else "W-SUN").start_time


def compare_cohorts(
    orders: ir.Table,
    first: str,
    second: str,
    *,
    split: str | None = None,
    period: Period = "month",
    currency: str | None = None,
    observation_end: str | dt.date | None = None,
    interval: float = 0.9,
    draws: int = 1000,
    random_state: int = 0,
    values: ir.Table | None = None,
) -> pd.DataFrame:
    """Two cohorts (``first``, ``second`` as ``YYYY-MM``), or two groups of a ``split`` (two channels, two
    first products; every cohort of each), at equal ages: per age k up to the last both have reached,
    ``customers_a``/``customers_b`` (observed at k), ``retention_a``/``_b`` (share who bought at age k),
    ``ltv_a``/``_b`` (net revenue per customer up to k), and for each the difference second − first
    (``retention_diff``, ``ltv_diff``) with its ``interval`` (``*_low``, ``*_high``): a bootstrap over
    customers, each group resampled on its own (Poisson weights, ``draws`` times). A customer counts at age k
    only when their cohort is fully observed to k, as in :func:`cohort_table`. ``values``: the
    :func:`customer_values` of these orders, when the caller has them as a table."""
    _check(period, split)
    if not 0 < interval < 1:
        raise ParameterError(f"the interval is a probability in (0, 1), not {interval}")
    end = pd.Timestamp(observation_end).date() if observation_end is not None else last_observed_day(orders)
    values = customer_values(orders, currency=currency) if values is None else values
    people = customers_of(values, period)
    people = people.filter(people.first_purchase.date() <= end)
    if split is None:
        labels = [_group_start(first, period).date(), _group_start(second, period).date()]
        key = people.cohort
    else:
        labels, key = [first, second], people[split]
    chosen = people.filter(key.isin(labels)).mutate(group=key)
    activity = cohort_activity(orders, currency=currency, period=period, values=values)
    activity = activity.filter(activity.ordered_at.date() <= end)
    mine = activity.inner_join(chosen.select("customer_id", "group"), "customer_id")
    # one query: every chosen customer has a row (the first purchase, at age 0), so the members are in it
    cells = (
        mine.group_by(["customer_id", "cohort", "group", "age"])
        .aggregate(active=mine.purchase.any(), revenue=mine.net.sum())
        .execute()
    )
    members = cells[["customer_id", "cohort", "group"]].drop_duplicates("customer_id")
    members = members.sort_values("customer_id", kind="stable").reset_index(drop=True)
    if split is None:
        members["group"] = pd.to_datetime(members["group"]).dt.date
    found = set(members["group"])
    missing = [given for given, label in zip((first, second), labels, strict=True) if label not in found]
    if missing:
        raise MissingDataError(f"no customers in {', '.join(missing)}")
    members["max_age"] = _observed_ages(members["cohort"], period, end).to_numpy()
    groups = [members[members["group"] == label].reset_index(drop=True) for label in labels]
    last = int(min(g["max_age"].max() for g in groups))
    if last < 0:
        raise ParameterError("neither group has a fully observed period yet")
    ages = np.arange(last + 1)
    rng = np.random.default_rng(random_state)
    tail = (1 - interval) / 2 * 100
    out = pd.DataFrame({"age": ages})
    sampled = {}
    for suffix, group in zip(("a", "b"), groups, strict=True):
        index = pd.Index(group["customer_id"])
        at = cells[cells["customer_id"].isin(index) & (cells["age"] <= last)]
        rows, cols = index.get_indexer(at["customer_id"]), at["age"].to_numpy(dtype=int)
        active = np.zeros((len(group), len(ages)))
        revenue = np.zeros((len(group), len(ages)))
        active[rows, cols] = at["active"].to_numpy(dtype=float)
        revenue[rows, cols] = at["revenue"].to_numpy(dtype=float)
        seen = (ages[None, :] <= group["max_age"].to_numpy()[:, None]).astype(float)
        values = {"retention": active * seen, "ltv": np.cumsum(revenue, axis=1) * seen}
        weights = np.vstack([np.ones(len(group)), rng.poisson(1.0, (draws, len(group)))])
        counts = weights @ seen
        out[f"customers_{suffix}"] = counts[0].astype(int)
        for metric, matrix in values.items():
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (weights @ matrix) / counts
            out[f"{metric}_{suffix}"] = means[0]
            sampled[metric, suffix] = means[1:]
    for metric in ("retention", "ltv"):
        out[f"{metric}_diff"] = out[f"{metric}_b"] - out[f"{metric}_a"]
        diffs = sampled[metric, "b"] - sampled[metric, "a"]
        out[f"{metric}_low"], out[f"{metric}_high"] = np.nanpercentile(diffs, [tail, 100 - tail], axis=0)
    return out
