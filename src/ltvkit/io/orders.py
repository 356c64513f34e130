"""What an order and a spend row are, once: their fields and types, the status vocabulary, and the rules
that turn mapped values into orders — customer key, statuses, refunds, free orders, currency, channel.

Both ways in read these definitions: a file import (:mod:`ltvkit.io.normalize`) and a table analysed where
it lives (:mod:`ltvkit.data.sources`) map their columns with :func:`ltvkit.io.mapping.map_orders`, whose
last step is :mod:`ltvkit.io.rules` — Ibis expressions, run in DuckDB for a file and in the table's own engine
for a source. The rules, in order (the first that fails names the row's reason):

- the customer is the customer id (a platform's guest id such as WooCommerce's ``0`` counts as none), else
  the email (lower case), else the phone (digits and ``+`` only);
- statuses are read through the preset's vocabulary (:data:`STATUSES` are the canonical ones); an empty or
  unknown status leaves the row out;
- a paid row with a negative amount is a refund on its own row; a ``refunded`` status without a refund
  amount refunds the whole amount; a partial refund marks the order ``partially_refunded``; a refund larger
  than the amount leaves the row out;
- a zero-amount paid order is ``free`` where the platform registers free sign-ups as orders;
- the currency is the currency column's, else the one the amounts are written in (``990 руб.``), else the
  fallback (the ``currency`` option, a header such as ``Стоимость, RUB``, the preset's), else
  :data:`NO_CURRENCY`; a currency column that disagrees with the amounts' sign leaves the row out;
- a row whose status says it is no order (a false order, a payout, a failed payment) is left out first,
  with the preset's reason; then a payment that was never captured (Stripe's ``Captured`` is false);
- without a column for what was paid, a partly paid order pays the sum of the paid parts (GetCourse's
  «Заработано» + «Комиссии») or is left out, never counted at its price;
- with ``exclude_tax_shipping`` the amount is less its tax and shipping, the refund capped at what is left;
- the channel is the channel column, else ``utm_source`` (but for a first-touch-only preset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import ibis.expr.schema as sch

FieldType = Literal["string", "timestamp", "date", "float64"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of orders or spend: its name, its type, and whether a file or a table must map it."""

    name: str
    dtype: FieldType
    mapped: bool = True  # a column of the user's table can hold it (else ltvkit derives it)


#: Canonical order statuses. Revenue counts paid, partially_refunded and refunded (net of refunds);
#: cancelled, pending and free (zero-price registrations) are loaded and kept but are not purchases.
STATUSES = ("paid", "partially_refunded", "refunded", "cancelled", "pending", "free")

