"""The workspace: a DuckDB file holding orders, marketing spend, the imports ledger and rejected rows.

Every import runs in one transaction: it lands whole or not at all. Orders are keyed by
``source:order_id``; importing a row whose key exists with the same content is a duplicate (nothing changes),
with different content an update (a newer export of the same order, e.g. paid → refunded).
"""

from __future__ import annotations

import errno
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import duckdb
import ibis
import pandas as pd
import pyarrow as pa

from ltvkit.choices import DEFAULT_WORKSPACE
from ltvkit.errors import FileFormatError, LtvError, ParameterError, WorkspaceError
from ltvkit.i18n import Note
from ltvkit.io.mapping import fallback_currency, resolve_columns
from ltvkit.io.normalize import ImportOptions, Normalized, normalize
from ltvkit.io.orders import NO_CURRENCY, table_ddl
from ltvkit.io.presets import PRESETS, detect_preset, load_mapping
from ltvkit.io.readers import read_table

SCHEMA_VERSION = 1
NO_SPACE = ("No space left on device", "not enough space on the disk")  # the OS's words, Linux/macOS, Windows
_TABLES = {
    "orders": ("orders", "order_key"),
    "spend": ("spend", "spend_key"),
    "clients": ("clients", "client_id"),
    "client_payments": ("client_payments", "payment_key"),
}

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS import_ids START 1;
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY, kind VARCHAR, file_name VARCHAR, file_path VARCHAR, sha256 VARCHAR,
    size_bytes BIGINT, format VARCHAR, encoding VARCHAR, delimiter VARCHAR, preset VARCHAR, source VARCHAR,
    imported_at TIMESTAMP, "read" INTEGER, loaded INTEGER, updated INTEGER, duplicates INTEGER,
    rejected INTEGER, options VARCHAR, notes VARCHAR
);
{orders}
{spend}
CREATE TABLE IF NOT EXISTS clients (
    client_id VARCHAR PRIMARY KEY, name VARCHAR, fee DOUBLE NOT NULL, currency VARCHAR NOT NULL,
    start DATE NOT NULL, "end" DATE, billing VARCHAR, import_id INTEGER NOT NULL, source_row INTEGER,
    row_hash VARCHAR NOT NULL
);
ALTER TABLE clients ADD COLUMN IF NOT EXISTS source VARCHAR;
CREATE TABLE IF NOT EXISTS client_payments (
    payment_key VARCHAR PRIMARY KEY, client_id VARCHAR NOT NULL, date DATE NOT NULL, month DATE NOT NULL,
    amount DOUBLE NOT NULL, currency VARCHAR NOT NULL, status VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    invoice VARCHAR, import_id INTEGER NOT NULL, source_row INTEGER, row_hash VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    import_id INTEGER NOT NULL, file_name VARCHAR, row_number INTEGER, "column" VARCHAR, value VARCHAR,
    reason VARCHAR NOT NULL, raw VARCHAR
);
""".format(orders=table_ddl("orders"), spend=table_ddl("spend"))


@dataclass
class ImportAccount:
    """What happened to every row of one import: ``read == loaded + duplicates + rejected``.

    ``updated`` counts the loaded rows that replaced an older version of the same order; ``merged_line_items``
    the duplicates that were line items folded into their order.
    """

    import_id: int | None
    file: str
    kind: str
    preset: str
    read: int
    loaded: int
    duplicates: int
    rejected: int
    updated: int = 0
    merged_line_items: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[str, int, int], None]


#: The import's stages, in the order ``progress(stage, done, total)`` reports them.
STAGES = ("read", "map", "values", "rules", "account", "write", "done")


def _reporter(progress: ProgressCallback | None) -> Callable[[str], None]:
    """``progress`` called with a stage's name and its place among :data:`STAGES`."""

    def report(stage: str) -> None:
        if progress is not None:
            progress(stage, STAGES.index(stage), len(STAGES) - 1)

    return report


@dataclass
class PreparedImport:
    """A file read and normalised for :meth:`Workspace.write_import`: everything an import does before it
    touches the workspace. It holds plain data, so it can be made in another process (the dashboard reads
    uploads in a worker process, so that its readers do not wait for the import's Python work)."""

    path: Path
    digest: str
    format: str
    encoding: str | None
    delimiter: str | None
    normalized: Normalized
    options: ImportOptions


