"""Presets: how the columns and statuses of a known export map to ltvkit's canonical fields.

A preset lists, for each canonical field, the header names that may hold it (matched case- and
space-insensitively, first present wins per row: ``Paid at`` then ``Created at``), the status vocabulary of
the platform, and the headers that identify the export for auto-detection. Sources of the platform facts are
collected in ``docs/import.md``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from ltvkit.errors import MappingError
from ltvkit.io.orders import MAPPED_ORDER_FIELDS, SPEND_FIELDS, STATUSES

Kind = Literal["orders", "spend"]


def normalize_header(name: str) -> str:
    """Lower case, no BOM, underscores as spaces, single spaces, no surrounding quotes:
    ``' Order_Total'`` → ``'order total'``."""
    return re.sub(r"[\s_]+", " ", name.replace("\ufeff", "").strip().strip('"').lower()).strip()


@dataclass(frozen=True)
class Preset:
    """Column mapping and status vocabulary of one export format."""

    name: str
    title: str
    kind: Kind
    columns: Mapping[str, tuple[str, ...]]
    statuses: Mapping[str, str] = field(default_factory=dict)
    signature: tuple[tuple[str, ...], ...] = ()
    positional: tuple[tuple[str, ...], ...] = ()
    group_lines: bool = False
    zero_amount_is_free: bool = False
    currency: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    explicit: bool = False  # columns named by the user: a named header that is missing is an error
    guest_ids: tuple[str, ...] = ()  # customer ids that mean "no account" (the email identifies the buyer)
    #: Raw statuses (lower case) of rows that are no customer's order, and why (a false order, a payout).
    excluded: Mapping[str, str] = field(default_factory=dict)
    #: Raw statuses (lower case) of partly paid orders: only what was paid counts, never the price.
    partial_statuses: frozenset[str] = frozenset()
    #: Fields whose sum is what was paid when the export has no paid column (GetCourse: earned + fee).
    paid_parts: tuple[str, ...] = ()
    #: The channel is the first-touch column only: the order's own utm_* are its last touch and never stand
    #: in for a first touch the customer does not have.
    first_touch_only: bool = False

    def matches(self, headers: list[str], has_header: bool) -> bool:
        """Whether a file with these headers is this preset's export."""
        if not has_header:
            return any(len(headers) == len(cols) for cols in self.positional)
        present = {normalize_header(h) for h in headers}
        return any(all(normalize_header(h) in present for h in sig) for sig in self.signature)

    def status_of(self, raw: str) -> str | None:
        """Canonical status of a raw status text, None if the vocabulary does not know it."""
        return self.statuses.get(raw.strip().lower())

    def header_names(self) -> frozenset[str]:
        """Every header this preset knows (normalised), for telling which sheet of a workbook holds orders."""
        return frozenset(normalize_header(h) for names in self.columns.values() for h in names)


# --- shared vocabularies -------------------------------------------------------------------------------

_GENERIC_STATUSES = {
    **dict.fromkeys(
        [
            "paid",
            "completed",
            "complete",
            "succeeded",
            "success",
            "successful",
            "settled",
            "оплачен",
            "оплачено",
            "оплата",
            "завершен",
            "завершён",
            "выполнен",
            "успешно",
            "оплачений",
            "сплачено",
            "виконано",
            "успішно",
        ],
        "paid",
    ),
    **dict.fromkeys(
        ["refunded", "refund", "returned", "возврат", "возвращен", "возвращён", "повернено", "повернення"],
        "refunded",
    ),
    **dict.fromkeys(
        [
            "partially refunded",
            "partially_refunded",
            "partial refund",
            "частичный возврат",
            "частично возвращен",
            "частково повернено",
        ],
        "partially_refunded",
    ),
    **dict.fromkeys(
        [
            "cancelled",
            "canceled",
            "failed",
            "void",
            "voided",
            "declined",
            "expired",
            "отменен",
            "отменён",
            "отклонен",
            "скасовано",
            "відхилено",
            "відмінено",
        ],
        "cancelled",
    ),
    **dict.fromkeys(
        [
            "pending",
            "new",
            "unpaid",
            "awaiting payment",
            "on hold",
            "новый",
            "ожидает оплаты",
            "не оплачен",
            "новий",
            "очікує оплати",
            "не оплачено",
        ],
        "pending",
    ),
    **dict.fromkeys(["free", "бесплатно", "безкоштовно"], "free"),
}