ORDER = (
    FieldSpec("order_key", "string", mapped=False),
    FieldSpec("order_id", "string"),
    FieldSpec("customer_id", "string"),
    FieldSpec("email", "string"),
    FieldSpec("phone", "string"),
    FieldSpec("ordered_at", "timestamp"),
    FieldSpec("amount", "float64"),
    FieldSpec("refunded", "float64"),
    FieldSpec("currency", "string"),
    FieldSpec("status", "string"),
    FieldSpec("product", "string"),
    FieldSpec("quantity", "float64"),
    FieldSpec("channel", "string"),
    FieldSpec("utm_source", "string"),
    FieldSpec("utm_medium", "string"),
    FieldSpec("utm_campaign", "string"),
    FieldSpec("utm_content", "string"),
    FieldSpec("utm_term", "string"),
    FieldSpec("cost", "float64"),
    FieldSpec("fee", "float64"),
)
#: Fields read, not stored: what the amount is made of when an export has no column for what was paid
#: (``price``, GetCourse's ``earned``), what ``exclude_tax_shipping`` takes out of it, and whether the
#: payment was taken at all (Stripe's ``Captured``).
ORDER_INPUTS = (
    FieldSpec("price", "float64"),
    FieldSpec("earned", "float64"),
    FieldSpec("tax", "float64"),
    FieldSpec("shipping", "float64"),
    FieldSpec("captured", "string"),
)
#: What a ``captured`` column says of a payment that was never taken (authorised only, or declined).
NOT_CAPTURED = ("false", "no", "0")
SPEND = (
    FieldSpec("date", "date"),
    FieldSpec("period", "string", mapped=False),
    FieldSpec("channel", "string"),
    FieldSpec("campaign", "string"),
    FieldSpec("amount", "float64"),
    FieldSpec("currency", "string"),
)
#: Fields of an order a table can hold, and the fields a mapping file may name.
ORDER_FIELDS = tuple(f.name for f in ORDER if f.mapped)
ORDER_INPUT_FIELDS = tuple(f.name for f in ORDER_INPUTS)
MAPPED_ORDER_FIELDS = (*ORDER_FIELDS, *ORDER_INPUT_FIELDS)
SPEND_FIELDS = tuple(f.name for f in SPEND if f.mapped)
#: Groups of order fields of which a table must have at least one column each.
ORDER_REQUIRED = (("ordered_at",), ("amount", "price"), ("customer_id", "email", "phone"))
SPEND_REQUIRED = (("date",), ("amount",))
#: Money fields of an order, the paid amount (else the price) required; one decimal mark for all of them.
ORDER_MONEY = ("amount", "refunded", "cost", "fee", "price", "earned", "tax", "shipping")
#: What every analysis reads (as Ibis schemas: ``ORDER_SCHEMA``, ``SPEND_SCHEMA``).
ORDER_TYPES: dict[str, FieldType] = {f.name: f.dtype for f in ORDER}
SPEND_TYPES: dict[str, FieldType] = {f.name: f.dtype for f in SPEND}
#: What an import stores beside them: unmapped columns as JSON, the file's row, a hash of the content.
STORED = ("extra", "source_row", "row_hash")
ORDER_COLUMNS = ["order_key", *ORDER_FIELDS, *STORED]
SPEND_COLUMNS = ["spend_key", *SPEND_TYPES, *STORED]

NO_CURRENCY = "XXX"  # ISO 4217 code for "no currency": kept apart, never summed with real money
UNATTRIBUTED = "(unattributed)"  # the channel of spend rows that name none
#: Fields that may hold several lines of text; every other mapped field holds one line.
FREE_TEXT_FIELDS = frozenset({"product"})

_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE", "float64": "DOUBLE"}
_NOT_NULL = {
    "orders": {"customer_id", "ordered_at", "amount", "refunded", "currency", "status"},
    "spend": {"date", "period", "channel", "amount", "currency"},
}


def table_ddl(kind: Literal["orders", "spend"]) -> str:
    """The workspace's ``CREATE TABLE`` of orders or spend, from the fields above."""
    key = "order_key" if kind == "orders" else "spend_key"
    fields = [f for f in (ORDER if kind == "orders" else SPEND) if f.name != key]
    columns = [
        f"{key} VARCHAR PRIMARY KEY",
        *(
            f'"{f.name}" {_SQL_TYPES[f.dtype]}' + (" NOT NULL" if f.name in _NOT_NULL[kind] else "")
            for f in fields
        ),
        "extra VARCHAR",
        "import_id INTEGER NOT NULL",
        "source_row INTEGER",
        "row_hash VARCHAR NOT NULL",
    ]
    return f"CREATE TABLE IF NOT EXISTS {kind} ({', '.join(columns)});"


def __getattr__(name: str) -> sch.Schema:
    """``ORDER_SCHEMA`` and ``SPEND_SCHEMA``, built on first use (``ltv --help`` loads no Ibis)."""
    if name in ("ORDER_SCHEMA", "SPEND_SCHEMA"):
        import ibis

        return ibis.schema(ORDER_TYPES if name == "ORDER_SCHEMA" else SPEND_TYPES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
