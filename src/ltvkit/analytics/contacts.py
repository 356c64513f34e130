"""How to reach each customer: email, phone and name, for the contact lists GetCourse's user import and
mailing services read (:func:`ltvkit.io.writers.contacts_bytes`).

The email and the phone are each the customer's latest non-empty one among their orders of any status (a
pending order's phone reaches the customer too). Orders have no name field; an import keeps the columns it
did not map (the ``extra`` column, JSON), where a platform's export names the customer: the whole name in
one of :data:`FULL_NAME` (GetCourse's «Пользователь», Shopify's «Billing Name», Stripe's ``customer_name``)
or its parts in :data:`FIRST_NAME` and :data:`LAST_NAME` (WooCommerce's billing names), read from the
customer's latest order that has extra columns. A table analysed where it lives (a source) keeps no extra
columns, so its names are empty.
"""

from __future__ import annotations

import json

import ibis.expr.types as ir
import pandas as pd

from ltvkit.io.presets import normalize_header

#: Unmapped columns (headers as :func:`~ltvkit.io.presets.normalize_header` writes them) naming a customer.
FULL_NAME = ("пользователь", "фио", "піб", "billing name", "customer name", "full name", "контакт")
FIRST_NAME = ("billing first name", "first name (billing)", "first name", "имя", "ім'я")
LAST_NAME = ("billing last name", "last name (billing)", "last name", "фамилия", "прізвище")
CONTACT_COLUMNS = ["customer_id", "email", "phone", "first_name", "last_name", "name"]


def customer_contacts(orders: ir.Table) -> pd.DataFrame:
    """Per customer: ``email``, ``phone`` (latest non-empty), ``first_name``, ``last_name`` and ``name``
    (the whole name: as the export wrote it, else first and last joined); empty where the orders say
    nothing. One engine query."""
    latest = {
        field: orders[field].argmax(orders.ordered_at, where=orders[field].notnull() & (orders[field] != ""))
        for field in ("email", "phone")
    }
    if "extra" in orders.columns:
        latest["extra"] = orders.extra.argmax(
            orders.ordered_at, where=orders.extra.notnull() & (orders.extra != "{}")
        )
    frame = orders.group_by("customer_id").aggregate(**latest).order_by("customer_id").execute()
    names = [_names(text) for text in frame.get("extra", pd.Series([None] * len(frame)))]
    frame[["first_name", "last_name", "name"]] = pd.DataFrame(names, index=frame.index)
    return frame.reindex(columns=CONTACT_COLUMNS)


def _names(extra: str | None) -> tuple[str | None, str | None, str | None]:
    """(first, last, whole) name from one order's unmapped columns."""
    if not extra:
        return None, None, None
    columns = {normalize_header(str(k)): str(v).strip() for k, v in json.loads(extra).items()}

    def first_of(headers: tuple[str, ...]) -> str | None:
        return next((columns[h] for h in headers if columns.get(h)), None)

    full, first, last = first_of(FULL_NAME), first_of(FIRST_NAME), first_of(LAST_NAME)
    if first or last:
        return first, last, full or " ".join(part for part in (first, last) if part)
    return full, None, full  # a whole name only: it is the first name to a form that asks for one
