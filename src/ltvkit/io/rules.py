"""The rules of :mod:`ltvkit.io.orders` as Ibis expressions: the checks a row can fail (the first names its
reason), the customer key, the currency, excluded statuses, what a partly paid order paid, tax and shipping
out of revenue, statuses, refunds, free orders and the channel; :mod:`ltvkit.io.mapping`
applies them to a file's rows in DuckDB and to a source's rows in its engine."""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from ltvkit.io.orders import NO_CURRENCY, NOT_CAPTURED
from ltvkit.io.parsing import CURRENCY_TOKENS, SHARED_SIGNS


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
    """The checks that leave out a row that is no customer's order: its status says so (GetCourse's false
    orders, Stripe's payouts, fees and failed payments), with the preset's reason; or its payment was never
    captured (Stripe's ``Captured`` is ``false``: a card authorised and never charged, or declined). They
    come before any other rule, so the row says what it is rather than what else is odd about it. ``t`` has
    ``status_excluded`` (the reason, null for an order), ``status_column``, ``status_text``, ``captured``
    (text, null without the column) and ``captured__col``."""
    return [
        check(t.status_excluded.notnull(), t.status_column, t.status_text, t.status_excluded),
        check(
            t.captured.lower().isin(list(NOT_CAPTURED)),
            t["captured__col"],
            t.captured,
            "is a payment that was never captured (authorised only, or declined): no money was taken",
        ),
    ]


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
