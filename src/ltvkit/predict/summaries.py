"""Per-customer summaries the models are fitted on, as Ibis expressions (DuckDB by default, any backend).

Conventions of the BTYD literature (Fader, Hardie & Lee 2005), so results compare with the papers:

- a transaction is a distinct customer-day with a purchase (several orders on one day count once, their net
  values summed);
- ``frequency`` (x) is the number of repeat transactions (all but the first), ``recency`` (t_x) the time from
  the first to the last, ``T`` the time from the first to the end of observation, in the chosen unit
  (day; week = 7 days; month = 365.25/12 days);
- ``monetary_value`` is the mean net value of the repeat transactions (the first excluded; 0 without repeats);
- only customers whose first purchase is on or before the end of observation are summarised.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from ltvkit.analytics.definitions import is_purchase
from ltvkit.choices import TimeUnit
from ltvkit.errors import ParameterError
from ltvkit.i18n import Note
from ltvkit.models.base import UNIT_DAYS


def unit_days(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise ParameterError(f"unknown time unit {unit!r}; use day, week or month") from None


def _as_date(value: str | dt.date | pd.Timestamp | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{value!r} is not a date (use YYYY-MM-DD)") from exc


def _purchases(
    orders: ir.Table, currency: str | None, observation_end: str | dt.date | None, *, need_end: bool = True
) -> tuple[ir.Table, dt.date | None]:
    """The purchases of one currency and the end of observation (``observation_end``, or with
    ``need_end`` the day of the last purchase), with at most one small query: the currency check (money is
    never summed across currencies) and the last purchase are read in one aggregation, and only what the
    caller did not give is read."""
    purchases = orders.filter(is_purchase(orders))
    if currency is not None:
        purchases = purchases.filter(purchases.currency == currency.upper())
    end = _as_date(observation_end)
    probes: dict[str, ir.Scalar] = {}
    if currency is None:
        probes |= {"low": purchases.currency.min(), "high": purchases.currency.max()}
    if end is None and need_end:
        probes["last"] = purchases.ordered_at.max()
    if not probes:
        return purchases, end
    row = purchases.aggregate(**probes).execute().iloc[0]
    if currency is None and row["low"] != row["high"]:
        currencies = sorted(purchases.select("currency").distinct().execute()["currency"].dropna())
        raise ParameterError(
            Note("error_several_currencies", codes=", ".join(currencies)),
            parameter="currency",
        )
    if "last" in probes:
        if pd.isna(row["last"]):
            raise ParameterError(Note("error_no_purchases_to_summarise"))
        end = pd.Timestamp(row["last"]).date()
    return purchases, end


def _days(purchases: ir.Table) -> ir.Table:
    return purchases.group_by([purchases.customer_id, purchases.ordered_at.date().name("day")]).aggregate(
        value=(purchases.amount - purchases.refunded).sum()
    )


def purchase_days(orders: ir.Table, *, currency: str | None = None) -> ir.Table:
    """One row per customer and day with a purchase: ``customer_id``, ``day``, ``value`` (net, summed).

    With several currencies in the data, ``currency`` must say which one (money is never summed across
    currencies).
    """
    return _days(_purchases(orders, currency, None, need_end=False)[0])


def last_purchase_day(
    orders: ir.Table, observation_end: str | dt.date | None = None, *, currency: str | None = None
) -> dt.date:
    """``observation_end`` as a date, or the day of the last purchase (of ``currency``), read with the
    currency check in one aggregation over the orders (no per-day grouping)."""
    end = _purchases(orders, currency, observation_end)[1]
    assert end is not None  # _purchases reads it when it is not given
    return end


def observation_end_of(days: ir.Table, observation_end: str | dt.date | None) -> dt.date:
    """``observation_end`` as a date, or the last day of ``days`` (see :func:`purchase_days`); from the
    orders, :func:`last_purchase_day` reads it without grouping them by day first."""
    end = _as_date(observation_end)
    if end is None:
        last = days.day.max().execute()
        if last is None or pd.isna(last):
            raise ParameterError(Note("error_no_purchases_to_summarise"))
        end = pd.Timestamp(last).date()
    return end


def customer_summary(
    orders: ir.Table,
    *,
    unit: TimeUnit = "week",
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    sort: bool = False,
) -> ir.Table:
    """Per customer: ``frequency``, ``recency``, ``T``, ``monetary_value``, ``first_purchase``,
    ``last_purchase`` and ``revenue`` (net, all transactions), observed up to ``observation_end`` (inclusive;
    default: the last purchase day in the data).

    One aggregation over the purchase days, in no particular row order unless ``sort`` (by customer id);
    with ``currency`` and ``observation_end`` given nothing is read before the result is executed, else one
    small aggregation reads what is missing."""
    purchases, end = _purchases(orders, currency, observation_end)
    assert end is not None
    days = _days(purchases.filter(purchases.ordered_at.date() <= end))
    summary = _summarise(days, end, unit_days(unit))
    return summary.order_by("customer_id") if sort else summary


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(value: float, key: dt.date) -> float:  # type: ignore[empty-body]
    """DuckDB's ``arg_min`` (Ibis compiles ``argmin`` there to ``first(… ORDER BY …)``, an ordered aggregate
    that sorts every group: 1.3–1.7× the time of the whole aggregation at 10⁶ customers)."""


def _first_value(days: ir.Table) -> ir.FloatingScalar:
    """The value of each customer's first purchase day, for an aggregation by customer."""
    if ibis.get_backend(days).name == "duckdb":
        return _duckdb_arg_min(days.value, days.day)
    return days.value.argmin(days.day)


