"""The bounds of an import: how much a file may hold or expand to, and which values are plausible.

Each reader checks the limits that concern it before the work they bound: a zip part's declared size before it
is inflated, a gzip stream while it inflates, a sheet row's width before openpyxl pads the row. Going beyond a
limit raises :class:`~ltvkit.errors.LimitExceededError` (a :class:`~ltvkit.errors.FileFormatError`) whose
``limit`` is the name of the constant; docs/import.md lists them. The value bounds at the end do not refuse a
file: a row outside them is rejected with a reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ltvkit.errors import LimitExceededError

#: Bytes of a file, and of what a gzip file or an XLSX workbook expands to.
MAX_INPUT_BYTES = 1 << 30
#: Characters of one value: a CSV field (quoted or not), a cell, a JSON value, a shared string.
MAX_FIELD_CHARS = 1 << 20
#: Columns of a table.
MAX_COLUMNS = 1_000
#: Cells (rows × columns) of an XLSX sheet, a JSON lines file or a Parquet file, where a cell exists without
#: being written out: a sheet row is as wide as its last cell, a key missing from a JSON line is a blank.
MAX_CELLS = 50_000_000
#: Characters in all the values of a table; a shared string or a Parquet dictionary value counts each time a
#: cell uses it.
MAX_TABLE_CHARS = 1 << 30
#: Rows of an XLSX sheet, by row number (Excel's own limit).
MAX_SHEET_ROWS = 1_048_576
#: Strings in an XLSX workbook's shared-string table.
MAX_SHARED_STRINGS = 5_000_000
#: Bytes one part of an XLSX zip archive expands to.
MAX_XLSX_PART_BYTES = 512 << 20
#: Elements of an XLSX part that openpyxl parses into a tree (all but the worksheets and shared strings).
MAX_XML_ELEMENTS = 1_000_000
#: How many times its compressed size a gzip file or an XLSX part may expand to...
MAX_COMPRESSION_RATIO = 200
#: ...once it expands to more than this many bytes.
RATIO_FREE_BYTES = 1 << 20

#: Amounts (money, quantities) of this size or more are rejected, as are infinite ones.
MAX_AMOUNT = 1e15
#: Dates before this are rejected unless ``ImportOptions.min_date`` says otherwise.
EARLIEST_DATE = dt.date(1990, 1, 1)
#: Dates more than this many days after today are rejected unless ``ImportOptions.max_date`` says otherwise.
FUTURE_DAYS = 365


def exceeded(
    limit: str, what: str, *, file: str | Path, row: int | None = None, column: str | None = None
) -> LimitExceededError:
    """The error for ``what`` (``"the header has 2,000 columns"``) going beyond ``limit``, the name of one of
    this module's constants."""
    return LimitExceededError(
        f"{what}, beyond the limit {limit} = {globals()[limit]:,}",
        limit=limit,
        file=file,
        row=row,
        column=column,
        hint="see Limits in docs/import.md; split the file or export it again",
    )


def check_ratio(file: str | Path, what: str, expanded: int, compressed: int) -> None:
    """Refuse ``what`` (a gzip file, a zip part) expanding from ``compressed`` to ``expanded`` bytes when
    that is more than :data:`RATIO_FREE_BYTES` and more than :data:`MAX_COMPRESSION_RATIO` times as much."""
    if expanded > RATIO_FREE_BYTES and expanded > MAX_COMPRESSION_RATIO * compressed:
        ratio = expanded / max(compressed, 1)
        raise exceeded(
            "MAX_COMPRESSION_RATIO",
            f"{what} expands {ratio:,.0f} times ({compressed:,} bytes to {expanded:,})",
            file=file,
        )