_GENERIC_ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order id",
        "order_id",
        "order number",
        "order no",
        "order",
        "invoice id",
        "invoice",
        "transaction id",
        "payment id",
        "id заказа",
        "номер заказа",
        "заказ",
        "id замовлення",
        "номер замовлення",
        "замовлення",
        "id",
    ),
    "customer_id": (
        "customer id",
        "customer_id",
        "client id",
        "client_id",
        "user id",
        "user_id",
        "customer",
        "client",
        "buyer",
        "id клиента",
        "id покупателя",
        "id пользователя",
        "клиент",
        "покупатель",
        "id клієнта",
        "id покупця",
        "id користувача",
        "клієнт",
        "покупець",
    ),
    "email": (
        "email",
        "e-mail",
        "customer email",
        "buyer email",
        "billing email",
        "почта",
        "электронная почта",
        "эл. почта",
        "електронна пошта",
        "пошта",
    ),
    "phone": ("phone", "phone number", "телефон"),
    "ordered_at": (
        "ordered at",
        "paid at",
        "payment date",
        "date paid",
        "order date",
        "purchase date",
        "created at",
        "created",
        "date",
        "timestamp",
        "datetime",
        "дата оплаты",
        "дата заказа",
        "дата покупки",
        "дата создания",
        "дата",
        "дата оплати",
        "дата замовлення",
        "дата створення",
    ),
    "amount": (
        "amount",
        "total",
        "order total",
        "revenue",
        "sum",
        "price",
        "оплачено",
        "сумма",
        "выручка",
        "стоимость",
        "цена",
        "сплачено",
        "сума",
        "виручка",
        "дохід",
        "вартість",
        "ціна",
    ),
    "refunded": (
        "refunded",
        "amount refunded",
        "refunded amount",
        "refund amount",
        "refund",
        "сумма возврата",
        "возврат",
        "сума повернення",
        "повернення",
    ),
    "currency": ("currency", "валюта"),
    "status": (
        "status",
        "order status",
        "payment status",
        "статус",
        "статус заказа",
        "статус оплаты",
        "статус замовлення",
        "статус оплати",
    ),
    "product": (
        "product",
        "product name",
        "item",
        "item name",
        "title",
        "course",
        "sku",
        "товар",
        "продукт",
        "курс",
        "название",
        "наименование",
        "назва",
        "найменування",
    ),
    "quantity": ("quantity", "qty", "количество", "кол-во", "кількість"),
    "channel": ("channel", "acquisition channel", "source", "канал", "источник", "джерело"),
    "utm_source": ("utm_source", "utm source"),
    "utm_medium": ("utm_medium", "utm medium"),
    "utm_campaign": ("utm_campaign", "utm campaign"),
    "utm_content": ("utm_content", "utm content"),
    "utm_term": ("utm_term", "utm term"),
    "cost": ("cost", "cogs", "unit cost", "себестоимость", "собівартість"),
    "fee": ("fee", "fees", "commission", "комиссия", "комиссии", "комісія"),
}

GENERIC = Preset(
    name="generic",
    title="Any table with English, Russian or Ukrainian column names",
    kind="orders",
    columns=_GENERIC_ORDER_COLUMNS,
    statuses=_GENERIC_STATUSES,
)

GETCOURSE = Preset(
    name="getcourse",
    title="GetCourse order export",
    kind="orders",
    columns={
        **_GENERIC_ORDER_COLUMNS,
        "order_id": ("id заказа", "номер"),
        "customer_id": ("id пользователя",),
        "email": ("email",),
        "ordered_at": ("дата оплаты", "дата создания"),
        # Оплачено is what was paid (partial payments); Стоимость is the price; Заработано is what was paid
        # less the payment system's Комиссии.
        "amount": ("оплачено",),
        "price": ("стоимость",),
        "earned": ("заработано",),
        "status": ("статус",),
        "product": ("title", "состав заказа", "название"),
        # user_utm_* is the user's first touch, which GetCourse's own analytics attribute to; the order's
        # utm_* are its last touch and stay in utm_source … utm_term.
        "channel": ("user_utm_source",),
        "fee": ("комиссии",),
    },
    statuses={
        **dict.fromkeys(["завершен", "завершён", "payed", "оплачен"], "paid"),
        **dict.fromkeys(["частично оплачен", "part_payed"], "paid"),
        **dict.fromkeys(["отменен", "отменён", "cancelled"], "cancelled"),
        **dict.fromkeys(["ожидаем возврата", "waiting_for_return", "возврат"], "refunded"),
        **dict.fromkeys(
            [
                "новый",
                "new",
                "в работе",
                "in_work",
                "ожидаем оплаты",
                "payment_waiting",
                "не подтвержден",
                "не подтверждён",
                "not_confirmed",
                "отложен",
                "pending",
            ],
            "pending",
        ),
    },
    excluded=dict.fromkeys(
        ["ложный", "false"], "is a false order (Ложный): GetCourse marks test and spam orders so"
    ),
    partial_statuses=frozenset({"частично оплачен", "part_payed"}),
    paid_parts=("earned", "fee"),
    first_touch_only=True,
    signature=(("id заказа", "статус", "дата создания"), ("номер", "статус", "дата создания")),
    zero_amount_is_free=True,
    currency="RUB",
)

