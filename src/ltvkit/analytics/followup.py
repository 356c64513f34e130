"""The follow-up list («дожим»): orders placed but not paid, whose customer has not paid for that product
since — the people a manager calls or writes to first, because they already said yes once.

An order is on the list when its status is ``pending`` (awaiting payment), it was placed within ``days``
of the last day of the data, and the same customer has no purchase of the same product at or after it.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from ltvkit.analytics.definitions import is_purchase

WAITING_STATUSES = ("pending",)


def follow_up_orders(orders: ir.Table, *, end: dt.date, days: int = 30) -> pd.DataFrame:
    """The unpaid orders of the last ``days`` up to ``end`` that no later purchase settled: ``customer_id``,
    ``email``, ``phone``, ``product``, ``amount``, ``currency``, ``ordered_at``, ``days_waiting``; the
    largest amounts first (a customer's several unpaid orders are several rows)."""
    since = ibis.timestamp(dt.datetime.combine(end - dt.timedelta(days=days), dt.time()))
    waiting = orders.filter(orders.status.isin(WAITING_STATUSES) & (orders.ordered_at >= since))
    paid = orders.filter(is_purchase(orders)).select(
        paid_customer=orders.customer_id,
        paid_product=orders.product.fill_null(""),
        paid_at=orders.ordered_at,
    )
    settled = waiting.join(
        paid,
        [
            waiting.customer_id == paid.paid_customer,
            waiting.product.fill_null("") == paid.paid_product,
            paid.paid_at >= waiting.ordered_at,
        ],
    ).select("order_key")
    open_orders = waiting.anti_join(settled, "order_key")
    frame = open_orders.select(
        "customer_id", "email", "phone", "product", "amount", "currency", "ordered_at"
    ).execute()
    frame["days_waiting"] = (pd.Timestamp(end) - pd.to_datetime(frame["ordered_at"]).dt.normalize()).dt.days
    return frame.sort_values(["amount", "ordered_at"], ascending=[False, True], ignore_index=True)
