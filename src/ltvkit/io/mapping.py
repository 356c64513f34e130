"""Any table's columns mapped to orders or spend, every row kept with the reason it cannot be used.

One mapping for both ways in: a file import runs it in DuckDB on the file's text
(:mod:`ltvkit.io.normalize`), a source in the table's own engine (:mod:`ltvkit.data.sources`). Text values
are read by :mod:`ltvkit.io.parsing` — the locale rules — once per distinct value, and joined back in the
engine; typed columns (numbers, timestamps) are taken as they are. The rules are
:mod:`ltvkit.io.orders`'. Every row ends up usable, merged (an exact repeat of an order above, a line item
folded into its order, a spend row summed into its day) or left out with one reason.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.errors import AmbiguousFormatError, MappingError, ParameterError
from ltvkit.io.limits import EARLIEST_DATE, FUTURE_DAYS
from ltvkit.io.orders import (
    ORDER_INPUT_FIELDS,
    ORDER_MONEY,
    ORDER_REQUIRED,
    ORDER_SCHEMA,
    SPEND_REQUIRED,
    SPEND_SCHEMA,
    UNATTRIBUTED,
)
from ltvkit.io.parsing import (
    CURRENCY_TOKENS,
    DecimalMark,
    infer_decimal,
    iso_currencies,
    parse_amount_column,
    parse_timestamp_column,
)
from ltvkit.io.presets import GENERIC, SPEND, Preset, normalize_header
from ltvkit.io.rules import (
    Check,
    Money,
    check,
    currency_rule,
    customer_key,
    excluded_checks,
    first_failure,
    money_checks,
    order_rules,
    paid_rule,
    without_tax_shipping,
    written_currency,
)

ROW = "__ltvkit_row"  # the row number as the user finds it (a file's line), when the table has one
PRIOR = ("__ltvkit_reason", "__ltvkit_column", "__ltvkit_value")  # a reason found before the mapping
#: Prefix of the column holding a text column's number cells (a spreadsheet's): ``NUMBER + header`` is the
#: cell's number where it held one (null where it held text). Number cells keep their value; only text cells
#: are read by the locale rules (and shown to the decimal-mark inference).
NUMBER = "__ltvkit_number:"
_WHITESPACE = r"[\s\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"
_KINDS = {
    "ordered_at": "timestamp",
    "date": "timestamp",
    **dict.fromkeys((*ORDER_MONEY, "quantity"), "number"),
}


@dataclass(frozen=True)
class MapOptions:
    """How to read text values: the decimal mark, the date format and zones, the plausible dates and the
    currency of amounts that name none (None: detect, or none)."""

    decimal: DecimalMark | None = None
    date_format: str | None = None
    timezone: str | None = None
    source_timezone: str | None = None
    currency: str | None = None
    earliest: Any = None
    latest: Any = None
    exclude_tax_shipping: bool = False


@dataclass(frozen=True)
class Mapped:
    """A table in ltvkit's columns, every row kept: ``reason`` (with ``reason_column`` and ``reason_value``)
    is null for a row that can be used, ``merged`` marks a row folded into another, ``usable`` is the flat
    test of both (cheap to push into a scan)."""

    rows: ir.Table
    columns: dict[str, list[str]]
    schema_names: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def usable(self) -> ir.Table:
        return self.rows.filter(self.rows.usable).select(*self.schema_names)


def resolve_columns(
    headers: Sequence[str], preset: Preset, name: str, *, has_header: bool = True
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Headers holding each field (in order of preference, tried per row) and currencies named in headers
    (``Стоимость, RUB``). A mapping file's header that is missing is an error."""
    headers = list(headers)
    if not has_header:
        layout = next((cols for cols in preset.positional if len(cols) == len(headers)), None)
        if layout is None:
            raise MappingError(
                f"the file has no header row and {len(headers)} columns, which no preset expects",
                file=name,
                hint="add a header row or pass --mapping FILE",
            )
        return {f: [h] for f, h in zip(layout, headers, strict=False) if f in preset.columns}, {}
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    resolved: dict[str, list[str]] = {}
    header_currency: dict[str, str] = {}
    for fld, candidates in preset.columns.items():
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
                header_currency.setdefault(fld, m.group(1).upper())
            if not hits and preset.explicit:
                raise MappingError(
                    f"the mapping names column {candidate!r} for {fld}, but the file has no such column",
                    file=name,
                    hint=f"the file's columns are: {', '.join(headers)}",
                    columns=headers,
                    missing=[(fld,)],
                )
        if found:
            resolved[fld] = list(dict.fromkeys(found))
    return resolved, header_currency