STRIPE = Preset(
    name="stripe",
    title="Stripe payments export (unified payments CSV)",
    kind="orders",
    columns={
        "order_id": ("id",),
        "customer_id": ("customer id",),
        "email": ("customer email",),
        # "Created date (UTC)" in today's export, "Created (UTC)" in older ones
        "ordered_at": ("created date (utc)", "created (utc)", "created"),
        "amount": ("amount",),
        "refunded": ("amount refunded",),
        "currency": ("currency",),
        "status": ("status",),
        "product": ("description",),
        "fee": ("fee",),
        "captured": ("captured",),
    },
    statuses={
        **dict.fromkeys(["paid", "succeeded"], "paid"),
        "refunded": "refunded",
        **dict.fromkeys(["partially refunded", "partially_refunded"], "partially_refunded"),
        **dict.fromkeys(["canceled", "cancelled", "expired"], "cancelled"),
        **dict.fromkeys(
            [
                "pending",
                "uncaptured",
                "incomplete",
                "processing",
                "requires_payment_method",
                "requires payment method",
                "requires_action",
                "requires action",
                "requires_capture",
            ],
            "pending",
        ),
    },
    # a declined charge or one Radar blocked took no money: left out, not loaded as a cancelled order
    excluded=dict.fromkeys(
        ["failed", "blocked"], "is a failed payment (declined, or blocked by Radar): no money was taken"
    ),
    signature=(
        ("id", "created date (utc)", "amount", "amount refunded", "currency"),
        ("id", "created (utc)", "amount", "amount refunded", "currency"),
    ),
    options={"source_timezone": "UTC"},
)

_NOT_A_PAYMENT = "is a row of the balance that is no customer's payment"
STRIPE_BALANCE = Preset(
    name="stripe_balance",
    title="Stripe balance change report, itemized (one row per balance transaction)",
    kind="orders",
    columns={
        "order_id": ("balance_transaction_id", "id"),
        "customer_id": ("customer_id",),
        "email": ("customer_email",),
        "ordered_at": ("created_utc", "created (utc)"),
        "amount": ("gross", "amount"),
        "currency": ("currency",),
        "status": ("reporting_category", "type"),
        "product": ("description",),
        "fee": ("fee",),
    },
    # a refund is a row of its own with a negative gross amount
    statuses={
        **dict.fromkeys(["charge", "payment"], "paid"),
        **dict.fromkeys(["refund", "payment_refund", "dispute"], "refunded"),
    },
    excluded={
        "dispute_reversal": "is a dispute reversal (funds a dispute took came back), which the report does "
        "not tie to its payment: left out, while the dispute it reverses counts as a refund",
        **dict.fromkeys(
            [
                "payout",
                "payout_reversal",
                "transfer",
                "transfer_reversal",
                "fee",
                "stripe_fee",
                "tax",
                "topup",
                "other_adjustment",
                "adjustment",
                "platform_earning",
                "connect_reserved_funds",
                "risk_reserved_funds",
            ],
            _NOT_A_PAYMENT,
        ),
    },
    signature=(
        ("balance_transaction_id", "reporting_category", "gross", "currency"),
        ("id", "type", "source", "amount", "net", "available on (utc)"),
    ),
    options={"source_timezone": "UTC"},
)

SHOPIFY = Preset(
    name="shopify",
    title="Shopify orders export (one row per line item)",
    kind="orders",
    columns={
        "order_id": ("name",),
        "email": ("email",),
        "phone": ("phone", "billing phone"),
        "ordered_at": ("paid at", "created at"),
        # Total is what the order charged; a partially paid order has no column saying how much was paid
        "price": ("total",),
        "refunded": ("refunded amount",),
        "tax": ("taxes",),
        "shipping": ("shipping",),
        "currency": ("currency",),
        "status": ("financial status",),
        "product": ("lineitem name",),
        "quantity": ("lineitem quantity",),
        "channel": ("source",),
    },
    statuses={
        **dict.fromkeys(["paid", "partially_paid"], "paid"),
        "partially_refunded": "partially_refunded",
        "refunded": "refunded",
        **dict.fromkeys(["voided", "expired"], "cancelled"),
        **dict.fromkeys(["pending", "authorized"], "pending"),
    },
    partial_statuses=frozenset({"partially_paid"}),
    signature=(("name", "financial status", "lineitem name", "total"),),
    group_lines=True,
)

