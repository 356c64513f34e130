"""A first overview of the orders in a workspace: customers, orders and net revenue per currency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from ltvkit.analytics.definitions import REVENUE_STATUSES, is_purchase, net_revenue


@dataclass(frozen=True)
class Overview:
    """Counts over all currencies and money per currency (``by_currency`` has one row per currency)."""

    customers: int
    orders: int
    order_rows: int
    first_order: pd.Timestamp | None
    last_order: pd.Timestamp | None
    by_currency: pd.DataFrame
    statuses: dict[str, int]

    @property
    def net_revenue(self) -> dict[str, float]:
        return {row.currency: float(row.net_revenue) for row in self.by_currency.itertuples()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "order_rows": self.order_rows,
            "first_order": self.first_order.isoformat() if self.first_order is not None else None,
            "last_order": self.last_order.isoformat() if self.last_order is not None else None,
            "net_revenue": {k: round(v, 2) for k, v in self.net_revenue.items()},
            "by_currency": self.by_currency.round(2).to_dict(orient="records"),
            "statuses": self.statuses,
        }


def revenue_by_currency(orders: ir.Table) -> pd.DataFrame:
    """Per currency: ``customers`` and ``orders`` (purchases), ``gross_revenue``, ``refunds`` and
    ``net_revenue``, in one query."""
    revenue = orders.mutate(net=net_revenue(orders), purchase=is_purchase(orders))
    per_currency = (
        revenue.group_by("currency")
        .aggregate(
            customers=revenue.customer_id.nunique(where=revenue.purchase),
            orders=revenue.purchase.sum(),
            gross_revenue=revenue.amount.sum(
                where=revenue.status.isin(REVENUE_STATUSES) & (revenue.amount > 0)
            ),
            net_revenue=revenue.net.sum(),
        )
        .order_by("currency")
        .execute()
        .fillna({"gross_revenue": 0.0})
    )
    per_currency.insert(4, "refunds", per_currency["gross_revenue"] - per_currency["net_revenue"])
    return per_currency


def overview(orders: ir.Table) -> Overview:
    """Customers and orders (purchases), gross, refunds and net revenue per currency.

    ``orders`` is an Ibis table with the workspace's ``orders`` columns, on any backend.
    """
    per_currency = revenue_by_currency(orders)
    purchases = orders.filter(is_purchase(orders))
    totals = purchases.aggregate(
        customers=purchases.customer_id.nunique(),
        orders=purchases.count(),
        first=purchases.ordered_at.min(),
        last=purchases.ordered_at.max(),
    ).execute()
    statuses = orders.group_by("status").aggregate(n=orders.count()).execute()
    first, last = totals["first"].iloc[0], totals["last"].iloc[0]
    return Overview(
        customers=int(totals["customers"].iloc[0]),
        orders=int(totals["orders"].iloc[0]),
        order_rows=int(statuses["n"].sum()) if len(statuses) else 0,
        first_order=None if pd.isna(first) else pd.Timestamp(first),
        last_order=None if pd.isna(last) else pd.Timestamp(last),
        by_currency=per_currency,
        statuses={str(k): int(v) for k, v in zip(statuses["status"], statuses["n"], strict=False)},
    )
