"""Turn a raw table into canonical orders or spend rows, and every other row into a rejection with a reason.

Accounting: each row read ends up in exactly one of ``rows`` (to load), ``merged`` (a repeat of a row above
in the same file, or a line item folded into its order) or ``rejected``. Nothing odd is stored silently: a
control character, an implausible amount or date, an unknown currency or one that disagrees with the amount's
own sign rejects the row with a reason naming the column.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ltvkit.errors import AmbiguousFormatError, MappingError, ParameterError
from ltvkit.io.limits import EARLIEST_DATE, FUTURE_DAYS
from ltvkit.io.parsing import (
    CURRENCY_TOKENS,
    DecimalMark,
    ParsedAmounts,
    ParsedTimestamps,
    infer_decimal,
    iso_currencies,
    parse_amount_column,
    parse_timestamp_column,
    sign_agrees,
)
from ltvkit.io.presets import Kind, Preset, normalize_header, paid_amounts
from ltvkit.io.readers import RawTable

NO_CURRENCY = "XXX"  # ISO 4217 code for "no currency": kept apart, never summed with real money
ORDER_COLUMNS = [
    "order_key",
    "order_id",
    "customer_id",
    "email",
    "phone",
    "ordered_at",
    "amount",
    "refunded",
    "currency",
    "status",
    "product",
    "quantity",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "cost",
    "fee",
    "extra",
    "source_row",
    "row_hash",
]
SPEND_COLUMNS = [
    "spend_key",
    "date",
    "period",
    "channel",
    "campaign",
    "amount",
    "currency",
    "extra",
    "source_row",
    "row_hash",
]
REJECTED_COLUMNS = ["row_number", "column", "value", "reason", "raw"]
#: Fields that may hold several lines of text; every other mapped field holds one line.
FREE_TEXT_FIELDS = frozenset({"product"})
# Never in a value: C0 controls but tab and line ends, DEL, C1 controls, bidirectional embeddings/overrides.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Never in a one-line field (an id, an email, a status): those, line ends, tabs and invisible characters.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
_CHARACTER_NAMES = {"\x00": "NUL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file. Every field is optional; None means "detect it and fail if ambiguous".

    ``min_date`` and ``max_date`` bound the plausible dates of orders and spend (rows outside are rejected);
    None means :data:`~ltvkit.io.limits.EARLIEST_DATE` (1990-01-01) and
    :data:`~ltvkit.io.limits.FUTURE_DAYS` (365) days after today. ``sheet`` names the worksheet of a
    workbook to read (else the one holding orders). ``exclude_tax_shipping`` takes an order's tax and shipping
    (Shopify's ``Taxes`` and ``Shipping``) out of its revenue.
    """

    kind: Kind | None = None
    preset: str | None = None
    mapping: str | Path | None = None
    date_format: str | None = None
    decimal: DecimalMark | None = None
    currency: str | None = None
    timezone: str | None = None
    source: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    min_date: dt.date | None = None
    max_date: dt.date | None = None
    sheet: str | None = None
    exclude_tax_shipping: bool = False

    def date_range(self) -> tuple[dt.date, dt.date]:
        """The earliest and the latest plausible date (both included)."""
        earliest = self.min_date or EARLIEST_DATE
        latest = self.max_date or dt.date.today() + dt.timedelta(days=FUTURE_DAYS)
        return earliest, latest


@dataclass
class Normalized:
    """The outcome of normalising one file: rows to load, rows rejected, and how many rows merged."""

    kind: Kind | Literal["clients"]  # clients: a retainer's contracts (ltvkit.retainer.clients)
    preset: Preset
    source: str
    rows: pd.DataFrame
    rejected: pd.DataFrame
    read: int
    merged: int = 0
    merged_line_items: int = 0
    notes: list[str] = field(default_factory=list)


