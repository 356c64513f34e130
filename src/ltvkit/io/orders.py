"""What an order and a spend row are, once: their fields and types, the status vocabulary, and the rules
that turn mapped values into orders — customer key, statuses, refunds, free orders, currency, channel.

Both ways in read these definitions: a file import (:mod:`ltvkit.io.normalize`) and a table analysed where
it lives (:mod:`ltvkit.data.sources`) map their columns with :func:`ltvkit.io.mapping.map_orders`, whose
last step is :func:`order_rules` — Ibis expressions, run in DuckDB for a file and in the table's own engine
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
- a row whose status says it is no order (a false order, a payout) is left out first, with the preset's
  reason;
- without a column for what was paid, a partly paid order pays the sum of the paid parts (GetCourse's
  «Заработано» + «Комиссии») or is left out, never counted at its price;
- with ``exclude_tax_shipping`` the amount is less its tax and shipping, the refund capped at what is left;
- the channel is the channel column, else ``utm_source`` (but for a first-touch-only preset).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from ltvkit.io.parsing import CURRENCY_TOKENS, SHARED_SIGNS

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
#: (``price``, GetCourse's ``earned``), and what ``exclude_tax_shipping`` takes out of it.
ORDER_INPUTS = (
    FieldSpec("price", "float64"),
    FieldSpec("earned", "float64"),
    FieldSpec("tax", "float64"),
    FieldSpec("shipping", "float64"),
)
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
#: What every analysis reads.
ORDER_SCHEMA = ibis.schema({f.name: f.dtype for f in ORDER})
SPEND_SCHEMA = ibis.schema({f.name: f.dtype for f in SPEND})
#: What an import stores beside them: unmapped columns as JSON, the file's row, a hash of the content.
STORED = ("extra", "source_row", "row_hash")
ORDER_COLUMNS = ["order_key", *ORDER_FIELDS, *STORED]
SPEND_COLUMNS = ["spend_key", *SPEND_SCHEMA.names, *STORED]

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


# --- the rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A rule a row can fail: the condition, the column and value to show, and the reason."""

    fails: ir.BooleanValue
    column: ir.StringValue
    value: ir.StringValue
    reason: ir.StringValue


def check(fails: ir.BooleanValue, column: str | ir.Value, value: ir.Value, reason: str | ir.Value) -> Check:
    def text(v: str | ir.Value) -> ir.StringValue:
        return ibis.literal(v, "string") if isinstance(v, str) else v.cast("string")

    return Check(fails.fill_null(False), text(column), text(value), text(reason))


def first_failure(t: ir.Table, checks: Sequence[Check]) -> ir.Table:
    """``t`` with ``reason``, ``reason_column`` and ``reason_value`` of the first check a row fails (null if
    none) and ``failed``. Each condition is written once (the engine inlines every reference)."""
    if not checks:
        null = ibis.null("string")
        return t.mutate(reason=null, reason_column=null, reason_value=null, failed=ibis.literal(False))
    t = t.mutate(__check=ibis.cases(*((c.fails, i) for i, c in enumerate(checks)), else_=ibis.null("int64")))
    k = t["__check"]
    return t.mutate(
        **{
            name: ibis.cases(
                *((k == i, getattr(c, part)) for i, c in enumerate(checks)), else_=ibis.null("string")
            )
            for name, part in (("reason", "reason"), ("reason_column", "column"), ("reason_value", "value"))
        },
        failed=k.notnull(),
    ).drop("__check")


def customer_key(
    customer_id: ir.StringValue, email: ir.StringValue, phone: ir.StringValue, guest_ids: Sequence[str]
) -> dict[str, ir.Value]:
    """The customer: the id unless it is a guest id, else the email in lower case, else the phone's digits
    (and ``+``). Returns the normalised email and phone beside it."""
    if guest_ids:
        customer_id = ibis.ifelse(customer_id.isin(list(guest_ids)), ibis.null("string"), customer_id)
    email = email.lower()
    phone = phone.re_replace(r"[^0-9+]", "")
    phone = ibis.ifelse(phone == "", ibis.null("string"), phone)
    return {"customer_id": ibis.coalesce(customer_id, email, phone), "email": email, "phone": phone}


