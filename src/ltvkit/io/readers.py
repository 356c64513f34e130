"""Read an export file into a table of strings, keeping every row and its row number.

Values stay text here; :mod:`ltvkit.io.parsing` decides what they mean. A row that cannot be split into the
header's columns is not dropped: it is returned in :attr:`RawTable.malformed` for the importer to reject.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from ltvkit.errors import FileFormatError

DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = "whitespace"


@dataclass
class RawTable:
    """A file read as text: ``frame`` (all values str), the row number of each record as the user would
    find it (a spreadsheet row, or a line for JSON lines), and rows that could not be split into columns."""

    path: Path
    frame: pd.DataFrame
    row_numbers: list[int]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool = True
    malformed: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed)


def read_table(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None) -> RawTable:
    """Read CSV/TSV/whitespace text, XLSX, Parquet or JSON lines, chosen by content and extension."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError("file not found", file=path, hint="check the path")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x1f\x8b"):  # gzip: read the file inside under its own name
        return _read_gzip(path, encoding, delimiter)
    suffix = path.suffix.lower()
    try:
        if head.startswith(b"PK") or suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        if head.startswith(b"PAR1") or suffix == ".parquet":
            return _read_parquet(path)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _read_json_lines(path, encoding)
        return _read_text(path, encoding, delimiter)
    except FileFormatError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise FileFormatError(
            f"cannot be read as a {suffix.lstrip('.') or 'text'} table ({exc})",
            file=path,
            hint="export it again as CSV (UTF-8) or XLSX",
        ) from exc


def _read_gzip(path: Path, encoding: str | None, delimiter: str | None) -> RawTable:
    import gzip
    import tempfile

    inner = path.with_suffix("") if path.suffix.lower() == ".gz" else path
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"is a damaged gzip file ({exc})", file=path) from exc
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = Path(tmp) / inner.name
        unpacked.write_bytes(data)
        table = read_table(unpacked, encoding=encoding, delimiter=delimiter)
    table.path = path
    return table


# --- text ----------------------------------------------------------------------------------------------


def decode_text(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode bytes: the given encoding, else a BOM, else UTF-8, else the closest single-byte Cyrillic or
    Western code page (cp1251 is what Russian and Ukrainian Excel writes)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileFormatError(f"cannot be decoded as {encoding}: {exc}", file=path) from exc
    for bom, name in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(name), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=["cp1251", "cp1252", "koi8_r", "cp1250"]).best()
    name = str(best.encoding) if best is not None else _single_byte_guess(data)
    try:
        return data.decode(name), name
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            "cannot tell the text encoding", file=path, hint="save the file as UTF-8 or pass --encoding"
        ) from exc


def _single_byte_guess(data: bytes) -> str:
    """cp1251 when most letters are high bytes (Cyrillic text), else cp1252 (Western text with accents)."""
    high = sum(b >= 0xC0 for b in data)
    ascii_letters = sum(65 <= b <= 90 or 97 <= b <= 122 for b in data)
    return "cp1251" if high > ascii_letters * 0.3 else "cp1252"


