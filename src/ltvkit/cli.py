"""The ``ltv`` command line: parse arguments, call the core API, print tables or JSON. No analytics here."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer import _click as click
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from ltvkit.choices import DEFAULT_WORKSPACE, FORMATS, METRICS, MODELS, SCHEMES, SPLITS, TimeUnit
from ltvkit.errors import LtvError, ParameterError, collect_notes
from ltvkit.io.presets import PRESETS

if TYPE_CHECKING:
    import pandas as pd

    from ltvkit.data.sources import Source
    from ltvkit.data.workspace import ImportAccount, Workspace
    from ltvkit.io.normalize import ImportOptions
    from ltvkit.service.tables import SourceOptions


class _LocalizedHelp:
    """``--help`` in the reader's language (``--lang`` before it, LTV_LANG or LANG): the descriptions and
    option help this module writes in English are looked up in :func:`ltvkit.i18n.cli_help` as the help is
    shown (the command objects are built anew for each run), and Typer's own words (panel titles, "default",
    "required") are set for that one display."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ltvkit import i18n

        lang = _help_language(ctx)
        command: click.Command = self  # type: ignore[assignment]
        commands = getattr(command, "commands", {}).values()
        for item in [command, *commands, *command.get_params(ctx)]:
            if item.help:
                item.help = i18n.cli_help(item.help, lang)
        with _typer_words(lang):
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        prefix = f"{_t('cli_help_usage', _help_language(ctx))}: "
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=prefix)


class _Group(_LocalizedHelp, TyperGroup):
    pass


class _Command(_LocalizedHelp, TyperCommand):
    pass


def _help_language(ctx: click.Context) -> str:
    """The language of a help display: the command's when the root's options were read, else ``--lang`` if
    it came before ``--help`` (it is eager for that), LTV_LANG or LANG; English for a language not known."""
    root = ctx.find_root()
    if isinstance(root.obj, Settings):
        return root.obj.lang
    try:
        return _language(root.params.get("lang") or os.environ.get("LTV_LANG"))
    except LtvError:
        return "en"