#: WooCommerce order statuses: slugs, and the labels of the admin in English, Russian and Ukrainian (which
#: the export plugins write).
_WOOCOMMERCE_STATUSES = {
    **dict.fromkeys(
        [
            "wc-completed",
            "completed",
            "wc-processing",
            "processing",
            "выполнен",
            "выполнено",
            "обработка",
            "в обработке",
            "виконано",
            "виконане",
            "обробка",
            "в обробці",
        ],
        "paid",
    ),
    **dict.fromkeys(
        ["wc-refunded", "refunded", "возвращён", "возвращен", "возвращено", "повернено", "повернуто"],
        "refunded",
    ),
    **dict.fromkeys(
        [
            "wc-cancelled",
            "cancelled",
            "wc-failed",
            "failed",
            "отменён",
            "отменен",
            "отменено",
            "не удался",
            "неудачно",
            "скасовано",
            "не вдалося",
            "невдало",
            "невдалий",
        ],
        "cancelled",
    ),
    **dict.fromkeys(
        [
            "wc-pending",
            "pending",
            "pending payment",
            "wc-on-hold",
            "on-hold",
            "on hold",
            "checkout-draft",
            "draft",
            "в ожидании оплаты",
            "ожидает оплаты",
            "на удержании",
            "черновик",
            "очікує оплати",
            "очікування оплати",
            "в очікуванні оплати",
            "на утриманні",
            "чернетка",
        ],
        "pending",
    ),
}

WOOCOMMERCE = Preset(
    name="woocommerce",
    title="WooCommerce orders export (the order-export plugins, or Analytics → Orders)",
    kind="orders",
    columns={
        "order_id": ("order id", "order number", "order_id", "order_number", "order #"),
        # Analytics → Orders names the customer only ("Customer": a name)
        "customer_id": ("customer user id", "customer id", "customer_id", "customer_user", "customer"),
        "email": (
            "billing email",
            "email (billing)",
            "billing email address",
            "customer email",
            "billing_email",
        ),
        "phone": ("billing phone", "phone (billing)", "billing_phone"),
        "ordered_at": ("paid date", "date paid", "order date", "date_paid", "date_created", "date"),
        "amount": ("order total amount", "order total", "order_total", "total", "n. revenue"),
        "refunded": ("order refund amount", "order refund", "refund amount", "total refunded"),
        "tax": ("order total tax amount", "order tax", "tax_total"),
        "shipping": ("order shipping amount", "order shipping", "shipping_total"),
        "currency": ("order currency", "currency"),
        "status": ("order status", "status"),
        "product": ("item name", "product name", "item_name", "product(s)"),
        "quantity": ("quantity (- refund)", "quantity", "item qty", "qty", "items sold"),
        "channel": ("utm_source", "origin", "source"),
        "utm_source": ("utm_source",),
        "utm_medium": ("utm_medium",),
        "utm_campaign": ("utm_campaign",),
        "cost": ("cost of goods", "order cost"),
    },
    statuses=_WOOCOMMERCE_STATUSES,
    signature=(
        ("order id", "order status", "order total amount"),
        ("order number", "order status", "order total amount"),
        ("order number", "order status", "order total"),
        ("order id", "order status", "order total"),
        ("order_id", "status", "order_total"),
        ("order #", "status", "n. revenue"),
    ),
    group_lines=True,
    guest_ids=("0",),
)

CDNOW = Preset(
    name="cdnow",
    title="CDNOW research data (whitespace columns: id, yyyymmdd date, CDs, dollars)",
    kind="orders",
    columns={
        "customer_id": ("customer_id",),
        "ordered_at": ("date",),
        "quantity": ("number_of_cds",),
        "amount": ("dollar_value",),
    },
    signature=(("customer_id", "date", "number_of_cds", "dollar_value"),),
    positional=(
        ("customer_id", "ordered_at", "quantity", "amount"),
        ("customer_id", "sample_id", "ordered_at", "quantity", "amount"),
    ),
    currency="USD",
    options={"decimal": "."},
)

SPEND = Preset(
    name="spend",
    title="Marketing spend: date or month, channel, amount",
    kind="spend",
    columns={
        "date": (
            "date",
            "day",
            "month",
            "period",
            "week",
            "дата",
            "день",
            "месяц",
            "период",
            "місяць",
            "період",
            "тиждень",
            "неделя",
        ),
        "channel": ("channel", "source", "utm_source", "канал", "источник", "джерело"),
        "campaign": ("campaign", "utm_campaign", "кампания", "кампанія"),
        "amount": (
            "spend",
            "cost",
            "amount",
            "budget",
            "расход",
            "расходы",
            "затраты",
            "сумма",
            "бюджет",
            "витрати",
            "сума",
        ),
        "currency": ("currency", "валюта"),
    },
)