class Rejections:
    """Collects the first reason each row is rejected for."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(None, index=index, dtype=object)
        self.column = pd.Series(None, index=index, dtype=object)
        self.value = pd.Series(None, index=index, dtype=object)

    def add(
        self, mask: pd.Series, column: str | pd.Series, value: pd.Series, reason: pd.Series | str
    ) -> None:
        new = mask & self.reason.isna()
        if not new.any():
            return
        self.reason[new] = reason[new] if isinstance(reason, pd.Series) else reason
        self.column[new] = column[new] if isinstance(column, pd.Series) else column
        self.value[new] = value[new]

    @property
    def mask(self) -> pd.Series:
        return self.reason.notna()

    def subset(self, index: pd.Index) -> Rejections:
        out = Rejections(index)
        out.reason, out.column, out.value = self.reason[index], self.column[index], self.value[index]
        return out


def resolve_columns(table: RawTable, preset: Preset) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Headers holding each canonical field (in order of preference) and currencies named in headers
    (``Стоимость, RUB``)."""
    headers = list(table.frame.columns)
    if not table.has_header:
        layout = next((cols for cols in preset.positional if len(cols) == len(headers)), None)
        if layout is None:
            raise MappingError(
                f"the file has no header row and {len(headers)} columns, which no preset expects",
                file=table.path,
                hint="add a header row or pass --mapping FILE",
            )
        return {name: [h] for name, h in zip(layout, headers, strict=False) if name in preset.columns}, {}
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    resolved: dict[str, list[str]] = {}
    header_currency: dict[str, str] = {}
    for name, candidates in preset.columns.items():
        found: list[str] = []
        for candidate in candidates:
            want = normalize_header(candidate)
            if want in by_norm:
                found.append(by_norm[want])
                continue
            suffixed = re.compile(re.escape(want) + r"\s*[,(]\s*([a-z]{3})\)?")
            hits = [
                (h, m)
                for n, h in by_norm.items()
                if (m := suffixed.fullmatch(n)) and m.group(1).upper() in iso_currencies()
            ]
            for h, m in hits:
                found.append(h)
                header_currency.setdefault(name, m.group(1).upper())
            if not hits and preset.explicit:
                raise MappingError(
                    f"the mapping names column {candidate!r} for {name}, but the file has no such column",
                    file=table.path,
                    hint=f"the file's columns are: {', '.join(headers)}",
                )
        if found:
            resolved[name] = list(dict.fromkeys(found))
    return resolved, header_currency


def coalesce(frame: pd.DataFrame, headers: list[str]) -> tuple[pd.Series, pd.Series]:
    """First non-blank value across ``headers`` per row, and the header it came from."""
    text = frame[headers[0]].astype(str).str.strip()
    origin = pd.Series(headers[0], index=frame.index, dtype=object)
    for h in headers[1:]:
        blank = text == ""
        if not blank.any():
            break
        text = text.where(~blank, frame[h].astype(str).str.strip())
        origin = origin.where(~blank, h)
    return text, origin


def require_columns(
    resolved: dict[str, list[str]], table: RawTable, preset: Preset, *groups: tuple[str, ...]
) -> None:
    for group in groups:
        if not any(f in resolved for f in group):
            looked = sorted({c for f in group for c in preset.columns.get(f, ())})
            raise MappingError(
                f"no column for {' or '.join(group)} (looked for: {', '.join(looked) or 'none'})",
                file=table.path,
                hint=(
                    f"the file's columns are: {', '.join(table.frame.columns)}; name them with --mapping FILE"
                ),
            )