def sign_agrees(sign: ir.StringValue, code: ir.StringValue) -> ir.BooleanValue:
    """Whether an amount written with ``sign`` (lower case) can be in currency ``code``
    (:func:`ltvkit.io.parsing.sign_agrees` as an expression)."""
    written = sign.substitute(CURRENCY_TOKENS, else_=ibis.null("string"))
    shared = [(sign == s) & code.isin(sorted(codes)) for s, codes in SHARED_SIGNS.items()]
    return (written == code) | functools.reduce(operator.or_, shared)


@dataclass(frozen=True)
class Money:
    """A parsed money field: its value, the currency sign or word it was written with (lower case), the
    reason it did not parse, the text as written and the column it came from."""

    value: ir.FloatingValue
    sign: ir.StringValue
    error: ir.StringValue
    text: ir.StringValue
    column: ir.StringValue


def written_currency(t: ir.Table, money: Mapping[str, Money]) -> ir.Table:
    """``t`` with ``written`` (the currency the row's amounts are written in: the first that names one) and
    ``sign`` (the sign or word it is written with), and per money field ``<field>__code``."""
    t = t.mutate(
        **{
            f"{f}__code": m.sign.substitute(CURRENCY_TOKENS, else_=ibis.null("string"))
            for f, m in money.items()
        }
    )
    codes = [t[f"{f}__code"] for f in money] or [ibis.null("string")]
    signs = [m.sign for m in money.values()] or [ibis.null("string")]
    return t.mutate(
        written=ibis.coalesce(*codes, ibis.null("string")), sign=ibis.coalesce(*signs, ibis.null("string"))
    )


def money_checks(t: ir.Table, money: Mapping[str, Money]) -> list[Check]:
    """Checks on the money fields: a value that does not parse; amounts of one row naming two currencies
    (``t`` from :func:`written_currency`)."""
    checks: list[Check] = []
    before: list[ir.StringValue] = []
    for f, m in money.items():
        checks.append(check(m.error.notnull(), m.column, m.text, m.error))
        code = t[f"{f}__code"]
        if before:
            earlier = ibis.coalesce(*before, ibis.null("string"))
            checks.append(
                check(
                    code.notnull() & earlier.notnull() & (code != earlier),
                    m.column,
                    m.text,
                    "names another currency than the other amounts of the row",
                )
            )
        before.append(code)
    return checks


def currency_rule(t: ir.Table, fallback: str | None) -> tuple[ir.StringValue, list[Check]]:
    """The row's currency (column, else written in the amounts, else ``fallback``, else
    :data:`NO_CURRENCY`) and the checks on the currency column. ``t`` has ``currency_text``,
    ``currency_code`` (null where the text is no currency), ``currency_column``, ``written`` and ``sign``."""
    code, written, sign = t.currency_code, t.written, t.sign
    checks = [
        check(
            t.currency_text.notnull() & code.isnull(),
            t.currency_column,
            t.currency_text,
            "is not a currency code (use e.g. RUB, USD)",
        ),
        check(
            code.notnull() & sign.notnull() & ~sign_agrees(sign, code),
            t.currency_column,
            t.currency_text,
            "the currency column says " + code + ", the amount is written in '" + sign + "'",
        ),
    ]
    currency = ibis.coalesce(code, written, ibis.literal(fallback or NO_CURRENCY, "string"))
    return currency, checks


def excluded_checks(t: ir.Table) -> list[Check]:
    """The check that leaves out a row whose status says it is no customer's order (GetCourse's false
    orders, Stripe's payouts and fees), with the preset's reason; it comes before any other rule, so the row
    says what it is rather than what else is odd about it. ``t`` has ``status_excluded`` (the reason, null
    for an order), ``status_column`` and ``status_text``."""
    return [check(t.status_excluded.notnull(), t.status_column, t.status_text, t.status_excluded)]