PRESETS: dict[str, Preset] = {
    p.name: p for p in (GETCOURSE, STRIPE, STRIPE_BALANCE, SHOPIFY, WOOCOMMERCE, CDNOW, GENERIC, SPEND)
}


def detect_preset(headers: list[str], has_header: bool, kind: Kind | None = None) -> Preset:
    """The preset whose signature the headers show; generic orders or spend otherwise."""
    for preset in PRESETS.values():
        if (kind is None or preset.kind == kind) and (preset.signature or preset.positional):
            if preset.matches(headers, has_header):
                return preset
    if kind == "spend":
        return SPEND
    if kind is None and _looks_like_spend(headers):
        return SPEND
    return GENERIC


def _looks_like_spend(headers: list[str]) -> bool:
    """A table with a spend column and no customer column is marketing spend."""
    present = {normalize_header(h) for h in headers}
    has_customer = any(
        h in present for f in ("customer_id", "email", "phone") for h in _GENERIC_ORDER_COLUMNS[f]
    )
    spend_words = {"spend", "budget", "расход", "расходы", "затраты", "витрати", "бюджет"}
    return not has_customer and bool(present & spend_words)


def load_mapping(mapping: str | Path | Mapping[str, Any]) -> Preset:
    """A preset from a user's TOML or YAML mapping file, or from the same content as a dict (the dashboard's
    mapping form sends ``{"columns": {"customer_id": "Покупатель", ...}}``).

    The mapping names the columns (a header or a list of headers tried in order), optionally the statuses
    (raw text → one of :data:`STATUSES`) and options (``currency``, ``date_format``,
    ``decimal``, ``timezone``)::

        name = "amocrm"
        kind = "orders"
        [columns]
        order_id = "ID"
        customer_id = "Контакт"
        ordered_at = ["Дата закрытия", "Дата создания"]
        amount = "Бюджет"
        status = "Этап сделки"
        [statuses]
        "Успешно реализовано" = "paid"
        "Закрыто и не реализовано" = "cancelled"
        [options]
        currency = "RUB"
    """
    if isinstance(mapping, Mapping):
        return _mapping_preset(mapping, name="mapping", title="column mapping", file=None)
    path = Path(mapping)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read the mapping file ({exc})", file=path) from exc
    if not isinstance(data, dict):
        raise MappingError("a mapping file needs a [columns] table", file=path, hint="see docs/import.md")
    return _mapping_preset(data, name=path.stem, title=f"mapping file {path.name}", file=path)


def _mapping_preset(data: Mapping[str, Any], *, name: str, title: str, file: Path | None) -> Preset:
    if not isinstance(data.get("columns"), Mapping):
        raise MappingError("a mapping needs a [columns] table", file=file, hint="see docs/import.md")
    kind = data.get("kind", "orders")
    if kind not in ("orders", "spend"):
        raise MappingError(f"kind must be 'orders' or 'spend', not {kind!r}", file=file)
    allowed = MAPPED_ORDER_FIELDS if kind == "orders" else SPEND_FIELDS
    columns: dict[str, tuple[str, ...]] = {}
    for field_name, headers in data["columns"].items():
        if field_name not in allowed:
            raise MappingError(
                f"unknown field {field_name!r} in [columns]",
                file=file,
                hint=f"fields are: {', '.join(allowed)}",
            )
        if not isinstance(headers, (str, list, tuple)) or not headers:
            raise MappingError(
                f"the column of {field_name!r} must be a header or a list of headers", file=file
            )
        columns[field_name] = (headers,) if isinstance(headers, str) else tuple(map(str, headers))
    statuses = {}
    for raw, status in (data.get("statuses") or {}).items():
        if status not in STATUSES:
            raise MappingError(
                f"status {raw!r} maps to {status!r}", file=file, hint=f"use one of: {', '.join(STATUSES)}"
            )
        statuses[str(raw).strip().lower()] = status
    options = dict(data.get("options") or {})
    base = GENERIC if kind == "orders" else SPEND
    return replace(
        base,
        name=str(data.get("name", name)),
        title=title,
        columns=columns,
        statuses=statuses or base.statuses,
        currency=options.pop("currency", None),
        options=options,
        group_lines=bool(data.get("group_lines", False)),
        explicit=True,
    )