def require_columns(
    resolved: dict[str, list[str]],
    headers: Sequence[str],
    preset: Preset,
    name: str,
    groups: Sequence[tuple[str, ...]],
) -> None:
    absent = [group for group in groups if not any(f in resolved for f in group)]
    if absent:
        group = absent[0]
        looked = sorted({c for f in group for c in preset.columns.get(f, ())})
        raise MappingError(
            f"no column for {' or '.join(group)} (looked for: {', '.join(looked) or 'none'})",
            file=name,
            hint=f"the file's columns are: {', '.join(headers)}; name them with --mapping FILE",
            columns=headers,
            found={field: heads[0] for field, heads in resolved.items() if heads},
            missing=absent,
        )


def fallback_currency(currency: str | None, header_currency: dict[str, str], preset: Preset) -> str | None:
    """The currency of rows whose amounts name none: the option, else the amount header's (``Сумма, RUB``),
    else the preset's; an unknown one is an error."""
    value = currency or header_currency.get("amount") or header_currency.get("price") or preset.currency
    if value is None:
        return None
    code = CURRENCY_TOKENS.get(value.strip().lower(), value.strip().upper())
    if code not in iso_currencies():
        raise ParameterError(f"unknown currency {value!r} (use an ISO 4217 code such as RUB or USD)")
    return code


def currency_codes(text: pd.Series) -> pd.Series:
    """ISO 4217 codes for currency texts (``руб.`` → RUB, ``usd`` → USD), None for a text that is none."""
    lowered = text.str.strip().str.lower()
    mapped = lowered.map(CURRENCY_TOKENS)
    upper = lowered.str.upper()
    return mapped.where(mapped.notna(), upper.where(upper.isin(iso_currencies())))


# --- text and typed values ----------------------------------------------------------------------------------


def _text(value: ir.Value) -> ir.StringValue:
    """Text trimmed of whitespace, an empty text as null.

    In DuckDB the regular expression runs only on texts whose first or last character is outside
    ``!``…U+0084 (``ascii`` is the first character's code point), where every character of
    ``_WHITESPACE`` is: ids and codes in Latin letters and digits skip it, and the result is the same."""
    text = value.cast("string")
    trimmed = text.re_replace(f"^{_WHITESPACE}|{_WHITESPACE}$", "")
    if ibis.get_backend(value).name == "duckdb":
        inner = [t.ascii_str().between(0x21, 0x84) for t in (text, text.right(1))]
        trimmed = ibis.ifelse(inner[0] & inner[1], text, trimmed)
    return trimmed.nullif("")


def is_hidden(column: str) -> bool:
    """Whether ``column`` is one ltvkit added to a file's table (the row number, a prior reason, numbers)."""
    return column == ROW or column in PRIOR or column.startswith(NUMBER)


class _Fields:
    """The table's columns per field: first non-blank per row, as text or (a typed column) as its type."""

    def __init__(self, table: ir.Table, resolved: dict[str, list[str]], name: str) -> None:
        self.table, self.resolved, self.name = table, resolved, name

    def typed(self, fld: str) -> bool:
        """Whether every column of ``fld`` already has the field's type (no text to parse); a number or a
        timestamp without a column is a typed null (nothing to look up)."""
        kind = _KINDS.get(fld)
        types = [self.table[c].type() for c in self.resolved.get(fld, [])]
        if kind == "number":
            return all(t.is_numeric() or t.is_null() for t in types)
        if kind == "timestamp":
            return all(t.is_timestamp() or t.is_date() or t.is_null() for t in types)
        return False

    def value(self, fld: str) -> ir.Value:
        """The field per row: typed if :meth:`typed`, else text (null when blank or absent)."""
        columns = self.resolved.get(fld, [])
        target = "float64" if _KINDS.get(fld) == "number" else "timestamp"
        if not columns:
            return ibis.null(target if fld in _KINDS else "string")
        if self.typed(fld):
            values = [self.table[c].cast(target) for c in columns]
        else:
            for c in columns:
                dtype = self.table[c].type()
                if fld in _KINDS and not (
                    dtype.is_string() or dtype.is_numeric() or dtype.is_temporal() or dtype.is_null()
                ):
                    raise MappingError(
                        f"{fld} cannot be read from a column of type {dtype}",
                        file=self.name,
                        column=c,
                        hint="cast it in a view of the table",
                    )
            values = [_text(self.table[c]) for c in columns]
        return values[0] if len(values) == 1 else ibis.coalesce(*values)

    def number(self, fld: str) -> ir.FloatingValue | None:
        """The number cell each row's value of ``fld`` came from (null where it is text), or None when no
        column of ``fld`` has number cells."""
        columns = self.resolved.get(fld, [])
        if not any(NUMBER + c in self.table.columns for c in columns):
            return None
        null = ibis.null("float64")
        cells = [self.table[NUMBER + c] if NUMBER + c in self.table.columns else null for c in columns]
        filled = [_text(self.table[c]).notnull() for c in columns]
        return ibis.cases(*zip(filled, cells, strict=True), else_=null)

    def origin(self, fld: str) -> ir.StringValue:
        """The header each row's value of ``fld`` came from."""
        columns = self.resolved.get(fld, [])
        if not columns:
            return ibis.literal(fld, "string")
        if len(columns) == 1:
            return ibis.literal(columns[0], "string")
        blank = [_text(self.table[c]).isnull() for c in columns]
        return ibis.cases(*((~b, c) for b, c in zip(blank, columns, strict=True)), else_=columns[0])


