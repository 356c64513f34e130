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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.errors import AllRowsRejectedError, AmbiguousFormatError, ParameterError
from ltvkit.io import mapping
from ltvkit.io.limits import EARLIEST_DATE, FUTURE_DAYS
from ltvkit.io.orders import FREE_TEXT_FIELDS, NO_CURRENCY, ORDER_COLUMNS, ORDER_FIELDS, SPEND_COLUMNS
from ltvkit.io.parsing import DecimalMark, infer_decimal
from ltvkit.io.presets import Kind, Preset
from ltvkit.io.readers import BLANK_SQL, RawTable

REJECTED_COLUMNS = ["row_number", "column", "value", "reason", "raw"]
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
    (Shopify's ``Taxes`` and ``Shipping``) out of its revenue. ``mapping`` is a mapping file or its content as
    a dict (:func:`ltvkit.io.presets.load_mapping`). ``workspace_currency`` is the currency of the orders
    already imported (set by the workspace): a spend file without a currency column, imported without
    ``currency``, is in it, with a note.
    """

    kind: Kind | None = None
    preset: str | None = None
    mapping: str | Path | Mapping[str, Any] | None = None
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
    workspace_currency: str | None = None

    def date_range(self) -> tuple[dt.date, dt.date]:
        """The earliest and the latest plausible date (both included)."""
        earliest = self.min_date or EARLIEST_DATE
        latest = self.max_date or dt.date.today() + dt.timedelta(days=FUTURE_DAYS)
        return earliest, latest


@dataclass
class Normalized:
    """The outcome of normalising one file: rows to load, rows rejected, and how many rows merged."""

    kind: Kind | Literal["clients", "client_payments"]  # a retainer's contracts and book (ltvkit.retainer)
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
    (``Стоимость, RUB``); see :func:`ltvkit.io.mapping.resolve_columns`."""
    headers = [str(h) for h in table.frame.columns]
    return mapping.resolve_columns(headers, preset, str(table.path), has_header=table.has_header)


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
    headers = [str(h) for h in table.frame.columns]
    mapping.require_columns(resolved, headers, preset, str(table.path), groups)


def currency_codes(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 4217 codes for currency texts (``руб.`` → RUB, ``usd`` → USD); the second series flags texts that
    are not a currency (``ABC``)."""
    codes = mapping.currency_codes(text)
    return codes, (text.str.strip() != "") & codes.isna()


def reject_odd_characters(frame: pd.DataFrame, resolved: dict[str, list[str]], rej: Rejections) -> None:
    """Reject the rows holding a control character in any value (NUL, ESC, C1 controls, bidirectional
    overrides), or a line end, tab or invisible character inside a one-line field (every mapped field but
    :data:`FREE_TEXT_FIELDS`), naming the column and the character."""
    one_line = {h for name, cols in resolved.items() if name not in FREE_TEXT_FIELDS for h in cols}
    for column in frame.columns:
        pattern = _NOT_ONE_LINE if column in one_line else _CONTROL
        if not _holds(frame[column], pattern):  # the usual case
            continue
        values = frame[column].str.strip() if column in one_line else frame[column]
        found = values.map(lambda v, p=pattern: m.group() if (m := p.search(v)) else None)
        hit = found.notna()
        rej.add(hit, column, values.map(visible), found.map(_odd_character_reason, na_action="ignore"))


def _holds(values: pd.Series, characters: re.Pattern[str]) -> bool:
    """Whether a value of ``values`` holds one of ``characters`` (a character class): one scan in C, by
    pyarrow for text held as Arrow strings."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        re2 = "".join(c if c in "[]-" else f"\\x{{{ord(c):x}}}" for c in characters.pattern)
        return bool(pc.any(pc.match_substring_regex(pa.array(values), re2)).as_py())
    return characters.search("".join(values)) is not None


def _odd_character_reason(character: str) -> str:
    name = _CHARACTER_NAMES.get(character) or unicodedata.name(character, "")
    label = f"U+{ord(character):04X}" + (f" ({name})" if name else "")
    if _CONTROL.match(character):
        return f"contains the control character {label}"
    return f"contains {label}, which a one-line field cannot hold"


def visible(text: str) -> str:
    """``text`` with control and invisible characters written as ``\\u0000`` escapes (JSON stays JSON)."""
    return _NOT_ONE_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def content_hash(frame: pd.DataFrame) -> pd.Series:
    """A stable 64-bit hash of each row's values (pandas' fixed-key SipHash), as a hex string."""
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
    return hashed.map(lambda h: f"{h:016x}")


def _extra_json(frame: pd.DataFrame, used: set[str]) -> pd.Series:
    """Unmapped columns of each row as JSON (blank values left out), so nothing the user had is lost: the
    text ``json.dumps`` writes for the row's dict, built a column at a time (each distinct value quoted
    once)."""
    rest = [c for c in frame.columns if c not in used]
    out = np.full(len(frame), "", dtype=object)
    started = np.zeros(len(frame), dtype=bool)
    for column in rest:
        codes, uniques = pd.factorize(frame[column].astype(str))
        key = json.dumps(column, ensure_ascii=False) + ": "
        parts = np.array([key + json.dumps(v, ensure_ascii=False) for v in uniques], dtype=object)
        filled = np.array([bool(v.strip()) for v in uniques], dtype=bool)[codes]
        if not filled.any():
            continue
        piece = np.where(started, ", ", "") + parts[codes]
        out = np.where(filled, out + piece, out)
        started |= filled
    return pd.Series("{" + out + "}", index=frame.index, dtype=object)


def _raw_json(frame: pd.DataFrame, index: pd.Index) -> pd.Series:
    records = frame.loc[index].to_dict(orient="records")
    return pd.Series([visible(json.dumps(r, ensure_ascii=False)) for r in records], index=index, dtype=object)


def rejected_frame(table: RawTable, rej: Rejections, row_numbers: pd.Series) -> pd.DataFrame:
    idx = rej.reason[rej.mask].index
    return _with_malformed(
        table,
        pd.DataFrame(
            {
                "row_number": row_numbers[idx].astype(int),
                "column": rej.column[idx],
                "value": rej.value[idx],
                "reason": rej.reason[idx],
                "raw": _raw_json(table.frame, idx),
            }
        ),
    )


def _with_malformed(table: RawTable, out: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows with the rows that could not be split into columns, in the file's order."""
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


def normalize(
    table: RawTable, preset: Preset, options: ImportOptions, *, step: Callable[[str], None] | None = None
) -> Normalized:
    """Canonical rows of ``table`` under ``preset``; see :class:`Normalized`. ``step(stage)`` is called as
    the mapping of orders reads the texts of values (``values``) and runs the order rules (``rules``), and
    when the rows are mapped and what remains is to account for them (``account``: keys, hashes, left-out
    rows)."""
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
        return _normalize_spend(table, preset, options, step or _no_step)
    return _normalize_orders(table, preset, options, step or _no_step)


def _no_step(stage: str) -> None:
    """A ``step`` callback that reports nothing."""


def raw_frame(table: RawTable, preset: Preset, *, malformed: bool = False) -> pd.DataFrame:
    """The file's text with string headers, the row numbers (:data:`ltvkit.io.mapping.ROW`), the values of
    number cells (:data:`ltvkit.io.mapping.NUMBER`) and the reason a row holding an odd character is left
    out (:data:`ltvkit.io.mapping.PRIOR`), for :func:`ltvkit.io.mapping.map_orders`; with ``malformed``, the
    rows that could not be split into columns follow as blank rows with their reason."""
    frame = table.frame.set_axis([str(h) for h in table.frame.columns], axis=1)
    resolved, _ = resolve_columns(table, preset)
    rej = Rejections(frame.index)
    reject_odd_characters(frame, resolved, rej)
    typed = table.typed if table.typed is not None else pd.DataFrame(index=frame.index)
    numbers = {  # the number cells of a spreadsheet (or typed file), beside their text
        mapping.NUMBER + str(h): typed[h].to_numpy(dtype=float)
        for h in typed.columns
        if typed[h].notna().any()
    }
    data = frame.assign(
        **{
            mapping.ROW: np.asarray(table.row_numbers, dtype="int64"),
            mapping.PRIOR[0]: rej.reason,
            mapping.PRIOR[1]: rej.column,
            mapping.PRIOR[2]: rej.value,
        },
        **numbers,
    )
    if malformed and table.malformed:
        bad = pd.DataFrame(
            {
                mapping.ROW: [n for n, _, _ in table.malformed],
                mapping.PRIOR[0]: [f"the row {reason}" for _, _, reason in table.malformed],
                mapping.PRIOR[2]: [raw for _, raw, _ in table.malformed],
            }
        )
        data = pd.concat([data, bad], ignore_index=True).sort_values(mapping.ROW, kind="stable")
    # text as objects, but for text already held as Arrow strings (a large CSV read by DuckDB)
    return data.astype({c: object for c in frame.columns if not isinstance(data[c].dtype, pd.StringDtype)})


def raw_memtable(data: pd.DataFrame) -> ir.Table:
    """:func:`raw_frame`'s frame as an Ibis table: text columns, the row number an integer, number cells
    floats."""
    schema = {
        c: "int64" if c == mapping.ROW else "float64" if c.startswith(mapping.NUMBER) else "string"
        for c in data.columns
    }
    return ibis.memtable(data, schema=schema)


def _map(
    con: Any, table: RawTable, preset: Preset, options: ImportOptions, step: Callable[[str], None] = _no_step
) -> mapping.Mapped:
    """Every row of ``table`` through :func:`ltvkit.io.mapping.map_orders` (or ``map_spend``) in the
    in-memory DuckDB ``con`` (an Ibis backend; the file's text is its table ``raw``), a row with an odd
    character left out first."""
    # pandas' Arrow strings (no copy to convert); no progress bar of DuckDB's own in the output
    con.con.execute("SET arrow_large_buffer_size = true; SET enable_progress_bar = false")
    data = raw_frame(table, preset)
    earliest, latest = options.date_range()
    how = mapping.MapOptions(
        decimal=options.decimal,
        date_format=options.date_format,
        timezone=options.timezone,
        currency=options.currency,
        earliest=earliest,
        latest=latest,
        exclude_tax_shipping=options.exclude_tax_shipping,
    )
    raw = con.create_table("raw", raw_memtable(data), temp=True)
    if preset.kind == "spend":
        return mapping.map_spend(raw, preset, name=str(table.path), options=how)
    return mapping.map_orders(
        raw, preset, name=str(table.path), options=how, has_header=table.has_header, views=True, report=step
    )


def _mapped(
    table: RawTable, preset: Preset, options: ImportOptions
) -> tuple[pd.DataFrame, pd.DataFrame, mapping.Mapped]:
    """:func:`_map`'s rows in the file's order, indexed like ``table.frame``; the file's text with string
    headers; and the mapping (its columns and notes)."""
    frame = table.frame.set_axis([str(h) for h in table.frame.columns], axis=1)
    con = ibis.duckdb.connect()
    try:
        mapped = _map(con, table, preset, options)
        # through Arrow: text stays Arrow strings (no Python object per value)
        result = con.to_pyarrow(mapped.rows.order_by("source_row")).to_pandas()
    finally:
        con.disconnect()
    position = pd.Series(frame.index, index=table.row_numbers)
    result.index = position[result["source_row"].to_numpy()].to_numpy()
    return result, frame, mapped


def _left_out(table: RawTable, frame: pd.DataFrame, result: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``result`` (indexed like ``frame``) that have a reason, with the malformed rows."""
    out = result[result["reason"].notna()]
    return _with_malformed(
        table,
        pd.DataFrame(
            {
                "row_number": out["source_row"].astype(int),
                "column": out["reason_column"],
                "value": out["reason_value"],
                "reason": out["reason"],
                "raw": _raw_json(frame, out.index),
            }
        ),
    )


_QUOTED = re.compile(r"""^(?:'[^']*'|"[^"]*") """)
_DECIMAL_REASONS = ("does not read as a number with decimal mark", "has more than one decimal mark")


def refuse_if_all_rejected(
    table: RawTable, left_out: pd.DataFrame, loaded: int, options: ImportOptions
) -> None:
    """Raise :class:`~ltvkit.errors.AllRowsRejectedError` when nothing loads and every row (two or more)
    was rejected for one reason in one column — an option the file does not follow, most often: the
    message names the reason and, for a decimal mark, the one the file uses."""
    if loaded or len(left_out) < 2 or len(left_out) < table.rows_read:
        return
    kinds = left_out["reason"].astype(str).str.replace(_QUOTED, "", regex=True)
    if kinds.nunique() != 1 or left_out["column"].nunique(dropna=False) != 1:
        return
    kind, column = str(kinds.iloc[0]), str(left_out["column"].iloc[0])
    if options.decimal is not None and kind.startswith(_DECIMAL_REASONS):
        try:
            found = infer_decimal(left_out["value"].astype(str))
        except AmbiguousFormatError:
            found = None
        if found is not None and found != options.decimal:
            raise AllRowsRejectedError(
                "all_rejected_decimal", file=table.path, given=options.decimal, found=found
            )
    first = left_out.iloc[0]
    raise AllRowsRejectedError(
        "all_rejected",
        file=table.path,
        column=column,
        row=int(first["row_number"]),
        reason=str(first["reason"]),
    )


def _normalize_orders(
    table: RawTable, preset: Preset, options: ImportOptions, step: Callable[[str], None]
) -> Normalized:
    """The import of orders in DuckDB: the file's text into a table, :func:`ltvkit.io.mapping.map_orders`
    as views, then the account in SQL (unmapped columns as JSON, keys, hashes); only the rows left out, line
    items and rows without an order id come to Python. The rows to load come back once, as Arrow."""
    frame = table.frame.set_axis([str(h) for h in table.frame.columns], axis=1)
    con = ibis.duckdb.connect()
    try:
        mapped = _map(con, table, preset, options, step)
        resolved = mapped.columns
        names = [*ORDER_FIELDS, "quantity_text", "currency_named", "source_row", "merged", "usable"]
        con.create_table(
            "result",
            mapped.rows.select(*names, "reason", "reason_column", "reason_value"),
            temp=True,
        )
        step("account")
        sql = con.con
        _drop(sql, "ltvkit_%")  # the mapping's own tables: everything is in ``result``
        lines_merged = preset.group_lines and "order_id" in resolved
        ((merged, no_currency),) = sql.execute(
            """SELECT count(*) FILTER (WHERE merged),
                      count(*) FILTER (WHERE currency = ? AND NOT currency_named AND NOT (merged AND ?))
               FROM result""",
            [NO_CURRENCY, lines_merged],
        ).fetchall()
        notes = [*table.notes, *mapped.notes]
        if no_currency and not options.currency:
            notes.append(
                f"{no_currency} rows name no currency; they are kept apart as {NO_CURRENCY} "
                f"(pass --currency to set one)"
            )
        used = {h for cols in resolved.values() for h in cols}
        rest = [c for c in frame.columns if c not in used]
        sql.execute(
            f"""CREATE TEMP TABLE loaded AS SELECT {", ".join(f'r."{c}"' for c in ORDER_FIELDS)},
                   {_extra_sql(rest)} AS extra, r.source_row
                FROM result r JOIN raw ON raw."{mapping.ROW}" = r.source_row
                WHERE r.usable"""
        )
        if lines_merged and merged:
            _line_items(sql)
        rejected = sql.execute(
            """SELECT source_row, reason_column, reason_value, reason FROM result
               WHERE reason IS NOT NULL ORDER BY source_row"""
        ).df()
        sql.execute("DROP TABLE raw; DROP TABLE result")  # what is left is in ``loaded``
        _synthetic_ids(sql)
        source = options.source or preset.name
        content = [c for c in ORDER_COLUMNS if c not in ("source_row", "row_hash", "order_key")]
        hashed = ", ".join(f'coalesce(CAST("{c}" AS VARCHAR), chr(0))' for c in content)
        rows = (
            sql.sql(
                f"""SELECT $source || ':' || order_id AS order_key, * EXCLUDE (source_row), source_row,
                       substr(md5(concat_ws(chr(31), {hashed})), 1, 16) AS row_hash
                    FROM loaded ORDER BY source_row""",
                params={"source": source},
            )
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.disconnect()
    rows["ordered_at"] = rows["ordered_at"].astype("datetime64[us]")
    position = pd.Series(frame.index, index=table.row_numbers)
    rejected.index = position[rejected["source_row"].to_numpy()].to_numpy()
    left_out = _left_out(table, frame, rejected)
    refuse_if_all_rejected(table, left_out, len(rows), options)
    return Normalized(
        "orders",
        preset,
        source,
        rows[ORDER_COLUMNS],
        left_out,
        table.rows_read,
        int(merged),
        int(merged) if lines_merged else 0,
        notes,
    )


def _drop(sql: duckdb.DuckDBPyConnection, like: str) -> None:
    """Drop the temporary views and tables whose names are ``like`` a pattern: a million rows held twice
    are hundreds of megabytes."""
    for kind, catalog, column in (
        ("VIEW", "duckdb_views()", "view_name"),
        ("TABLE", "duckdb_tables()", "table_name"),
    ):
        query = f"SELECT {column} FROM {catalog} WHERE temporary AND {column} LIKE ?"
        for (name,) in sql.execute(query, [like]).fetchall():
            sql.execute(f'DROP {kind} IF EXISTS temp.main."{name}"')


def _extra_sql(columns: list[str]) -> str:
    """The SQL of :func:`_extra_json` on the table ``raw``: the non-blank values of ``columns`` as the JSON
    object ``json.dumps`` writes (``{"key": "value", ...}``). A row to load holds no control character but
    tab and line ends (:func:`reject_odd_characters`), so escaping those, quotes and backslashes is all
    ``json.dumps`` does."""
    if not columns:
        return "'{}'"

    def quoted(value: str) -> str:
        for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            value = f"replace({value}, {_literal(char)}, {_literal(escape)})"
        return f"'\"' || {value} || '\"'"

    def column(name: str) -> str:
        return 'raw."' + name.replace('"', '""') + '"'

    parts = [
        f"""CASE WHEN NOT regexp_matches({column(c)}, '{BLANK_SQL}')
            THEN {_literal(json.dumps(c, ensure_ascii=False) + ": ")} || {quoted(column(c))} END"""
        for c in columns
    ]
    return f"'{{' || concat_ws(', ', {', '.join(parts)}) || '}}'"


def _literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _line_items(sql: duckdb.DuckDBPyConnection) -> None:
    """Each order of several lines (Shopify, WooCommerce) with its lines (product and quantity, in the
    file's order) in its ``extra`` (``line_items``)."""
    lines = sql.execute(
        """SELECT order_id, product, quantity_text FROM result
           WHERE order_id IN (SELECT order_id FROM result WHERE merged) ORDER BY source_row"""
    ).df()
    items = (
        pd.DataFrame(
            {
                "order": lines["order_id"],
                "product": lines["product"].fillna(""),
                "quantity": lines["quantity_text"].fillna(""),
            }
        )
        .groupby("order", sort=False)[["product", "quantity"]]
        .apply(lambda g: g.to_dict(orient="records"))
    )
    orders = sql.execute(
        "SELECT source_row, order_id, extra FROM loaded WHERE order_id IN (SELECT order_id FROM result "
        "WHERE merged)"
    ).df()
    patch = pd.DataFrame(
        {
            "source_row": orders["source_row"],
            "extra": [
                json.dumps({**json.loads(e), "line_items": items[o]}, ensure_ascii=False)
                for e, o in zip(orders["extra"], orders["order_id"], strict=True)
            ],
        }
    )
    sql.register("line_items", patch)
    sql.execute("UPDATE loaded SET extra = p.extra FROM line_items p WHERE loaded.source_row = p.source_row")
    sql.unregister("line_items")


def _synthetic_ids(sql: duckdb.DuckDBPyConnection) -> None:
    """An order id for each row to load without one, from its content (:func:`content_hash`) and its
    occurrence in the file: ``~<hash>-<n>``."""
    basis = (
        sql.sql(
            """SELECT source_row, customer_id, ordered_at, amount, currency, product FROM loaded
               WHERE order_id IS NULL ORDER BY source_row"""
        )
        .to_arrow_table()
        .to_pandas()
    )
    if not len(basis):
        return
    digest = content_hash(basis[["customer_id", "ordered_at", "amount", "currency", "product"]])
    occurrence = digest.groupby(digest).cumcount()
    ids = pd.DataFrame(
        {"source_row": basis["source_row"], "order_id": "~" + digest + "-" + occurrence.astype(str)}
    )
    sql.register("synthetic", ids)
    sql.execute(
        "UPDATE loaded SET order_id = s.order_id FROM synthetic s WHERE loaded.source_row = s.source_row"
    )
    sql.unregister("synthetic")


def _normalize_spend(
    table: RawTable, preset: Preset, options: ImportOptions, step: Callable[[str], None]
) -> Normalized:
    result, frame, mapped = _mapped(table, preset, options)
    step("account")
    resolved = mapped.columns
    out = result[result["usable"]].copy()
    out["extra"] = _extra_json(frame.loc[out.index], {h for cols in resolved.values() for h in cols})
    source = options.source or preset.name
    keys = ["date", "period", "channel", "campaign", "currency"]
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[us]")
    key_text = out[keys].astype(str).agg("|".join, axis=1) if len(out) else pd.Series(dtype=object)
    out["spend_key"] = source + ":" + key_text
    out["row_hash"] = content_hash(out[["spend_key", "amount", "extra"]])
    left_out = _left_out(table, frame, result)
    refuse_if_all_rejected(table, left_out, len(out), options)
    return Normalized(
        "spend",
        preset,
        source,
        out[SPEND_COLUMNS].reset_index(drop=True),
        left_out,
        table.rows_read,
        int(result["merged"].sum()),
        notes=list(table.notes),
    )
