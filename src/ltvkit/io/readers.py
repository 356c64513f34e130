"""Read an export file into a table of strings, keeping every row and its row number.

Values stay text here; :mod:`ltvkit.io.parsing` decides what they mean. The numbers of typed formats (XLSX
number cells, Parquet and JSON numbers) are kept beside the text (:attr:`RawTable.typed`), so that they are
never read again as text. A row that cannot be split into the header's columns, or that is a total row
(``Итого``, ``Total``), is not dropped: it is returned in :attr:`RawTable.malformed` for the importer to
reject.
Every reader stays within the limits of :mod:`ltvkit.io.limits`, checked before the work they bound.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltvkit.errors import FileFormatError, LimitExceededError
from ltvkit.i18n import Note
from ltvkit.io.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_INPUT_BYTES,
    MAX_TABLE_CHARS,
    check_ratio,
    exceeded,
)

DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = "whitespace"
#: What the first bytes of a file say it is compressed with (gzip is unpacked, the others are refused).
COMPRESSIONS = {
    "gzip": re.compile(rb"\x1f\x8b"),
    "bzip2": re.compile(rb"BZh[1-9]"),
    "xz": re.compile(rb"\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\x28\xb5\x2f\xfd"),
    "7z": re.compile(rb"7z\xbc\xaf\x27\x1c"),
    "RAR": re.compile(rb"Rar!\x1a\x07"),
}
_SNIFF_CHARS = 1 << 20  # the delimiter is sniffed from the lines that start in the first MiB of text
_CHUNK = 1 << 16
_NEWLINE = re.compile(r"\r\n|\r|\n")  # the line ends the csv module counts

# The csv module's own field limit (128 KiB by default) is process-wide. It is raised to ours, never lowered,
# so that a longer field stops the parser at once; _long_field_index then finds which field it was.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))


@dataclass
class RawTable:
    """A file read as text: ``frame`` (all values str), the row number of each record as the user would
    find it (a spreadsheet row, or a line for JSON lines), rows that could not be split into columns, and
    notes on how the file was read (lines in another encoding than the rest)."""

    path: Path
    frame: pd.DataFrame
    row_numbers: list[int]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool = True
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    typed: pd.DataFrame | None = None  # the values of number cells (NaN where a cell held text), by column

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed)


def read_table(
    path: str | Path, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None
) -> RawTable:
    """Read CSV/TSV/whitespace text, XLSX, Parquet or JSON lines, chosen by content and extension; a gzip file
    is unpacked first, whatever its name. ``sheet`` names the worksheet of a workbook (see
    :func:`_read_xlsx`)."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(Note("error_file_not_found"), file=path, hint=Note("error_hint_check_path"))
    size = path.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise exceeded("MAX_INPUT_BYTES", f"the file has {size:,} bytes", file=path)
    with path.open("rb") as fh:
        head = fh.read(8)
    compression = _compression(head)
    if compression == "gzip":
        data = _gunzip(path, size)
        if _compression(data[:8]):
            raise FileFormatError(
                "is compressed twice", file=path, hint="unpack it and import the file inside"
            )
        inner = path.with_suffix("") if path.suffix.lower() == ".gz" else path
        return _read_content(path, inner.suffix.lower(), data[:8], data, encoding, delimiter, sheet)
    if compression:
        raise FileFormatError(
            f"is compressed with {compression}, which ltvkit does not unpack",
            file=path,
            hint="decompress it (or compress it with gzip) and import it again",
        )
    return _read_content(path, path.suffix.lower(), head, None, encoding, delimiter, sheet)


def _compression(head: bytes) -> str | None:
    """The compression the first bytes of a file show, if any."""
    return next((name for name, magic in COMPRESSIONS.items() if magic.match(head)), None)


def _read_content(
    path: Path,
    suffix: str,
    head: bytes,
    data: bytes | None,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None = None,
) -> RawTable:
    """The table in ``data`` (unpacked from a gzip file) or, when None, in the file itself."""
    try:
        if head.startswith(b"PK") or suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path, data, sheet)
        if head.startswith(b"PAR1") or suffix == ".parquet":
            return _read_parquet(path, data)
        raw = data if data is not None else path.read_bytes()
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _read_json_lines(path, raw, encoding)
        return _read_text(path, raw, encoding, delimiter)
    except FileFormatError:
        raise
    except (OSError, ValueError, KeyError, RecursionError) as exc:
        raise FileFormatError(
            Note("error_unreadable", kind=suffix.lstrip(".") or "text", detail=str(exc)),
            file=path,
            hint=Note("error_hint_export_csv"),
        ) from exc


