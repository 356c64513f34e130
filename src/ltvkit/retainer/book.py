"""The client book: invoices and payments of a service business, beside its contracts.

Columns (English, Russian or Ukrainian names): client, date, amount, currency, status; optional kind
(``fee`` — the monthly fee, the default; ``bonus`` — a KPI bonus or other variable part; ``one-off`` — a
project outside the retainer), month (the month the invoice is for, when it is not the date's month) and
invoice (its number: a later import of the same number updates the row, e.g. open → paid).

Statuses: ``paid`` (money received), ``open`` (invoiced, not paid yet: issued, unpaid, overdue, pending),
``void`` (cancelled) and ``refunded``. What each counts for:

- **paid value** of a client (its LTV so far): the amounts with status paid, prorated first invoices and
  bonuses included;
- **billed** revenue of a month: paid and open amounts;
- **MRR**: the fee invoices (paid or open) of each month, see :mod:`ltvkit.retainer.metrics`.

Every row is loaded or rejected with its row number, column and reason; a row with the same client, date,
amount, kind and month as an earlier row (and no invoice number to tell them apart) is rejected as a repeat.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ltvkit.io.normalize import (
    ImportOptions,
    Normalized,
    Rejections,
    coalesce,
    content_hash,
    currency_codes,
    rejected_frame,
    require_columns,
    resolve_columns,
)
from ltvkit.io.parsing import parse_amount_column, parse_timestamp_column
from ltvkit.io.presets import Preset
from ltvkit.io.readers import read_table

PAYMENT_COLUMNS = [
    "payment_key",
    "client_id",
    "date",
    "month",
    "amount",
    "currency",
    "status",
    "kind",
    "invoice",
    "source_row",
    "row_hash",
]

STATUSES = {
    "paid": ("paid", "оплачен", "оплачено", "оплачен полностью", "сплачено", "оплачений", "received"),
    "open": (
        "open",
        "invoiced",
        "issued",
        "unpaid",
        "overdue",
        "pending",
        "выставлен",
        "не оплачен",
        "ожидает оплаты",
        "просрочен",
        "виставлено",
        "не сплачено",
        "очікує оплати",
        "прострочено",
    ),
    "void": ("void", "cancelled", "canceled", "отменён", "отменен", "аннулирован", "скасовано", "анульовано"),
    "refunded": ("refunded", "refund", "возврат", "возвращён", "возвращен", "повернено", "повернення"),
}
KINDS = {
    "fee": ("fee", "retainer", "monthly", "абонплата", "гонорар", "оплата"),
    "bonus": ("bonus", "kpi", "kpi bonus", "бонус", "премия", "премія"),
    "one-off": ("one-off", "one off", "project", "разовый", "проект", "разовий"),
}
_STATUS = {word: status for status, words in STATUSES.items() for word in words}
_KIND = {word: kind for kind, words in KINDS.items() for word in words}

BOOK = Preset(
    name="client_book",
    title="Invoices and payments of a service business",
    kind="orders",
    columns={
        "client_id": ("client", "client id", "client_id", "клиент", "id клиента", "клієнт", "id клієнта"),
        "date": ("date", "paid at", "invoice date", "дата", "дата оплаты", "дата оплати"),
        "amount": ("amount", "sum", "total", "сумма", "сума"),
        "currency": ("currency", "валюта"),
        "status": ("status", "статус"),
        "kind": ("kind", "type", "вид", "тип"),
        "month": ("month", "period", "месяц", "период", "місяць", "період"),
        "invoice": ("invoice", "invoice number", "number", "счёт", "счет", "номер счёта", "рахунок"),
    },
)


def read_book(path: str | Path, *, currency: str | None = None) -> Normalized:
    """The book's rows as payments to load, and the rows rejected with a reason (see the module
    docstring); ``currency`` is the currency of amounts that name none."""
    table = read_table(path)
    resolved, header_currency = resolve_columns(table, BOOK)
    require_columns(resolved, table, BOOK, ("client_id",), ("date",), ("amount",))
    frame = table.frame
    rows = pd.Series(table.row_numbers, index=frame.index)
    text = {name: coalesce(frame, cols) for name, cols in resolved.items()}
    rej = Rejections(frame.index)
    earliest, latest = ImportOptions().date_range()

    def get(name: str) -> pd.Series:
        return text[name][0] if name in text else pd.Series("", index=frame.index, dtype=object)

    client = get("client_id")
    rej.add(client == "", "client", client, "no client")
    date = parse_timestamp_column(get("date"))
    rej.add(date.errors.notna(), text["date"][1], get("date"), date.errors)
    day = date.values.dt.normalize()
    rej.add(
        (day < pd.Timestamp(earliest)) | (day > pd.Timestamp(latest)),
        text["date"][1],
        get("date"),
        f"is outside the plausible dates {earliest} – {latest}",
    )
    amount = parse_amount_column(get("amount"))
    rej.add(amount.errors.notna(), text["amount"][1], get("amount"), amount.errors)
    rej.add(
        amount.values <= 0,
        text["amount"][1],
        get("amount"),
        "the amount must be positive (record money returned with the status refunded)",
    )
    codes, unknown = currency_codes(get("currency"))
    rej.add(unknown, "currency", get("currency"), "is not a currency code (use e.g. USD, UAH)")
    written = codes.where(codes.notna(), amount.currencies)
    fallback = (currency or header_currency.get("amount") or "").upper() or None
    row_currency = written.where(written.notna(), fallback)
    rej.add(
        row_currency.isna(),
        "currency",
        get("currency"),
        "no currency: add a currency column or pass --currency",
    )
    status_text = get("status").str.lower()
    status = status_text.map(_STATUS).where(status_text != "", "paid") if "status" in text else "paid"
    status = pd.Series(status, index=frame.index, dtype=object)
    rej.add(
        status.isna(), "status", get("status"), f"the status must be one of: {', '.join(STATUSES)} (or blank)"
    )
    kind_text = get("kind").str.lower()
    kind = kind_text.map(_KIND).where(kind_text != "", "fee")
    rej.add(kind.isna(), "kind", get("kind"), f"the kind must be one of: {', '.join(KINDS)} (or blank)")
    month_text = get("month")
    month = parse_timestamp_column(_first_of_month(month_text).where(month_text != "", get("date")))
    rej.add(
        (month_text != "") & month.errors.notna(),
        "month",
        month_text,
        month.errors.fillna("is not a month (YYYY-MM)"),
    )
    invoice = get("invoice")
    out = pd.DataFrame(
        {
            "client_id": client,
            "date": day,
            "month": month.values.dt.to_period("M").dt.start_time,
            "amount": amount.values,
            "currency": row_currency,
            "status": status,
            "kind": kind,
            "invoice": invoice.where(invoice != ""),
            "source_row": rows.astype(int),
        }
    )
    identity = out[["client_id", "date", "amount", "currency", "kind", "month"]]
    out["payment_key"] = ("invoice:" + out["invoice"].astype(str)).where(
        out["invoice"].notna(),
        "row:" + content_hash(identity).astype(str),  # str also when no row is left
    )
    out["row_hash"] = content_hash(out.drop(columns=["source_row", "payment_key"]))
    valid = out[~rej.mask]
    first_row = valid.groupby("payment_key")["source_row"].transform("min")
    repeat = valid.index[valid["source_row"] != first_row]
    reasons = pd.Series(
        [
            f"repeats row {first_row[i]} (same invoice number, or same client, date, amount and kind; "
            "add an invoice column to tell two such payments apart)"
            for i in repeat
        ],
        index=repeat,
        dtype=object,
    )
    numbered = out["invoice"].notna()
    rej.add(
        pd.Series(out.index.isin(repeat), index=out.index),
        pd.Series("client", index=out.index).where(~numbered, "invoice"),
        client.where(~numbered, invoice),
        reasons.reindex(out.index),
    )
    kept = out[~rej.mask].reset_index(drop=True)
    kept["date"] = kept["date"].astype("datetime64[us]")
    kept["month"] = kept["month"].astype("datetime64[us]")
    return Normalized(
        "client_payments",
        BOOK,
        "client_book",
        kept[PAYMENT_COLUMNS],
        rejected_frame(table, rej, rows),
        table.rows_read,
    )


_YEAR_MONTH = re.compile(r"^(\d{4})[-./](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-./](\d{4})$")


def _first_of_month(text: pd.Series) -> pd.Series:
    """``2026-01``, ``2026.1`` or ``01.2026`` as ``2026-01-01``; other texts as they are (a full date)."""

    def one(value: str) -> str:
        if match := _YEAR_MONTH.match(value):
            return f"{match[1]}-{int(match[2]):02d}-01"
        if match := _MONTH_YEAR.match(value):
            return f"{match[2]}-{int(match[1]):02d}-01"
        return value

    return text.map(one)