def _summarise(days: ir.Table, end: dt.date, scale: float) -> ir.Table:
    """One aggregation over the purchase days (no window): the first day's value is ``arg_min`` of value by
    day (a customer has one row a day), so the repeat value is the total less it."""
    per = days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(),
        last_purchase=days.day.max(),
        n=days.count(),
        first_value=_first_value(days),
        revenue=days.value.sum(),
    )
    repeats = per.n - 1
    per = per.mutate(repeat_value=per.revenue - per.first_value)
    return per.select(
        "customer_id",
        frequency=repeats.cast("float64"),
        recency=per.last_purchase.delta(per.first_purchase, unit="day").cast("float64") / scale,
        T=ibis.date(end).delta(per.first_purchase, unit="day").cast("float64") / scale,
        monetary_value=ibis.ifelse(repeats > 0, per.repeat_value / repeats, 0.0),
        first_purchase=per.first_purchase,
        last_purchase=per.last_purchase,
        revenue=per.revenue,
    )


def calibration_holdout_summary(
    orders: ir.Table,
    *,
    calibration_end: str | dt.date,
    observation_end: str | dt.date | None = None,
    unit: TimeUnit = "week",
    currency: str | None = None,
) -> ir.Table:
    """The calibration summary (up to ``calibration_end``) of customers acquired by then, with their
    ``frequency_holdout`` (purchase days after it, up to ``observation_end``), ``monetary_value_holdout`` and
    ``duration_holdout`` (the holdout's length in ``unit``)."""
    cal_end = _as_date(calibration_end)
    if cal_end is None:
        raise ParameterError("the calibration end is missing")
    purchases, obs_end = _purchases(orders, currency, observation_end)
    assert obs_end is not None
    days = _days(purchases)
    if obs_end <= cal_end:
        raise ParameterError(f"the observation end {obs_end} must be after the calibration end {cal_end}")
    scale = unit_days(unit)
    calibration = _summarise(days.filter(days.day <= cal_end), cal_end, scale)
    later = days.filter((days.day > cal_end) & (days.day <= obs_end))
    holdout = later.group_by("customer_id").aggregate(
        frequency_holdout=later.count().cast("float64"), value_holdout=later.value.sum()
    )
    joined = calibration.left_join(holdout, "customer_id").drop("customer_id_right")
    return (
        joined.mutate(
            frequency_holdout=joined.frequency_holdout.fill_null(0.0),
            monetary_value_holdout=ibis.ifelse(
                joined.frequency_holdout > 0, joined.value_holdout / joined.frequency_holdout, 0.0
            ),
            duration_holdout=ibis.literal((obs_end - cal_end).days / scale),
        )
        .drop("value_holdout")
        .order_by("customer_id")
    )  # in one order on every run, for the bootstrap


def compressed(summary: ir.Table, columns: tuple[str, ...] = ("frequency", "recency", "T")) -> ir.Table:
    """Distinct rows of ``columns`` with a ``weight`` (the number of customers): what a model is fitted on,
    computed where the data lives so only this small table crosses the wire. Sorted, so that a model fitted
    on it sums its likelihood in one order on every run whatever order the engine aggregated in (the
    optimiser otherwise stops ulps apart: Gamma-Gamma parameters 4e-10 apart on CDNOW)."""
    return (
        summary.group_by(list(columns))
        .aggregate(weight=summary.count().cast("float64"))
        .order_by(list(columns))
    )