def prepare_import(
    path: str | Path, options: ImportOptions, *, progress: ProgressCallback | None = None
) -> PreparedImport:
    """Read and normalise an orders or spend file (the import's stages before it writes)."""
    path = Path(path)
    report = _reporter(progress)
    report("read")
    table = read_table(path, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet)
    if options.mapping is not None:
        preset = load_mapping(options.mapping)
    elif options.preset is not None:
        if options.preset not in PRESETS:
            raise FileFormatError(
                Note("error_unknown_preset", name=repr(options.preset)),
                hint=Note("error_hint_presets", presets=", ".join(PRESETS)),
            )
        preset = PRESETS[options.preset]
    else:
        preset = detect_preset(list(table.frame.columns), table.has_header, options.kind)
    report("map")
    notes = []
    if preset.kind == "spend" and options.currency is None:
        resolved, named = resolve_columns(list(table.frame.columns), preset, path.name)
        if "currency" not in resolved and fallback_currency(None, named, preset) is None:
            if options.workspace_currency:  # a sheet of date, channel, amount beside orders in one currency
                options = replace(options, currency=options.workspace_currency)
                notes.append(Note("import_spend_in_orders_currency", currency=options.currency))
            else:
                notes.append(Note("import_spend_no_currency", code=NO_CURRENCY))
    normalized = normalize(table, preset, options, step=report)
    normalized.notes.extend(notes)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return PreparedImport(path, digest, table.format, table.encoding, table.delimiter, normalized, options)