def sniff_delimiter(sample_lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields; whitespace-aligned
    text (the CDNOW files) when none does."""
    lines = [ln for ln in sample_lines if ln.strip()][:50]
    if not lines:
        return ","
    best, best_fields = None, 1
    for delim in DELIMITERS:
        counts = {len(r) for r in csv.reader(lines, delimiter=delim)}
        if len(counts) == 1 and (n := counts.pop()) > best_fields:
            best, best_fields = delim, n
    if best is None:
        for delim in DELIMITERS:  # allow ragged rows: the delimiter present in most lines
            if sum(delim in ln for ln in lines) >= 0.8 * len(lines):
                return delim
        if len({len(ln.split()) for ln in lines}) == 1 and len(lines[0].split()) > 1:
            return WHITESPACE
        return ","
    return best


def _looks_like_data(fields: Iterable[str]) -> bool:
    """A first row made only of numbers is data, not a header (the CDNOW sample has no header)."""
    values = [f.strip() for f in fields]
    return bool(values) and all(
        v and v.replace(".", "").replace(",", "").replace("-", "").isdigit() for v in values
    )


def _read_text(path: Path, encoding: str | None, delimiter: str | None) -> RawTable:
    text, used_encoding = decode_text(path.read_bytes(), path, encoding)
    first_line_no = 1
    if text[:4].lower() == "sep=":  # Excel's hint line: sep=;
        hint_line, _, text = text.partition("\n")
        delimiter = delimiter or hint_line[4:].strip()[:1]
        first_line_no = 2
    if not text.strip():
        raise FileFormatError("the file is empty", file=path, hint="export the data again")
    delim = delimiter or sniff_delimiter(text.splitlines()[:50])
    if delim.lower() in ("tab", "\\t"):
        delim = "\t"
    records = _split_records(text, delim, path)
    return _table_from_records(path, records, first_line_no, "text", used_encoding, delim)


def _split_records(text: str, delim: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each record; quoted fields may span lines."""
    if delim == WHITESPACE:
        for n, record in enumerate(text.splitlines(), start=1):
            if record.strip():
                yield n, record.split()
        return
    # strict: a quote that never closes (or text glued to a closing quote) is an error naming the line, not
    # a field that silently swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    line = 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if any(f.strip() for f in fields):
                yield start, fields
    except csv.Error as exc:
        raise FileFormatError(
            f"malformed CSV from line {line}: {exc}",
            file=path,
            row=line,
            hint="a quoted field is not closed or has text after its closing quote; export the file again",
        ) from None


def _table_from_records(
    path: Path,
    records: Iterable[tuple[int, list[str]]],
    line_offset: int,
    fmt: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    iterator = iter(records)
    first = next(iterator, None)
    if first is None:
        raise FileFormatError("the file has no rows", file=path, hint="export the data again")
    has_header = not _looks_like_data(first[1])
    if has_header:
        header = _unique_names([h.strip() for h in first[1]])
        rows: list[list[str]] = []
        numbers: list[int] = []
    else:
        header = [f"column_{i + 1}" for i in range(len(first[1]))]
        rows, numbers = [first[1]], [first[0] + line_offset - 1]
    malformed: list[tuple[int, str, str]] = []
    width = len(header)
    for line_no, fields in iterator:
        row_no = line_no + line_offset - 1
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            raw = (delimiter if delimiter not in (None, WHITESPACE) else " ").join(fields)
            malformed.append((row_no, raw, f"has {len(fields)} fields, the header has {width}"))
            continue
        fields = fields[:width] + [""] * (width - len(fields))
        rows.append(fields)
        numbers.append(row_no)
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
    return RawTable(path, frame, numbers, fmt, encoding, delimiter, has_header, malformed)


def _unique_names(names: list[str]) -> list[str]:
    """Make header names unique (``Amount``, ``Amount (2)``) and name blank ones by position."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


# --- typed formats -------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell of a typed format (XLSX, Parquet, JSON) as the text a CSV export would have held."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_xlsx(path: Path) -> RawTable:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise FileFormatError(f"is not a readable XLSX workbook ({exc})", file=path) from exc
    try:
        sheet = book.worksheets[0]
        records = (
            (n, [cell_text(v) for v in row])
            for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            if any(v is not None and str(v).strip() for v in row)
        )
        return _table_from_records(path, records, 1, "xlsx")
    finally:
        book.close()


def _frame_as_text(path: Path, frame: pd.DataFrame, fmt: str, row_numbers: list[int]) -> RawTable:
    text = pd.DataFrame({str(c): frame[c].map(cell_text) for c in frame.columns}, dtype=object)
    text.columns = _unique_names(list(text.columns))
    return RawTable(path, text.reset_index(drop=True), row_numbers, fmt)


def _read_parquet(path: Path) -> RawTable:
    frame = pd.read_parquet(path)
    return _frame_as_text(path, frame, "parquet", list(range(1, len(frame) + 1)))


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _read_json_lines(path: Path, encoding: str | None) -> RawTable:
    text, _ = decode_text(path.read_bytes(), path, encoding)
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of objects is accepted too
        items = json.loads(stripped)
        lines = [(i + 1, json.dumps(item, ensure_ascii=False)) for i, item in enumerate(items)]
    else:
        lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    records, numbers, malformed = [], [], []
    for n, line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            malformed.append((n, line, f"is not valid JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            malformed.append((n, line, "is not a JSON object"))
            continue
        records.append(_flatten(obj))
        numbers.append(n)
    if not records and not malformed:
        raise FileFormatError("the file has no rows", file=path)
    table = _frame_as_text(path, pd.DataFrame.from_records(records), "jsonl", numbers)
    table.malformed = malformed
    return table
