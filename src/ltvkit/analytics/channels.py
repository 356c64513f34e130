"""Where customers come from and whether acquiring them pays.

- **Channel / first-product quality**: customers, repeat rate, AOV, retention and LTV at fixed ages
  (3, 6, 12 months), each averaged over the cohorts old enough to show it, weighted by cohort size — a
  fair comparison between channels whose customers have been around for different times.
- **Product paths**: the first product bought and the next different product (tripwire → core course?).
- **CAC** of a channel and month = marketing spend / new customers acquired by the channel that month.
  **LTV:CAC** divides LTV at a horizon (12 months by default) by the channel's CAC over the months with
  spend. **Payback** of a cohort is the first age at which cumulative gross profit per customer reaches
  the cohort's CAC ("not yet" when it has not). The **maximum CAC** a channel can bear for a target
  LTV:CAC of 3 is LTV / 3.
- **Gross profit** is net revenue less the orders' cost and fee where the data has them, else net revenue
  times the ``margin`` given (else net revenue).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.cohorts import (
    SPLITS,
    cohort_table,
    customer_values,
    customers,
    first_order_first,
    money_orders,
)
from ltvkit.analytics.definitions import is_purchase
from ltvkit.errors import MissingDataError, ParameterError

AGES = (3, 6, 12)


def mean_at_age(table: pd.DataFrame, key: str, column: str, age: int) -> pd.Series:
    """Size-weighted mean of ``column`` at ``age`` over the cohorts of each ``key`` observed that long."""
    cells = table[table["age"] == age]
    weighted = (cells[column] * cells["size"]).groupby(cells[key]).sum()
    return weighted / cells.groupby(key)["size"].sum()


def chained_curves(table: pd.DataFrame, key: str, column: str, max_age: int) -> pd.DataFrame:
    """A cumulative per-customer value (``ltv``, ``profit``) at each age 0 … ``max_age`` (columns) for each
    ``key`` (rows), chained over matched cohorts (the chain-ladder of a cohort triangle): the size-weighted
    mean at age 0 over all the key's cohorts, plus, for each later age k, the size-weighted mean increment
    from k − 1 to k over the cohorts observed at k. Averaging the cohorts observed at an age directly mixes
    different cohorts at different ages, so a curve can fall only because an old, weak cohort is all that
    reaches the later ages; chained, it moves only by what the same customers did. NaN from the first age no
    cohort of the key reaches."""
    wide = table.pivot_table(index=[key, "cohort"], columns="age", values=column, aggfunc="first")
    sizes = table.groupby([key, "cohort"])["size"].first().reindex(wide.index).to_numpy(dtype=float)
    keys = wide.index.get_level_values(0)
    out = {}
    for group in keys.unique():
        rows = wide[keys == group]
        weight = sizes[keys == group]
        curve = np.full(max_age + 1, np.nan)
        if 0 in rows and rows[0].notna().all():
            curve[0] = np.average(rows[0], weights=weight)
        for k in range(1, max_age + 1):
            both = (
                (rows[k].notna() & rows[k - 1].notna()).to_numpy() if k in rows else np.zeros(len(rows), bool)
            )
            if not both.any():
                break
            step = (rows[k] - rows[k - 1]).to_numpy()[both]
            curve[k] = curve[k - 1] + np.average(step, weights=weight[both])
        out[group] = curve
    return pd.DataFrame.from_dict(out, orient="index", columns=range(max_age + 1), dtype=float)


def chained_at_age(table: pd.DataFrame, key: str, column: str, age: int) -> pd.Series:
    """:func:`chained_curves` at one ``age``."""
    return chained_curves(table, key, column, age)[age]


def customers_observed(table: pd.DataFrame, key: str, age: int) -> pd.Series:
    """Per ``key``: the customers whose cohorts are observed to ``age`` (what a value at that age rests
    on)."""
    cells = table[table["age"] == age]
    return cells.groupby(key)["size"].sum()


def quality_by(
    orders: ir.Table,
    by: str = "channel",
    *,
    currency: str | None = None,
    margin: float | None = None,
    table: pd.DataFrame | None = None,
    values: ir.Table | None = None,
) -> pd.DataFrame:
    """Per value of ``by`` (a :data:`~ltvkit.analytics.cohorts.SPLITS` field of the first purchase):
    ``customers``, ``repeat_rate``, ``aov``, ``retention_1``/``retention_3`` (share active at month 1 and
    3), ``ltv_3``, ``ltv_6``, ``ltv_12`` (net revenue per customer by that age, chained over matched cohorts:
    :func:`chained_curves`), ``customers_observed_12`` (how many customers' cohorts reach 12 months: the
    12-month value rests on them alone) and ``ltv_to_date``, sorted by customers. ``table`` is the monthly
    :func:`~ltvkit.analytics.cohorts.cohort_table` split by ``by`` and the
    :func:`~ltvkit.analytics.cohorts.customer_values` (``values``, a table) when the caller has them
    already."""
    if by not in SPLITS:
        raise ParameterError(f"cannot group by {by!r}; use one of {', '.join(SPLITS)}")
    if table is None:
        table = cohort_table(orders, period="month", split=by, currency=currency)
    per_customer = customer_values(orders, currency=currency) if values is None else values
    stats = (
        per_customer.group_by(by)
        .aggregate(
            customers=per_customer.count(),
            repeat_rate=(per_customer.purchases > 1).cast("float64").mean(),
            purchases=per_customer.purchases.sum(),
            net=per_customer.net_revenue.sum(),
        )
        .execute()
        .set_index(by)
    )
    out = pd.DataFrame(index=stats.index)
    out["customers"] = stats["customers"].astype(int)
    out["repeat_rate"] = stats["repeat_rate"]
    out["aov"] = stats["net"] / stats["purchases"]
    out["retention_1"] = mean_at_age(table, by, "retention", 1)
    out["retention_3"] = mean_at_age(table, by, "retention", 3)
    curves = chained_curves(table, by, "ltv", max(AGES))
    for age in AGES:
        out[f"ltv_{age}"] = curves[age]
    out[f"customers_observed_{AGES[-1]}"] = (
        customers_observed(table, by, AGES[-1]).reindex(out.index).fillna(0)
    )
    out["ltv_to_date"] = stats["net"] / stats["customers"]
    if margin is not None:
        out["margin_ltv_12"] = out["ltv_12"] * margin
    return out.sort_values(["customers", by], ascending=[False, True]).reset_index()


def product_paths(orders: ir.Table, *, currency: str | None = None) -> pd.DataFrame:
    """First product → the next different product the customer bought (``(none)`` if none yet):
    ``customers`` and ``share`` of those who started with that product."""
    money = money_orders(orders, currency)
    purchases = money.filter(is_purchase(money))
    people = customers(orders, currency=currency).select("customer_id", "first_product", "first_purchase")
    rows = purchases.inner_join(people, "customer_id")
    later = rows.filter(
        (rows.product.fill_null("(none)") != rows.first_product) & (rows.ordered_at >= rows.first_purchase)
    )
    ranked = later.mutate(
        seq=ibis.row_number().over(group_by="customer_id", order_by=first_order_first(later))
    )
    nxt = ranked.filter(ranked.seq == 0).select(
        "customer_id", next_product=ranked.product.fill_null("(none)")
    )
    paths = people.left_join(nxt, "customer_id")
    counted = (
        paths.group_by(["first_product", paths.next_product.fill_null("(none)").name("next_product")])
        .aggregate(customers=paths.count())
        .execute()
    )
    totals = counted.groupby("first_product")["customers"].transform("sum")
    counted["share"] = counted["customers"] / totals
    return counted.sort_values(
        ["first_product", "customers", "next_product"], ascending=[True, False, True]
    ).reset_index(drop=True)


def monthly_spend(spend: ir.Table, currency: str | None) -> pd.DataFrame:
    """Marketing spend by month (``cohort``) and ``channel``, of one currency (empty without spend)."""
    if currency is not None:
        spend = spend.filter(spend.currency == currency.upper())
    frame = (
        spend.group_by([spend.date.truncate("M").cast("date").name("cohort"), "channel", "currency"])
        .aggregate(spend=spend.amount.sum())
        .execute()
    )
    if frame["currency"].nunique() > 1:
        raise ParameterError(
            f"spend is in several currencies ({', '.join(sorted(frame['currency'].unique()))}); "
            "choose one (--currency)"
        )
    frame["cohort"] = pd.to_datetime(frame["cohort"])
    return frame.drop(columns="currency")


def _gross_profit_per_customer(table: pd.DataFrame, margin: float | None, has_costs: bool) -> pd.Series:
    if has_costs:
        return table["cumulative_gross_profit"]
    return table["ltv"] * (margin if margin is not None else 1.0)


def cac_table(
    orders: ir.Table,
    spend: ir.Table,
    *,
    currency: str | None = None,
    margin: float | None = None,
    horizon: int = 12,
    target_ratio: float = 3.0,
    table: pd.DataFrame | None = None,
    spend_by_month: pd.DataFrame | None = None,
    has_costs: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CAC, LTV:CAC, payback and the maximum bearable CAC.

    Returns (by channel, by channel and month). By channel: ``spend``, ``new_customers`` (in months with
    spend), ``cac``, ``ltv`` (net revenue per customer at ``horizon`` months, or the oldest age observed if
    younger, ``ltv_age`` says which), ``gross_profit_ltv``, ``ltv_to_cac``, ``max_cac`` (gross-profit LTV /
    ``target_ratio``) and ``payback_months`` (size-weighted median over the channel's cohorts; NaN = not yet).
    By month: ``cohort``, ``channel``, ``spend``, ``new_customers``, ``cac``, ``payback_months``.

    A caller that has them already passes the monthly cohort ``table`` split by channel, the
    :func:`monthly_spend` and whether the orders carry costs (``has_costs``).
    """
    if target_ratio <= 0:
        raise ParameterError("the target LTV:CAC must be positive")
    if table is None:
        table = cohort_table(orders, period="month", split="channel", currency=currency)
    table = table.copy()
    monthly = monthly_spend(spend, currency) if spend_by_month is None else spend_by_month
    if monthly.empty:
        raise MissingDataError(
            "no marketing spend in the workspace"
            + (f" in {currency.upper()}" if currency else "")
            + "; import a spend file first (date or month, channel, amount)"
        )
    if has_costs is None:
        has_costs = bool(orders.filter(orders.cost.notnull() | orders.fee.notnull()).count().execute())
    table["profit"] = _gross_profit_per_customer(table, margin, has_costs)
    sizes = table[table["age"] == 0][["cohort", "channel", "size"]]
    cohorts = monthly.merge(sizes, on=["cohort", "channel"], how="left").rename(
        columns={"size": "new_customers"}
    )
    cohorts["new_customers"] = cohorts["new_customers"].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        cohorts["cac"] = np.where(
            cohorts["new_customers"] > 0, cohorts["spend"] / cohorts["new_customers"], np.nan
        )
    cohorts["payback_months"] = [
        _payback(table, row.cohort, row.channel, row.cac) for row in cohorts.itertuples()
    ]
    by_channel = cohorts.groupby("channel").agg(
        spend=("spend", "sum"), new_customers=("new_customers", "sum")
    )
    by_channel["cac"] = by_channel["spend"] / by_channel["new_customers"].replace(0, np.nan)
    ltv_age = min(horizon, int(table["age"].max()))
    by_channel["ltv_age"] = ltv_age
    by_channel["ltv"] = chained_at_age(table, "channel", "ltv", ltv_age).reindex(by_channel.index)
    by_channel["gross_profit_ltv"] = chained_at_age(table, "channel", "profit", ltv_age).reindex(
        by_channel.index
    )
    by_channel["ltv_to_cac"] = by_channel["gross_profit_ltv"] / by_channel["cac"]
    by_channel["max_cac"] = by_channel["gross_profit_ltv"] / target_ratio
    by_channel["payback_months"] = pd.Series(
        {channel: _weighted_median_payback(group) for channel, group in cohorts.groupby("channel")}
    )
    return by_channel.reset_index(), cohorts.sort_values(["channel", "cohort"]).reset_index(drop=True)


def _payback(table: pd.DataFrame, cohort: pd.Timestamp, channel: str, cac: float) -> float:
    """First age at which the cohort's cumulative gross profit per customer reaches ``cac``;
    NaN if not yet."""
    if not np.isfinite(cac):
        return np.nan
    cells = table[(table["cohort"] == cohort) & (table["channel"] == channel)]
    reached = cells[cells["profit"] >= cac]
    return float(reached["age"].min()) if len(reached) else np.nan


def _weighted_median_payback(group: pd.DataFrame) -> float:
    """Median payback over the channel's customers; cohorts not yet paid back count as never (so the median
    is NaN when most of the customers are in such cohorts)."""
    paid = group[group["new_customers"] > 0]
    if paid.empty:
        return np.nan
    order = paid.assign(p=paid["payback_months"].fillna(np.inf)).sort_values("p")
    half = order["new_customers"].sum() / 2
    value = order.loc[order["new_customers"].cumsum() >= half, "p"].iloc[0]
    return float(value) if np.isfinite(value) else np.nan