def currency_codes(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 4217 codes for currency texts (``руб.`` → RUB, ``usd`` → USD); the second series flags texts that
    are not a currency (``ABC``)."""
    lowered = text.str.strip().str.lower()
    mapped = lowered.map(CURRENCY_TOKENS)
    upper = lowered.str.upper()
    codes = mapped.where(mapped.notna(), upper.where(upper.isin(iso_currencies())))
    unknown = (lowered != "") & codes.isna()
    return codes, unknown


def fallback_currency(options: ImportOptions, header_currency: dict[str, str], preset: Preset) -> str | None:
    """The currency of rows whose amounts name none: ``--currency``, else the amount header's (``Сумма,
    RUB``), else the preset's; an unknown one is an error."""
    value = options.currency or header_currency.get("amount") or preset.currency
    if value is None:
        return None
    code = CURRENCY_TOKENS.get(value.strip().lower(), value.strip().upper())
    if code not in iso_currencies():
        raise ParameterError(f"unknown currency {value!r} (use an ISO 4217 code such as RUB or USD)")
    return code


def row_currencies(
    text: dict[str, tuple[pd.Series, pd.Series]],
    written: pd.Series,
    signs: pd.Series,
    fallback: str | None,
    rej: Rejections,
) -> pd.Series:
    """Each row's currency: its currency column, else the currency its amounts are written in, else
    ``fallback``, else None. A column value that is no ISO 4217 code, or that disagrees with the sign the
    amount is written with (``$100`` beside ``RUB``), rejects the row."""
    currency = written.where(written.notna(), fallback)
    if "currency" not in text:
        return currency
    column_text, origin = text["currency"]
    codes, unknown = currency_codes(column_text)
    rej.add(unknown, origin, column_text, "is not a currency code (use e.g. RUB, USD)")
    both = (codes.notna() & signs.notna()).to_numpy()
    agree = np.array([sign_agrees(s, c) for s, c in zip(signs[both], codes[both], strict=True)], dtype=bool)
    clash = codes.index[both][~agree]
    reasons = pd.Series(
        [f"the currency column says {codes[i]}, the amount is written in {signs[i]!r}" for i in clash],
        index=clash,
        dtype=object,
    )
    rej.add(
        pd.Series(codes.index.isin(clash), index=codes.index),
        origin,
        column_text,
        reasons.reindex(codes.index),
    )
    return codes.where(codes.notna(), currency)


def reject_odd_characters(frame: pd.DataFrame, resolved: dict[str, list[str]], rej: Rejections) -> None:
    """Reject the rows holding a control character in any value (NUL, ESC, C1 controls, bidirectional
    overrides), or a line end, tab or invisible character inside a one-line field (every mapped field but
    :data:`FREE_TEXT_FIELDS`), naming the column and the character."""
    one_line = {h for name, cols in resolved.items() if name not in FREE_TEXT_FIELDS for h in cols}
    for column in frame.columns:
        values = frame[column].str.strip() if column in one_line else frame[column]
        pattern = _NOT_ONE_LINE if column in one_line else _CONTROL
        if not pattern.search("".join(values)):  # one scan of the column in C, the usual case
            continue
        found = values.map(lambda v, p=pattern: m.group() if (m := p.search(v)) else None)
        hit = found.notna()
        rej.add(hit, column, values.map(visible), found.map(_odd_character_reason, na_action="ignore"))


def _odd_character_reason(character: str) -> str:
    name = _CHARACTER_NAMES.get(character) or unicodedata.name(character, "")
    label = f"U+{ord(character):04X}" + (f" ({name})" if name else "")
    if _CONTROL.match(character):
        return f"contains the control character {label}"
    return f"contains {label}, which a one-line field cannot hold"


def visible(text: str) -> str:
    """``text`` with control and invisible characters written as ``\\u0000`` escapes (JSON stays JSON)."""
    return _NOT_ONE_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _money(
    frame: pd.DataFrame,
    resolved: dict[str, list[str]],
    fields: tuple[str, ...],
    decimal: DecimalMark | None,
    table: RawTable,
) -> DecimalMark | None:
    """The decimal mark of the file's money columns, decided jointly (one locale per file)."""
    if decimal is not None:
        return decimal
    texts = []
    for f in fields:
        if f in resolved:
            text, origin = coalesce(frame, resolved[f])
            texts.append(text.where(table.numbers(origin).isna(), ""))  # a number cell shows no mark
    if not texts:
        return None
    try:
        return infer_decimal(pd.concat(texts, ignore_index=True))
    except AmbiguousFormatError as exc:
        raise AmbiguousFormatError(exc.reason, file=table.path, hint=exc.hint) from None