@contextmanager
def _typer_words(lang: str) -> Iterator[None]:
    """Typer's own words of a help display (the panels' titles, "default", "environment variable",
    "required") in ``lang`` while the block runs; they are module constants of ``typer.rich_utils``."""
    from typer import rich_utils

    words = {
        "ARGUMENTS_PANEL_TITLE": _t("cli_help_arguments", lang),
        "OPTIONS_PANEL_TITLE": _t("cli_help_options", lang),
        "COMMANDS_PANEL_TITLE": _t("cli_help_commands", lang),
        "DEFAULT_STRING": f"[{_t('cli_help_default', lang)}: {{}}]",
        "ENVVAR_STRING": f"[{_t('cli_help_env_var', lang)}: {{}}]",
        "REQUIRED_LONG_STRING": f"[{_t('cli_help_required', lang)}]",
    }
    saved = {name: getattr(rich_utils, name) for name in words}
    for name, value in words.items():
        setattr(rich_utils, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(rich_utils, name, value)


app = typer.Typer(
    cls=_Group,
    name="ltv",
    help="Customer lifetime value analytics: import orders, then ask what customers are worth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# a pipe or a file gets wide tables (Rich would wrap them at 80 columns); a terminal its own width
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", envvar="LTV_WORKSPACE", help="Workspace file (DuckDB).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UnitOpt = Annotated[TimeUnit, typer.Option(help="Time unit: day, week or month.")]
CurrencyOpt = Annotated[str | None, typer.Option(help="Currency to analyse when the orders have several.")]
FormatOpt = Annotated[
    str, typer.Option("--format", help=f"table (terminal), or write {', '.join(FORMATS)} to --out.")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="File to write (with --format, or by extension).")]
ContactsOpt = Annotated[
    str | None,
    typer.Option(
        "--contacts",
        help="Contact files for an import: getcourse (user import) or unisender (also SendPulse).",
    ),
]
ScenariosOpt = Annotated[Path | None, typer.Option("--file", help="Several scenarios (TOML: [name] fields).")]
TargetOpt = Annotated[float, typer.Option(help="Target LTV:CAC for the affordable CAC.")]
MarginOpt = Annotated[
    float | None, typer.Option(help="Margin rate for profit figures when orders have no costs.")
]
LangOpt = Annotated[
    str | None,
    typer.Option(envvar="LTV_LANG", help="Language of the output: en, ru or uk (default: ltv --lang)."),
]
EndOpt = Annotated[
    str | None, typer.Option("--observation-end", help="Last day observed (default: the last purchase).")
]
RegularizationOpt = Annotated[
    str,
    typer.Option(
        help="How the models are fitted: auto (weakly informative priors when the data are thin), none (the "
        "data alone, maximum likelihood) or map (always with the priors)."
    ),
]

F = TypeVar("F", bound=Callable[..., Any])
_LANG: ContextVar[str] = ContextVar("ltv_lang", default="en")  # the command's language, set before it runs


retainer_app = typer.Typer(
    cls=_Group,
    help="Retainers: prorated invoices by working days, KPI fees, client LTV.",
    no_args_is_help=True,
)
app.add_typer(retainer_app, name="retainer")
book_app = typer.Typer(cls=_Group, help="The client book: invoices and payments.", no_args_is_help=True)
retainer_app.add_typer(book_app, name="book")


def _t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` of :mod:`ltvkit.i18n` in ``lang`` (imported when first used: ``ltv --help`` stays
    fast)."""
    from ltvkit import i18n

    return i18n.text(key, lang, **values)


def _current_lang() -> str:
    """The language of the command running now (``--lang``, LTV_LANG or LANG), for helpers without its
    context (Typer runs a command outside Click's context stack); English outside a command."""
    return _LANG.get()


def _fail(message: str) -> NoReturn:
    label = _t("cli_error", _current_lang())
    err.print(f"[bold red]{label}:[/bold red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def command(name: str | None = None, group: typer.Typer = app, *, notes: bool = True) -> Callable[[F], F]:
    """Register a command that reports errors as one line and exit code 1, never a traceback (ltvkit's own
    errors as they are, an operating-system error such as a full disk as one sentence, anything else as an
    unexpected error; ``LTV_DEBUG=1`` shows the traceback of the last), and ltvkit's warnings as notes.

    ``notes=False`` for a command that runs for as long as the user wants (the server): collecting notes
    holds a lock of the whole process, which the server's requests take in turn for their own notes."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            collected: list[str] = []
            try:
                with collect_notes() if notes else nullcontext(collected) as collected:
                    return fn(*args, **kwargs)
            except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):  # usage errors, Ctrl+C
                raise
            except ParameterError as exc:
                flag = f" (--{exc.parameter.replace('_', '-')})" if exc.parameter else ""
                _fail(f"{exc.localized(_current_lang())}{flag}")
            except LtvError as exc:  # in the user's language: its own texts, or a known message's pattern
                _fail(exc.localized(_current_lang()))
            except OSError as exc:
                where = f" ({exc.filename})" if exc.filename else ""
                _fail(_t("cli_os_error", _current_lang(), reason=exc.strerror or exc, where=where))
            except Exception as exc:
                if os.environ.get("LTV_DEBUG"):
                    raise
                _fail(_t("cli_unexpected", _current_lang(), kind=type(exc).__name__, error=exc))
            finally:
                _notes(collected)

        group.command(name, cls=_Command)(wrapper)
        return fn

    return register


def _program() -> str:
    """How to run ltv again from this shell: ``ltv`` when that is what the PATH finds, else the path it was
    started by (``make demo`` runs ``.venv/bin/ltv`` in a shell whose PATH may not have it)."""
    import shutil

    started, found = sys.argv[0], shutil.which("ltv")
    return "ltv" if found and os.path.realpath(found) == os.path.realpath(started) else started


def _version(show: bool) -> None:
    if show:
        from ltvkit import __version__

        out.print(f"ltvkit {__version__}")
        raise typer.Exit()


@app.callback()
def where_the_data_is(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            envvar="LTV_SOURCE",
            help="Analyse a table where it lives instead of a workspace: spark://local[2], "
            "duckdb:///file.duckdb, postgres://user@host/db, bigquery://project/dataset, … or a Parquet/CSV "
            "path.",
        ),
    ] = None,
    table: Annotated[
        str,
        typer.Option(
            "--table",
            envvar="LTV_TABLE",
            help="The orders table in --source (name, schema.name or a file path).",
        ),
    ] = "orders",
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", envvar="LTV_MAPPING", help="Column mapping of the table (TOML/YAML, as for imports)."
        ),
    ] = None,
    spend_table: Annotated[
        str | None, typer.Option("--spend-table", help="Marketing spend table in --source.")
    ] = None,
    source_currency: Annotated[
        str | None,
        typer.Option(
            "--source-currency", help="Currency of the table's amounts when it has no currency column."
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="LTV_LANG",
            is_eager=True,  # read before --help, which shows the help in it
            help="Language of tables and notes: en, ru or uk (default: from LANG, else en).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print ltvkit's version and exit."),
    ] = False,
) -> None:
    """Customer lifetime value analytics: import orders, then ask what customers are worth.

    With --source, every analysis runs in the engine that holds the orders and brings back small results."""
    options = None
    if source:  # the engines load only for a source: a command on the workspace may not need them
        from ltvkit.service.tables import SourceOptions

        options = SourceOptions(source, table, mapping, spend_table, source_currency)
    ctx.obj = Settings(options, _language(lang))
    _LANG.set(ctx.obj.lang)


@dataclass(frozen=True)
class Settings:
    """The options given before the command: where the orders are (None: the workspace) and the language."""

    source: SourceOptions | None
    lang: str


def _language(lang: str | None) -> str:
    """``lang`` checked, or the language of the LANG environment variable (ru_RU.UTF-8 → ru), else en."""
    from ltvkit import i18n

    if lang:
        return i18n.check_lang(lang)
    code = os.environ.get("LANG", "")[:2].lower()
    return code if code in ("ru", "uk") else "en"


def _settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj or Settings(None, "en")


def _source_options(ctx: typer.Context) -> SourceOptions | None:
    """The --source options given before the command (None: the workspace)."""
    return _settings(ctx).source


def _lang(ctx: typer.Context) -> str:
    return _settings(ctx).lang


@contextmanager
def _data(ctx: typer.Context, workspace: Path, *, writable: bool = False) -> Iterator[Workspace | Source]:
    """The orders to analyse: the --source table (noting rows it leaves out) or the workspace."""
    from ltvkit.data.sources import Source
    from ltvkit.service.tables import open_tables

    with open_tables(workspace, _source_options(ctx), writable=writable) as tables:
        if isinstance(tables, Source):
            note = tables.note()
            if note:
                _notes([f"{note} (ltv --source … check)"])
        yield tables


def _print_json(data: Any) -> None:
    """``data`` as valid JSON on standard output (non-finite numbers as null)."""
    from ltvkit.serialize import dumps

    sys.stdout.write(dumps(data, indent=2) + "\n")


def _emit(frame: pd.DataFrame, fmt: str, out_file: Path | None, show: Callable[[], None]) -> bool:
    """Write ``frame`` when a file format or --out is asked for (returns True), else leave it to ``show``."""
    from ltvkit.io.writers import write_table

    if fmt == "table" and out_file is None:
        show()
        return False
    if fmt == "json" and out_file is None:
        _print_json(frame.to_dict(orient="records"))
        return True
    if out_file is None:
        raise typer.BadParameter(_t("cli_needs_out", _current_lang(), fmt=fmt), param_hint="--out")
    path = write_table(frame, out_file, None if fmt == "table" else fmt)
    err.print(_t("cli_written", _current_lang(), path=escape(str(path))))
    return True


def _frame_table(
    frame: pd.DataFrame,
    title: str,
    formats: dict[str, Callable[[Any], str]] | None = None,
    *,
    lang: str = "en",
    currency: str | None = None,
) -> Table:
    """A Rich table of ``frame`` with the columns' headers and number formats of :mod:`ltvkit.columns` in
    ``lang`` (money in ``currency``); ``formats`` maps other columns to a function that writes a value."""
    from ltvkit import columns

    formats = formats or {}
    table = Table(title=escape(title), title_justify="left")
    for col in frame.columns:
        numeric = frame[col].dtype != object and columns.kind(str(col)) not in ("name", "segment", "text")
        table.add_column(escape(columns.header(str(col), lang)), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row, strict=False):
            if col in formats and value is not None and value == value:
                cells.append(formats[col](value))
            else:
                cells.append(columns.cell(str(col), value, lang, currency))
        table.add_row(*map(Text, cells))
    return table


def _g(value: float, lang: str) -> str:
    """A setting as it was given, in ``lang``: ``3`` / ``2.5`` / ``2,5`` (whole numbers without decimals)."""
    from ltvkit import formatting

    return formatting.number(value, lang, digits=0 if float(value).is_integer() else 2)


def _plain(value: object) -> Text:
    """A table cell that shows ``value`` as it is: any type, never read as Rich markup (an imported name may
    contain ``[/red]``); nothing for None and NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return Text("")
    return Text(str(value))


def _notes(notes: list[str], lang: str | None = None) -> None:
    """Print the notes on standard error in ``lang`` (default: the command's), those that know their
    translations (:class:`ltvkit.i18n.Note`) translated."""
    from ltvkit import i18n

    lang = lang or _current_lang()
    for note in notes:
        label = i18n.text("cli_note", lang)
        err.print(f"[yellow]{label}:[/yellow] {escape(i18n.localized(note, lang))}", highlight=False)


def _other_currencies(codes: list[str], lang: str) -> None:
    """Say which currencies a one-currency table leaves out (money is never summed across currencies)."""
    if codes:
        named = ", ".join(_t("cli_no_currency_named", lang, code=c) if c == "XXX" else c for c in codes)
        _notes([_t("cli_other_currencies", lang, named=named, code=codes[0])], lang)


def _stage(stage: str, lang: str) -> str:
    """A stage reported through :mod:`ltvkit.progress` (``fit:bgnbd``) in ``lang``: its name, then its
    detail (a model by its name, a language, a file)."""
    from ltvkit import i18n

    key, _, detail = stage.partition(":")
    name = i18n.text(f"progress_{key}", lang) if f"progress_{key}" in i18n.TEXT else key
    if f"model_name_{detail}" in i18n.TEXT:
        detail = i18n.text(f"model_name_{detail}", lang)
    return escape(f"{name}: {detail}" if detail else name)


@contextmanager
def _progress(lang: str, *, quiet: bool = False) -> Iterator[None]:
    """Show the stages the core reports inside the block (:mod:`ltvkit.progress`) as a spinner and a bar on
    standard error, when it is a terminal and the output is not JSON (``quiet``): pipes and CI logs get
    nothing. Inside another such block, the outer display goes on."""
    from ltvkit import progress

    if quiet or not err.is_terminal or progress.current() is not None:
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(_stage("start", lang), total=None)

        def show(stage: str, done: int, total: int) -> None:
            bar.update(task, description=_stage(stage, lang), completed=done, total=total or None)

        with progress.reporting(show):
            yield


def _account_table(account: ImportAccount, lang: str) -> Table:
    from ltvkit import columns, formatting

    def n(value: int) -> str:
        return formatting.number(value, lang)

    kind = columns.cell("kind", account.kind, lang)
    title = _t("cli_account_title", lang, file=Path(account.file).name, kind=kind, preset=account.preset)
    table = Table(title=escape(title), title_justify="left")
    table.add_column(_t("cli_rows", lang))
    table.add_column(_t("cli_count", lang), justify="right")
    table.add_row(columns.header("read", lang), n(account.read))
    updated = f" ({_t('cli_updated', lang, n=n(account.updated))})" if account.updated else ""
    table.add_row(columns.header("loaded", lang), n(account.loaded) + updated)
    dup = n(account.duplicates)
    if account.merged_line_items:
        dup += f" ({_t('cli_merged', lang, n=n(account.merged_line_items))})"
    table.add_row(columns.header("duplicates", lang), dup)
    table.add_row(
        columns.header("rejected", lang), n(account.rejected), style="red" if account.rejected else None
    )
    return table


def _run_import(ws: Workspace, path: Path, options: ImportOptions, quiet: bool, lang: str) -> ImportAccount:
    """Import one file, its stages shown (:func:`_progress`) with the file's name."""
    from ltvkit import progress

    with _progress(lang, quiet=quiet):
        shown = progress.current()

        def stage(name: str, done: int, total: int) -> None:
            if shown is not None:
                shown(f"{name}:{path.name}", done, total)

        return ws.import_file(path, options, progress=stage)


def _show_account(account: ImportAccount, lang: str) -> None:
    out.print(_account_table(account, lang))
    _notes(account.notes, lang)
    if account.rejected:
        command = f"[bold]ltv rejected --import {account.import_id}[/bold]"
        out.print(_t("cli_see_why", lang, command=command))


@command("import")
def import_(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Order or spend exports: CSV/TSV, XLSX, Parquet, JSON lines.")
    ],
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    kind: Annotated[
        str | None, typer.Option(help="orders or spend (detected from the columns if not given).")
    ] = None,
    preset: Annotated[str | None, typer.Option(help=f"Force a preset: {', '.join(PRESETS)}.")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="A TOML/YAML mapping file for any other export.")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strftime format of the dates, e.g. %d/%m/%Y.")
    ] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal mark of amounts: '.' or ','.")] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency of amounts that name none (ISO code).")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Convert times with an offset to this zone (IANA name).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Name of the data source (keys orders; default: preset).")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (detected if not given).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (detected if not given).")] = None,
    sheet: Annotated[
        str | None,
        typer.Option(help="Worksheet of a workbook, by name or number (else the one with orders)."),
    ] = None,
    exclude_tax_shipping: Annotated[
        bool, typer.Option(help="Take tax and shipping (Shopify, WooCommerce) out of revenue.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import order or spend files into the workspace and account for every row."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.io.normalize import ImportOptions

    lang = _lang(ctx)
    if decimal not in (None, ".", ","):
        raise typer.BadParameter(_t("cli_bad_choice", lang, choices="'.' / ','"), param_hint="--decimal")
    if kind not in (None, "orders", "spend"):
        raise typer.BadParameter(_t("cli_bad_choice", lang, choices="orders / spend"), param_hint="--kind")
    options = ImportOptions(
        kind=kind,  # type: ignore[arg-type]
        preset=preset,
        mapping=mapping,
        date_format=date_format,
        decimal=decimal,  # type: ignore[arg-type]
        currency=currency,
        timezone=timezone,
        source=source,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        exclude_tax_shipping=exclude_tax_shipping,
    )
    accounts = []
    with Workspace.open(workspace) as ws:
        for path in files:
            account = _run_import(ws, path, options, quiet=as_json, lang=lang)
            accounts.append(account)
            if not as_json:
                _show_account(account, lang)
    if as_json:
        _print_json(accounts[0].to_dict() if len(accounts) == 1 else [a.to_dict() for a in accounts])


@command()
def rejected(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    import_id: Annotated[int | None, typer.Option("--import", help="Only this import's rows.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows (0: all).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List rejected rows with the reason each was rejected."""
    from ltvkit.data.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        rows = ws.rejected(import_id)
    if as_json:
        _print_json({"rejected": len(rows), "rows": rows.to_dict(orient="records")})
        return
    from ltvkit import columns, formatting, i18n

    lang = _lang(ctx)
    if rows.empty:
        out.print(_t("cli_no_rejected", lang))
        return
    table = Table(title=_t("cli_rejected_title", lang, n=formatting.number(len(rows), lang)))
    for col in ("import_id", "file_name", "row_number", "column", "value", "reason"):
        table.add_column(columns.header(col, lang))
    shown = rows if limit == 0 else rows.head(limit)
    for r in shown.itertuples():
        reason = i18n.reason(str(r.reason), lang)
        field = f"data_field_{r.column}"  # a field of the orders (the customer) rather than a file's column
        column = i18n.text(field, lang) if field in i18n.TEXT else r.column
        table.add_row(*map(_plain, (r.import_id, r.file_name, r.row_number, column, r.value, reason)))
    out.print(table)
    if len(shown) < len(rows):
        out.print(_t("cli_more", lang, n=formatting.number(len(rows) - len(shown), lang)))


@command()
def imports(
    ctx: typer.Context, workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE), as_json: JsonOpt = False
) -> None:
    """The imports ledger: every file imported, with its row counts."""
    from ltvkit.data.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        ledger = ws.imports()
    if as_json:
        _print_json(ledger.to_dict(orient="records"))
        return
    from ltvkit import columns

    lang = _lang(ctx)
    table = Table(title=_t("imports", lang))
    cols = [
        "import_id",
        "imported_at",
        "file_name",
        "kind",
        "preset",
        "read",
        "loaded",
        "updated",
        "duplicates",
        "rejected",
    ]
    for col in cols:
        left = col in ("imported_at", "file_name", "kind", "preset")
        table.add_column(
            columns.header(col, lang) + (" (UTC)" if col == "imported_at" else ""),
            justify="left" if left else "right",
        )
    for r in ledger[cols].itertuples(index=False):
        table.add_row(
            *(
                _plain(f"{v:%Y-%m-%d %H:%M}")
                if hasattr(v, "strftime")
                else Text(columns.cell(col, v, lang))
                if col in ("kind", "read", "loaded", "updated", "duplicates", "rejected")
                else _plain(v)
                for col, v in zip(cols, r, strict=True)
            )
        )
    out.print(table)


@command()
def summary(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    margin: MarginOpt = None,
    inactive_days: Annotated[
        int, typer.Option(help="Days without a purchase after which a customer counts as inactive.")
    ] = 180,
    as_json: JsonOpt = False,
) -> None:
    """What is my LTV? The LTV to use for CAC (the models' 12-month LTV when the data support them, else
    the formula's), customers, orders, revenue, expected LTV (AOV × frequency × expected lifetime) with its
    interval and the data's grade, and revenue per customer so far, per currency."""
    from ltvkit import i18n
    from ltvkit.service.summary import summary as summarise

    with _data(ctx, workspace) as ws, _progress(_lang(ctx), quiet=as_json):
        found = summarise(ws, margin=margin, inactive_after_days=inactive_days, headlines=True)
    result, ltv = found.overview, found.ltv
    if as_json:
        _print_json(found.to_dict(_lang(ctx)))
        return
    from ltvkit import formatting

    lang = _lang(ctx)

    def n(value: float, digits: int = 0) -> str:
        return formatting.number(value, lang, digits=digits)

    def pct(value: float, digits: int = 1) -> str:
        return formatting.percent(value, lang, digits=digits)

    for chosen in found.headlines or []:
        said = chosen.texts(lang)
        out.print(
            f"[bold]{escape(said['title'])} ({chosen.currency}): {escape(said['value'])}[/bold]  "
            + escape(f"{said['interval']}  [{said['grade']}]"),
            highlight=False,
        )
        out.print(f"  {escape(said['terms'])}", highlight=False)
        out.print(f"  {escape(said['why'])}\n", highlight=False)

    out.print(
        _t(
            "cli_summary_counts",
            lang,
            customers=f"[bold]{n(result.customers)}[/bold]",
            orders=f"[bold]{n(result.orders)}[/bold]",
            rows=n(result.order_rows),
        )
    )
    if result.first_order is not None and result.last_order is not None:
        start, end = formatting.day(result.first_order, lang), formatting.day(result.last_order, lang)
        out.print(_t("cli_summary_period", lang, start=start, end=end))
    table = Table(title=_t("cli_revenue_by_currency", lang))
    for key in ("field_currency", "customers", "orders", "cli_gross", "cli_refunds", "net_revenue"):
        table.add_column(_t(key, lang), justify="left" if key == "field_currency" else "right")
    for r in result.by_currency.itertuples():
        table.add_row(
            r.currency,
            n(r.customers),
            n(r.orders),
            *(
                formatting.money(v, r.currency, lang, digits=2)
                for v in (r.gross_revenue, r.refunds, r.net_revenue)
            ),
        )
    out.print(table)
    for item in ltv:
        expected, life = item.expected, item.expected.lifetime

        def bound(value: str, lower: bool = life.is_lower_bound) -> str:
            return _t("at_least", lang, value=value) if lower else value

        out.print()
        out.print(
            _t(
                "cli_expected_ltv",
                lang,
                currency=item.currency,
                aov=n(expected.aov),
                freq=n(expected.purchases_per_year, 2),
                life=bound(n(life.years, 2)),
                value=bound(n(expected.value)),
                interval=_t("interval_90", lang, low=n(expected.low), high=n(expected.high)),
            )
            + escape(f" [{i18n.text('data_grade', lang)}: {i18n.text(f'grade_{item.grade.grade}', lang)}]")
        )
        lower = _t(
            "cli_lifetime_bound", lang, share=pct(life.survival_at_end, 0), years=n(life.watched_years, 1)
        )
        out.print(
            _t(
                "cli_lifetime",
                lang,
                ended=n(life.ended),
                days=life.inactive_after_days,
                censored=n(life.censored),
            )
            + (lower if life.is_lower_bound else "")
        )
        out.print(f"  {escape(item.grade.sentence(lang))}")
        out.print(
            _t(
                "cli_revenue_so_far",
                lang,
                mean=n(item.ltv_mean),
                median=n(item.ltv_median),
                aov=n(item.aov),
                freq=n(item.frequency_per_year, 2),
                years=n(item.lifetime_years, 2),
            )
        )
        out.print(
            _t(
                "cli_repeat_line",
                lang,
                purchases=n(item.purchases_per_customer, 2),
                repeat=pct(item.repeat_rate),
                share=pct(item.repeat_revenue_share),
                days=item.inactive_after_days,
                active=pct(item.active_share),
            )
        )
        if item.gross_profit_ltv is not None:
            out.print(_t("cli_gross_profit_ltv", lang, value=n(item.gross_profit_ltv)))
        if item.margin_ltv is not None and margin is not None:
            out.print(_t("cli_margin_ltv", lang, margin=pct(margin, 0), value=n(item.margin_ltv)))


@command()
def cohorts(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    by: Annotated[str, typer.Option(help="Cohort period: month or week.")] = "month",
    metric: Annotated[str, typer.Option(help=f"One of: {', '.join(METRICS)}.")] = "retention",
    split: Annotated[str | None, typer.Option(help=f"Split by: {', '.join(SPLITS)}.")] = None,
    currency: CurrencyOpt = None,
    max_age: Annotated[int, typer.Option(help="Ages shown in the terminal (files get all).")] = 12,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            help="Compare two cohorts (2025-03 2025-06) or, with --split, two groups at equal ages: "
            "retention and LTV, and whether the difference is beyond chance."
        ),
    ] = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """How do my cohorts behave? Cohort × age matrix; empty cells are ages a cohort has not reached yet."""
    from ltvkit.service.descriptive import cohorts as cohorts_of

    if compare is not None:
        _compare(ctx, workspace, compare, split, by, currency, fmt, as_json, out_file)
        return

    lang = _lang(ctx)
    if metric not in METRICS:
        raise typer.BadParameter(
            _t("cli_bad_choice", lang, choices=" / ".join(METRICS)), param_hint="--metric"
        )
    if by not in ("month", "week"):
        raise typer.BadParameter(_t("cli_bad_choice", lang, choices="month / week"), param_hint="--by")
    with _data(ctx, workspace) as ws:
        found = cohorts_of(ws, period=by, metric=metric, split=split, currency=currency)  # type: ignore[arg-type]

    def show() -> None:
        from ltvkit import columns, formatting

        values: list[str | None] = [None] if split is None else list(found.split_values[:6])
        split_name = columns.header(split, lang) if split else ""

        def spec(value: float) -> str:
            if metric == "retention":
                return formatting.percent(value, lang, digits=0)
            return formatting.number(value, lang)

        for value in values:
            matrix = found.matrix(value).loc[:, lambda m: m.columns <= max_age]
            label = matrix.index.strftime("%Y-%m-%d" if by == "week" else "%Y-%m")
            frame = matrix.set_axis(label).reset_index(names="cohort")
            frame.columns = [str(c) for c in frame.columns]
            title = _t(
                "cli_cohorts_title",
                lang,
                metric=_t(f"metric_{metric}", lang),
                period=_t(f"period_{by}", lang),
                currency=found.currency,
            ) + (f" — {split_name}: {value}" if value is not None else "")
            out.print(_frame_table(frame, title, dict.fromkeys(frame.columns[1:], spec), lang=lang))
        _other_currencies(found.other_currencies, lang)

    _emit(found.table, "json" if as_json else fmt, out_file, show)


@command()
def channels(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    by: Annotated[
        str, typer.Option(help=f"Group by: {', '.join(SPLITS)} (or cohort, predicted).")
    ] = "channel",
    paths: Annotated[
        bool, typer.Option(help="Show product paths (first product → next product) instead.")
    ] = False,
    predicted: Annotated[
        bool,
        typer.Option(
            help="Predicted LTV per group (young groups extrapolated by the models) with its 90% interval, "
            "and the CAC each can bear."
        ),
    ] = False,
    horizon: Annotated[int, typer.Option(help="With --predicted: months from the first purchase.")] = 12,
    regularization: Annotated[
        str, typer.Option(help="With --predicted: auto, none (maximum likelihood) or map (with priors).")
    ] = "auto",
    target: TargetOpt = 3.0,
    currency: CurrencyOpt = None,
    margin: MarginOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Where do my best customers come from? LTV, retention, repeat rate and AOV by channel or first
    product; with --predicted, what a customer of each group is worth and the CAC it can bear."""
    from ltvkit.service.descriptive import channels as channels_of

    if predicted:
        _predicted(
            ctx, workspace, by, horizon, target, margin, currency, fmt, as_json, out_file, regularization
        )
        return
    with _data(ctx, workspace) as ws:
        found = channels_of(ws, by=by, currency=currency, margin=margin, paths=paths)
    from ltvkit import columns

    frame, lang = found.table, _lang(ctx)
    by_name = columns.header(by, lang)
    shown = frame
    if paths and "next_product" in frame.columns:  # "(none)": no next product bought yet
        none = _t("cli_no_next_product", lang)
        shown = frame.assign(next_product=frame["next_product"].replace("(none)", none))
    title = _t("cli_paths_title", lang) if paths else _t("cli_quality_title", lang, by=by_name)
    _emit(
        frame,
        "json" if as_json else fmt,
        out_file,
        lambda: out.print(
            _frame_table(shown, f"{title} ({found.currency})", lang=lang, currency=found.currency)
        ),
    )


def _compare(
    ctx: typer.Context,
    workspace: Path,
    groups: tuple[str, str],
    split: str | None,
    period: str,
    currency: str | None,
    fmt: str,
    as_json: bool,
    out_file: Path | None,
) -> None:
    """``ltv cohorts --compare A B``: the two groups side by side by age, and the verdict at the oldest age
    both have reached with at least half their customers."""
    from ltvkit import formatting, i18n
    from ltvkit.service.comparison import compare_groups, comparison_sentences

    lang = _lang(ctx)
    with _data(ctx, workspace) as ws:
        table, info = compare_groups(
            ws.table("orders"),
            *groups,
            split=split,
            period="week" if period == "week" else "month",
            currency=currency,
        )
    if as_json:
        _print_json({**info, "by_age": table.to_dict(orient="records")})
        return

    def show() -> None:
        first, second = groups
        retention = i18n.text("col_retention", lang)
        view = table[["age", "retention_a", "retention_b", "retention_diff", "ltv_a", "ltv_b", "ltv_diff"]]
        names = {"retention_a": f"{retention}: {first}", "retention_b": f"{retention}: {second}"}
        view = view.rename(columns=names | {"ltv_a": f"LTV: {first}", "ltv_b": f"LTV: {second}"})
        shares = dict.fromkeys(names.values(), lambda v: formatting.percent(v, lang))
        out.print(_frame_table(view, _t("cli_versus", lang, a=first, b=second), shares, lang=lang))
        for sentence in comparison_sentences(info, lang):
            out.print(sentence)

    _emit(table, fmt, out_file, show)


def _predicted(
    ctx: typer.Context,
    workspace: Path,
    by: str,
    horizon: int,
    target: float,
    margin: float | None,
    currency: str | None,
    fmt: str,
    as_json: bool,
    out_file: Path | None,
    regularization: str,
) -> None:
    """``ltv channels --predicted``: the predicted LTV table, with the intervals written out, the caveats and
    the channels whose CAC is above what they can bear."""
    from ltvkit import formatting, i18n
    from ltvkit.service.descriptive import predicted_ltv

    lang = _lang(ctx)
    with _data(ctx, workspace) as ws, _progress(lang, quiet=as_json):
        found = predicted_ltv(
            ws,
            by=by,
            horizon_months=horizon,
            margin=margin or 1.0,
            target=target,
            currency=currency,
            regularization=regularization,
        )
    _notes(found.notes, lang)
    table, code = found.table, found.currency

    def money(value: float) -> str:
        return formatting.money(value, code, lang)

    def caveats(row: Any) -> str:
        flags = (("caveat_small_group", row.small_group), ("caveat_mostly_predicted", row.mostly_predicted))
        return "; ".join(i18n.text(key, lang) for key, flagged in flags if flagged)

    def show() -> None:
        rows = list(table.itertuples())
        view = table[[by, "customers", "ltv", "max_cac", "share_predicted"]].copy()
        view.insert(3, "ltv_interval", [f"{money(r.ltv_low)} – {money(r.ltv_high)}" for r in rows])
        view.insert(
            5, "max_cac_interval", [f"{money(r.max_cac_low)} – {money(r.max_cac_high)}" for r in rows]
        )
        if "cac" in table.columns:
            view["cac"] = table["cac"]
        view["caveat"] = [caveats(r) for r in rows]
        title = _t(
            "cli_predicted_title",
            lang,
            horizon=_t("cli_span_month", lang, n=horizon),
            currency=code,
            target=_g(target, lang),
        )
        out.print(_frame_table(view, title, lang=lang, currency=code))
        for r in rows:
            if getattr(r, "over_max_cac", 0) > 0:
                verdict = i18n.text(
                    "over_max_cac", lang, cac=money(r.cac), max=money(r.max_cac), over=money(r.over_max_cac)
                )
                out.print(Text(f"{getattr(r, by)}: {verdict}", style="red"))

    _emit(table, "json" if as_json else fmt, out_file, show)


@command()
def cac(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    horizon: Annotated[int, typer.Option(help="LTV horizon in months.")] = 12,
    target: Annotated[float, typer.Option(help="Target LTV:CAC for the maximum CAC.")] = 3.0,
    margin: MarginOpt = None,
    monthly: Annotated[bool, typer.Option(help="CAC and payback per channel and month.")] = False,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Does my advertising pay off? CAC, LTV:CAC, payback and the maximum CAC each channel can bear."""

    from ltvkit.service.descriptive import cac as cac_of

    with _data(ctx, workspace) as ws:
        found = cac_of(ws, horizon=horizon, target=target, margin=margin, currency=currency)
    frame = found.by_month if monthly else found.by_channel
    lang = _lang(ctx)

    def show() -> None:

        title = _t("cli_cac_monthly_title" if monthly else "cli_cac_title", lang)
        out.print(_frame_table(frame, title, lang=lang, currency=found.currency))
        if not monthly:
            target_text = _g(target, lang)
            out.print(
                _t("cli_cac_note", lang, currency=found.currency, age=found.ltv_age, target=target_text)
            )

    _emit(frame, "json" if as_json else fmt, out_file, show)


@command()
def pareto(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: CurrencyOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Do 20% of customers bring 80% of revenue? Revenue share of the top customers, and the Gini."""
    from ltvkit.service.descriptive import pareto as pareto_of

    with _data(ctx, workspace) as ws:
        found = pareto_of(ws, currency=currency)
    frame = found.table

    def show() -> None:
        from ltvkit import formatting

        lang = _lang(ctx)
        title = _t("cli_pareto_title", lang)
        out.print(_frame_table(frame, title, lang=lang, currency=found.currency))
        gini = formatting.number(found.gini, lang, digits=2)
        out.print(_t("cli_gini", lang, currency=found.currency, gini=gini))

    _emit(frame, "json" if as_json else fmt, out_file, show)


@command()
def report(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
    lang: Annotated[str | None, typer.Option(help="Language: en, ru or uk (default: ltv --lang).")] = None,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: CurrencyOpt = None,
    margin: MarginOpt = None,
    scenarios_file: Annotated[
        Path | None, typer.Option("--scenarios", help="What-if scenarios to include (TOML).")
    ] = None,
) -> None:
    """Write a self-contained HTML report (opens offline) with interactive charts and notes."""
    from ltvkit.service.report import build_report
    from ltvkit.service.whatif import Scenario, read_scenarios

    planned = read_scenarios(scenarios_file, Scenario) if scenarios_file else None
    shown = _lang(ctx)
    with _data(ctx, workspace) as ws, _progress(shown):
        path = build_report(
            ws, out_file, lang=lang or shown, currency=currency, margin=margin, scenarios=planned
        )
    out.print(_t("cli_report", shown, path=f"[bold]{escape(str(path))}[/bold]"))


@command()
def workbook(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="The XLSX file to write.")] = Path("ltv.xlsx"),
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: CurrencyOpt = None,
    margin: MarginOpt = None,
    target: TargetOpt = 3.0,
    horizon: Annotated[int, typer.Option(help="Months at which the channel table reads LTV.")] = 12,
) -> None:
    """Write a workbook for Excel and Google Sheets: an LTV calculator with live formulas (average check ×
    purchases a year × lifetime, × margin, max CAC), the cohort triangle and the channel table."""
    from ltvkit.service.workbook import write_workbook

    with _data(ctx, workspace) as ws:
        path = write_workbook(
            ws, out_file, lang=_lang(ctx), currency=currency, margin=margin, target=target, horizon=horizon
        )
    out.print(_t("cli_written", _lang(ctx), path=f"[bold]{escape(str(path))}[/bold]"))


@command()
def check(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many left-out rows to show.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Check a --source table: which columns are read as which fields, and every row left out, by reason."""
    from ltvkit import formatting, i18n
    from ltvkit.service.tables import check_source

    options, lang = _source_options(ctx), _lang(ctx)
    if options is None:
        raise ParameterError(_t("cli_check_needs_source", lang))
    with options.opener()() as source:
        account, sample = check_source(source, limit=limit)
    if as_json:
        _print_json({**account.to_dict(), "sample": sample.to_dict(orient="records")})
        return

    def n(value: int) -> str:
        return f"[bold]{formatting.number(value, lang)}[/bold]"

    fields = Table(title=escape(_t("cli_columns_read", lang, table=account.table)))
    fields.add_column(_t("cli_field", lang))
    fields.add_column(_t("cli_columns", lang))
    for name, columns in account.columns.items():
        field = _t(f"data_field_{name}", lang) if f"data_field_{name}" in i18n.TEXT else name
        fields.add_row(_plain(field), _plain(", ".join(columns)))
    out.print(fields)
    out.print(
        _t(
            "cli_check_rows",
            lang,
            rows=n(account.rows),
            usable=n(account.usable),
            left=n(account.rows - account.usable),
        )
    )
    for reason, count in account.left_out.items():
        out.print(f"  {formatting.number(count, lang)}  {escape(i18n.reason(reason, lang))}")
    if len(sample):
        left_out = sample[["reason", "order_id", "customer_id", "ordered_at", "amount", "status"]].assign(
            reason=[i18n.reason(str(r), lang) for r in sample["reason"]]
        )
        out.print(_frame_table(left_out, _t("cli_left_out_title", lang), lang=lang))


@command()
def presets(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the import presets."""
    from ltvkit import columns

    if as_json:
        _print_json([{"name": p.name, "kind": p.kind, "title": p.title} for p in PRESETS.values()])
        return
    lang = _lang(ctx)
    table = Table(title=_t("cli_presets", lang))
    table.add_column(_t("cli_preset_name", lang))
    table.add_column(columns.header("kind", lang))
    table.add_column(_t("cli_preset_reads", lang))
    for p in PRESETS.values():
        table.add_row(p.name, columns.cell("kind", p.kind, lang), p.title)
    out.print(table)


@command()
def demo(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path("demo/ltv.duckdb"),
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the demo exports.")] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2026,
    customers: Annotated[int, typer.Option(help="About how many customers.")] = 20_000,
) -> None:
    """Create a synthetic online school's exports, import them into a fresh workspace and write the report
    in English, Russian and Ukrainian."""
    from ltvkit import formatting
    from ltvkit.io.normalize import ImportOptions
    from ltvkit.service.demo import build_demo

    lang = _lang(ctx)

    def import_file(ws: Workspace, path: Path) -> ImportAccount:
        account = _run_import(ws, path, ImportOptions(), quiet=False, lang=lang)
        _show_account(account, lang)
        return account

    with _progress(lang):
        result = build_demo(workspace, directory, seed=seed, customers=customers, import_file=import_file)
    revenue = ", ".join(
        formatting.money(v, k, lang, digits=2) for k, v in result.overview.net_revenue.items()
    )
    out.print()
    out.print(
        _t(
            "cli_demo_customers",
            lang,
            customers=formatting.number(result.overview.customers, lang),
            revenue=revenue,
        )
    )
    where = escape(str(workspace))
    command = f"{escape(_program())} summary -w {where}"
    out.print(_t("cli_demo_workspace", lang, path=f"[bold]{where}[/bold]", command=command))
    out.print(
        _t(
            "cli_demo_reports",
            lang,
            paths=", ".join(f"[bold]{escape(str(p))}[/bold]" for p in result.reports),
        )
    )


@command()
def fit(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help=f"One of: {', '.join(MODELS)}.")] = "bgnbd",
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    unit: UnitOpt = "week",
    calibration_end: Annotated[
        str | None, typer.Option(help="Fit on the orders up to this date (YYYY-MM-DD).")
    ] = None,
    currency: CurrencyOpt = None,
    product: Annotated[str | None, typer.Option(help="Subscription product (for --model sbg).")] = None,
    regularization: RegularizationOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Fit a model and print its parameters with standard errors and the log-likelihood."""
    from ltvkit.service.valuation import fit_model

    lang = _lang(ctx)
    with _data(ctx, workspace) as ws, _progress(lang, quiet=as_json):
        result = fit_model(
            ws.table("orders"),
            model,
            unit=unit,
            observation_end=calibration_end,  # type: ignore[arg-type]
            currency=currency,
            product=product,
            regularization=regularization,
        )
    data = result.to_dict()
    if as_json:
        _print_json(data)
        return
    from ltvkit import formatting, i18n

    def g(value: float) -> str:
        return i18n.significant(value, lang)

    title = _t(
        "cli_fit_title",
        lang,
        model=_t(f"model_name_{model}", lang),
        customers=formatting.number(data["customers"], lang),
        end=formatting.day(dt.date.fromisoformat(data["observation_end"]), lang),
        unit=_t(f"cli_unit_{unit}", lang),
    )
    table = Table(title=title)
    for key in ("cli_parameter", "cli_estimate", "cli_std_error", "cli_interval_95"):
        table.add_column(_t(key, lang), justify="left" if key == "cli_parameter" else "right")
    for name, row in result.model.summary().iterrows():
        identified = row["identified"]
        table.add_row(
            str(name),
            g(row["estimate"]),
            g(row["standard_error"]) if identified else f"[yellow]{_t('cli_not_pinned', lang)}[/yellow]",
            f"{g(row['lower_95'])} – {g(row['upper_95'])}" if identified else "—",
        )
    out.print(table)
    ll = formatting.number(data["log_likelihood"], lang, digits=2)
    out.print(_t("cli_fit_footer", lang, ll=ll, rows=formatting.number(data["distinct_rows"], lang)))
    out.print(escape(result.model.regularization_.sentence(lang)))
    _notes(result.notes, lang)


@command()
def predict(
    ctx: typer.Context,
    out_file: Annotated[
        Path,
        typer.Option("--out", help="Where to write one row per customer (.csv, .xlsx, .parquet, .json)."),
    ] = Path("predictions.csv"),
    model: Annotated[str, typer.Option(help="Purchase model: bgnbd, mbgnbd or paretonbd.")] = "bgnbd",
    horizon: Annotated[float, typer.Option(help="How far ahead, in --unit.")] = 12,
    unit: UnitOpt = "month",
    discount_rate: Annotated[float, typer.Option(help="Annual discount rate, e.g. 0.1.")] = 0.0,
    margin: Annotated[float, typer.Option(help="Share of revenue kept, e.g. 0.3 (1 = revenue).")] = 1.0,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: CurrencyOpt = None,
    observation_end: EndOpt = None,
    intervals: Annotated[
        bool, typer.Option(help="Compute 90% intervals of CLV (parameter uncertainty).")
    ] = True,
    out_table: Annotated[
        str | None, typer.Option(help="With --source: write the predictions to this table there.")
    ] = None,
    regularization: RegularizationOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Predict each customer's purchases, P(alive) and CLV over a horizon, with an interval.

    With --source the predictions are computed and written in the source's engine (no intervals):
    --out-table NAME writes a table there, an --out ending in .parquet is written by the engine, other files
    are fetched."""
    from ltvkit.data.sources import Source
    from ltvkit.service.valuation import predict_in_source, predict_to_file, regularization_sentence

    settings = dict(
        model=model,
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        observation_end=observation_end,
        currency=currency,
        regularization=regularization,
    )
    lang = _lang(ctx)
    with _data(ctx, workspace, writable=out_table is not None) as tables, _progress(lang, quiet=as_json):
        if isinstance(tables, Source):
            written = predict_in_source(tables, out_table=out_table, out_file=out_file, **settings)
            intervals = False
        else:
            written = predict_to_file(tables.table("orders"), out_file, intervals=intervals, **settings)
    info, top, path = written.info, written.top, written.path
    if as_json:
        _print_json(info)
        return
    from ltvkit import columns, formatting

    code = info["currency"]

    def money(value: float) -> str:
        return formatting.money(value, code, lang, digits=2)

    out.print(
        _t(
            "cli_predict_head",
            lang,
            customers=formatting.number(info["customers"], lang),
            model=_t(f"model_name_{model}", lang),
            horizon=_t(f"cli_span_{unit}", lang, n=_g(horizon, lang)),
            discount=formatting.percent(discount_rate, lang, digits=0),
            margin=formatting.percent(margin, lang, digits=0),
        )
    )
    purchases = formatting.number(info["expected_purchases"], lang)
    out.print(_t("cli_predict_totals", lang, purchases=purchases, clv=money(info["total_clv"])))
    for fitted in ("purchase", "spend"):
        out.print(escape(regularization_sentence(info[f"{fitted}_regularization"], lang)))
    _notes(info["notes"], lang)  # what the data could not tell the models (degenerate data)
    table = Table(title=_t("cli_most_valuable", lang))
    shown = ("customer_id", "probability_alive", "expected_purchases", "expected_spend", "clv")
    for col in shown:
        table.add_column(columns.header(col, lang), justify="left" if col == "customer_id" else "right")
    if intervals:
        table.add_column(_t("cli_interval_90", lang), justify="right")
    for r in top.itertuples():
        interval = [f"{money(r.clv_low)} – {money(r.clv_high)}"] if intervals else []
        table.add_row(
            _plain(r.customer_id),
            formatting.percent(r.probability_alive, lang),
            formatting.number(r.expected_purchases, lang, digits=2),
            money(r.expected_spend),
            money(r.clv),
            *interval,
        )
    out.print(table)
    if info["model"] == "bgnbd" and (top["frequency"] == 0).any():
        _notes([_t("cli_one_time_buyers_alive", lang)], lang)
    out.print(_t("cli_written", lang, path=f"[bold]{escape(str(path))}[/bold]"))


@command()
def compare(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    calibration_end: Annotated[
        str | None, typer.Option(help="End of the calibration period (default: two thirds of the span).")
    ] = None,
    observation_end: EndOpt = None,
    unit: UnitOpt = "week",
    currency: CurrencyOpt = None,
    regularization: RegularizationOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Rank the purchase models by how well they predict a holdout period."""
    from ltvkit.service.valuation import compare_on_holdout, regularization_sentence

    lang = _lang(ctx)
    with _data(ctx, workspace) as ws, _progress(lang, quiet=as_json):
        table, info = compare_on_holdout(
            ws.table("orders"),
            calibration_end=calibration_end,
            observation_end=observation_end,
            unit=unit,
            currency=currency,
            regularization=regularization,
        )  # type: ignore[arg-type]
    if as_json:
        _print_json({**info, "models": table.to_dict(orient="records")})
        return
    from ltvkit import formatting

    def n(value: float, digits: int = 0) -> str:
        return formatting.number(value, lang, digits=digits)

    def signed(value: float) -> str:
        return ("+" if value > 0 else "") + n(value, 3)

    names = {m: _t(f"model_name_{m}", lang) for m in table["model"]}
    out.print(
        _t(
            "cli_compare_head",
            lang,
            calibration=formatting.day(dt.date.fromisoformat(info["calibration_end"]), lang),
            end=formatting.day(dt.date.fromisoformat(info["observation_end"]), lang),
            length=_t(f"cli_span_{unit}", lang, n=n(info["holdout_length"], 1)),
            customers=n(info["customers"]),
        )
    )
    view = Table(title=_t("cli_holdout_title", lang))
    for key in (
        "cli_rank",
        "cli_model",
        "MAE",
        "RMSE",
        "cli_rmse_best",
        "cli_predicted_total",
        "cli_actual_total",
        "cli_total_error",
        "cli_log_likelihood",
    ):
        view.add_column(_t(key, lang) if key.startswith("cli_") else key, justify="right")
    for r in table.itertuples():
        view.add_row(
            str(r.rank),
            names[r.model],
            n(r.mae, 3),
            n(r.rmse, 3),
            "—" if r.rank == 1 else f"{signed(r.rmse_difference_low)} … {signed(r.rmse_difference_high)}",
            n(r.predicted_total),
            n(r.actual_total),
            ("+" if r.total_error > 0 else "") + formatting.percent(r.total_error, lang),
            n(r.log_likelihood, 1),
        )
    out.print(view)
    for r in table.itertuples():
        out.print(f"{names[r.model]}: {escape(regularization_sentence(r.regularization, lang))}")
    best, tied = names[table["model"].iloc[0]], [names[m] for m in info["tied_with_best"]]
    verdict = (
        _t("holdout_tied", lang, best=best, tied=", ".join(tied))
        if tied
        else _t("holdout_best", lang, best=best)
    )
    out.print(escape(verdict))
    frequency = Table(title=_t("cli_by_frequency_title", lang))
    for head in ("x", _t("customers", lang), _t("cli_actual", lang), *names.values()):
        frequency.add_column(head, justify="right")
    for row in info["by_frequency"]:
        frequency.add_row(row["x"], n(row["customers"]), *(n(row[c], 2) for c in ("actual", *table["model"])))
    out.print(frequency)
    track = info["tracking"]
    shown = track[:: max(1, len(track) // 8)]
    if shown[-1] is not track[-1]:
        shown.append(track[-1])
    trail = Table(title=_t("cli_tracking_title", lang, unit=_t(f"cli_unit_{unit}", lang)))
    for head in (_t("cli_period", lang), _t("cli_actual", lang), *names.values()):
        trail.add_column(head, justify="right")
    for row in shown:
        trail.add_row(n(row["period"]), n(row["actual"]), *(n(row[m]) for m in table["model"]))
    out.print(trail)


@command()
def segments(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Option(help=f"One of: {', '.join(SCHEMES)}.")] = "rfm",
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    export: Annotated[Path | None, typer.Option(help="Write one CSV per segment into this folder.")] = None,
    exclude_file: Annotated[
        Path | None, typer.Option(help="Emails or customer ids never to export (unsubscribed).")
    ] = None,
    model: Annotated[
        bool, typer.Option(help="Use BG/NBD P(alive) (lifecycle) or predicted CLV (value).")
    ] = False,
    core_product: Annotated[
        str | None, typer.Option(help="The core product for cross-sell (default: top revenue).")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option(help="One segment's customer list instead of the summary, e.g. 'at risk' (with --out)."),
    ] = None,
    contacts: ContactsOpt = None,
    regularization: Annotated[
        str, typer.Option(help="With --model: auto, none (maximum likelihood) or map (with priors).")
    ] = "auto",
    currency: CurrencyOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Whom to act on? Segment sizes, revenue, average LTV and the suggested action; lists to export (with
    --contacts, as contact files for GetCourse's user import or Unisender: email, phone, name, tag)."""
    from ltvkit import formatting, i18n
    from ltvkit.service.contacts import export_segment_contacts
    from ltvkit.service.segments import read_exclusions
    from ltvkit.service.segments import segments as segments_of

    if contacts is not None and export is None:
        raise typer.BadParameter(
            "--contacts writes the --export lists: add --export FOLDER", param_hint="--export"
        )
    lang = _lang(ctx)
    with _data(ctx, workspace) as ws, _progress(lang, quiet=as_json or not model):
        found = segments_of(
            ws,
            scheme,
            currency=currency,
            core_product=core_product,
            use_model=model,
            regularization=regularization,
        )
        excluded = read_exclusions(exclude_file) if exclude_file else set()
        if export is not None and contacts is not None:
            paths = export_segment_contacts(ws, found, export, contacts, lang=lang, exclude=excluded)
        elif export is not None:
            paths = found.export(export, exclude=excluded)
    _notes(found.notes, lang)
    summary = found.summary()
    if export is not None:
        err.print(
            escape(_t("cli_exported", lang, n=len(paths), folder=export))
            + (escape(_t("cli_exported_without", lang, n=len(excluded))) if excluded else "")
        )
    if segment is not None:
        lists = found.lists(exclude=excluded)
        if segment not in lists:
            _fail(_t("cli_no_segment", lang, scheme=scheme, segment=segment, known=", ".join(sorted(lists))))
        chosen = lists[segment]
        count = formatting.number(len(chosen), lang)
        _emit(
            chosen,
            "json" if as_json else fmt,
            out_file,
            lambda: out.print(
                _frame_table(
                    chosen,
                    _t("cli_segment_list_title", lang, segment=segment, customers=count),
                    lang=lang,
                    currency=found.currency,
                )
            ),
        )
        return
    scheme_name = _t(f"scheme_{scheme}", lang) if f"scheme_{scheme}" in i18n.TEXT else scheme
    customers = formatting.number(len(found.customers), lang)
    title = _t("cli_segments_title", lang, scheme=scheme_name, customers=customers, currency=found.currency)

    def action(row: Any) -> str:
        return i18n.text(f"action_{row.segment}", lang) if lang != "en" else str(row.action)

    def show() -> None:
        view = summary.assign(action=[action(row) for row in summary.itertuples()])
        out.print(_frame_table(view, title, lang=lang, currency=found.currency))

    _emit(summary, "json" if as_json else fmt, out_file, show)


@command()
def actions(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    horizon: Annotated[int, typer.Option(help="Months the levers are valued over.")] = 12,
    target: TargetOpt = 3.0,
    margin: MarginOpt = None,
    currency: CurrencyOpt = None,
    aov_change: Annotated[
        float | None, typer.Option(help="Upsell: the average check grows by this share (default 0.1: +10%).")
    ] = None,
    frequency_change: Annotated[
        float | None, typer.Option(help="Repeat purchases grow by this share (default 0.1: +10%).")
    ] = None,
    churn_cut: Annotated[
        float | None,
        typer.Option(help="Retention: this share fewer customers lost a month (default 0.1: a tenth fewer)."),
    ] = None,
    budget_share: Annotated[
        float | None,
        typer.Option(
            help="Budget: the share of the spend on channels above their max CAC moved (default 0.2)."
        ),
    ] = None,
    budget_growth: Annotated[
        float | None,
        typer.Option(
            help="Budget: a receiving channel takes at most this share of its own spend more (default 0.5)."
        ),
    ] = None,
    at_risk: Annotated[
        float | None, typer.Option(help="Win-back: the share of the at-risk customers back (default 0.1).")
    ] = None,
    hibernating: Annotated[
        float | None, typer.Option(help="Win-back: the share of the dormant customers back (default 0.05).")
    ] = None,
    lost: Annotated[
        float | None, typer.Option(help="Win-back: the share of the lost customers back (default 0.02).")
    ] = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """What to do first? Upsell, repeat purchases, retention, the channel budget and win-back, ranked by
    what each is worth over the horizon, with how sure it is and the customer list it acts on."""
    import pandas as pd

    from ltvkit import i18n
    from ltvkit.service.actions import Assumptions
    from ltvkit.service.actions import actions as plan

    given = {
        "aov_change": aov_change,
        "frequency_change": frequency_change,
        "churn_cut": churn_cut,
        "budget_share": budget_share,
        "budget_growth": budget_growth,
        "at_risk": at_risk,
        "hibernating": hibernating,
        "lost": lost,
    }
    assumptions = Assumptions(**{name: value for name, value in given.items() if value is not None})
    with _data(ctx, workspace) as ws:
        found = plan(
            ws, horizon=horizon, margin=margin, target=target, currency=currency, assumptions=assumptions
        )
    lang = _lang(ctx)
    view = found.to_dict(lang)
    if as_json and out_file is None:
        _print_json(view)
        return
    frame = pd.DataFrame(
        [
            {
                "rank": lever["rank"],
                "lever": lever["lever"],
                "money": lever["money"],
                "applies": lever["applies"],
                "confidence": lever["confidence"],
                "segments": ", ".join(t["segment"] for t in lever["targets"]),
                "channels_from": ", ".join(lever["channels_from"]),
                "channels_to": ", ".join(lever["channels_to"]),
                "action": lever["action"],
            }
            for lever in view["levers"]
        ]
    )

    def show() -> None:
        table = Table(
            title=escape(f"{view['title']} ({found.currency})"), title_justify="left", show_lines=True
        )
        for head, justify in (
            ("#", "right"),
            (i18n.text("col_lever", lang), "left"),
            (view["money_head"], "right"),
            (i18n.text("col_sure", lang), "left"),
            (i18n.text("col_action", lang), "left"),
            (i18n.text("col_acts_on", lang), "left"),
        ):
            table.add_column(escape(head), justify=justify)  # type: ignore[arg-type]
        for lever in view["levers"]:
            acts_on = [f"{t['label']} · {i18n.number(t['customers'], lang)}" for t in lever["targets"]]
            for key, names in (
                ("actions_from", lever["channels_from"]),
                ("actions_to", lever["channels_to"]),
            ):
                if names:
                    acts_on.append(f"{i18n.text(key, lang)}: {', '.join(names)}")
            table.add_row(
                Text(str(lever["rank"]) if lever["applies"] else "–"),
                Text(lever["title"]),
                Text(lever["money_text"] if lever["applies"] else i18n.text("actions_not_now", lang)),
                Text(i18n.text(f"actions_sure_{lever['confidence']}", lang) if lever["applies"] else ""),
                Text(lever["action"] + ("\n" + lever["basis"] if lever["basis"] else "")),
                Text("\n".join(acts_on)),
            )
        out.print(table)
        out.print(Text(view["note"]))
        for lever in view["levers"]:
            for t in lever["targets"]:
                slug = t["segment"].replace("'", "").replace(" ", "_")
                command = f'ltv segments --segment "{t["segment"]}" --out {slug}.csv'
                out.print(Text(f"{t['label']}. {i18n.text('actions_command', lang, command=command)}"))
        _other_currencies(found.other_currencies, lang)

    _emit(frame, "json" if as_json else fmt, out_file, show)


@command()
def followup(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    days: Annotated[int, typer.Option(help="Orders placed within this many days of the last day.")] = 30,
    contacts: ContactsOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Whom to follow up? Orders awaiting payment that no later purchase of the same product settled, with
    each customer's email and phone (the list to call or write to first); with --contacts, the customers as
    a contact file for GetCourse's user import or Unisender written to --out."""
    from ltvkit.service.contacts import follow_up_contacts
    from ltvkit.service.segments import follow_up_list

    if contacts is not None and out_file is None:
        raise typer.BadParameter("--contacts needs --out FILE", param_hint="--out")
    with _data(ctx, workspace) as ws:
        found = follow_up_list(ws, days=days)
        if contacts is not None and out_file is not None:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_bytes(follow_up_contacts(ws, found, contacts, lang=_lang(ctx)))
            err.print(_t("cli_written", _lang(ctx), path=escape(str(out_file))))
            return
    frame = found.orders

    def show() -> None:
        from ltvkit import formatting

        lang = _lang(ctx)
        count, end = formatting.number(len(frame), lang), formatting.day(found.end, lang)
        out.print(_frame_table(frame, _t("cli_followup_title", lang, n=count, days=days, end=end), lang=lang))

    _emit(frame, "json" if as_json else fmt, out_file, show)


def _by_scenario(table: pd.DataFrame, lang: str, currency: str | None) -> pd.DataFrame:
    """A scenario table turned for the terminal: one column a scenario, one row a figure, each value written
    as its figure reads (money, share, change)."""
    from ltvkit import columns

    view = table.set_index("scenario").T
    written = view.apply(
        lambda row: [columns.cell(str(row.name), v, lang, currency) for v in row],
        axis=1,
        result_type="expand",
    )
    written.columns = [
        columns.header(str(c), lang) if c in ("baseline", "scenario") else str(c) for c in view.columns
    ]
    written.index = [columns.header(str(name), lang) for name in view.index]
    return written.reset_index(names="figure")


@command()
def scenario(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    aov_change: Annotated[
        float, typer.Option(help="Relative change of the average check, e.g. 0.4 for +40%.")
    ] = 0.0,
    upsell_rate: Annotated[float, typer.Option(help="Share of purchases that add an upsell.")] = 0.0,
    upsell_price: Annotated[float, typer.Option(help="Price of that upsell.")] = 0.0,
    frequency_change: Annotated[
        float, typer.Option(help="Relative change of repeat purchases, e.g. 0.1.")
    ] = 0.0,
    churn_change: Annotated[float, typer.Option(help="Change of monthly churn in points, e.g. -0.02.")] = 0.0,
    new_margin: Annotated[
        float | None, typer.Option("--new-margin", help="The scenario's margin rate.")
    ] = None,
    margin: Annotated[float, typer.Option(help="Today's margin rate (share of revenue kept).")] = 1.0,
    scenarios_file: ScenariosOpt = None,
    horizon: Annotated[float, typer.Option(help="Model horizon in months.")] = 36,
    target: TargetOpt = 3.0,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """What happens to LTV and the CAC I can afford if the check, frequency, retention or margin change?"""
    from ltvkit.service.whatif import Scenario, read_scenarios
    from ltvkit.service.whatif import scenarios as what_if

    if scenarios_file is not None:
        planned = read_scenarios(scenarios_file)
    else:
        planned = [
            Scenario(
                "scenario",
                aov_change=aov_change,
                upsell_rate=upsell_rate,
                upsell_price=upsell_price,
                frequency_change=frequency_change,
                churn_change=churn_change,
                margin=new_margin,
            )
        ]
    with _data(ctx, workspace) as ws:
        found = what_if(ws, planned, margin=margin, horizon=horizon, target=target, currency=currency)
    base, table = found.baseline, found.table
    lang = _lang(ctx)
    _notes(found.notes, lang)

    def show() -> None:
        span = _t("cli_span_month", lang, n=_g(horizon, lang))
        title = _t("cli_scenario_title", lang, currency=base.currency, horizon=span)
        out.print(_frame_table(_by_scenario(table, lang, base.currency), title, lang=lang))
        out.print(_t("cli_scenario_note", lang, target=_g(target, lang)))

    _emit(table, "json" if as_json else fmt, out_file, show)


@command()
def tripwire(
    ctx: typer.Context,
    product: Annotated[str, typer.Option(help="The tripwire product, as in the orders.")],
    core: Annotated[str, typer.Option(help="The core product buyers should go on to.")],
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    price: Annotated[float | None, typer.Option(help="The new list price.")] = None,
    conversion: Annotated[
        float | None, typer.Option(help="Expected conversion to the core product at that price.")
    ] = None,
    unit_cost: Annotated[float | None, typer.Option(help="The tripwire's cost per buyer.")] = None,
    buyers_change: Annotated[
        float, typer.Option(help="Change of buyers from the same ad spend, e.g. 0.3.")
    ] = 0.0,
    scenarios_file: ScenariosOpt = None,
    target: TargetOpt = 3.0,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """What if the tripwire's price changes? LTV and profit of a tripwire buyer, and the CAC one can
    afford."""
    from ltvkit.service.whatif import TripwireScenario, read_scenarios
    from ltvkit.service.whatif import tripwire as tripwire_of

    if scenarios_file is not None:
        planned = read_scenarios(scenarios_file, TripwireScenario)
    else:
        planned = [
            TripwireScenario(
                "scenario",
                price=price,
                conversion=conversion,
                unit_cost=unit_cost,
                buyers_change=buyers_change,
            )
        ]
    with _data(ctx, workspace) as ws:
        found = tripwire_of(ws, product, core, planned, target=target, currency=currency)
    base, table = found.baseline, found.table

    def show() -> None:
        from ltvkit import formatting

        lang = _lang(ctx)
        title = _t(
            "cli_tripwire_title",
            lang,
            product=product,
            buyers=formatting.number(base.buyers, lang),
            conversion=formatting.percent(base.conversion, lang),
            core=core,
        )
        out.print(_frame_table(_by_scenario(table, lang, base.currency), title, lang=lang))
        out.print(_t("cli_tripwire_note", lang))

    _emit(table, "json" if as_json else fmt, out_file, show)


@command(notes=False)
def serve(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(envvar="LTV_TOKEN", help="Access token (generated when binding beyond loopback)."),
    ] = None,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload accepted, in MB.")] = 50,
) -> None:
    """The local web dashboard and JSON API on the workspace (docs at /docs); with --source, read-only on the
    source's table."""
    import ipaddress
    import secrets

    import uvicorn

    from ltvkit.web.app import bound_hosts, create_app

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not token:
        token = secrets.token_urlsafe(24)
    options = _source_options(ctx)
    app = create_app(
        workspace,
        token=token,
        max_upload_mb=max_upload_mb,
        source=options.opener() if options else None,
        allowed_hosts=bound_hosts(host, port),
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lang = _lang(ctx)
    where = options.describe() if options else _t("cli_workspace", lang, path=workspace)
    url = f"http://{shown}:{port}/{'?token=' + token if token else ''}"
    err.print(_t("cli_serve", lang, url=f"[bold]{url}[/bold]", where=escape(where)))
    uvicorn.run(app, host=host, port=port, log_level="warning")


@command("invoice", group=retainer_app)
def retainer_invoice(
    fee: Annotated[float, typer.Option(help="Monthly fee.")],
    currency: Annotated[str, typer.Option(help="ISO currency code, e.g. USD, UAH.")],
    start: Annotated[str, typer.Option(help="First day of the work (YYYY-MM-DD).")],
    country: Annotated[str, typer.Option(help="Holiday calendar: UA, RU, PL, KZ, DE, GB, US, …")],
    installments: Annotated[int, typer.Option(help="Payments a month: 1 or 2 (50/50).")] = 1,
    due_days: Annotated[str | None, typer.Option(help="Due windows, e.g. 1-5 or 1-5,15-20.")] = None,
    months: Annotated[int, typer.Option(help="Following months to schedule.")] = 6,
    overrides: Annotated[
        Path | None, typer.Option(help="Extra days off / working days (CSV or TOML).")
    ] = None,
    ics: Annotated[Path | None, typer.Option(help="Also write the due dates as an .ics calendar.")] = None,
    client: Annotated[str, typer.Option(help="Client name for the calendar entries.")] = "retainer",
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The first invoice prorated by the working days left in the month, then the monthly schedule."""
    from ltvkit import i18n
    from ltvkit.service.retainer import invoice_calendar, invoice_plan

    lang = i18n.check_lang(lang or _current_lang())
    try:
        begin = dt.date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(
            _t("cli_not_a_date", lang, value=repr(start)), param_hint="--start"
        ) from None
    plan = invoice_plan(
        fee,
        currency,
        begin,
        country,
        installments=installments,
        due_days=due_days,
        months=months,
        overrides=overrides,
        lang=lang,
    )
    if ics is not None:
        ics.write_text(invoice_calendar(plan, client=client), encoding="utf-8", newline="")
    if as_json:
        _print_json(plan.to_dict())
        return
    first = plan.first_invoice

    def money(value: object) -> str:
        return i18n.money(float(str(value)), plan.currency, lang, digits=2)

    out.print(
        i18n.text(
            "invoice_first",
            lang,
            month=i18n.month(first.month, lang),
            country=plan.country,
            left=first.remaining_working_days,
            days=first.working_days_in_month,
            start=i18n.day(first.start, lang),
            rate=money(first.daily_rate),
            amount=f"[bold]{money(first.amount)}[/bold]",
        )
    )
    if first.holidays_in_month:
        days_off = "; ".join(f"{i18n.day(d, lang)} {escape(name)}" for d, name in first.holidays_in_month)
        out.print("  " + i18n.text("invoice_days_off", lang, days=days_off))
    out.print("  " + i18n.text("invoice_rule", lang))
    table = Table(title=i18n.text("invoice_following", lang))
    for key in ("month", "payment", "amount", "window", "due"):
        table.add_column(i18n.text(f"ic_{key}", lang), justify="right" if key == "amount" else "left")
    for p in plan.schedule:
        table.add_row(
            i18n.month(p.month, lang),
            f"{p.installment}/{p.of}",
            money(p.amount),
            f"{i18n.day_month(p.window[0], lang)} – {i18n.day_month(p.window[1], lang)}",
            i18n.day(p.due, lang),
        )
    out.print(table)
    if ics is not None:
        out.print(i18n.text("invoice_calendar", lang, path=f"[bold]{escape(str(ics))}[/bold]"))


@command("kpi", group=retainer_app)
def retainer_kpi(
    ctx: typer.Context,
    terms: Annotated[Path, typer.Option(help="KPI terms (TOML): base fee, currency, KPIs, stages, cap.")],
    figures: Annotated[Path, typer.Option(help="Monthly figures: a month column and one per KPI and stage.")],
    fmt: FormatOpt = "table",
    as_json: JsonOpt = False,
    out_file: OutOpt = None,
) -> None:
    """Monthly fee = base fee + bonuses by KPI attainment and funnel stages reached."""
    from ltvkit.service.retainer import kpi_fees

    agreed, frame = kpi_fees(terms, figures)
    from ltvkit import formatting

    lang = _lang(ctx)

    def share(value: float) -> str:
        return formatting.percent(value, lang, digits=0)

    def figure(value: float) -> str:
        return formatting.number(value, lang, digits=2)

    formats: dict[str, Callable[[Any], str]] = {
        c: share for c in frame.columns if c.endswith("attainment") or c == "bonus_share"
    }
    formats |= {k.name: figure for k in agreed.kpis}
    _emit(
        frame,
        "json" if as_json else fmt,
        out_file,
        lambda: out.print(
            _frame_table(frame, _t("cli_fees_title", lang, terms=agreed.describe()), formats, lang=lang)
        ),
    )


@command("import", group=retainer_app)
def retainer_import(
    ledger: Annotated[
        Path, typer.Argument(help="Client ledger: client, fee, currency, start, end, billing, source.")
    ],
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: Annotated[str | None, typer.Option(help="Currency of fees that name none.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the client ledger (the contracts), accounting for every row."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.service.retainer import import_contracts

    with Workspace.open(workspace) as ws:
        account = import_contracts(ws, ledger, currency=currency)
    if as_json:
        _print_json(account.to_dict())
    else:
        _show_account(account, _current_lang())


AsOfOpt = Annotated[str | None, typer.Option(help="Count active clients up to this day (default: today).")]
CountryOpt = Annotated[
    str | None, typer.Option(help="Working days of this country for partial months (default: Mon–Fri).")
]


def _client_book(workspace: Path, as_of: str | None, country: str | None, **settings: float) -> Any:
    from ltvkit.data.workspace import Workspace
    from ltvkit.service.retainer import client_book

    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        message = _t("cli_not_a_date", _current_lang(), value=repr(as_of))
        raise typer.BadParameter(message, param_hint="--as-of") from None
    with Workspace.open(workspace, read_only=True) as ws:
        return client_book(ws, as_of=day, country=country, **settings)


@command("import", group=book_app)
def retainer_book_import(
    book: Annotated[
        Path, typer.Argument(help="Invoices and payments: client, date, amount, currency, status.")
    ],
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    currency: Annotated[str | None, typer.Option(help="Currency of amounts that name none.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the client book (invoices and payments), accounting for every row."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.service.retainer import import_book

    with Workspace.open(workspace) as ws:
        account = import_book(ws, book, currency=currency)
    if as_json:
        _print_json(account.to_dict())
    else:
        _show_account(account, _current_lang())


@command("ltv", group=retainer_app)
def retainer_ltv(
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    as_of: AsOfOpt = None,
    country: CountryOpt = None,
    discount_rate: Annotated[float, typer.Option(help="Annual discount rate.")] = 0.0,
    margin: Annotated[float, typer.Option(help="Share of the fee left after the cost of the work.")] = 1.0,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Client LTV: months retained, what each client paid, expected value (sBG), what a client may cost."""
    from ltvkit import i18n

    lang = i18n.check_lang(lang or _current_lang())
    book = _client_book(workspace, as_of, country, discount_rate=discount_rate, margin=margin)
    if as_json:
        _print_json(book.to_dict(lang))
        return
    _retainer_headline(book, lang)
    out.print(_shown_table(book.client_table(lang)))
    for sentence in book.sentences(lang)["values"]:
        out.print(sentence)
    table = Table(title=i18n.text("retainer_by_billing", lang), title_justify="left")
    for key in ("billing", "clients", "ended", "average"):
        table.add_column(i18n.text(f"rc_{key}", lang), justify="left" if key == "billing" else "right")
    for habit in book.by_billing:
        average = i18n.number(habit["average_months"], lang, digits=1)
        table.add_row(
            Text(str(habit["billing"])),
            str(habit["clients"]),
            str(habit["ended"]),
            f"≥ {average}" if habit["is_lower_bound"] else average,
        )
    out.print(table)
    if len(book.acquisition):
        out.print(_shown_table(book.acquisition_table(lang)))
    _retainer_notes(book, lang)


@command("metrics", group=retainer_app)
def retainer_metrics(
    workspace: WorkspaceOpt = Path(DEFAULT_WORKSPACE),
    as_of: AsOfOpt = None,
    country: CountryOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The agency by month: MRR and its movements, client churn, net revenue retention, client survival."""
    from ltvkit import i18n

    lang = i18n.check_lang(lang or _current_lang())
    book = _client_book(workspace, as_of, country)
    if as_json:
        everything = book.to_dict(lang)
        _print_json({key: everything[key] for key in ("as_of", "months", "survival", "notes")})
        return
    _retainer_headline(book, lang)
    for shown in book.month_tables(lang):
        out.print(_shown_table(shown))
    _retainer_notes(book, lang)


def _shown_table(shown: Any) -> Table:
    """A table of formatted cells (:class:`~ltvkit.service.retainer.Shown`), its first column names."""
    table = Table(title=shown.title, title_justify="left")
    for i, head in enumerate(shown.heads):
        table.add_column(head, justify="right" if i else "left")
    for row in shown.rows:
        table.add_row(Text(row[0]), *row[1:])
    return table


def _retainer_headline(book: Any, lang: str) -> None:
    said = book.sentences(lang)
    out.print(said["headline"])
    out.print(said["lifetime"])


def _retainer_notes(book: Any, lang: str) -> None:
    from ltvkit import i18n

    for note in book.texts(lang):
        err.print(f"[yellow]{i18n.text('retainer_note', lang)}:[/yellow] {escape(note)}", highlight=False)


def main() -> None:
    app()
