"""Write result tables where the user asked: CSV (UTF-8 with BOM, so Excel opens Cyrillic text correctly),
XLSX, Parquet or JSON, chosen by ``fmt`` or the file's extension.

Spreadsheet files are written so that they cannot be turned against their readers (OWASP "CSV injection"):
a text cell that a spreadsheet would evaluate — one beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, unless it is a plain number such as ``-5`` or ``+1.5`` — is written with a leading ``'``,
which Excel, LibreOffice and Google Sheets show as the text itself. XLSX cells are always values, never
formulas. Parquet and JSON, the formats for programs, are written as they are; ``guard_formulas=False``
turns the guard off for CSV and XLSX too.

Contact lists (:func:`contacts_bytes`) are CSV files in the layout an import reads: GetCourse's user import
(semicolons, UTF-8 with BOM; «Email» is required, else «Телефон»; «Группа» adds the users to a group, made if
missing) and Unisender's contact import (commas, UTF-8; its field names ``email``, ``phone``, ``Name`` and
``tags``, the file SendPulse's import maps by hand too). Phones are written in the international form
those services ask for, without spaces, brackets, dashes or dots (``+7 (916) 123-45-67`` → ``+79161234567``),
digits otherwise as recorded; the formula guard applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ltvkit.choices import FORMATS
from ltvkit.errors import ParameterError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class ContactFormat:
    """A contact import's CSV layout: the header of each contact field, the delimiter, a byte-order mark."""

    headers: dict[str, str]
    delimiter: str
    bom: bool


CONTACT_FORMATS = {
    "getcourse": ContactFormat(
        {"email": "Email", "phone": "Телефон", "first_name": "Имя", "last_name": "Фамилия", "tags": "Группа"},
        ";",
        bom=True,
    ),
    "unisender": ContactFormat(
        {"email": "email", "phone": "phone", "name": "Name", "tags": "tags"}, ",", bom=False
    ),
}
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")


def output_format(path: str | Path, fmt: str | None = None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ParameterError(f"cannot write {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def guarded_cell(value: object) -> object:
    """``value`` with a leading ``'`` if it is text a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def guard_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are :func:`guarded_cell` (numeric columns stay as they are)."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_datetime64_any_dtype(
            out[column]
        ):
            out[column] = out[column].map(guarded_cell)
    return out


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None, *, guard: bool = True) -> Path:
    """Write ``frame`` to ``path`` and return the path; CSV and XLSX cells that would run as formulas are
    neutralised unless ``guard`` is false (see the module docstring)."""
    path = Path(path)
    fmt = output_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("csv", "xlsx") and guard:
        frame = guard_formulas(frame)
    if fmt == "csv":
        path.write_bytes(csv_bytes(frame, guard=False))  # guarded above
    elif fmt == "xlsx":
        _write_xlsx(frame, path)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", force_ascii=False, date_format="iso", indent=1)
    return path


def csv_bytes(frame: pd.DataFrame, *, guard: bool = True) -> bytes:
    """``frame`` as the CSV that :func:`write_table` writes (UTF-8 with BOM, CRLF rows as RFC 4180, so a CR
    inside a cell is quoted), formula cells neutralised unless ``guard`` is false: for a download."""
    text = (guard_formulas(frame) if guard else frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def contact_format(name: str) -> ContactFormat:
    """The :data:`CONTACT_FORMATS` layout called ``name``."""
    if name not in CONTACT_FORMATS:
        raise ParameterError(
            f"unknown contact format {name!r}; use one of {', '.join(CONTACT_FORMATS)}", parameter="contacts"
        )
    return CONTACT_FORMATS[name]


def contacts_bytes(contacts: pd.DataFrame, fmt: str) -> bytes:
    """``contacts`` (``email``, ``phone``, ``first_name``, ``last_name``, ``name``, ``tags``; missing fields
    empty) as the CSV file the ``fmt`` import reads (see the module docstring), formula cells neutralised."""
    layout = contact_format(fmt)
    frame = contacts.reindex(columns=list(layout.headers)).astype(object)
    if "phone" in frame:
        frame["phone"] = frame["phone"].map(
            lambda p: _PHONE_PUNCTUATION.sub("", p) if isinstance(p, str) else p
        )
    frame = guard_formulas(frame.where(frame.notna(), "")).rename(columns=layout.headers)
    text = frame.to_csv(index=False, sep=layout.delimiter, lineterminator="\r\n")
    return text.encode("utf-8-sig" if layout.bom else "utf-8")


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """One sheet with a header row; every cell a value (openpyxl would otherwise store text beginning with
    ``=`` as a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def _xlsx_value(value: object) -> object:
    """A value openpyxl can store: missing values empty, timestamps without a time zone (Excel has none)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value