def _parse_money(
    text: pd.Series, origin: pd.Series, decimal: DecimalMark | None, table: RawTable, row_numbers: pd.Series
) -> ParsedAmounts:
    try:
        return parse_amount_column(text, decimal, typed=table.numbers(origin))
    except AmbiguousFormatError as exc:
        value = getattr(exc, "value", None)
        where = text[text == value].index[0] if value is not None else text.index[0]
        raise AmbiguousFormatError(
            exc.reason, file=table.path, row=int(row_numbers[where]), column=str(origin[where]), hint=exc.hint
        ) from None


def parse_money_fields(
    text: dict[str, tuple[pd.Series, pd.Series]],
    names: tuple[str, ...],
    decimal: DecimalMark | None,
    table: RawTable,
    row_numbers: pd.Series,
    rej: Rejections,
) -> tuple[dict[str, pd.Series], pd.Series, pd.Series]:
    """Values of the money fields ``names`` (the first required, the others may be blank) and, per row, the
    currency and the sign its amounts are written in. A row whose amounts name two currencies is rejected."""
    index = row_numbers.index
    values: dict[str, pd.Series] = {}
    written = pd.Series(None, index=index, dtype=object)
    signs = pd.Series(None, index=index, dtype=object)
    for name in names:
        if name not in text:
            values[name] = pd.Series(np.nan, index=index)
            continue
        column_text, origin = text[name]
        parsed = _parse_money(column_text, origin, decimal, table, row_numbers)
        errors = parsed.errors if name == names[0] else parsed.errors.where(column_text != "")
        rej.add(errors.notna(), origin, column_text, errors)
        clash = parsed.currencies.notna() & written.notna() & (parsed.currencies != written)
        rej.add(clash, origin, column_text, "names another currency than the other amounts of the row")
        values[name] = parsed.values
        written = written.where(written.notna(), parsed.currencies)
        signs = signs.where(signs.notna(), parsed.signs)
    return values, written, signs


def parse_dates(
    text: pd.Series, origin: pd.Series, table: RawTable, options: ImportOptions, rej: Rejections, **how: Any
) -> ParsedTimestamps:
    """Timestamps of a date column (``how``: the options of :func:`parse_timestamp_column`), rejecting the
    rows that do not parse or fall outside :meth:`ImportOptions.date_range`; a column that can only be read
    two ways is an error naming it."""
    try:
        stamps = parse_timestamp_column(text, **how)
    except AmbiguousFormatError as exc:
        column = str(origin.iloc[0]) if len(origin) else None
        raise AmbiguousFormatError(exc.reason, file=table.path, column=column, hint=exc.hint) from None
    rej.add(stamps.errors.notna(), origin, text, stamps.errors)
    earliest, latest = options.date_range()
    rej.add(
        stamps.values < pd.Timestamp(earliest),
        origin,
        text,
        f"is before {earliest}, the earliest plausible date (ImportOptions.min_date)",
    )
    rej.add(
        stamps.values >= pd.Timestamp(latest) + pd.Timedelta(days=1),
        origin,
        text,
        f"is after {latest}, the latest plausible date (ImportOptions.max_date)",
    )
    return stamps


def content_hash(frame: pd.DataFrame) -> pd.Series:
    """A stable 64-bit hash of each row's values (pandas' fixed-key SipHash), as a hex string."""
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
    return hashed.map(lambda h: f"{h:016x}")


def _extra_json(frame: pd.DataFrame, used: set[str]) -> pd.Series:
    """Unmapped columns of each row as JSON (blank values left out), so nothing the user had is lost."""
    rest = [c for c in frame.columns if c not in used]
    if not rest:
        return pd.Series("{}", index=frame.index, dtype=object)
    records = frame[rest].to_dict(orient="records")
    return pd.Series(
        [json.dumps({k: v for k, v in r.items() if str(v).strip()}, ensure_ascii=False) for r in records],
        index=frame.index,
        dtype=object,
    )


