"""What a table column holds and how a person reads it: one table of rules for the dashboard (handed to the
page as JSON) and the command line, so that a column has the same header and the same number format in
both, in every language.

Kinds: ``money`` (the default: an amount in the table's currency), ``percent``, ``signed`` (a relative
change, +12.5 %), ``ratio`` (two decimals: LTV:CAC 2.69 never reads as 3), ``number``, ``number2``,
``name`` (a name from the user's data, shown as it is), ``segment``, ``action``, ``payback``, ``month``,
``date``, ``kind``, ``reason``, ``scenario``, ``text``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ltvkit import formatting, i18n

KINDS = {
    "channel": "name",
    "first_product": "name",
    "next_product": "name",
    "utm_source": "name",
    "utm_medium": "name",
    "utm_campaign": "name",
    "customer_id": "name",
    "email": "name",
    "phone": "name",
    "product": "name",
    "days_waiting": "number",
    "ordered_at": "date",
    "file_name": "name",
    "value": "name",
    "column": "name",
    "preset": "name",
    "customers": "number",
    "new_customers": "number",
    "ltv_age": "number",
    "customers_observed_12": "number",
    "import_id": "number",
    "read": "number",
    "loaded": "number",
    "updated": "number",
    "duplicates": "number",
    "rejected": "number",
    "row_number": "number",
    "top_share": "percent",
    "share": "percent",
    "conversion": "percent",
    "buyers_change": "signed",
    "spend_value_change": "signed",
    "repeat_rate": "percent",
    "retention_1": "percent",
    "retention_3": "percent",
    "customer_share": "percent",
    "revenue_share": "percent",
    "probability_alive": "percent",
    "formula_ltv_change": "signed",
    "model_ltv_change": "signed",
    "ltv_to_cac": "ratio",
    "expected_purchases": "number2",
    "formula_purchases_per_customer": "number2",
    "model_purchases_per_customer": "number2",
    "formula_lifetime_months": "number2",
    "formula_monthly_churn": "percent",
    "segment": "segment",
    "action": "action",
    "payback_months": "payback",
    "month": "month",
    "cohort": "month",
    "due": "date",
    "imported_at": "date",
    "kind": "kind",
    "reason": "reason",
    "scenario": "scenario",
    "installment": "text",
    "ltv_interval": "text",
    "max_cac_interval": "text",
    "caveat": "text",
    "share_predicted": "percent",
    "retention_diff": "signed_points",
    "churn_rate": "percent",
    "nrr": "percent",
    "currency": "text",
    "age": "number",
    "cohort_label": "name",
}

#: Columns without a ``col_<column>`` text whose header is a text under another key than ``<column>``.
HEADS = {
    "payback_months": "payback",
    "baseline": "scenario_baseline",
    "scenario": "scenario_yours",
    "mrr": "rc_mrr",
    "new": "rc_new",
    "expansion": "rc_expansion",
    "contraction": "rc_contraction",
    "churned": "rc_churned",
    "churn_rate": "rc_churn_rate",
    "nrr": "rc_nrr",
    "paid": "rc_paid",
    "billed": "rc_billed",
}


def kind(column: str) -> str:
    """How ``column``'s values read (money unless listed)."""
    return KINDS.get(column, "money")


def header(column: str, lang: str) -> str:
    """``column``'s header in ``lang``: the text ``col_<column>``, or the one :data:`HEADS` names, or the text
    ``<column>`` of :data:`ltvkit.i18n.TEXT`; else the column's own name."""
    for key in (f"col_{column}", HEADS.get(column), column):
        if key is not None and key in i18n.TEXT:
            return i18n.text(key, lang)
    return column


def cell(column: str, value: Any, lang: str, currency: str | None = None) -> str:
    """One value of ``column`` as text for a terminal table (nothing for a missing value)."""
    what = kind(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return i18n.text("not_yet", lang) if what == "payback" else ""
    if what == "money":
        if not isinstance(value, int | float):
            return str(value)
        return formatting.money(value, currency, lang) if currency else formatting.number(value, lang)
    if what == "number":
        return formatting.number(value, lang)
    if what == "number2":
        return formatting.number(value, lang, digits=2)
    if what == "percent":
        return formatting.percent(value, lang)
    if what in ("signed", "signed_points"):
        return ("+" if value > 0 else "") + formatting.percent(value, lang)
    if what == "ratio":
        return formatting.ratio(value, lang)
    if what == "payback":
        if value == 0:
            return i18n.text("payback_first_month", lang)
        return i18n.text("payback_months_n", lang, months=formatting.number(value, lang))
    if what in ("month", "date") and isinstance(value, dt.date):
        return formatting.month(value, lang) if what == "month" else formatting.day(value, lang)
    if what == "segment" and f"segment_{value}" in i18n.TEXT:
        return i18n.text(f"segment_{value}", lang)
    if what == "kind" and f"kind_{value}" in i18n.TEXT:
        return i18n.text(f"kind_{value}", lang)
    return str(value)


def rules() -> dict[str, Any]:
    """The table for the dashboard's pages."""
    return {"kinds": KINDS, "heads": HEADS}