def _periods_since_first(days: ir.Table, end: dt.date, scale: float) -> ir.Table:
    """Purchase days with ``period``: whole units since the customer's first purchase (0 for the first),
    and ``observed``: whole units from the first purchase to ``end``."""
    days = days.filter(days.day <= end)
    first = days.day.min().over(group_by="customer_id")
    with_first = days.mutate(first_purchase=first)
    return with_first.mutate(
        period=(with_first.day.delta(with_first.first_purchase, unit="day").cast("float64") / scale).floor(),
        observed=(
            ibis.date(end).delta(with_first.first_purchase, unit="day").cast("float64") / scale
        ).floor(),
    )


def discrete_summary(
    orders: ir.Table,
    *,
    unit: TimeUnit = "month",
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
) -> ir.Table:
    """Per customer, for the BG/BB model: opportunities are the whole ``unit`` periods after the first
    purchase; ``frequency`` is the number of them with a purchase, ``recency`` the last such period (0 if
    none) and ``n_periods`` the number of periods observed up to ``observation_end``."""
    purchases, end = _purchases(orders, currency, observation_end)
    assert end is not None
    marked = _periods_since_first(_days(purchases), end, unit_days(unit))
    later = marked.filter(marked.period >= 1)
    per = marked.group_by("customer_id").aggregate(n_periods=marked.observed.max())
    active = later.group_by("customer_id").aggregate(
        frequency=later.period.nunique().cast("float64"), recency=later.period.max()
    )
    joined = per.left_join(active, "customer_id").drop("customer_id_right")
    return joined.select(
        "customer_id",
        frequency=joined.frequency.fill_null(0.0),
        recency=joined.recency.fill_null(0.0),
        n_periods=joined.n_periods,
    ).order_by("customer_id")


def subscription_durations(
    orders: ir.Table,
    *,
    product: str,
    unit: TimeUnit = "month",
    observation_end: str | dt.date | None = None,
    grace_days: float = 7.0,
) -> ir.Table:
    """Per subscriber of ``product``, for the sBG model: ``periods`` paid (from the first payment to the last
    period with a payment, gaps counted as paid) and ``churned`` (1 when the next payment is more than
    ``grace_days`` overdue at ``observation_end``)."""
    purchases = orders.filter(is_purchase(orders) & (orders.product == product))
    days = purchases.group_by([purchases.customer_id, purchases.ordered_at.date().name("day")]).aggregate(
        value=(purchases.amount - purchases.refunded).sum()
    )
    end = observation_end_of(days, observation_end)
    scale = unit_days(unit)
    marked = _periods_since_first(days, end, scale)
    per = marked.group_by("customer_id").aggregate(
        last_period=marked.period.max(),
        first_purchase=marked.first_purchase.min(),
    )
    age = ibis.date(end).delta(per.first_purchase, unit="day").cast("float64")
    return per.select(
        "customer_id",
        periods=per.last_period + 1,
        churned=ibis.ifelse((per.last_period + 1) * scale + grace_days < age, 1, 0),
        first_purchase=per.first_purchase,
    ).order_by("customer_id")


def repeat_purchases_by_period(
    orders: ir.Table,
    *,
    origin: str | dt.date,
    acquired_by: str | dt.date,
    observation_end: str | dt.date,
    unit: TimeUnit = "week",
    currency: str | None = None,
) -> ir.Table:
    """Repeat purchase days (all but each customer's first) per whole ``unit`` since ``origin``, of the
    customers acquired by ``acquired_by``, up to ``observation_end``: ``period``, ``repeat_purchases``."""
    days = purchase_days(orders, currency=currency)
    days = days.filter(days.day <= _as_date(observation_end))
    ordered = days.mutate(
        seq=ibis.row_number().over(group_by="customer_id", order_by="day"),
        first_purchase=days.day.min().over(group_by="customer_id"),
    )
    repeats = ordered.filter((ordered.seq > 0) & (ordered.first_purchase <= _as_date(acquired_by)))
    period = (
        repeats.day.delta(ibis.date(_as_date(origin)), unit="day").cast("float64") / unit_days(unit)
    ).floor()
    marked = repeats.mutate(period=period)
    return marked.group_by("period").aggregate(repeat_purchases=marked.count()).order_by("period")
