"""Where the orders are: a workspace file, or a table of any engine (``--source``), opened the same way for
every command, the web app and the report."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltvkit.data.sources import Source, SourceAccount
from ltvkit.data.workspace import Workspace


@dataclass(frozen=True)
class SourceOptions:
    """A table to analyse where it lives: the engine's ``url``, the orders ``table`` (a name or a file path),
    its column ``mapping``, a marketing ``spend_table`` and the ``currency`` of amounts that name none."""

    url: str
    table: str = "orders"
    mapping: Path | None = None
    spend_table: str | None = None
    currency: str | None = None

    def opener(self, *, writable: bool = False) -> Callable[[], Source]:
        """A function that connects and maps the table (the web app opens it on the first request)."""
        return functools.partial(
            Source.open,
            self.url,
            self.table,
            mapping=self.mapping,
            currency=self.currency,
            spend_table=self.spend_table,
            writable=writable,
        )

    def describe(self) -> str:
        return f"source {self.table} in {self.url}"


@contextmanager
def open_tables(
    workspace: Path, source: SourceOptions | None = None, *, writable: bool = False
) -> Iterator[Workspace | Source]:
    """The orders to analyse: the ``source`` table when given, else the workspace (read-only unless
    ``writable``)."""
    if source is None:
        with Workspace.open(workspace, read_only=not writable) as ws:
            yield ws
        return
    with source.opener(writable=writable)() as opened:
        yield opened


def check_source(source: Source, *, limit: int = 10) -> tuple[SourceAccount, pd.DataFrame]:
    """Which columns are read as which fields, the rows left out by reason, and the first ``limit`` of
    them."""
    account = source.account()
    sample = source.left_out(limit) if account.left_out else pd.DataFrame()
    return account, sample
