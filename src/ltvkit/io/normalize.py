"""Turn a raw table into canonical orders or spend rows, and every other row into a rejection with a reason.

Accounting: each row read ends up in exactly one of ``rows`` (to load), ``merged`` (a repeat of a row above
in the same file, or a line item folded into its order) or ``rejected``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ltvkit.errors import AmbiguousFormatError, MappingError, ParameterError
from ltvkit.io.parsing import (
    CURRENCY_TOKENS,
    DecimalMark,
    infer_decimal,
    parse_amount_column,
    parse_timestamp_column,
)
from ltvkit.io.presets import Kind, Preset, normalize_header
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


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file. Every field is optional; None means "detect it and fail if ambiguous"."""

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
            hits = [(h, m) for n, h in by_norm.items() if (m := suffixed.fullmatch(n))]
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
    """ISO codes for currency texts (``руб.`` → RUB, ``usd`` → USD); the second series flags unknown texts."""
    lowered = text.str.strip().str.lower()
    mapped = lowered.map(CURRENCY_TOKENS)
    iso = lowered.str.fullmatch(r"[a-z]{3}")
    codes = mapped.where(mapped.notna(), lowered.str.upper().where(iso))
    unknown = (lowered != "") & codes.isna()
    return codes, unknown


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
    texts = [coalesce(frame, resolved[f])[0] for f in fields if f in resolved]
    if not texts:
        return None
    try:
        return infer_decimal(pd.concat(texts, ignore_index=True))
    except AmbiguousFormatError as exc:
        raise AmbiguousFormatError(exc.reason, file=table.path, hint=exc.hint) from None


def _parse_money(
    text: pd.Series, origin: pd.Series, decimal: DecimalMark | None, table: RawTable, row_numbers: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    try:
        parsed = parse_amount_column(text, decimal)
    except AmbiguousFormatError as exc:
        value = getattr(exc, "value", None)
        where = text[text == value].index[0] if value is not None else text.index[0]
        raise AmbiguousFormatError(
            exc.reason, file=table.path, row=int(row_numbers[where]), column=str(origin[where]), hint=exc.hint
        ) from None
    return parsed.values, parsed.currencies, parsed.errors


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
    return pd.Series([json.dumps(r, ensure_ascii=False) for r in records], index=index, dtype=object)


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
            (n, None, None, f"the row {reason}", json.dumps({"line": raw}, ensure_ascii=False))
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
    if preset.kind == "spend":
        return _normalize_spend(table, preset, options)
    return _normalize_orders(table, preset, options)


def _normalize_orders(table: RawTable, preset: Preset, options: ImportOptions) -> Normalized:
    resolved, header_currency = resolve_columns(table, preset)
    require_columns(resolved, table, preset, ("ordered_at",), ("amount",), ("customer_id", "email", "phone"))
    frame = table.frame
    row_numbers = pd.Series(table.row_numbers, index=frame.index)
    text = {name: coalesce(frame, cols) for name, cols in resolved.items()}

    def get(name: str) -> pd.Series:
        return text[name][0] if name in text else pd.Series("", index=frame.index, dtype=object)

    merged_lines = 0
    notes: list[str] = []
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
    decimal = options.decimal or preset.options.get("decimal")
    decimal = _money(frame, resolved, ("amount", "refunded", "cost", "fee"), decimal, table)

    customer_id, email, phone = get("customer_id"), get("email").str.lower(), get("phone")
    customer_id = customer_id.where(~customer_id.isin(preset.guest_ids), "")
    phone = phone.str.replace(r"[^\d+]", "", regex=True)
    customer = customer_id.where(customer_id != "", email.where(email != "", phone))
    rej.add(customer == "", "customer", customer, "no customer id, email or phone")

    stamps = parse_timestamp_column(
        get("ordered_at"),
        date_format=options.date_format or preset.options.get("date_format"),
        timezone=options.timezone or preset.options.get("timezone"),
        source_timezone=preset.options.get("source_timezone"),
    )
    rej.add(stamps.errors.notna(), text["ordered_at"][1], get("ordered_at"), stamps.errors)

    money: dict[str, pd.Series] = {}
    text_currency = pd.Series(None, index=frame.index, dtype=object)
    for name in ("amount", "refunded", "cost", "fee"):
        if name not in text:
            money[name] = pd.Series(np.nan, index=frame.index)
            continue
        values, currencies, errors = _parse_money(text[name][0], text[name][1], decimal, table, row_numbers)
        blank = text[name][0] == ""
        if name != "amount":
            errors = errors.where(~blank)
        rej.add(errors.notna(), text[name][1], text[name][0], errors)
        money[name] = values
        text_currency = text_currency.where(text_currency.notna(), currencies)
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

    fallback = options.currency or header_currency.get("amount") or preset.currency
    currency = pd.Series(fallback.upper() if fallback else None, index=frame.index, dtype=object)
    currency = text_currency.where(text_currency.notna(), currency)
    if "currency" in text:
        codes, unknown = currency_codes(text["currency"][0])
        rej.add(
            unknown, text["currency"][1], text["currency"][0], "is not a currency code (use e.g. RUB, USD)"
        )
        clash = codes.notna() & text_currency.notna() & (codes != text_currency)
        rej.add(
            clash,
            text["currency"][1],
            text["currency"][0],
            "the currency column disagrees with the currency written in the amount",
        )
        currency = codes.where(codes.notna(), currency)
    no_currency = currency.isna()
    if no_currency.any():
        notes.append(
            f"{int(no_currency.sum())} rows name no currency; they are kept apart as {NO_CURRENCY} "
            f"(pass --currency to set one)"
        )
    currency = currency.fillna(NO_CURRENCY)

    amount, refunded = money["amount"], money["refunded"].fillna(0.0)
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
    out["channel"] = out["channel"].where(out["channel"].notna(), out["utm_source"])
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
    date_text, date_col = text["date"]
    month = _months(date_text)
    is_month = month.notna()
    stamps = parse_timestamp_column(date_text.where(~is_month, "2000-01-01"), date_format=options.date_format)
    rej.add(stamps.errors.notna() & ~is_month, date_col, date_text, stamps.errors)
    day = stamps.values.dt.normalize().where(~is_month, month)

    decimal = _money(frame, resolved, ("amount",), options.decimal, table)
    amount, currencies, errors = _parse_money(
        text["amount"][0], text["amount"][1], decimal, table, row_numbers
    )
    rej.add(errors.notna(), text["amount"][1], text["amount"][0], errors)
    rej.add(amount < 0, text["amount"][1], text["amount"][0], "spend cannot be negative")
    fallback = options.currency or header_currency.get("amount") or preset.currency
    currency = currencies.where(currencies.notna(), fallback.upper() if fallback else None)
    if "currency" in text:
        codes, unknown = currency_codes(text["currency"][0])
        rej.add(
            unknown, text["currency"][1], text["currency"][0], "is not a currency code (use e.g. RUB, USD)"
        )
        currency = codes.where(codes.notna(), currency)
    currency = currency.fillna(NO_CURRENCY)
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
    return Normalized("spend", preset, source, grouped[SPEND_COLUMNS], rejected, table.rows_read, merged)
