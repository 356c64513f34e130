"""What is my LTV? Customers, orders and revenue, and the LTV of each currency's customers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ltvkit.analytics.historical import LtvSummary, ltv_summary
from ltvkit.analytics.overview import Overview, overview
from ltvkit.data.sources import Tables


@dataclass(frozen=True)
class Summary:
    """The overview of the orders and one :class:`~ltvkit.analytics.historical.LtvSummary` per currency."""

    overview: Overview
    ltv: list[LtvSummary]

    def to_dict(self) -> dict[str, Any]:
        return {**self.overview.to_dict(), "ltv": [item.to_dict() for item in self.ltv]}


def summary(tables: Tables, *, margin: float | None = None, inactive_after_days: int = 180) -> Summary:
    """The overview and, for every currency with purchases, its historical and expected LTV."""
    orders = tables.table("orders")
    result = overview(orders)
    return Summary(
        result,
        [
            ltv_summary(orders, currency=c, margin=margin, inactive_after_days=inactive_after_days)
            for c in result.by_currency["currency"]
        ],
    )
