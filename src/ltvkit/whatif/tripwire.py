"""What if the tripwire's price changes? The value of a customer who came in through a tripwire.

A tripwire buyer is a customer whose first purchase is the ``tripwire`` product. Their value splits in two:
the tripwire itself (its net revenue and what it costs to deliver) and everything they buy afterwards, which
depends mostly on whether they go on to the ``core_product`` (the conversion)::

    LTV        = tripwire net + c · (later net of converted buyers) + (1 − c) · (later net of the others)
    profit LTV = (tripwire net − tripwire cost) + c · (later profit of converted)
                 + (1 − c) · (later profit of others)

with c the conversion to the core product. A scenario sets a new list ``price`` (the tripwire's net moves in
proportion: refunds stay the same share), a new ``conversion`` (the user's expectation: how conversion
responds to a price is not something past orders can tell), a new ``unit_cost``, and ``buyers_change``, the
relative change of tripwire buyers the same ad spend brings at the new price. The CAC one can afford per buyer
is profit LTV / target LTV:CAC; ``spend_value_change`` compares the profit each unit of ad spend brings:
(1 + buyers_change) · profit LTV' / profit LTV − 1. Profit is net revenue less the orders' cost and fee
columns (equal to net revenue when the export has neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ltvkit.analytics.cohorts import customers, money_orders
from ltvkit.analytics.definitions import is_purchase, net_revenue
from ltvkit.errors import MissingDataError, ParameterError


@dataclass(frozen=True)
class TripwireBaseline:
    """Tripwire buyers today (amounts per buyer, in ``currency``)."""

    product: str
    core_product: str
    currency: str | None
    buyers: int
    list_price: float  # mean amount of a tripwire purchase
    net: float  # the tripwire's net revenue per buyer (after its refunds)
    unit_cost: float  # its cost and fee per buyer
    conversion: float  # share of buyers who later bought the core product
    later_net_converted: float
    later_net_others: float
    later_profit_converted: float
    later_profit_others: float


@dataclass(frozen=True)
class TripwireScenario:
    """A change to the tripwire; ``None`` keeps today's value."""

    name: str = "scenario"
    price: float | None = None
    conversion: float | None = None
    unit_cost: float | None = None
    buyers_change: float = 0.0

    def validate(self) -> None:
        if self.price is not None and self.price < 0:
            raise ParameterError(f"{self.name}: the tripwire price cannot be negative")
        if self.conversion is not None and not 0 <= self.conversion <= 1:
            raise ParameterError(f"{self.name}: the conversion is a share of buyers in [0, 1]")
        if self.unit_cost is not None and self.unit_cost < 0:
            raise ParameterError(f"{self.name}: the unit cost cannot be negative")
        if self.buyers_change <= -1:
            raise ParameterError(f"{self.name}: the number of buyers cannot fall by 100% or more")


def tripwire_baseline(
    orders: ir.Table, tripwire: str, core_product: str, *, currency: str | None = None
) -> TripwireBaseline:
    """Today's tripwire buyers, from the orders (see the module docstring)."""
    people = (
        customers(orders, currency=currency)
        .filter(lambda t: t.first_product == tripwire)
        .select("customer_id")
    )
    money = money_orders(orders, currency)
    rows = money.inner_join(people, "customer_id")
    net = net_revenue(rows)
    cost = rows.cost.fill_null(0.0) + rows.fee.fill_null(0.0)
    is_tripwire = rows.product.fill_null("") == tripwire
    per_buyer = rows.group_by("customer_id").aggregate(
        amount=ibis.ifelse(is_tripwire & is_purchase(rows), rows.amount, 0.0).sum(),
        net=ibis.ifelse(is_tripwire, net, 0.0).sum(),
        cost=ibis.ifelse(is_tripwire, cost, 0.0).sum(),
        later_net=ibis.ifelse(is_tripwire, 0.0, net).sum(),
        later_cost=ibis.ifelse(is_tripwire, 0.0, cost).sum(),
        converted=(is_purchase(rows) & (rows.product.fill_null("") == core_product)).any(),
    )
    table = per_buyer.execute()
    if table.empty:
        raise MissingDataError(
            f"no customer's first purchase is {tripwire!r}; check the product name among the first "
            "products of the customers by channel",
            parameter="product",
        )
    if not table["converted"].any() and core_product not in set(
        money.select("product").distinct().execute()["product"]
    ):
        raise MissingDataError(
            f"no order is for the core product {core_product!r}; check the product name", parameter="core"
        )
    groups = {key: part for key, part in table.groupby("converted")}
    empty = pd.DataFrame({"later_net": [0.0], "later_cost": [0.0]})

    def later(converted: bool, profit: bool) -> float:
        part = groups.get(converted, empty)
        return float((part["later_net"] - part["later_cost"] * profit).mean())

    return TripwireBaseline(
        product=tripwire,
        core_product=core_product,
        currency=currency,
        buyers=len(table),
        list_price=float(table["amount"].mean()),
        net=float(table["net"].mean()),
        unit_cost=float(table["cost"].mean()),
        conversion=float(table["converted"].mean()),
        later_net_converted=later(True, False),
        later_net_others=later(False, False),
        later_profit_converted=later(True, True),
        later_profit_others=later(False, True),
    )


def tripwire_value(base: TripwireBaseline, s: TripwireScenario) -> dict[str, float]:
    """A tripwire buyer's LTV and profit LTV under the scenario (the module docstring's formulas)."""
    s.validate()
    price = base.list_price if s.price is None else s.price
    net = base.net * price / base.list_price if base.list_price else 0.0
    cost = base.unit_cost if s.unit_cost is None else s.unit_cost
    c = base.conversion if s.conversion is None else s.conversion
    ltv = net + c * base.later_net_converted + (1 - c) * base.later_net_others
    profit = net - cost + c * base.later_profit_converted + (1 - c) * base.later_profit_others
    return {
        "price": price,
        "conversion": c,
        "tripwire_net": net,
        "tripwire_profit": net - cost,
        "ltv": ltv,
        "profit_ltv": profit,
    }


def evaluate_tripwire(
    base: TripwireBaseline, scenarios: list[TripwireScenario], *, target_ratio: float = 3.0
) -> pd.DataFrame:
    """Today and each scenario: price, conversion, LTV, profit LTV, the affordable CAC per buyer and the
    change in profit per unit of ad spend."""
    if target_ratio <= 0:
        raise ParameterError("the target LTV:CAC must be positive")
    rows = []
    for s in [TripwireScenario(name="baseline"), *scenarios]:
        row: dict[str, Any] = {"scenario": s.name, **tripwire_value(base, s)}
        row["max_cac"] = row["profit_ltv"] / target_ratio
        row["buyers_change"] = s.buyers_change
        rows.append(row)
    table = pd.DataFrame(rows)
    baseline_profit = table["profit_ltv"].iloc[0]
    table["spend_value_change"] = (
        (1 + table["buyers_change"]) * table["profit_ltv"] / baseline_profit - 1
        if baseline_profit > 0
        else float("nan")
    )
    return table