def _raw_json(frame: pd.DataFrame, index: pd.Index) -> pd.Series:
    records = frame.loc[index].to_dict(orient="records")
    return pd.Series([visible(json.dumps(r, ensure_ascii=False)) for r in records], index=index, dtype=object)


def rejected_frame(table: RawTable, rej: Rejections, row_numbers: pd.Series) -> pd.DataFrame:
    idx = rej.reason[rej.mask].index
    out = pd.DataFrame(
        {
            "row_number": row_numbers[idx].astype(int),
            "column": rej.column[idx],
            "value": rej.value[idx],
            "reason": rej.reason[idx],
            "raw": _raw_json(table.frame, idx),
        }
    )
    malformed = pd.DataFrame(
        [
            (n, None, None, f"the row {reason}", visible(json.dumps({"line": raw}, ensure_ascii=False)))
            for n, raw, reason in table.malformed
        ],
        columns=REJECTED_COLUMNS,
    )
    frames = [f for f in (out, malformed) if len(f)]
    if not frames:
        return pd.DataFrame(columns=REJECTED_COLUMNS)
    return (
        pd.concat(frames, ignore_index=True).sort_values("row_number", kind="stable").reset_index(drop=True)
    )


def normalize(table: RawTable, preset: Preset, options: ImportOptions) -> Normalized:
    """Canonical rows of ``table`` under ``preset``; see :class:`Normalized`."""
    if options.timezone is not None:
        try:
            pd.Timestamp("2000-01-01").tz_localize(options.timezone)
        except Exception as exc:
            raise ParameterError(
                f"unknown time zone {options.timezone!r} (use an IANA name such as Europe/Kyiv)"
            ) from exc
    earliest, latest = options.date_range()
    if earliest > latest:
        raise ParameterError(f"the earliest date {earliest} is after the latest {latest}")
    if preset.kind == "spend":
        return _normalize_spend(table, preset, options)
    return _normalize_orders(table, preset, options)