def _distinct(table: ir.Table, groups: dict[str, list[str]]) -> dict[str, pd.Series]:
    """The distinct non-null values of each group of text columns of ``table``, one query a group (the
    engine reads only the group's columns)."""
    out: dict[str, pd.Series] = {}
    for key, columns in groups.items():
        parts = [table.select(v=table[c].cast("string")) for c in columns]
        if not parts:
            out[key] = pd.Series([], dtype=object)
            continue
        union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
        found = union.filter(union.v.notnull()).distinct().to_pyarrow()["v"].to_pylist()
        out[key] = pd.Series(found, dtype=object)
    return out


def _joined(table: ir.Table, key: str, lookup: pd.DataFrame, dtypes: dict[str, str]) -> ir.Table:
    """``table`` with the columns of ``lookup`` (indexed by the text in column ``key``) joined on."""
    frame = lookup.rename_axis("__key").reset_index()
    schema = {"__key": "string", **dtypes}
    if not len(frame):
        return table.mutate(**{c: ibis.null(t) for c, t in dtypes.items()})
    right = ibis.memtable(frame[list(schema)], schema=schema)
    joined = table.left_join(right, table[key] == right["__key"])
    return joined.drop("__key")


def _first_row(t: ir.Table, fields: Sequence[str], value: str | None) -> tuple[int | None, str | None]:
    """The row number and the column of the first text ``value`` among the fields (for an error)."""
    for f in fields:
        found = t.filter(t[f"{f}__text"] == value).order_by(ROW).select(ROW, f"{f}__col").limit(1).execute()
        if len(found):
            return int(found[ROW].iloc[0]), str(found[f"{f}__col"].iloc[0])
    return None, None


def _parse_money(
    t: ir.Table,
    fields: Sequence[str],
    distinct: pd.Series,
    decimal: DecimalMark | None,
    name: str,
    *,
    required: bool = True,
) -> ir.Table:
    """``t`` with each money field's ``<f>__v`` (value), ``<f>__s`` (the currency sign it is written
    with), ``<f>__e`` (why it did not parse; a blank is an error for the first field when ``required``) and
    ``<f>__shown`` (the text). Text is read with one decimal mark for all the fields."""
    text_fields = [f for f in fields if f"{f}__text" in t.columns]
    if text_fields:
        try:
            mark = decimal or infer_decimal(distinct)
            parsed = parse_amount_column(distinct, mark)
        except AmbiguousFormatError as exc:
            value = getattr(exc, "value", None)
            row, column = _first_row(t, text_fields, value)
            raise AmbiguousFormatError(exc.reason, file=name, row=row, column=column, hint=exc.hint) from None
        lookup = pd.DataFrame(
            {"v": parsed.values.to_numpy(), "s": parsed.signs, "e": parsed.errors}
        ).set_axis(distinct.to_numpy())
        for f in text_fields:
            types = {f"{f}__v": "float64", f"{f}__s": "string", f"{f}__e": "string"}
            t = _joined(t, f"{f}__text", lookup.add_prefix(f"{f}__"), types)
        t = t.mutate(**{f"{f}__shown": t[f"{f}__text"] for f in text_fields})
        t = t.mutate(
            **{
                k: v
                for f in text_fields
                if f"{f}__num" in t.columns
                for k, v in (
                    (f"{f}__v", ibis.coalesce(t[f"{f}__num"], t[f"{f}__v"])),
                    (f"{f}__shown", ibis.coalesce(t[f"{f}__text"], t[f"{f}__num"].cast("string"))),
                )
            }
        )
    typed = [f for f in fields if f not in text_fields]
    t = t.mutate(
        **{
            k: v
            for f in typed
            for k, v in (
                (f"{f}__v", t[f]),
                (f"{f}__s", ibis.null("string")),
                (f"{f}__e", ibis.null("string")),
                (f"{f}__shown", t[f].cast("string")),
            )
        }
    )
    if required:
        first = fields[0]
        blank = t[f"{first}__v"].isnull() & t[f"{first}__e"].isnull() & t[f"{first}__shown"].isnull()
        t = t.mutate(**{f"{first}__e": ibis.ifelse(blank, "empty amount", t[f"{first}__e"])})
    return t


