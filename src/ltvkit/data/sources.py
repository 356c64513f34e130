"""Orders that live in a warehouse or a lake, analysed where they live.

A :class:`Source` is a table of any Ibis backend — DuckDB, Spark, Postgres, BigQuery, Snowflake, … — whose
columns are mapped to ltvkit's order fields the way an import maps a file's: by a mapping file (the format of
``docs/import.md``) or, without one, by the usual column names. Every analysis takes
``source.table("orders")`` like a workspace's, runs as Ibis expressions in that engine, and brings back only
small results (``docs/sources.md`` lists what crosses the network).

The rules of an import hold: a purchase with a negative amount is a refund, a ``refunded`` status without a
refund amount refunds the whole amount, statuses are read through the platform vocabulary. Rows are never
dropped silently: a row that cannot be used (no customer, no date, no amount, an unknown status, a refund
larger than the amount, a currency that is not a code) is left out with one reason, and
:meth:`Source.account` counts them by reason (``ltv source check`` prints it).
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from ltvkit.errors import MappingError, SourceError
from ltvkit.io.normalize import CURRENCY_TOKENS, NO_CURRENCY
from ltvkit.io.presets import GENERIC, SPEND, STATUSES, Preset, load_mapping, normalize_header

#: The order columns every analysis reads, with their types.
ORDER_SCHEMA = ibis.schema(
    {
        "order_key": "string",
        "order_id": "string",
        "customer_id": "string",
        "email": "string",
        "phone": "string",
        "ordered_at": "timestamp",
        "amount": "float64",
        "refunded": "float64",
        "currency": "string",
        "status": "string",
        "product": "string",
        "quantity": "float64",
        "channel": "string",
        "utm_source": "string",
        "utm_medium": "string",
        "utm_campaign": "string",
        "utm_content": "string",
        "utm_term": "string",
        "cost": "float64",
        "fee": "float64",
    }
)
SPEND_SCHEMA = ibis.schema(
    {
        "date": "date",
        "period": "string",
        "channel": "string",
        "campaign": "string",
        "amount": "float64",
        "currency": "string",
    }
)
FILE_SUFFIXES = (".parquet", ".csv", ".tsv", ".json", ".jsonl", ".ndjson")
_TEXT = (
    "email",
    "phone",
    "product",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)


class Tables(Protocol):
    """Where analyses read orders and spend: a :class:`~ltvkit.data.workspace.Workspace` or a
    :class:`Source`."""

    def table(self, name: str) -> ir.Table: ...


# --- connections -----------------------------------------------------------------------------------------


def connect(url: str, *, writable: bool = False) -> BaseBackend:
    """An Ibis backend for a connection URL.

    - ``duckdb:///path/to/file.duckdb`` (opened read-only unless ``writable``), ``duckdb://`` in memory;
      ``?key=value`` pairs are DuckDB settings (``duckdb://?memory_limit=8GB&threads=4``);
    - ``spark://local[2]`` starts a local Spark session, ``spark://host:7077`` joins a cluster's master;
      ``?key=value`` pairs are Spark settings (``spark://local[2]?spark.driver.memory=8g``);
    - a path to Parquet or CSV files (a file, a folder or a glob) is read by an in-memory DuckDB;
    - anything :func:`ibis.connect` understands (``postgres://user@host/db``, ``bigquery://project/dataset``,
      ``snowflake://user@account/db/schema``, ``trino://…``) with that Ibis backend installed.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    try:
        if scheme == "duckdb":
            path, _, query = url.split("://", 1)[1].partition("?")
            if path and path not in ("/", "/:memory:") and not Path(path).exists():
                raise SourceError(f"no DuckDB database at {path}")
            database = path if path and path not in ("/", "/:memory:") else ":memory:"
            return ibis.duckdb.connect(
                database, read_only=not writable and database != ":memory:", **dict(parse_qsl(query))
            )
        if scheme == "spark":
            return ibis.pyspark.connect(spark_session(url))
        if not scheme:
            return ibis.duckdb.connect()  # a path: read by table() below
        return ibis.connect(url)
    except SourceError:
        raise
    except ImportError as exc:
        package = "ltvkit[spark]" if scheme == "spark" else f"ibis-framework[{scheme}]"
        raise SourceError(f"the {scheme} backend is not installed: pip install '{package}'") from exc
    except Exception as exc:  # drivers raise their own error types; the user needs the message
        raise SourceError(_redacted(f"cannot connect to {url}: {exc}")) from exc


def spark_session(url: str) -> Any:
    """A Spark session for ``spark://MASTER[?setting=value…]``; ``local``/``local[N]`` masters run in this
    machine's JVM. Session time zone UTC, so dates do not depend on the machine's zone."""
    from pyspark.sql import SparkSession

    rest = url.split("://", 1)[1]
    master, _, query = rest.partition("?")
    master = master if master.startswith("local") else f"spark://{master}"
    builder = (
        SparkSession.builder.master(master)
        .appName("ltvkit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")  # small tables in and out as Arrow
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    for key, value in parse_qsl(query):
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _redacted(url: str) -> str:
    """The text with any URL password masked."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def read_table(backend: BaseBackend, name: str) -> ir.Table:
    """A table of ``backend``: a name (``schema.table`` for another schema or dataset) or a path to Parquet,
    CSV or JSON-lines files (a file, a folder of Parquet files, or a glob)."""
    try:
        if _is_path(name):
            suffix = Path(name.rstrip("/*")).suffix.lower()
            if suffix in (".csv", ".tsv"):
                return backend.read_csv(name)
            if suffix in (".json", ".jsonl", ".ndjson"):
                return backend.read_json(name)
            return backend.read_parquet(name)
        database, _, table = name.rpartition(".")
        return backend.table(table, database=database or None)
    except Exception as exc:
        known = _table_names(backend)
        hint = f"tables: {', '.join(known[:20])}" if known else None
        raise SourceError(
            f"cannot read the table {name!r}: {str(exc).splitlines()[0]}" + (f" ({hint})" if hint else "")
        ) from exc


def _is_path(name: str) -> bool:
    return "/" in name or "*" in name or Path(name).suffix.lower() in FILE_SUFFIXES or Path(name).exists()


def _table_names(backend: BaseBackend) -> list[str]:
    """The backend's table names, for a hint (empty when it will not say)."""
    try:
        if backend.name == "duckdb":  # Ibis 12's DuckDB listing calls an API DuckDB 2 removed
            rows = backend.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            return sorted({str(name) for (name,) in rows})
        return sorted(backend.list_tables())
    except Exception:  # listing is only a hint; some warehouses forbid it
        return []


# --- mapping ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapped:
    """A source table in ltvkit's columns, every row kept, with ``reason`` (null for a usable row) and
    ``usable`` (the same test as a flat boolean, cheap to push into a scan)."""

    rows: ir.Table
    columns: dict[str, list[str]]

    @property
    def usable(self) -> ir.Table:
        return self.rows.filter(self.rows.usable).drop("reason", "usable")


def _resolve(table: ir.Table, preset: Preset, name: str) -> dict[str, list[str]]:
    """Field → source columns. With a mapping file every named column must exist and a list is tried in order
    per row; by the usual names only the first present is taken."""
    present = {normalize_header(c): c for c in table.columns}
    found: dict[str, list[str]] = {}
    for fld, headers in preset.columns.items():
        names = list(
            dict.fromkeys(present[normalize_header(h)] for h in headers if normalize_header(h) in present)
        )
        if preset.explicit:
            missing = [h for h in headers if normalize_header(h) not in present]
            if missing:
                raise MappingError(
                    f"no column {missing[0]!r} for {fld}",
                    file=name,
                    hint=f"its columns are: {', '.join(table.columns)}",
                )
        if names:
            found[fld] = names if preset.explicit else names[:1]
    return found


def _text(value: ir.Value) -> ir.StringValue:
    """Text as stored, an empty string as null (not trimmed: a warehouse's values are typed data, and trimming
    every row costs more than the rest of the mapping)."""
    text = value.cast("string")
    return ibis.ifelse(text == "", ibis.null("string"), text)


def _typed(table: ir.Table, columns: list[str], kind: str, fld: str, name: str) -> ir.Value:
    """The first non-null of ``columns`` as ``kind`` (text, number, timestamp, date), or a clear error when a
    column's type cannot be read as one (text is never guessed into numbers: decimal marks vary)."""
    values = []
    for column in columns:
        value, dtype = table[column], table[column].type()
        if kind == "text":
            values.append(_text(value))
        elif kind == "number" and dtype.is_numeric():
            values.append(value.cast("float64"))
        elif kind in ("timestamp", "date") and (dtype.is_timestamp() or dtype.is_date() or dtype.is_string()):
            values.append(value.cast(kind))
        else:
            need = "a number" if kind == "number" else "a date or timestamp"
            raise MappingError(
                f"{fld} must be {need}, the column is {dtype}",
                file=name,
                column=column,
                hint="cast it in a view of the table",
            )
    return values[0] if len(values) == 1 else ibis.coalesce(*values)


def map_orders(
    table: ir.Table, mapping: Preset | None = None, *, currency: str | None = None, name: str = "table"
) -> Mapped:
    """``table``'s rows as ltvkit orders (:data:`ORDER_SCHEMA`) with the reason a row cannot be used.

    ``mapping`` is a mapping file's preset (:func:`ltvkit.io.presets.load_mapping`); without one the usual
    English, Russian and Ukrainian column names are recognised. ``currency`` is the amounts' currency when
    the table has no currency column (a mapping file's ``[options] currency`` otherwise).

    The expression is built in steps, each naming what the next reads, so the SQL stays small; the status
    and currency vocabularies are cut to the values present (one small distinct query), so the engine
    compares each row with a handful of texts, not hundreds."""
    preset = mapping or GENERIC
    found = _resolve(table, preset, name)
    if "ordered_at" not in found or "amount" not in found:
        raise MappingError(
            "the table needs an order date and an amount column",
            file=name,
            hint=f"its columns are: {', '.join(table.columns)}; name them in a mapping file",
        )
    if "customer_id" not in found and "email" not in found:
        raise MappingError(
            "the table needs a customer id or an email column",
            file=name,
            hint=f"its columns are: {', '.join(table.columns)}",
        )
    kinds = {
        "ordered_at": "timestamp",
        "amount": "number",
        "refunded": "number",
        "quantity": "number",
        "cost": "number",
        "fee": "number",
    }
    types = {"timestamp": "timestamp", "number": "float64", "text": "string"}

    def get(fld: str) -> ir.Value:
        kind = kinds.get(fld, "text")
        return _typed(table, found[fld], kind, fld, name) if fld in found else ibis.null(types[kind])

    fields = (
        "order_id",
        "customer_id",
        "email",
        "phone",
        "ordered_at",
        "amount",
        "refunded",
        "status",
        "currency",
        "product",
        "quantity",
        *_TEXT[3:],
        "cost",
        "fee",
    )
    typed = table.select(**{f: get(f) for f in fields})
    if "email" in found:
        typed = typed.mutate(email=typed.email.lower())
        typed = typed.mutate(customer_id=typed.customer_id.fill_null(typed.email))

    statuses = {s: s for s in STATUSES} | dict(preset.statuses)
    currencies = dict(CURRENCY_TOKENS)
    present = _present(typed, [c for c in ("status", "currency") if c in found])
    fallback = (currency or preset.currency or NO_CURRENCY).upper()
    looked_up = typed.mutate(
        known_status=_lookup(
            typed.status,
            {s: statuses[k] for s in present.get("status", []) if (k := s.strip().lower()) in statuses},
        )
        if "status" in found
        else ibis.literal("paid"),
        code=_lookup(
            typed.currency,
            {
                c: currencies.get(k) or k.upper()
                for c in present.get("currency", [])
                if (k := c.strip().lower()) in currencies or re.fullmatch("[a-z]{3}", k)
            },
        ),
    )
    # The import's rules, written over the looked-up status k, the amount a and the refund r (0 if none)
    # without nesting one derived status in another: engines inline every reference, and a filter that
    # inlines nested CASEs (Spark pushes the usability test into the scan) costs more than the analysis.
    t = looked_up
    k, a, r = t.known_status, t.amount, t.refunded.fill_null(0.0)
    problems = [
        (t.customer_id.isnull(), "no customer id or email"),
        (t.ordered_at.isnull(), "no order date"),
        (a.isnull(), "no amount"),
        (t.status.notnull() & k.isnull(), "unknown status (map it in a mapping file)"),
        ((a >= 0) & (r > a + 1e-9), "the refund is larger than the amount"),
        (t.currency.notnull() & t.code.isnull(), "not a currency code"),
    ]
    rows = t.mutate(
        order_key=t.order_id,
        refunded=ibis.ifelse(
            (k == "refunded") & (a > 0) & (r == 0), a, r
        ),  # a refunded order, refunded whole
        status=ibis.cases(
            ((k == "paid") & (a < 0), "refunded"),  # a refund on its own row
            ((k == "paid") & (r > 0) & (r < a), "partially_refunded"),
            ((k == "paid") & (r > 0), "refunded"),
            else_=k,
        ),
        currency=t.code.fill_null(fallback),
        reason=ibis.cases(*problems, else_=ibis.null("string")),
        usable=~functools.reduce(operator.or_, [condition for condition, _ in problems]),
    )
    return Mapped(rows.select(*ORDER_SCHEMA.names, "reason", "usable"), found)


def _present(table: ir.Table, columns: list[str]) -> dict[str, list[str]]:
    """The distinct non-null values of each of a few low-cardinality columns, read in one pass; looked up in
    Python as an import would (trimmed, any case) and matched in the engine as stored."""
    if not columns:
        return {}
    combinations = table.select(*columns).distinct().execute()
    return {c: sorted({str(v) for v in combinations[c].dropna()}) for c in columns}


def _lookup(value: ir.StringValue, vocabulary: dict[str, str]) -> ir.StringValue:
    """``vocabulary[value]``, null for a value it does not have."""
    if not vocabulary:
        return ibis.null("string")
    return value.substitute(vocabulary, else_=ibis.null("string"))


def map_spend(
    table: ir.Table, mapping: Preset | None = None, *, currency: str | None = None, name: str = "table"
) -> ir.Table:
    """Marketing spend rows (:data:`SPEND_SCHEMA`) of ``table``: a date, a channel and an amount each; rows
    without them are left out (they cannot be attributed)."""
    preset = mapping or SPEND
    found = _resolve(table, preset, name)
    for need in ("date", "channel", "amount"):
        if need not in found:
            raise MappingError(
                f"the spend table needs a {need} column",
                file=name,
                hint=f"its columns are: {', '.join(table.columns)}",
            )
    fallback = (currency or preset.currency or NO_CURRENCY).upper()
    spend = table.select(
        date=_typed(table, found["date"], "date", "date", name),
        period=ibis.literal("day"),
        channel=_typed(table, found["channel"], "text", "channel", name),
        campaign=_typed(table, found["campaign"], "text", "campaign", name)
        if "campaign" in found
        else ibis.null("string"),
        amount=_typed(table, found["amount"], "number", "amount", name),
        currency=_typed(table, found["currency"], "text", "currency", name).upper().fill_null(fallback)
        if "currency" in found
        else ibis.literal(fallback),
    )
    return spend.filter(spend.date.notnull() & spend.channel.notnull() & spend.amount.notnull())


# --- the source ------------------------------------------------------------------------------------------


@dataclass
class SourceAccount:
    """What became of a source table's rows: ``rows == usable + sum(left_out.values())``."""

    table: str
    rows: int
    usable: int
    left_out: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "usable": self.usable,
            "left_out": self.left_out,
            "columns": self.columns,
        }

    def note(self) -> str | None:
        """One line for the user when rows were left out, else None."""
        if not self.left_out:
            return None
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in self.left_out.items())
        return (
            f"{sum(self.left_out.values()):,} of {self.rows:,} rows of {self.table} are left out: {reasons}"
        )


class Source:
    """Orders (and optionally marketing spend) in tables of any Ibis backend.

    ``table("orders")`` and ``table("spend")`` give the mapped tables, so every analysis that takes a
    :class:`~ltvkit.data.workspace.Workspace`'s tables takes a source's. Open one from a URL with
    :meth:`open`, or wrap an Ibis table you already have::

        source = Source(ibis_table, currency="USD")
        cohort_table(source.table("orders"))
    """

    def __init__(
        self,
        orders: ir.Table,
        *,
        mapping: Preset | str | Path | None = None,
        currency: str | None = None,
        spend: ir.Table | None = None,
        spend_mapping: Preset | str | Path | None = None,
        name: str = "orders",
        backend: BaseBackend | None = None,
    ) -> None:
        self.name = name
        self.backend = backend or ibis.get_backend(orders)
        self._mapped = map_orders(orders, _preset(mapping), currency=currency, name=name)
        self._spend = (
            map_spend(spend, _preset(spend_mapping), currency=currency, name="spend")
            if spend is not None
            else None
        )
        self._account: SourceAccount | None = None
        self._owns_backend = False  # a backend the caller passed in is the caller's to close

    @classmethod
    def open(
        cls,
        url: str,
        table: str = "orders",
        *,
        mapping: Preset | str | Path | None = None,
        currency: str | None = None,
        spend_table: str | None = None,
        spend_mapping: Preset | str | Path | None = None,
        writable: bool = False,
    ) -> Self:
        """Connect to ``url`` (see :func:`connect`) and map ``table`` (a name or a file path; with a path as
        the URL, the table is that path)."""
        backend = connect(url, writable=writable)
        table = url if "://" not in url else table
        try:
            spend = read_table(backend, spend_table) if spend_table else None
            source = cls(
                read_table(backend, table),
                mapping=mapping,
                currency=currency,
                spend=spend,
                spend_mapping=spend_mapping,
                name=table,
                backend=backend,
            )
        except BaseException:
            backend.disconnect()
            raise
        source._owns_backend = True
        return source

    def table(self, name: str) -> ir.Table:
        """``orders`` (usable rows, in :data:`ORDER_SCHEMA`) or ``spend`` (empty without a spend table)."""
        if name == "orders":
            return self._mapped.usable
        if name == "spend":
            if self._spend is not None:
                return self._spend
            return ibis.memtable(
                pd.DataFrame({c: pd.Series(dtype=t.to_pandas()) for c, t in SPEND_SCHEMA.items()}),
                schema=SPEND_SCHEMA,
            )
        raise SourceError(f"a source has the tables orders and spend, not {name!r}")

    @property
    def columns(self) -> dict[str, list[str]]:
        """Which source column(s) each order field is read from."""
        return self._mapped.columns

    def account(self) -> SourceAccount:
        """Rows read, usable and left out by reason (one scan of the table, computed once)."""
        if self._account is None:
            rows = self._mapped.rows
            counts = rows.group_by("reason").aggregate(n=rows.count()).execute()
            left = counts[counts["reason"].notna()].sort_values(["n", "reason"], ascending=[False, True])
            usable = counts.loc[counts["reason"].isna(), "n"]
            self._account = SourceAccount(
                table=self.name,
                rows=int(counts["n"].sum()),
                usable=int(usable.iloc[0]) if len(usable) else 0,
                left_out={str(r): int(n) for r, n in zip(left["reason"], left["n"], strict=False)},
                columns=self.columns,
            )
        return self._account

    def left_out(self, limit: int = 20) -> pd.DataFrame:
        """Up to ``limit`` rows that are left out, in ltvkit's columns, with the reason."""
        rows = self._mapped.rows
        return rows.filter(~rows.usable).drop("usable").limit(limit).execute()

    def close(self) -> None:
        """Disconnect, if :meth:`open` connected (a Spark session it started is stopped)."""
        if self._owns_backend:
            self.backend.disconnect()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _preset(mapping: Preset | str | Path | None) -> Preset | None:
    if mapping is None or isinstance(mapping, Preset):
        return mapping
    return load_mapping(mapping)


def write_result(backend: BaseBackend, result: ir.Table, target: str | Path) -> ir.Table:
    """Write ``result`` where it is computed: to Parquet when ``target`` ends in ``.parquet`` (Spark writes a
    folder of part files), else to a table of that name (replaced if it exists). Returns the written table."""
    target = str(target)
    try:
        if target.lower().endswith(".parquet"):
            backend.to_parquet(result, target)
            return read_table(backend, target)
        database, _, name = target.rpartition(".")
        return backend.create_table(name, result, database=database or None, overwrite=True)
    except Exception as exc:
        raise SourceError(f"cannot write {target}: {str(exc).splitlines()[0]}") from exc
