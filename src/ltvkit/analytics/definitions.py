"""What counts as what, in one place (documented in ``docs/definitions.md``).

- A **purchase** is an order with status ``paid`` or ``partially_refunded`` (a fully refunded, cancelled,
  pending or free order is not a purchase). Zero-amount paid orders are purchases (the CDNOW data has them);
  presets whose zero-price orders are registrations mark those ``free`` instead.
- **Net revenue** of an order is ``amount - refunded`` over statuses ``paid``, ``partially_refunded`` and
  ``refunded`` (a refund on its own row has a negative amount and status ``refunded``).
- A **customer** is a customer id with at least one purchase.
- Money is never summed across currencies: every figure is per currency.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

PURCHASE_STATUSES = ("paid", "partially_refunded")
REVENUE_STATUSES = ("paid", "partially_refunded", "refunded")


def is_purchase(orders: ir.Table) -> ir.BooleanValue:
    """Whether an order row is a purchase."""
    return orders.status.isin(PURCHASE_STATUSES)


def net_revenue(orders: ir.Table) -> ir.FloatingValue:
    """Net revenue of an order row (0 for statuses that carry no revenue)."""
    return ibis.ifelse(orders.status.isin(REVENUE_STATUSES), orders.amount - orders.refunded, 0.0)