def _money(t: ir.Table, fields: Sequence[str]) -> dict[str, Money]:
    return {
        f: Money(t[f"{f}__v"], t[f"{f}__s"], t[f"{f}__e"], t[f"{f}__shown"], t[f"{f}__col"]) for f in fields
    }


def _parse_dates(
    t: ir.Table,
    fld: str,
    distinct: pd.Series,
    how: dict[str, Any],
    name: str,
    column: str,
    months: bool = False,
) -> ir.Table:
    """``t`` with the field's ``<f>__ts`` (timestamp), ``<f>__e`` (why not), ``<f>__p`` (the period: with
    ``months``, ``2026-11`` is the month from its first day) and ``<f>__shown``."""
    if f"{fld}__text" not in t.columns:
        value = t[fld]
        return t.mutate(
            **{
                f"{fld}__ts": value,
                f"{fld}__e": ibis.ifelse(value.isnull(), ibis.literal("empty date"), ibis.null("string")),
                f"{fld}__p": ibis.literal("day"),
                f"{fld}__shown": value.cast("string"),
            }
        )
    month = _months(distinct) if months else pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[us]")
    try:
        stamps = parse_timestamp_column(distinct.where(month.isna(), "2000-01-01"), **how)
    except AmbiguousFormatError as exc:
        raise AmbiguousFormatError(exc.reason, file=name, column=column, hint=exc.hint) from None
    lookup = pd.DataFrame(
        {
            "ts": stamps.values.where(month.isna(), month).astype("datetime64[us]"),
            "e": stamps.errors.where(month.isna(), None).astype(object),
            "p": np.where(month.notna(), "month", "day"),
        }
    ).set_axis(distinct.to_numpy())
    types = {f"{fld}__ts": "timestamp", f"{fld}__e": "string", f"{fld}__p": "string"}
    t = _joined(t, f"{fld}__text", lookup.add_prefix(f"{fld}__"), types)
    text = t[f"{fld}__text"]
    if f"{fld}__iso" in t.columns:  # read in the engine (:func:`_iso_in_engine`), not looked up
        t = t.mutate(**{f"{fld}__ts": ibis.coalesce(t[f"{fld}__iso"], t[f"{fld}__ts"])})
    return t.mutate(
        **{
            f"{fld}__e": ibis.ifelse(text.isnull(), ibis.literal("empty date"), t[f"{fld}__e"]),
            f"{fld}__p": t[f"{fld}__p"].fill_null("day"),
            f"{fld}__shown": text,
        }
    )


#: An ISO date, or date and time to the second, of 1900-2099 (:func:`_iso_in_engine`).
_ISO = r"^(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])( ([01]\d|2[0-3]):[0-5]\d:[0-5]\d)?$"


def _iso_in_engine(t: ir.Table, fld: str) -> ir.Table:
    """``t`` with ``<f>__iso``, the timestamp of each text of ``fld`` that is an ISO date (``2026-11-23``) or
    date and time (``2026-11-23 14:05:00``) of 1900-2099 (:data:`_ISO`), read by the engine (null for any
    other text, and for a day the month does not have), and ``<f>__other``, the texts left to
    :func:`~ltvkit.io.parsing.parse_timestamp_column` (once per distinct value). The locale rules read these
    shapes the same, whatever else the column holds; they are the commonest shapes of a large export, with
    a distinct text per row."""
    text = t[f"{fld}__text"]
    stamp = ibis.ifelse(text.re_search(_ISO), text.try_cast("timestamp"), ibis.null("timestamp"))
    other = ibis.ifelse(text.notnull() & stamp.isnull(), text, ibis.null("string"))
    return t.mutate(**{f"{fld}__iso": stamp, f"{fld}__other": other})


_MONTH_SHAPES = (
    (re.compile(r"^(\d{4})[-./](\d{1,2})$"), (1, 2)),
    (re.compile(r"^(\d{1,2})[-./](\d{4})$"), (2, 1)),
)