def _normalize_orders(table: RawTable, preset: Preset, options: ImportOptions) -> Normalized:
    resolved, header_currency = resolve_columns(table, preset)
    require_columns(
        resolved, table, preset, ("ordered_at",), ("amount", "price"), ("customer_id", "email", "phone")
    )
    frame = table.frame
    row_numbers = pd.Series(table.row_numbers, index=frame.index)
    text = {name: coalesce(frame, cols) for name, cols in resolved.items()}

    def get(name: str) -> pd.Series:
        return text[name][0] if name in text else pd.Series("", index=frame.index, dtype=object)

    merged_lines = 0
    notes = list(table.notes)
    order_id = get("order_id")
    if preset.group_lines and "order_id" in text:
        continuation = order_id.duplicated(keep="first") & (order_id != "")
        merged_lines = int(continuation.sum())
        if merged_lines:
            lines = pd.DataFrame({"order": order_id, "product": get("product"), "quantity": get("quantity")})
            lines = lines[order_id.isin(order_id[continuation])]
            line_items = lines.groupby("order", sort=False)[["product", "quantity"]].apply(
                lambda g: g.to_dict(orient="records")
            )
        keep = ~continuation
        frame, row_numbers, order_id = frame[keep], row_numbers[keep], order_id[keep]
        text = {k: (v[keep], o[keep]) for k, (v, o) in text.items()}

    rej = Rejections(frame.index)
    reject_odd_characters(frame, resolved, rej)
    if "status" in text:  # a row that is no order (a false order, a payout) says so before anything else
        excluded = text["status"][0].str.strip().str.lower().map(preset.excluded)
        rej.add(excluded.notna(), text["status"][1], text["status"][0], excluded)
    decimal = options.decimal or preset.options.get("decimal")
    money_fields = tuple(dict.fromkeys(("amount" if "amount" in text else "price", *_SECONDARY_MONEY)))
    decimal = _money(frame, resolved, money_fields, decimal, table)

    customer_id, email, phone = get("customer_id"), get("email").str.lower(), get("phone")
    customer_id = customer_id.where(~customer_id.isin(preset.guest_ids), "")
    phone = phone.str.replace(r"[^\d+]", "", regex=True)
    customer = customer_id.where(customer_id != "", email.where(email != "", phone))
    rej.add(customer == "", "customer", customer, "no customer id, email or phone")

    stamps = parse_dates(
        get("ordered_at"),
        text["ordered_at"][1],
        table,
        options,
        rej,
        date_format=options.date_format or preset.options.get("date_format"),
        timezone=options.timezone or preset.options.get("timezone"),
        source_timezone=preset.options.get("source_timezone"),
    )

    money, written, signs = parse_money_fields(text, money_fields, decimal, table, row_numbers, rej)
    money.setdefault("amount", money["price"])
    paid, unpaid_reason, paid_note = paid_amounts(preset, money, resolved, get("status"))
    rej.add(
        unpaid_reason.notna(), text["price"][1] if "price" in text else "amount", get("status"), unpaid_reason
    )
    notes.extend([paid_note] if paid_note else [])
    quantity = pd.Series(np.nan, index=frame.index)
    if "quantity" in text:
        q = parse_amount_column(text["quantity"][0], ".")
        bad = q.errors.notna() & (text["quantity"][0] != "")
        rej.add(bad, text["quantity"][1], text["quantity"][0], q.errors)
        quantity = q.values
        if merged_lines:
            line_qty = pd.to_numeric(lines["quantity"], errors="coerce").groupby(lines["order"]).sum()
            multi = order_id.isin(line_qty.index)
            quantity = quantity.where(~multi, order_id.map(line_qty))

    currency = row_currencies(text, written, signs, fallback_currency(options, header_currency, preset), rej)
    no_currency = currency.isna()
    if no_currency.any():
        notes.append(
            f"{int(no_currency.sum())} rows name no currency; they are kept apart as {NO_CURRENCY} "
            f"(pass --currency to set one)"
        )
    currency = currency.fillna(NO_CURRENCY)

    amount, refunded = paid, money["refunded"].fillna(0.0)
    if options.exclude_tax_shipping:
        amount, refunded = _without_tax_shipping(amount, refunded, money, resolved, table)
    if "status" in text:
        status = text["status"][0].map(lambda s: preset.status_of(s) if s else None)
        unknown = status.isna()
        known = ", ".join(sorted(set(preset.statuses)))[:300]
        rej.add(
            unknown,
            text["status"][1],
            text["status"][0],
            text["status"][0].map(
                lambda s: (
                    f"unknown status {s!r} (known: {known}; map it in a --mapping file)"
                    if s
                    else "empty status"
                )
            ),
        )
    else:
        status = pd.Series("paid", index=frame.index, dtype=object)
    status = status.where(~((status == "paid") & (amount < 0)), "refunded")  # a refund on its own row
    full_refund = (status == "refunded") & (amount > 0) & (refunded == 0)
    refunded = refunded.where(~full_refund, amount)
    rej.add(
        (amount >= 0) & (refunded > amount + 1e-9),
        text["refunded"][1] if "refunded" in text else "refunded",
        refunded.astype(str),
        "the refund is larger than the amount",
    )
    status = status.where(~((status == "paid") & (refunded > 0) & (refunded < amount)), "partially_refunded")
    status = status.where(~((status == "paid") & (refunded > 0) & (refunded >= amount)), "refunded")
    if preset.zero_amount_is_free:
        status = status.where(~((status == "paid") & (amount == 0)), "free")

    out = pd.DataFrame(
        {
            "order_id": order_id,
            "customer_id": customer,
            "email": email.where(email != ""),
            "phone": phone.where(phone != ""),
            "ordered_at": stamps.values,
            "amount": amount,
            "refunded": refunded,
            "currency": currency,
            "status": status,
            "product": get("product").where(get("product") != ""),
            "quantity": quantity,
            **{
                f: get(f).where(get(f) != "")
                for f in ("channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
            },
            "cost": money["cost"],
            "fee": money["fee"],
        }
    )
    if not preset.first_touch_only:
        out["channel"] = out["channel"].where(out["channel"].notna(), out["utm_source"])
    elif "channel" not in resolved:
        first_touch = ", ".join(preset.columns["channel"])
        notes.append(
            f"the export has no first-touch column ({first_touch}): customers get no channel (the orders' "
            "own utm_* are their last touch)"
        )
    used = {h for cols in resolved.values() for h in cols}
    out["extra"] = _extra_json(frame, used)
    if merged_lines:
        has_lines = out["order_id"].isin(line_items.index)
        out.loc[has_lines, "extra"] = [
            json.dumps({**json.loads(e), "line_items": line_items[o]}, ensure_ascii=False)
            for e, o in zip(out.loc[has_lines, "extra"], out.loc[has_lines, "order_id"], strict=False)
        ]
    out["source_row"] = row_numbers.astype(int)

    synthetic = out["order_id"] == ""
    if synthetic.any():
        basis = out.loc[synthetic, ["customer_id", "ordered_at", "amount", "currency", "product"]]
        digest = content_hash(basis)
        occurrence = digest.groupby(digest).cumcount()
        out.loc[synthetic, "order_id"] = "~" + digest + "-" + occurrence.astype(str)
    content = [c for c in out.columns if c != "source_row"]
    out["row_hash"] = content_hash(out[content])

    # The same order id again in this file: an exact repeat merges, a different version is rejected.
    valid = out[~rej.mask]
    later = valid[valid["order_id"].duplicated(keep="first")]
    first = valid.drop_duplicates("order_id", keep="first").set_index("order_id")
    same = later["row_hash"].to_numpy() == first.loc[later["order_id"], "row_hash"].to_numpy()
    conflict = later[~same]
    rej.add(
        out.index.isin(conflict.index),
        "order_id",
        out["order_id"],
        pd.Series(
            [
                f"order {o!r} already appears at row {r} with different values"
                for o, r in zip(
                    conflict["order_id"], first.loc[conflict["order_id"], "source_row"], strict=False
                )
            ],
            index=conflict.index,
            dtype=object,
        ).reindex(out.index),
    )
    merged = int(same.sum())
    out = out.drop(index=later.index[same])
    rej = rej.subset(out.index)

    source = options.source or preset.name
    rows = out[~rej.mask].copy()
    rows.insert(0, "order_key", source + ":" + rows["order_id"].astype(str))
    rows["ordered_at"] = rows["ordered_at"].astype("datetime64[us]")
    rejected = rejected_frame(table, rej, row_numbers)
    return Normalized(
        "orders",
        preset,
        source,
        rows[ORDER_COLUMNS].reset_index(drop=True),
        rejected,
        table.rows_read,
        merged + merged_lines,
        merged_lines,
        notes,
    )


#: Money fields that may be blank, parsed after the amount (or, without a paid column, the price).
_SECONDARY_MONEY = ("refunded", "cost", "fee", "price", "earned", "tax", "shipping")


def _without_tax_shipping(
    amount: pd.Series,
    refunded: pd.Series,
    money: dict[str, pd.Series],
    resolved: dict[str, list[str]],
    table: RawTable,
) -> tuple[pd.Series, pd.Series]:
    """Amounts less their tax and shipping, and refunds capped at what is left (a refund of the whole order
    gave back its tax and shipping too)."""
    if "tax" not in resolved and "shipping" not in resolved:
        raise ParameterError(
            f"{table.path.name} has no tax or shipping column to take out of revenue; import it without "
            "exclude_tax_shipping"
        )
    net = amount - money["tax"].fillna(0.0) - money["shipping"].fillna(0.0)
    return net, refunded.where(refunded <= net, net.clip(lower=0.0))


_MONTH_SHAPES = (
    (re.compile(r"^(\d{4})[-./](\d{1,2})$"), (1, 2)),
    (re.compile(r"^(\d{1,2})[-./](\d{4})$"), (2, 1)),
)


def _months(text: pd.Series) -> pd.Series:
    """First day of the month for month-only texts (``2026-11``, ``11.2026``); NaT for others."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for pattern, (y, m) in _MONTH_SHAPES:
        parts = text.str.extract(pattern)
        hit = parts.notna().all(axis=1)
        if hit.any():
            out[hit] = pd.to_datetime(
                pd.DataFrame(
                    {
                        "year": parts.loc[hit, y - 1].astype(int),
                        "month": parts.loc[hit, m - 1].astype(int),
                        "day": 1,
                    }
                ),
                errors="coerce",
            )
    return out


def _normalize_spend(table: RawTable, preset: Preset, options: ImportOptions) -> Normalized:
    resolved, header_currency = resolve_columns(table, preset)
    require_columns(resolved, table, preset, ("date",), ("amount",))
    frame = table.frame
    row_numbers = pd.Series(table.row_numbers, index=frame.index)
    text = {name: coalesce(frame, cols) for name, cols in resolved.items()}
    rej = Rejections(frame.index)
    reject_odd_characters(frame, resolved, rej)
    date_text, date_col = text["date"]
    month = _months(date_text)
    is_month = month.notna()
    first_day = month.dt.strftime(options.date_format or "%Y-%m-%d")  # a month is dated by its first day
    dated = date_text.where(~is_month, first_day)
    stamps = parse_dates(dated, date_col, table, options, rej, date_format=options.date_format)
    day = stamps.values.dt.normalize().where(~is_month, month)

    decimal = _money(frame, resolved, ("amount",), options.decimal, table)
    money, written, signs = parse_money_fields(text, ("amount",), decimal, table, row_numbers, rej)
    amount = money["amount"]
    rej.add(amount < 0, text["amount"][1], text["amount"][0], "spend cannot be negative")
    fallback = fallback_currency(options, header_currency, preset)
    currency = row_currencies(text, written, signs, fallback, rej).fillna(NO_CURRENCY)
    channel = text["channel"][0] if "channel" in text else pd.Series("", index=frame.index)
    campaign = text["campaign"][0] if "campaign" in text else pd.Series("", index=frame.index)
    out = pd.DataFrame(
        {
            "date": day,
            "period": np.where(is_month, "month", "day"),
            "channel": channel.where(channel != "", "(unattributed)"),
            "campaign": campaign,
            "amount": amount,
            "currency": currency,
            "extra": _extra_json(frame, {h for cols in resolved.values() for h in cols}),
            "source_row": row_numbers.astype(int),
        }
    )
    good = out[~rej.mask]
    keys = ["date", "period", "channel", "campaign", "currency"]
    grouped = (
        good.groupby(keys, sort=False, dropna=False)
        .agg(amount=("amount", "sum"), extra=("extra", "first"), source_row=("source_row", "min"))
        .reset_index()
    )
    merged = len(good) - len(grouped)
    source = options.source or preset.name
    key_text = grouped[keys].astype(str).agg("|".join, axis=1)
    grouped.insert(0, "spend_key", source + ":" + key_text)
    grouped["row_hash"] = content_hash(grouped[["spend_key", "amount", "extra"]])
    grouped["date"] = grouped["date"].astype("datetime64[us]")
    rejected = rejected_frame(table, rej, row_numbers)
    return Normalized(
        "spend",
        preset,
        source,
        grouped[SPEND_COLUMNS],
        rejected,
        table.rows_read,
        merged,
        notes=list(table.notes),
    )