def _gunzip(path: Path, compressed: int) -> bytes:
    """What a gzip file holds, inflated chunk by chunk and refused as soon as it grows beyond
    :data:`MAX_INPUT_BYTES` or :data:`MAX_COMPRESSION_RATIO` times the file's size."""
    import gzip
    import zlib

    chunks, expanded = [], 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                chunks.append(chunk)
                expanded += len(chunk)
                if expanded > MAX_INPUT_BYTES:
                    raise exceeded("MAX_INPUT_BYTES", "the gzip file expands further", file=path)
                check_ratio(path, "the gzip file", expanded, compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"is a damaged gzip file ({exc})", file=path) from exc
    return b"".join(chunks)


# --- text ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, its encoding, and a note naming the lines read in another encoding."""

    text: str
    encoding: str
    note: str | None = None


def decode_text(data: bytes, path: Path, encoding: str | None = None) -> Decoded:
    """Decode bytes: the given encoding, else a UTF-16 BOM, else UTF-8 (with or without BOM), else the closest
    single-byte Cyrillic or Western code page (cp1251 is what Russian and Ukrainian Excel writes), else, for a
    file mixing UTF-8 lines with others, each line in its own encoding (see :func:`_decode_lines`)."""
    if encoding:
        try:
            return Decoded(data.decode(encoding), encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileFormatError(f"cannot be decoded as {encoding}: {exc}", file=path) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(_decode(data, "utf-16", path), "utf-16")
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError:
        return _decode_lines(data[3:] if bom else data, path)


def _decode(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileFormatError(Note("error_encoding"), file=path, hint=Note("error_hint_encoding")) from exc


def _decode_lines(data: bytes, path: Path) -> Decoded:
    """Text that is not UTF-8 throughout. When none of its lines is UTF-8, it is in one code page. When some
    are and others are not (rows added by another program), each line is read in its own encoding (a few odd
    lines in a UTF-8 file as cp1251 or cp1252, see :func:`_single_byte_guess`) and the lines of the rarer one
    are named in a note: never mojibake (``РљСѓСЂСЃ``) without a word."""
    lines = data.splitlines(keepends=True)  # \r\n, \r and \n, the line ends the csv module counts
    utf8: list[int] = []
    other: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.isascii():
            (utf8 if _is_utf8(line) else other).append(number)
    if not utf8:
        code_page = _code_page(data)
        return Decoded(_decode(data, code_page, path), code_page)
    other_text = b"".join(lines[n - 1] for n in other)
    if len(utf8) >= len(other):
        base, odd, odd_encoding = "utf-8", other, _single_byte_guess(other_text)
    else:
        base, odd, odd_encoding = _code_page(other_text), utf8, "utf-8"
    odd_lines = set(odd)
    text = "".join(
        _decode(line, odd_encoding if n in odd_lines else base, path) for n, line in enumerate(lines, start=1)
    )
    one = len(odd) == 1
    note = (
        f"{_row_list(odd)} of {path.name} {'is' if one else 'are'} not {base} like the rest of the file: "
        f"{'it was' if one else 'they were'} read as {odd_encoding}; check {'it' if one else 'them'}"
    )
    return Decoded(text, base, note)


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _code_page(data: bytes) -> str:
    """The single-byte code page ``data`` reads best in."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=["cp1251", "cp1252", "koi8_r", "cp1250"]).best()
    return str(best.encoding) if best is not None else _single_byte_guess(data)


def _single_byte_guess(data: bytes) -> str:
    """cp1251 when many letters are high bytes (Cyrillic text), else cp1252 (Western text with accents); a
    guess that holds for short text, where charset detection does not."""
    high = sum(b >= 0xC0 for b in data)
    ascii_letters = sum(65 <= b <= 90 or 97 <= b <= 122 for b in data)
    return "cp1251" if high > ascii_letters * 0.3 else "cp1252"


def _row_list(numbers: list[int]) -> str:
    """``row 3``, ``rows 3, 7`` or ``rows 3, 7, ... and 12 more``."""
    shown = ", ".join(map(str, numbers[:10]))
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    return f"row {shown}" if len(numbers) == 1 else f"rows {shown}{more}"


def sniff_delimiter(sample_lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields; whitespace-aligned
    text (the CDNOW files) when none does."""
    lines = [ln for ln in sample_lines if ln.strip()][:50]
    if not lines:
        return ","
    best, best_fields = None, 1
    for delim in DELIMITERS:
        try:
            counts = {len(r) for r in csv.reader(lines, delimiter=delim)}
        except csv.Error:  # a field too long for the csv module: not split by this delimiter
            continue
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


def _sample_lines(text: str) -> list[str]:
    """The first 50 lines, of those starting in the first MiB (a line cut off there is left out)."""
    lines = text[:_SNIFF_CHARS].splitlines()
    if len(text) > _SNIFF_CHARS and len(lines) > 1:
        lines.pop()
    return lines[:50]


def _delimiter(value: str, path: Path) -> str:
    """A delimiter given as an option or by a ``sep=`` line: one character (``tab`` and ``\\t`` name the
    tab), or ``whitespace``."""
    delim = "\t" if value.lower() in ("tab", "\\t") else value
    if delim != WHITESPACE and (len(delim) != 1 or delim in '"\r\n'):
        raise FileFormatError(
            f"cannot be split into fields by {value!r}",
            file=path,
            hint="name one character as the delimiter, such as ; or tab",
        )
    return delim


def _looks_like_data(fields: Iterable[str]) -> bool:
    """A first row made only of numbers is data, not a header (the CDNOW sample has no header)."""
    values = [f.strip() for f in fields]
    return bool(values) and all(
        v and v.replace(".", "").replace(",", "").replace("-", "").isdigit() for v in values
    )


def _read_text(path: Path, data: bytes, encoding: str | None, delimiter: str | None) -> RawTable:
    decoded = decode_text(data, path, encoding)
    text, first_line = decoded.text, 1
    if text[:4].lower() == "sep=":  # Excel's hint line: sep=;
        hint_line, _, text = text.partition("\n")
        delimiter = delimiter or hint_line[4:].strip()[:1]
        first_line = 2
    if not text or text.isspace():
        raise FileFormatError(Note("error_file_empty"), file=path, hint=Note("error_hint_export_again"))
    delim = _delimiter(delimiter, path) if delimiter else sniff_delimiter(_sample_lines(text))
    table = None
    if delim != WHITESPACE and len(text) >= DUCKDB_MIN_CHARS:
        table = _read_text_in_duckdb(path, text, delim, first_line, decoded.encoding)
    if table is None:
        records = _split_records(text, delim, path, first_line)
        table = _table_from_records(path, records, "text", decoded.encoding, delim)
    table.notes = [decoded.note] if decoded.note else []
    return table


#: Text of this many characters or more is split by DuckDB's CSV reader (:func:`_read_text_in_duckdb`).
DUCKDB_MIN_CHARS = 1 << 20
# Whitespace as str.isspace() knows it, in DuckDB's regular expressions: a record (or a value) of nothing
# else is blank.
_SPACE = r"\s\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
BLANK_SQL = rf"^[{_SPACE}]*$"


def _read_text_in_duckdb(
    path: Path, text: str, delim: str, first_line: int, encoding: str
) -> RawTable | None:
    """The table of ``text`` split into fields by DuckDB's CSV reader, held as Arrow strings (no Python
    object per value), when that is sure to give what :func:`_split_records` and :func:`_table_from_records`
    give: a header row, every record on one line of its own (so that a row's number is its line), no blank
    record, no record wider than the header, no total row, every field within the limits. Otherwise None,
    and the text is read record by record, which names what is wrong where."""
    import duckdb

    first = next(csv.reader(io.StringIO(text[:_SNIFF_CHARS], newline=""), delimiter=delim), None)
    if not first or len(first) > MAX_COLUMNS:
        return None
    header, has_header = _column_names(first)
    if not has_header:
        return None
    lines = text.count("\n") + text.count("\r") - text.count("\r\n") + (not text.endswith(("\n", "\r")))
    names = [f"c{i}" for i in range(len(header))]
    filled = [f"coalesce({n}, '')" for n in names]
    chars = " + ".join(f"length({f})" for f in filled)
    checks = f"""SELECT count(*), max(greatest({", ".join(f"length({f})" for f in filled)})), sum({chars}),
        bool_or(regexp_matches(concat({", ".join(filled)}), '{BLANK_SQL}')),
        bool_or({" OR ".join(f"regexp_matches({n}, '{_TOTAL}', 'i')" for n in names)})
        FROM text"""
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")  # nothing of DuckDB's own in the output
        file = Path(tmp) / "text.csv"
        file.write_text(text, encoding="utf-8", newline="")
        try:
            con.execute(
                """CREATE TABLE text AS SELECT * FROM read_csv(?, delim = ?, quote = '"', escape = '"',
                   header = false, skip = 1, columns = ?, auto_detect = false, strict_mode = true,
                   null_padding = true, encoding = 'utf-8')""",
                [str(file), delim, dict.fromkeys(names, "VARCHAR")],
            )
        except duckdb.Error:
            return None
        ((rows, longest, total, blank, totals),) = con.execute(checks).fetchall()
        if rows + 1 != lines or blank or totals or (longest or 0) > MAX_FIELD_CHARS:
            return None
        if (total or 0) > MAX_TABLE_CHARS:
            return None
        con.execute("SET arrow_large_buffer_size = true")  # pandas' Arrow strings: no copy to convert
        arrow = con.sql(
            f"SELECT {', '.join(f'{f} AS {n}' for f, n in zip(filled, names, strict=True))} FROM text"
        ).to_arrow_table()
    frame = arrow.rename_columns(header).to_pandas()
    numbers = list(range(first_line + 1, first_line + 1 + rows))
    return RawTable(path, frame, numbers, "text", encoding, delim, True)


def _split_records(text: str, delim: str, path: Path, first_line: int) -> Iterator[tuple[int, list[str]]]:
    """(row number, fields) for each record, ``first_line`` being the row number of the text's first line;
    quoted fields may span lines."""
    if delim == WHITESPACE:
        for n, record in enumerate(io.StringIO(text, newline=""), start=first_line):
            if fields := record.split():
                yield n, fields
        return
    # strict: a quote that never closes (or text glued to a closing quote) is an error naming the line, not
    # a field that silently swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    line, first = 1, None
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if (joined := "".join(fields)) and not joined.isspace():
                first = first or fields
                yield start + first_line - 1, fields
    except csv.Error as exc:
        row = line + first_line - 1
        if "field larger than field limit" in str(exc):
            names = _column_names(first)[0] if first else []
            raise _long_field(path, row, names, _long_field_index(text, line, delim)) from None
        raise FileFormatError(
            f"malformed CSV from line {row}: {exc}",
            file=path,
            row=row,
            hint="a quoted field is not closed or has text after its closing quote; export the file again",
        ) from None


def _long_field_index(text: str, line: int, delim: str) -> int:
    """Which field of the record starting on ``line`` of ``text`` is longer than :data:`MAX_FIELD_CHARS` (the
    csv module only says that one is)."""
    pos = 0
    for _ in range(line - 1):
        newline = _NEWLINE.search(text, pos)
        pos = newline.end() if newline else len(text)
    field_re = re.compile(rf'"[^"]*(?:""[^"]*)*"|[^{re.escape(delim)}\r\n]*')
    index = 0
    while (m := field_re.match(text, pos)) and _field_chars(m.group()) <= MAX_FIELD_CHARS:
        if not text.startswith(delim, m.end()):
            break
        pos, index = m.end() + 1, index + 1
    return index


def _field_chars(token: str) -> int:
    """Characters of a CSV field as written (quoted or not) once read."""
    if token.startswith('"'):
        return len(token) - 2 - token.count('""')
    return len(token)


def _long_field(path: Path, row: int, names: list[str], index: int) -> LimitExceededError:
    column = names[index] if index < len(names) else f"column_{index + 1}"
    return exceeded("MAX_FIELD_CHARS", "the field is longer", file=path, row=row, column=column)


def _column_names(first: list[str]) -> tuple[list[str], bool]:
    """Names of the columns from the first record, and whether it is a header (not a row of numbers)."""
    if _looks_like_data(first):
        return [f"column_{i + 1}" for i in range(len(first))], False
    return _unique_names([h.strip() for h in first]), True


def _table_from_records(
    path: Path,
    records: Iterable[tuple[int, list[str]]],
    fmt: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    """The table of (row number, fields) records, the first being the header unless it is a row of numbers."""
    iterator = iter(records)
    first = next(iterator, None)
    if first is None:
        raise FileFormatError(Note("error_no_rows"), file=path, hint=Note("error_hint_export_again"))
    if len(first[1]) > MAX_COLUMNS:
        raise exceeded("MAX_COLUMNS", f"the first row has {len(first[1]):,} columns", file=path, row=first[0])
    header, has_header = _column_names(first[1])
    chars = _record_chars(path, *first, header)
    rows: list[list[str]] = [] if has_header else [first[1]]
    numbers: list[int] = [] if has_header else [first[0]]
    malformed: list[tuple[int, str, str]] = []
    width = len(header)
    for row_no, fields in iterator:
        chars += _record_chars(path, row_no, fields, header)
        if chars > MAX_TABLE_CHARS:
            raise exceeded("MAX_TABLE_CHARS", "the values hold more characters", file=path, row=row_no)
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            raw = (delimiter if delimiter not in (None, WHITESPACE) else " ").join(fields)
            malformed.append((row_no, raw, f"has {len(fields)} fields, the header has {width}"))
            continue
        fields = fields[:width] + [""] * (width - len(fields))
        rows.append(fields)
        numbers.append(row_no)
    if totals := _total_rows(rows):
        for i in totals:
            raw = json.dumps(dict(zip(header, rows[i], strict=False)), ensure_ascii=False)
            malformed.append((numbers[i], raw, f"is a total row ({_total_label(rows[i])!r}), not an order"))
        numbers = [n for i, n in enumerate(numbers) if i not in totals]
        rows = [fields for i, fields in enumerate(rows) if i not in totals]
        malformed.sort(key=lambda m: m[0])
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
    return RawTable(path, frame, numbers, fmt, encoding, delimiter, has_header, malformed)


#: What a spreadsheet's total row is labelled with (a cell holding only this, any case, ``:`` allowed).
TOTAL_LABELS = frozenset(
    {"итого", "итог", "всего", "total", "totals", "grand total", "subtotal", "усього", "разом", "підсумок"}
)


# A value that may be a total label, in DuckDB's regular expressions (a superset of :func:`_is_total`).
_TOTAL = rf"^[{_SPACE}:]*(?:{'|'.join(sorted(TOTAL_LABELS, key=len, reverse=True))})[{_SPACE}:]*$"


def _is_total(value: str) -> bool:
    text = value.strip()
    return len(text) <= 12 and text.rstrip(":").strip().casefold() in TOTAL_LABELS


def _total_rows(rows: list[list[str]]) -> set[int]:
    """The positions of total rows among ``rows``: a column's values are looked at one by one only when
    its text holds a total label at all (one scan of the column in C, the usual case)."""
    found: set[int] = set()
    for column in zip(*rows, strict=True):
        text = "\n".join(column).casefold()
        if any(label in text for label in TOTAL_LABELS):
            found.update(i for i, value in enumerate(column) if _is_total(value))
    return found


def _total_label(fields: list[str]) -> str | None:
    """The label of a total row (``Итого``) among its fields, None for any other row."""
    return next((f.strip() for f in fields if _is_total(f)), None)


def _record_chars(path: Path, row: int, fields: list[str], names: list[str]) -> int:
    """Characters in a record's fields, refusing one longer than :data:`MAX_FIELD_CHARS`."""
    chars = sum(map(len, fields))
    if chars > MAX_FIELD_CHARS:  # no field can be longer unless all of them are
        lengths = [len(f) for f in fields]
        longest = max(lengths)
        if longest > MAX_FIELD_CHARS:
            raise _long_field(path, row, names, lengths.index(longest))
    return chars


def _unique_names(names: list[str]) -> list[str]:
    """Make header names unique (``Amount``, ``Amount (2)``) and name blank ones by position."""
    taken: set[str] = set()
    suffixes: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        base = name = raw or f"column_{i + 1}"
        while name in taken:
            suffixes[base] = suffixes.get(base, 1) + 1
            name = f"{base} ({suffixes[base]})"
        taken.add(name)
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _filled(row: tuple[Any, ...]) -> int:
    return sum(v is not None and str(v).strip() != "" for v in row)


def _header_score(rows: Iterable[tuple[Any, ...]]) -> int:
    """How many cells of the best of ``rows`` are headers some orders preset knows: how much a sheet looks
    like orders."""
    from ltvkit.io.presets import PRESETS, normalize_header

    known = frozenset().union(*(p.header_names() for p in PRESETS.values() if p.kind == "orders"))
    return max((sum(normalize_header(str(v)) in known for v in row if v) for row in rows), default=0)


def _header_row(rows: list[tuple[int, tuple[Any, ...]]]) -> int:
    """The position of the header among the first rows of a sheet: the first row filled at least half as
    wide as the widest of them, in two cells at least and three at most (a header narrower than some data
    rows is still the header); the rows above it are a title."""
    head = rows[:30]
    widest = max((_filled(r) for _, r in head), default=0)
    least = min(3, max(2, widest / 2))
    return next((i for i, (_, r) in enumerate(head) if _filled(r) >= least), 0)


def _read_xlsx(path: Path, data: bytes | None, sheet: str | None = None) -> RawTable:
    """A worksheet (``sheet``, else the one looking most like orders, see :func:`ltvkit.io.xlsx.read_sheet`),
    its header found below any title rows; number cells keep their values in :attr:`RawTable.typed`."""
    from ltvkit.io.xlsx import read_sheet

    read = read_sheet(path, data, sheet, _header_score)
    rows = [(n, row) for n, row in read.rows if _filled(row)]
    start = _header_row(rows)
    table = _table_from_records(path, ((n, [cell_text(v) for v in row]) for n, row in rows[start:]), "xlsx")
    if start:
        first, last = rows[0][0], rows[start - 1][0]
        span = f"row {first}" if first == last else f"rows {first}-{last}"
        table.notes.append(f"{span} above the header (row {rows[start][0]}) read as a title and left out")
    if len(read.names) > 1:
        names = ", ".join(repr(n) for n in read.names)
        table.notes.append(f"read the worksheet {read.name!r} of {names} (choose another with sheet=)")
    cells = dict(rows[start + 1 :])
    width = len(table.frame.columns)
    typed = [
        [float(v) if _is_number(v) else np.nan for v in (cells[n] + (None,) * width)[:width]]
        for n in table.row_numbers
    ]
    table.typed = pd.DataFrame(typed, columns=table.frame.columns, dtype=float, index=table.frame.index)
    return table


def _frame_as_text(path: Path, frame: pd.DataFrame, fmt: str, row_numbers: list[int]) -> RawTable:
    """A typed frame (Parquet, JSON) as text, refusing a value longer than :data:`MAX_FIELD_CHARS` and more
    than :data:`MAX_TABLE_CHARS` characters in all."""
    columns = _unique_names([str(c) for c in frame.columns])
    as_text = np.frompyfunc(cell_text, 1, 1)  # an object array: a value used in many rows stays one object
    text = pd.DataFrame(
        {name: as_text(_objects(frame.iloc[:, i])) for i, name in enumerate(columns)},
        dtype=object,
    )
    chars = 0
    for name in columns:
        lengths = np.fromiter(map(len, text[name]), dtype=np.int64, count=len(text))
        if len(lengths) and lengths.max() > MAX_FIELD_CHARS:
            i = int(lengths.argmax())
            raise exceeded(
                "MAX_FIELD_CHARS",
                f"the value has {int(lengths[i]):,} characters",
                file=path,
                row=row_numbers[i],
                column=name,
            )
        chars += int(lengths.sum())
        if chars > MAX_TABLE_CHARS:
            raise exceeded("MAX_TABLE_CHARS", "the values hold more characters", file=path)
    numeric = {
        name: frame.iloc[:, i].astype(float).to_numpy()
        for i, name in enumerate(columns)
        if pd.api.types.is_numeric_dtype(frame.iloc[:, i])
        and not pd.api.types.is_bool_dtype(frame.iloc[:, i])
    }
    typed = pd.DataFrame(numeric, columns=columns, dtype=float) if numeric else None
    return RawTable(path, text.reset_index(drop=True), row_numbers, fmt, typed=typed)


def _objects(column: pd.Series) -> np.ndarray:
    """A column's values as an object array; a categorical column's values stay its categories' objects
    (pandas would make a copy of the category for each row)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = np.array([*column.cat.categories, None], dtype=object)  # code -1 (a blank): None
        return categories[column.cat.codes.to_numpy()]
    return column.to_numpy(dtype=object)


def _read_parquet(path: Path, data: bytes | None) -> RawTable:
    """A Parquet file of flat columns; text columns are read as dictionaries, so a value repeated in many rows
    is held once (a dictionary-encoded file can repeat one long value a million times in a few bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def source() -> Any:
        return pa.BufferReader(data) if data is not None else path

    try:
        metadata = pq.ParquetFile(source())
        _check_parquet(path, metadata)
        text_columns = [f.name for f in metadata.schema_arrow if _is_text(f.type)]
        frame = (
            pq.ParquetFile(source(), read_dictionary=text_columns).read(use_pandas_metadata=True).to_pandas()
        )
    except pa.ArrowException as exc:
        raise FileFormatError(f"cannot be read as a parquet table ({exc})", file=path) from exc
    return _frame_as_text(path, frame, "parquet", list(range(1, len(frame) + 1)))


def _check_parquet(path: Path, parquet: Any) -> None:
    """Refuse nested columns (a list or struct can hold any number of values per row), and a file beyond
    :data:`MAX_COLUMNS`, :data:`MAX_CELLS` or, by its metadata, :data:`MAX_INPUT_BYTES` of data."""
    import pyarrow as pa

    schema, metadata = parquet.schema_arrow, parquet.metadata
    for f in schema:
        if pa.types.is_nested(f.type):
            raise FileFormatError(
                f"column {f.name!r} is nested ({f.type}); ltvkit reads flat columns",
                file=path,
                column=f.name,
                hint="write one column per field, or export CSV",
            )
    if len(schema) > MAX_COLUMNS:
        raise exceeded("MAX_COLUMNS", f"the file has {len(schema):,} columns", file=path)
    if metadata.num_rows * len(schema) > MAX_CELLS:
        raise exceeded(
            "MAX_CELLS", f"the file has {metadata.num_rows:,} rows of {len(schema):,} columns", file=path
        )
    expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if expanded > MAX_INPUT_BYTES:
        raise exceeded("MAX_INPUT_BYTES", f"the file's data expands to {expanded:,} bytes", file=path)


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _json_record(line: str) -> dict[str, Any] | str:
    """One JSON line as a flat record (``payment.amount``), or why it is not one."""
    try:
        obj = json.loads(line)
        return _flatten(obj) if isinstance(obj, dict) else "is not a JSON object"
    except RecursionError:
        return "nests objects too deeply"
    except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python reads
        return f"is not valid JSON ({getattr(exc, 'msg', exc)})"


def _read_json_lines(path: Path, data: bytes, encoding: str | None) -> RawTable:
    decoded = decode_text(data, path, encoding)
    text = decoded.text
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of objects is accepted too
        items = json.loads(stripped)
        lines = [(i + 1, json.dumps(item, ensure_ascii=False)) for i, item in enumerate(items)]
    else:
        lines = [(n, ln) for n, ln in enumerate(io.StringIO(text, newline=""), start=1) if ln.strip()]
    records, numbers, malformed = [], [], []
    keys: dict[str, None] = {}
    for n, line in lines:
        record = _json_record(line)
        if isinstance(record, str):
            malformed.append((n, line.rstrip("\r\n"), record))
            continue
        keys.update(dict.fromkeys(record))
        if len(keys) > MAX_COLUMNS:
            raise exceeded("MAX_COLUMNS", f"the objects have {len(keys):,} keys", file=path, row=n)
        records.append(record)
        numbers.append(n)
    if not records and not malformed:
        raise FileFormatError(Note("error_no_rows"), file=path)
    if len(records) * len(keys) > MAX_CELLS:
        raise exceeded("MAX_CELLS", f"{len(records):,} objects with {len(keys):,} keys in all", file=path)
    table = _frame_as_text(path, pd.DataFrame.from_records(records), "jsonl", numbers)
    table.malformed = malformed
    table.notes = [decoded.note] if decoded.note else []
    return table