def _months(text: pd.Series) -> pd.Series:
    """First day of the month for month-only texts (``2026-11``, ``11.2026``); NaT for others."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for pattern, (y, m) in _MONTH_SHAPES:
        parts = text.astype(str).str.extract(pattern)
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


def _date_checks(t: ir.Table, fld: str, stamp: ir.Value, options: MapOptions) -> list[Check]:
    origin, text, error = t[f"{fld}__col"], t[f"{fld}__shown"], t[f"{fld}__e"]
    earliest = options.earliest or EARLIEST_DATE
    latest = options.latest or dt.date.today() + dt.timedelta(days=FUTURE_DAYS)
    after = (pd.Timestamp(latest) + pd.Timedelta(days=1)).to_pydatetime()
    return [
        check(error.notnull(), origin, text, error),
        check(
            stamp < ibis.timestamp(pd.Timestamp(earliest).to_pydatetime()),
            origin,
            text,
            f"is before {earliest}, the earliest plausible date (ImportOptions.min_date)",
        ),
        check(
            stamp >= ibis.timestamp(after),
            origin,
            text,
            f"is after {latest}, the latest plausible date (ImportOptions.max_date)",
        ),
    ]


def _currency_lookup(t: ir.Table, distinct: pd.Series, present: bool) -> ir.Table:
    """``t`` with ``currency_text``, its ISO code ``currency_code`` (null where it is none) and the
    column it came from."""
    t = t.rename(currency_text="currency")
    if not present:
        return t.mutate(currency_code=ibis.null("string"), currency_column=t["currency__col"])
    lookup = pd.DataFrame({"code": currency_codes(distinct).astype(object)}).set_axis(distinct.to_numpy())
    t = _joined(t, "currency_text", lookup, {"code": "string"})
    t = t.rename(currency_code="code")
    return t.mutate(currency_column=t["currency__col"])


def _stage(table: ir.Table, resolved: dict[str, list[str]], name: str, wanted: Sequence[str]) -> ir.Table:
    """The first step: each wanted field per row (``<f>__text`` for the text of a field that needs parsing,
    ``<f>`` otherwise), the column it came from (``<f>__col``), the other columns' text (``__rest``), the
    row number and any prior reason."""
    fields = _Fields(table, resolved, name)
    row = table[ROW] if ROW in table.columns else ibis.row_number().cast("int64")
    values: dict[str, ir.Value] = {}
    for f in wanted:
        parse = f in _KINDS and not fields.typed(f)
        values[f"{f}__text" if parse else f] = fields.value(f)
        values[f"{f}__col"] = fields.origin(f)
        if parse and (number := fields.number(f)) is not None:  # number cells are not parsed
            values[f"{f}__text"] = ibis.ifelse(number.notnull(), ibis.null("string"), values[f"{f}__text"])
            values[f"{f}__num"] = number
    prior = {p: table[p] if p in table.columns else ibis.null("string") for p in PRIOR}
    used = {h for cols in resolved.values() for h in cols}
    rest = [
        table[h].cast("string").fill_null("") for h in table.columns if h not in used and not is_hidden(h)
    ]
    values["__rest"] = ibis.literal("\x1f").join(rest) if rest else ibis.literal("")
    return table.select(**{ROW: row}, **prior, **values)


def _kept(t: ir.Table, before: ir.Table | None = None, *, view: bool = False) -> ir.Table:
    """``t`` computed once into a temporary table of its engine (later steps compile to small SQL); the
    table kept ``before`` it, which nothing reads any more, is dropped (a million rows of a hundred columns
    are gigabytes). With ``view``, ``t`` becomes a view instead: nothing is computed or kept, and the
    engine runs every step in the one query that reads the last (an import reads its rows once)."""
    backend = ibis.get_backend(t)
    if view:
        return backend.create_view(f"ltvkit_{uuid.uuid4().hex}", t)
    kept = backend.create_table(f"ltvkit_{uuid.uuid4().hex}", t, temp=True)
    if before is not None:
        op = before.op()  # a temporary table, in its catalog and schema (DuckDB: temp.main)
        backend.drop_table(op.name, database=(op.namespace.catalog, op.namespace.database), force=True)
    return kept


def map_orders(
    table: ir.Table,
    mapping: Preset | None = None,
    *,
    currency: str | None = None,
    name: str = "table",
    options: MapOptions | None = None,
    has_header: bool = True,
    cache: bool = False,
    probe_ids: bool = False,
    views: bool = False,
    report: Callable[[str], None] | None = None,
) -> Mapped:
    """``table``'s rows as orders (:data:`~ltvkit.io.orders.ORDER_SCHEMA`), each usable, merged or left out
    with its reason. ``mapping`` is a preset or a mapping file's (:func:`ltvkit.io.presets.load_mapping`);
    without one the usual English, Russian and Ukrainian column names are recognised. ``currency`` is the
    amounts' currency when the table names none. With ``cache`` the text and parsed values are kept in
    temporary tables of the engine (an in-memory DuckDB: small SQL, each step run once); with ``views``
    each step is a view instead, compiled on its own (small SQL) and run in the one query that reads the
    rows (an import, which reads them once). ``report("values")`` is called as the texts of dates, amounts,
    currencies and statuses are read, ``report("rules")`` as the rules run (with ``cache`` or ``views``,
    where they are computed then). With ``probe_ids`` one aggregation reads whether any order id appears
    twice; when none does, the rows carry no window or merge over the order ids (line items and repeats: the
    same rows, cheaper in every query on them)."""
    report = report or (lambda stage: None)
    preset = mapping or GENERIC
    options = options or MapOptions()
    headers = [c for c in table.columns if not is_hidden(c)]
    resolved, header_currency = resolve_columns(headers, preset, name, has_header=has_header)
    require_columns(resolved, headers, preset, name, ORDER_REQUIRED)
    if options.exclude_tax_shipping and "tax" not in resolved and "shipping" not in resolved:
        raise ParameterError(
            f"{name} has no tax or shipping column to take out of revenue; import it without "
            "exclude_tax_shipping"
        )
    fallback = fallback_currency(currency or options.currency, header_currency, preset)
    # the paid amount is required; without a column for it, the price
    money_fields = tuple(dict.fromkeys(("amount" if "amount" in resolved else "price", *ORDER_MONEY)))
    wanted = [f for f in (*ORDER_SCHEMA.names, *ORDER_INPUT_FIELDS) if f != "order_key"]
    t = _stage(table, resolved, name, wanted)
    staged = None
    if cache or views:
        t = staged = _kept(t, view=views)
    repeats = "order_id" in resolved and not (probe_ids and _distinct_ids(t))

    # Line items: later rows of an order fold into its first.
    grouped = preset.group_lines and repeats
    if grouped:
        order = ibis.window(group_by=t.order_id, order_by=t[ROW])
        t = t.mutate(
            __line=ibis.ifelse(t.order_id.notnull(), ibis.row_number().over(order), 0),
            __lines=ibis.ifelse(
                t.order_id.notnull(), t[ROW].count().over(ibis.window(group_by=t.order_id)), 1
            ),
        )
    else:
        t = t.mutate(__line=ibis.literal(0, "int64"), __lines=ibis.literal(1, "int64"))

    how = {
        "date_format": options.date_format or preset.options.get("date_format"),
        "timezone": options.timezone or preset.options.get("timezone"),
        "source_timezone": options.source_timezone or preset.options.get("source_timezone"),
    }
    dates = [c for c in ("ordered_at__text",) if c in t.columns]
    if views and dates and how["date_format"] is None and not (how["timezone"] and how["source_timezone"]):
        t = _iso_in_engine(t, "ordered_at")
        dates = ["ordered_at__other"]
    report("values")
    distinct = _distinct(
        t,
        {
            "ordered_at": dates,
            "money": [f"{f}__text" for f in ORDER_MONEY if f"{f}__text" in t.columns],
            "quantity": [c for c in ("quantity__text",) if c in t.columns],
            "currency": ["currency"] if "currency" in resolved else [],
            "status": ["status"] if "status" in resolved else [],
        },
    )

    def boundary(t: ir.Table) -> ir.Table:  # a view between steps: each compiles to small SQL
        return _kept(t, view=True) if views else t

    t = boundary(_parse_dates(t, "ordered_at", distinct["ordered_at"], how, name, resolved["ordered_at"][0]))
    t = boundary(
        _parse_money(
            t, money_fields, distinct["money"], options.decimal or preset.options.get("decimal"), name
        )
    )
    t = boundary(_parse_money(t, ("quantity",), distinct["quantity"], ".", name, required=False))
    t = boundary(_currency_lookup(t, distinct["currency"], "currency" in resolved))
    t = _status_lookup(t, distinct["status"], preset, "status" in resolved)
    parsed = None
    if cache or views:
        t = parsed = _kept(t, None if views else staged, view=views)
        if views:
            parsed = None  # a view: nothing to drop
    t = t.mutate(
        **customer_key(t.customer_id, t.email, t.phone, preset.guest_ids),
        ordered_at=t["ordered_at__ts"].cast("timestamp"),
        **{f: t[f"{f}__v"] for f in ORDER_MONEY},
        quantity_text=t["quantity__shown"],
        status_column=t["status__col"],
        refunded_column=t["refunded__col"],
    )
    notes: list[str] = []
    paid_checks: list[Check] = []
    if "amount" not in resolved:  # no column says what was paid: the price, but for partly paid orders
        parts = preset.paid_parts if all(p in resolved for p in preset.paid_parts) else ()
        paid_header = (preset.columns.get("amount") or ("paid amount",))[0].capitalize()
        amount, paid_checks = paid_rule(
            t,
            price_column=resolved["price"][0],
            parts={p: resolved[p][0] for p in parts},
            paid_header=paid_header,
        )
        t = t.mutate(amount=amount)
        partial = sorted({s for s in distinct["status"] if s.strip().lower() in preset.partial_statuses})
        if partial and parts:
            notes.append(
                f"partly paid orders ({', '.join(map(repr, partial))}): the export has no {paid_header!r} "
                f"column, so what they paid is taken as {' + '.join(resolved[p][0] for p in parts)}"
            )
    if options.exclude_tax_shipping:
        t = t.mutate(**without_tax_shipping(t.amount, t.refunded, t.tax, t.shipping))
    t = written_currency(t, _money(t, money_fields))
    t, rule_checks = order_rules(
        t,
        has_status="status" in resolved,
        zero_amount_is_free=preset.zero_amount_is_free,
        first_touch_only=preset.first_touch_only,
    )
    if preset.first_touch_only and "channel" not in resolved:
        notes.append(
            f"the export has no first-touch column ({', '.join(preset.columns.get('channel', ()))}): "
            "customers get no channel (the orders' own utm_* are their last touch)"
        )
    row_currency, currency_checks = currency_rule(t, fallback)
    quantity = _money(t, ("quantity",))["quantity"]
    checks: list[Check] = [check(t[PRIOR[0]].notnull(), t[PRIOR[1]], t[PRIOR[2]], t[PRIOR[0]])]
    checks += excluded_checks(t)
    checks.append(check(t.customer_id.isnull(), "customer", "", "no customer id, email or phone"))
    checks += _date_checks(t, "ordered_at", t.ordered_at, options)
    checks += money_checks(t, _money(t, money_fields))
    checks += paid_checks
    checks.append(
        check(
            quantity.error.notnull() & quantity.text.notnull(), quantity.column, quantity.text, quantity.error
        )
    )
    checks += currency_checks + rule_checks
    quantity = t["quantity__v"]
    if grouped:  # a window over every row: only where line items are summed
        line_quantity = quantity.sum().over(ibis.window(group_by=t.order_id))
        quantity = ibis.ifelse(t["__lines"] > 1, line_quantity.fill_null(0.0), quantity)
    t = t.mutate(
        order_key=t.order_id,
        currency=row_currency,
        quantity=quantity,
        currency_named=t.currency_code.notnull() | t.written.notnull(),
    )
    rows = first_failure(t, checks).rename(__failed="failed")
    fields = [c for c in (*ORDER_SCHEMA.names, *ORDER_INPUT_FIELDS) if c != "order_key"]
    names = (*ORDER_SCHEMA.names, "quantity_text", "currency_named")
    report("rules")
    if cache or views:  # kept as a table, of the columns still read (the merge reads it three times)
        reasons = ("reason", "reason_column", "reason_value", "__failed", "__line", "__rest")
        rows = _kept(rows.select(*dict.fromkeys((ROW, *fields, *names, *reasons))), parsed)
    rows = _merge_repeats(rows, fields) if repeats else rows.mutate(merged=False, usable=~rows["__failed"])
    rows = rows.select(
        *names,
        source_row=rows[ROW],
        reason=rows.reason,
        reason_column=rows.reason_column,
        reason_value=rows.reason_value,
        merged=rows.merged,
        usable=rows.usable,
    )
    # In the table's order: the windows above shuffle rows, and sums in another order differ in the last
    # bits (a fit on them would stop elsewhere).
    return Mapped(rows.order_by("source_row"), resolved, tuple(ORDER_SCHEMA.names), tuple(notes))


def _status_lookup(t: ir.Table, distinct: pd.Series, preset: Preset, present: bool) -> ir.Table:
    """``t`` with ``status_text``, ``status`` (the vocabulary's reading, null where unknown),
    ``status_reason`` (why not), ``status_excluded`` (why a row of this status is no order, else null) and
    ``status_partial`` (a partly paid order)."""
    if not present:
        null = ibis.null("string")
        return t.mutate(
            status_text=null, status_reason=null, status_excluded=null, status_partial=ibis.literal(False)
        )
    known = ", ".join(sorted(set(preset.statuses)))[:300]
    raw = [s.strip().lower() for s in distinct]
    lookup = pd.DataFrame(
        {
            "k": [preset.status_of(s) for s in distinct],
            "why": [f"unknown status {s!r} (known: {known}; map it in a --mapping file)" for s in distinct],
            "x": [preset.excluded.get(s) for s in raw],
            "part": [s in preset.partial_statuses for s in raw],
        },
        dtype=object,
    ).set_axis(distinct.to_numpy())
    t = t.rename(status_text="status")
    t = _joined(t, "status_text", lookup, {"k": "string", "why": "string", "x": "string", "part": "boolean"})
    return t.rename(status="k", status_reason="why", status_excluded="x", status_partial="part")


def _distinct_ids(t: ir.Table) -> bool:
    """Whether no order id of ``t`` appears twice (one aggregation)."""
    ids = t.order_id
    counts = t.aggregate(n=ids.count(), distinct=ids.nunique()).execute()
    return bool(counts["n"].iloc[0] == counts["distinct"].iloc[0])


def _merge_repeats(rows: ir.Table, fields: list[str]) -> ir.Table:
    """Line items and exact repeats of an order above (every column the same) merge into it; a different
    version of it is left out."""
    sep = ibis.literal("\x1f")
    content = sep.join([rows[f].cast("string").fill_null("\x00") for f in [*fields, "__rest"]])
    line = rows["__line"] > 0
    rows = rows.mutate(__content=content, __valid=~rows["__failed"] & ~line & rows.order_id.notnull())
    # The first row of each order and its content, by an aggregate and joins (a window over a partition
    # per order is slow in DuckDB: it materialises every column of every row by partition).
    valid = rows.filter(rows["__valid"])
    v = valid.select(__order=valid.order_id, __row=valid[ROW], __first_content=valid["__content"])
    firsts = v.group_by("__order").aggregate(__first_row=v["__row"].min())
    first = firsts.join(v, [firsts["__order"] == v["__order"], firsts["__first_row"] == v["__row"]]).select(
        "__order", "__first_row", "__first_content"
    )
    rows = rows.left_join(first, [rows["__valid"], rows.order_id == first["__order"]]).drop("__order")
    repeat = rows["__valid"] & (rows[ROW] != rows["__first_row"])
    same = repeat & (rows["__content"] == rows["__first_content"])
    conflict = repeat & ~same
    reason = ibis.ifelse(
        conflict,
        "order '"
        + rows.order_id
        + "' already appears at row "
        + rows["__first_row"].cast("string")
        + " with different values",
        rows.reason,
    )
    return rows.mutate(
        reason=ibis.ifelse(line, ibis.null("string"), reason),
        reason_column=ibis.ifelse(
            line, ibis.null("string"), ibis.ifelse(conflict, "order_id", rows.reason_column)
        ),
        reason_value=ibis.ifelse(
            line, ibis.null("string"), ibis.ifelse(conflict, rows.order_id, rows.reason_value)
        ),
        merged=line | same,
        usable=~rows["__failed"] & ~line & ~repeat,
    )


def map_spend(
    table: ir.Table,
    mapping: Preset | None = None,
    *,
    currency: str | None = None,
    name: str = "table",
    options: MapOptions | None = None,
) -> Mapped:
    """Marketing spend of ``table`` (:data:`~ltvkit.io.orders.SPEND_SCHEMA`), one row per day or month,
    channel, campaign and currency (rows of the same one are summed; the others of the group are merged); a
    row without a channel is ``(unattributed)``, without a date or an amount it is left out."""
    preset = mapping or SPEND
    options = options or MapOptions()
    headers = [c for c in table.columns if not is_hidden(c)]
    resolved, header_currency = resolve_columns(headers, preset, name)
    require_columns(resolved, headers, preset, name, SPEND_REQUIRED)
    fallback = fallback_currency(currency or options.currency, header_currency, preset)
    t = _stage(table, resolved, name, ["date", "channel", "campaign", "amount", "currency"])
    distinct = _distinct(
        t,
        {
            "date": [c for c in ("date__text",) if c in t.columns],
            "amount": [c for c in ("amount__text",) if c in t.columns],
            "currency": ["currency"] if "currency" in resolved else [],
        },
    )
    t = _parse_dates(
        t,
        "date",
        distinct["date"],
        {"date_format": options.date_format},
        name,
        resolved["date"][0],
        months=True,
    )
    t = _parse_money(t, ("amount",), distinct["amount"], options.decimal, name)
    t = _currency_lookup(t, distinct["currency"], "currency" in resolved)
    t = t.mutate(__day=t["date__ts"].cast("timestamp").truncate("D"), amount=t["amount__v"])
    money = _money(t, ("amount",))
    t = written_currency(t, money)
    row_currency, currency_checks = currency_rule(t, fallback)
    amount = money["amount"]
    checks: list[Check] = [check(t[PRIOR[0]].notnull(), t[PRIOR[1]], t[PRIOR[2]], t[PRIOR[0]])]
    checks += _date_checks(t, "date", t["__day"], options)
    checks += money_checks(t, money)
    checks.append(check(t.amount < 0, amount.column, amount.text, "spend cannot be negative"))
    checks += currency_checks
    rows = t.mutate(
        date=t["__day"].cast("date"),
        period=t["date__p"],
        channel=t.channel.fill_null(UNATTRIBUTED),
        campaign=t.campaign.fill_null(""),
        currency=row_currency,
    )
    rows = first_failure(rows, checks).rename(__failed="failed")
    keys = ["date", "period", "channel", "campaign", "currency"]
    w = ibis.window(group_by=[*(rows[k] for k in keys), rows["__failed"]])
    rows = rows.mutate(__first=rows[ROW].min().over(w), __total=rows.amount.sum().over(w))
    first = rows[ROW] == rows["__first"]
    rows = rows.select(
        *keys,
        amount=ibis.ifelse(rows["__failed"], rows.amount, rows["__total"]),
        source_row=rows[ROW],
        reason=rows.reason,
        reason_column=rows.reason_column,
        reason_value=rows.reason_value,
        merged=~rows["__failed"] & ~first,
        usable=~rows["__failed"] & first,
    )
    return Mapped(rows, resolved, tuple(SPEND_SCHEMA.names))
