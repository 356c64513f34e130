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

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from ltvkit.errors import SourceError
from ltvkit.io.mapping import MapOptions, Mapped, map_orders, map_spend
from ltvkit.io.orders import SPEND_SCHEMA
from ltvkit.io.presets import Kind, Preset, detect_preset, load_mapping

FILE_SUFFIXES = (".parquet", ".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xlsx", ".gz")
#: Files read by ltvkit's own reader (encodings, delimiters, spreadsheets), as an import reads them.
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".gz")


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
    """A table of ``backend``: a name (``schema.table`` for another schema or dataset) or a path to Parquet
    or JSON-lines files (a file, a folder of Parquet files, or a glob); see :func:`read_file` for text
    files and spreadsheets."""
    try:
        if _is_path(name):
            suffix = Path(name.rstrip("/*")).suffix.lower()
            if suffix in (".csv", ".tsv"):
                return backend.read_csv(name, all_varchar=True)
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


def read_file(
    backend: BaseBackend, path: str | Path, mapping: Preset | str | Path | None, kind: Kind
) -> tuple[ir.Table, Preset, bool]:
    """A CSV, TSV, whitespace-separated text or XLSX export read as an import reads it (encodings,
    delimiters, row numbers, odd characters), into a table of ``backend``; with the preset that reads it
    (the mapping, else the one the headers show) and whether it has a header row."""
    from ltvkit.io.normalize import raw_frame, raw_memtable
    from ltvkit.io.readers import read_table as read_raw

    raw = read_raw(path)
    preset = _preset(mapping) or detect_preset([str(h) for h in raw.frame.columns], raw.has_header, kind)
    frame = raw_frame(raw, preset, malformed=True)
    name = f"ltvkit_{kind}_{abs(hash(str(path))):x}"
    return backend.create_table(name, raw_memtable(frame), temp=True, overwrite=True), preset, raw.has_header


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


# --- the source ------------------------------------------------------------------------------------------


@dataclass
class SourceAccount:
    """What became of a source table's rows: ``rows == usable + merged + sum(left_out.values())``
    (``merged``: line items and exact repeats folded into their order)."""

    table: str
    rows: int
    usable: int
    left_out: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    merged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "usable": self.usable,
            "merged": self.merged,
            "left_out": self.left_out,
            "columns": self.columns,
        }

    def note(self) -> str | None:
        """One line for the user when rows were left out, else None (the five commonest reasons)."""
        if not self.left_out:
            return None
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in list(self.left_out.items())[:5])
        more = len(self.left_out) - 5
        return (
            f"{sum(self.left_out.values()):,} of {self.rows:,} rows of {self.table} are left out: {reasons}"
            + (f"; {more} more reasons" if more > 0 else "")
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
        options: MapOptions | None = None,
        has_header: bool = True,
        cache: bool = False,
    ) -> None:
        self.name = name
        self.backend = backend or ibis.get_backend(orders)
        self._mapped = map_orders(
            orders,
            _preset(mapping),
            currency=currency,
            name=name,
            options=options,
            has_header=has_header,
            cache=cache,
            probe_ids=True,  # one scan now, and without repeated order ids no window in every query
        )
        self._spend: Mapped | None = (
            map_spend(spend, _preset(spend_mapping), currency=currency, name="spend", options=options)
            if spend is not None
            else None
        )
        self._rows = _named(self.backend, self._mapped.rows, "ltvkit_order_rows")
        self._orders = _named(
            self.backend,
            self._rows.filter(self._rows.usable).select(*self._mapped.schema_names),
            "ltvkit_orders",
        )
        self._account: SourceAccount | None = None
        self._local = cache  # the mapped rows are kept in this process's DuckDB: counting them is cheap
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
            spend = spend_preset = None
            if spend_table and _is_text_file(spend_table):
                spend, spend_preset, _ = read_file(backend, spend_table, spend_mapping, "spend")
            elif spend_table:
                spend = read_table(backend, spend_table)
            has_header, cache = True, False
            preset: Preset | None
            if _is_text_file(table):
                cache = True  # the file's text is in this process's DuckDB
                orders, preset, has_header = read_file(backend, table, mapping, "orders")
            else:
                orders, preset = read_table(backend, table), _preset(mapping)
            source = cls(
                orders,
                mapping=preset,
                currency=currency,
                spend=spend,
                spend_mapping=spend_preset or spend_mapping,
                name=table,
                backend=backend,
                has_header=has_header,
                cache=cache,
            )
        except BaseException:
            backend.disconnect()
            raise
        source._owns_backend = True
        return source

    def table(self, name: str) -> ir.Table:
        """``orders`` (usable rows, in :data:`ORDER_SCHEMA`) or ``spend`` (empty without a spend table)."""
        if name == "orders":
            return self._orders
        if name == "spend":
            if self._spend is not None:
                return self._spend.usable
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
        """Rows read, usable, merged and left out by reason (one scan of the table, on first use, kept)."""
        if self._account is None:
            rows = self._rows
            counts = rows.group_by("reason", "merged").aggregate(n=rows.count()).execute()
            left = counts[counts["reason"].notna()].sort_values(["n", "reason"], ascending=[False, True])
            kept = counts[counts["reason"].isna()]
            self._account = SourceAccount(
                table=self.name,
                rows=int(counts["n"].sum()),
                usable=int(kept.loc[~kept["merged"].astype(bool), "n"].sum()),
                left_out={str(r): int(n) for r, n in zip(left["reason"], left["n"], strict=False)},
                columns=self.columns,
                merged=int(kept.loc[kept["merged"].astype(bool), "n"].sum()),
            )
        return self._account

    def note(self) -> str | None:
        """The row account's note, for a command that prints one beside its result: counted when the rows
        are in this process (a file source) or already counted, never by a scan of a remote table just for
        the note (``ltv --source … check`` counts them)."""
        if self._account is None and not self._local:
            return None
        return self.account().note()

    def left_out(self, limit: int = 20) -> pd.DataFrame:
        """Up to ``limit`` rows that are left out, in ltvkit's columns, with the reason, the column and the
        value it names (and the row number for a file)."""
        rows = self._rows
        out = rows.filter(rows.reason.notnull()).drop("usable", "merged", "quantity_text", "currency_named")
        return out.order_by("source_row").limit(limit).execute()

    def close(self) -> None:
        """Disconnect, if :meth:`open` connected (a Spark session it started is stopped)."""
        if self._owns_backend:
            self.backend.disconnect()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _named(backend: BaseBackend, expr: ir.Table, name: str) -> ir.Table:
    """``expr`` as a temporary view of ``backend`` where it can hold one, so each analysis compiles a query
    on a name instead of the whole mapping again; the expression itself where it cannot."""
    name = f"{name}_{uuid.uuid4().hex[:12]}"
    try:
        if backend.name == "duckdb":
            backend._run_pre_execute_hooks(expr)  # registers the lookups' in-memory tables
            backend.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {backend.compile(expr)}')
            return backend.table(name)
        return backend.create_view(name, expr, overwrite=True)
    except Exception:  # a warehouse that allows no views to this user: every query carries the mapping
        return expr


def _is_text_file(name: str) -> bool:
    return "://" not in name and Path(name).suffix.lower() in TEXT_SUFFIXES and Path(name).is_file()


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