def paid_rule(
    t: ir.Table, *, price_column: str, parts: Mapping[str, str], paid_header: str
) -> tuple[ir.FloatingValue, list[Check]]:
    """What each order paid when the export has no column for it (GetCourse's «Оплачено»): the price
    (``price``: «Стоимость», Shopify's ``Total``), except for partly paid orders (``status_partial``), whose
    price is not what was paid. Their payment is the sum of the paid ``parts`` (field → its header) when the
    export has them (GetCourse: «Заработано» + «Комиссии», what was paid less the payment system's fees,
    plus those fees; a blank part leaves the row out); without them the row is left out, since its full
    price would overstate revenue. ``paid_header`` names the column to add to the export."""
    partial = t.status_partial.fill_null(False)
    if parts:
        paid = functools.reduce(operator.add, (t[p] for p in parts))
        named = " + ".join(parts.values())
        fails, reason = partial & paid.isnull(), f"is partly paid and a value of {named} is blank"
        amount = ibis.ifelse(partial, paid, t.price)
    else:
        fails, amount = partial, t.price
        reason = (
            "is partly paid, and the export has no column saying how much: its price "
            f"{price_column!r} is not what was paid (add the column {paid_header!r} to the export)"
        )
    return amount, [check(fails, t["price__col"], t.status_text, reason)]


def without_tax_shipping(
    amount: ir.FloatingValue, refunded: ir.FloatingValue, tax: ir.FloatingValue, shipping: ir.FloatingValue
) -> dict[str, ir.Value]:
    """``amount`` less its tax and shipping, and ``refunded`` capped at what is left (a refund of the whole
    order gave back its tax and shipping too): Shopify's ``exclude_tax_shipping``."""
    net = amount - tax.fill_null(0.0) - shipping.fill_null(0.0)
    back = refunded.fill_null(0.0)
    return {"amount": net, "refunded": ibis.ifelse(back <= net, back, ibis.greatest(net, 0.0))}


def order_rules(
    t: ir.Table, *, has_status: bool, zero_amount_is_free: bool, first_touch_only: bool = False
) -> tuple[ir.Table, list[Check]]:
    """``t`` with the status, refund and channel of each order, and the checks on statuses and refunds.

    ``t`` holds ``amount`` and ``refunded`` (null where blank), ``status_text``, ``status`` (the vocabulary's
    reading, null where unknown), ``status_reason`` (why not), ``status_column``, ``refunded_column``,
    ``channel`` and ``utm_source``. With ``first_touch_only`` the channel is the channel column alone (a
    first-touch column such as GetCourse's ``user_utm_source``: the order's own ``utm_source`` is its last
    touch and never stands in for it)."""
    a, r = t.amount, t.refunded.fill_null(0.0)
    k = t.status if has_status else ibis.literal("paid")
    t = t.mutate(
        known_status=k,
        refunded=ibis.ifelse((k == "refunded") & (a > 0) & (r == 0), a, r),  # refunded whole
        channel=t.channel if first_touch_only else ibis.coalesce(t.channel, t.utm_source),
    )
    a, k, refunded = t.amount, t.known_status, t.refunded
    checks: list[Check] = []
    if has_status:
        checks.append(check(t.status_text.isnull(), t.status_column, "", "empty status"))
        checks.append(check(k.isnull(), t.status_column, t.status_text, t.status_reason))
    checks.append(
        check(
            (a >= 0) & (refunded > a + 1e-9),
            t.refunded_column,
            refunded.cast("string"),
            "the refund is larger than the amount",
        )
    )
    status = ibis.cases(
        ((k == "paid") & (a < 0), "refunded"),  # a refund on its own row
        ((k == "paid") & (refunded > 0) & (refunded < a), "partially_refunded"),
        ((k == "paid") & (refunded > 0) & (refunded >= a), "refunded"),
        *([((k == "paid") & (a == 0), "free")] if zero_amount_is_free else []),
        else_=k,
    )
    return t.mutate(status=status), checks