def _no_space(error: BaseException) -> bool:
    """Whether ``error`` says the disk is full (an OS error, or a DuckDB error in the OS's words)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return any(words in str(error) for words in NO_SPACE)


class Workspace:
    """A workspace file. Open with :meth:`open`; use as a context manager to close it."""

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._con = connection
        self._ibis: ibis.BaseBackend | None = None

    @classmethod
    def open(cls, path: str | Path = DEFAULT_WORKSPACE, *, read_only: bool = False) -> Self:
        """Open (creating if needed) the workspace at ``path``."""
        path = Path(path)
        if read_only and not path.exists():
            raise WorkspaceError(Note("error_no_workspace", path=str(path)))
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WorkspaceError(Note("error_cannot_open", path=str(path), detail=str(exc))) from exc
            raise WorkspaceError(Note("error_workspace_busy", path=str(path))) from exc
        except duckdb.Error as exc:
            raise WorkspaceError(Note("error_cannot_open", path=str(path), detail=str(exc))) from exc
        ws = cls(path, con)
        if not read_only:
            ws._migrate()
        ws._check_version()
        return ws

    def _migrate(self) -> None:
        self._con.execute(_DDL)
        self._con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [str(SCHEMA_VERSION)]
        )

    def _check_version(self) -> None:
        try:
            rows = self._con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.Error as exc:
            raise WorkspaceError(Note("error_not_workspace", path=str(self.path))) from exc
        version = rows[0][0] if rows else None
        if version is None or int(version) != SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.path} has schema version {version}, this ltvkit reads {SCHEMA_VERSION}"
            )

    def cursor(self) -> Self:
        """Another connection to this open workspace, for use in another thread (a DuckDB connection is not
        shared between threads). It sees committed data only; closing it leaves this one open."""
        return type(self)(self.path, self._con.cursor())

    def count(self, name: str) -> int:
        """Rows in one of the workspace's tables."""
        if name not in {"orders", "spend", "imports", "rejected", "clients", "client_payments"}:
            raise ParameterError(f"no table {name!r} in a workspace")
        ((rows,),) = self._con.execute(f"SELECT count(*) FROM {name}").fetchall()
        return int(rows)

    def data_version(self) -> int:
        """A number that changes whenever an import lands (for caching results of the data)."""
        ((version,),) = self._con.execute("SELECT coalesce(max(import_id), 0) FROM imports").fetchall()
        return int(version)

    def close(self) -> None:
        if self._ibis is not None:
            self._ibis.disconnect()
            self._ibis = None
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- import --------------------------------------------------------------------------------------------

    def import_file(
        self,
        path: str | Path,
        options: ImportOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        **option_values: Any,
    ) -> ImportAccount:
        """Import an orders or spend file and return the account of its rows.

        Options are an :class:`ImportOptions` or its fields as keywords (``preset="getcourse"``,
        ``decimal=","``, ...). ``progress(stage, done, total)`` is called as the stages advance: ``read`` (the
        file into text), ``map`` (columns to fields), ``values`` (the texts of dates, amounts, currencies and
        statuses read), ``rules`` (the order rules, in DuckDB; orders only), ``account`` (order keys, hashes,
        left-out rows), ``write`` (one transaction into the workspace), ``done``.
        """
        options = self.with_orders_currency(options or ImportOptions(**option_values))
        account = self.write_import(prepare_import(path, options, progress=progress), progress=progress)
        _reporter(progress)("done")
        return account

    def with_orders_currency(self, options: ImportOptions) -> ImportOptions:
        """``options`` knowing the workspace's currency: the one currency of its orders, if they have one."""
        found = self._con.execute(
            "SELECT DISTINCT currency FROM orders WHERE currency <> ? LIMIT 2", [NO_CURRENCY]
        ).fetchall()
        return replace(options, workspace_currency=found[0][0] if len(found) == 1 else None)

    def write_import(
        self, prepared: PreparedImport, *, progress: ProgressCallback | None = None
    ) -> ImportAccount:
        """Write an import that :func:`prepare_import` read, in one transaction; its row account."""
        _reporter(progress)("write")
        with self._transaction():
            return self._write(
                prepared.path,
                prepared.digest,
                prepared.format,
                prepared.encoding,
                prepared.delimiter,
                prepared.normalized,
                prepared.options,
            )

    def import_clients(self, path: str | Path, *, currency: str | None = None) -> ImportAccount:
        """Import a retainer client ledger (see :mod:`ltvkit.retainer.clients`), with the same row account."""
        from ltvkit.retainer.clients import read_ledger

        path = Path(path)
        normalized = read_ledger(path, currency=currency)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self._transaction():
            return self._write(
                path, digest, "ledger", None, None, normalized, ImportOptions(currency=currency)
            )

    def import_client_book(self, path: str | Path, *, currency: str | None = None) -> ImportAccount:
        """Import a retainer's invoices and payments (:mod:`ltvkit.retainer.book`), with the row account."""
        from ltvkit.retainer.book import read_book

        path = Path(path)
        normalized = read_book(path, currency=currency)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self._transaction():
            return self._write(path, digest, "book", None, None, normalized, ImportOptions(currency=currency))

    def clients(self) -> pd.DataFrame:
        return self._con.execute("SELECT * EXCLUDE (row_hash) FROM clients ORDER BY start, client_id").df()

    def client_payments(self) -> pd.DataFrame:
        """The client book (empty in a workspace made before it existed, until something is imported)."""
        try:
            return self._con.execute(
                "SELECT * EXCLUDE (row_hash) FROM client_payments ORDER BY date, client_id, payment_key"
            ).df()
        except duckdb.CatalogException:
            columns = "payment_key client_id date month amount currency status kind invoice import_id"
            return pd.DataFrame(columns=[*columns.split(), "source_row"])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction: all of the block's writes or none. A full disk, at whichever step DuckDB meets it,
        is one sentence (a :class:`WorkspaceError`); the file then holds what it held before."""
        try:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")
        except (duckdb.Error, OSError) as exc:
            if not _no_space(exc):
                raise
            raise WorkspaceError(Note("error_disk_full", path=str(self.path))) from exc

    def _write(
        self,
        path: Path,
        digest: str,
        fmt: str,
        encoding: str | None,
        delimiter: str | None,
        data: Normalized,
        options: ImportOptions,
    ) -> ImportAccount:
        self._con.execute("SET enable_progress_bar = false")  # the import shows its own stages
        ((import_id,),) = self._con.execute("SELECT nextval('import_ids')").fetchall()
        table, key = _TABLES[data.kind]
        # as Arrow: DuckDB scans it in place (a frame of Arrow strings would be converted value by value)
        incoming = pa.Table.from_pandas(data.rows.assign(import_id=import_id), preserve_index=False)
        self._con.register("incoming", incoming)
        try:
            ((same, changed),) = self._con.execute(
                f"""SELECT count(*) FILTER (WHERE t.row_hash = i.row_hash),
                           count(*) FILTER (WHERE t.row_hash <> i.row_hash)
                    FROM incoming i JOIN {table} t USING ({key})"""
            ).fetchall()
            self._con.execute(
                f"""DELETE FROM {table} WHERE {key} IN (
                        SELECT i.{key} FROM incoming i JOIN {table} t USING ({key}) """
                "WHERE t.row_hash <> i.row_hash)"
            )
            columns = ", ".join(f'"{c}"' for c in incoming.column_names)
            self._con.execute(
                f"""INSERT INTO {table} ({columns})
                    SELECT {columns} FROM incoming i WHERE NOT EXISTS (
                        SELECT 1 FROM {table} t WHERE t.{key} = i.{key})"""
            )
        finally:
            self._con.unregister("incoming")
        # Rejected rows stay with the import that read them (the ledger counts them there); the listing of all
        # imports shows the latest import of each file content once (see rejected()).
        rejected = data.rejected.assign(import_id=import_id, file_name=path.name)
        if len(rejected):
            self._con.register("incoming_rejected", rejected)
            self._con.execute(
                """INSERT INTO rejected SELECT import_id, file_name, row_number, "column", value, reason, raw
                   FROM incoming_rejected"""
            )
            self._con.unregister("incoming_rejected")
        account = ImportAccount(
            import_id=import_id,
            file=str(path),
            kind=data.kind,
            preset=data.preset.name,
            read=data.read,
            loaded=len(data.rows) - same,
            duplicates=data.merged + same,
            rejected=len(data.rejected),
            updated=changed,
            merged_line_items=data.merged_line_items,
            notes=data.notes,
        )
        if account.read != account.loaded + account.duplicates + account.rejected:
            raise LtvError(f"internal accounting error for {path}: {account}")
        opts = {k: str(v) for k, v in asdict(options).items() if v is not None}
        self._con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                data.kind,
                path.name,
                str(path.resolve()),
                digest,
                path.stat().st_size,
                fmt,
                encoding,
                delimiter,
                data.preset.name,
                data.source,
                datetime.now(UTC).replace(tzinfo=None),
                account.read,
                account.loaded,
                account.updated,
                account.duplicates,
                account.rejected,
                json.dumps(opts),
                json.dumps(data.notes, ensure_ascii=False),
            ],
        )
        return account

    # --- reading -------------------------------------------------------------------------------------------

    def table(self, name: str) -> ibis.Table:
        """An Ibis table of the workspace (``orders``, ``spend``, ``imports``, ``rejected``)."""
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self._con)
        return self._ibis.table(name)

    def transactions(self) -> pd.DataFrame:
        """All orders as a DataFrame (every status; net revenue of a row is ``amount - refunded``)."""
        return self._con.execute(
            "SELECT * EXCLUDE (row_hash) FROM orders ORDER BY ordered_at, order_key"
        ).df()

    def spend(self) -> pd.DataFrame:
        return self._con.execute("SELECT * EXCLUDE (row_hash) FROM spend ORDER BY date, channel").df()

    def imports(self) -> pd.DataFrame:
        return self._con.execute("SELECT * FROM imports ORDER BY import_id").df()

    def rejected(self, import_id: int | None = None) -> pd.DataFrame:
        """Rejected rows with their reasons: those of one import when ``import_id`` is given, else those of
        the latest import of each file content (a file imported twice is listed once)."""
        sql = 'SELECT import_id, file_name, row_number, "column", value, reason, raw FROM rejected'
        params: list[Any] = []
        if import_id is not None:
            sql += " WHERE import_id = ?"
            params.append(import_id)
        else:
            sql += " WHERE import_id IN (SELECT max(import_id) FROM imports GROUP BY sha256, kind)"
        return self._con.execute(sql + " ORDER BY import_id, row_number", params).df()
