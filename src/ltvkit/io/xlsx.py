"""A worksheet of an XLSX workbook, read by openpyxl within the limits of :mod:`ltvkit.io.limits`: the one
named, else the one that looks most like orders (its first rows hold the most known headers), else the first.

A workbook is a zip archive of XML parts, so a small file can claim, or expand to, a huge sheet. openpyxl
reads each part in one of two ways, and the archive it is given checks each way:

- before anything is inflated, every part's declared size and compression ratio, and their total;
- a part read whole (``ZipFile.read``: the workbook, styles, relationships), which openpyxl parses into a
  tree: its number of elements;
- a part streamed (``ZipFile.open``: a worksheet, the shared strings), chunk by chunk before openpyxl parses
  the chunk: row numbers, columns, the cells the rows span (openpyxl pads a row with blanks up to its last
  cell), the number and length of the shared strings, and the bytes read. Every worksheet is checked to its
  end before openpyxl reads a row of one.

The sheet's own ``dimension`` claim is ignored: a row ends at its last cell and the sheet at its last row.
"""

from __future__ import annotations

import functools
import io
import itertools
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader

from ltvkit.errors import FileFormatError, InputError
from ltvkit.io.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_INPUT_BYTES,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_XLSX_PART_BYTES,
    MAX_XML_ELEMENTS,
    check_ratio,
    exceeded,
)

_MAIN = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main "  # expat joins namespace and name with " "
)
_ROW, _CELL, _SHARED_STRING = _MAIN + "row", _MAIN + "c", _MAIN + "si"


#: Rows of each worksheet shown to the scoring function when no sheet is named.
SCORED_ROWS = 30


@dataclass
class Sheet:
    """The rows read from one worksheet: (row number, cell values), rows with no cells left out; its name,
    and the names of every worksheet of the workbook."""

    name: str
    rows: list[tuple[int, tuple[Any, ...]]]
    names: list[str]


def read_sheet(
    path: Path,
    data: bytes | None,
    sheet: str | None = None,
    score: Callable[[Sequence[tuple[Any, ...]]], int] | None = None,
) -> Sheet:
    """A worksheet of the workbook at ``path`` (or held in ``data``, when it came out of a gzip file):
    ``sheet`` (a name, or a number counting from 1), else the one whose first :data:`SCORED_ROWS` rows
    ``score`` highest (the first on a tie), else the first."""
    with io.BytesIO(data) if data is not None else path.open("rb") as source:
        book = _open_workbook(path, source)
        try:
            sheets = book.worksheets
            if not sheets:
                raise FileFormatError("the workbook has no worksheet", file=path)
            names = [ws.title for ws in sheets]
            for ws in sheets:
                ws.reset_dimensions()  # its dimension claim (A1:XFD1048576) is not believed
            if sheet is not None:
                chosen = sheets[_sheet_index(path, names, sheet)]
            elif score is not None and len(sheets) > 1:
                scores = [score(list(ws.iter_rows(max_row=SCORED_ROWS, values_only=True))) for ws in sheets]
                chosen = sheets[scores.index(max(scores))]
            else:
                chosen = sheets[0]
            rows = [
                (number, row) for number, row in enumerate(chosen.iter_rows(values_only=True), start=1) if row
            ]
            return Sheet(chosen.title, rows, names)
        except InputError:
            raise
        except Exception as exc:  # openpyxl raises many types for a corrupt sheet
            raise FileFormatError(f"is not a readable XLSX workbook ({exc})", file=path) from exc
        finally:
            book.close()


def _sheet_index(path: Path, names: list[str], sheet: str) -> int:
    """The position of the worksheet called ``sheet`` (case and spaces aside), or numbered so from 1."""
    wanted = sheet.strip().casefold()
    for i, name in enumerate(names):
        if name.strip().casefold() == wanted:
            return i
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return int(wanted) - 1
    raise FileFormatError(
        f"has no worksheet {sheet!r}",
        file=path,
        hint=f"its worksheets are: {', '.join(repr(n) for n in names)}",
    )


def _open_workbook(path: Path, source: BinaryIO) -> Any:
    """The workbook (read-only, cached values of formulas) through a :class:`_BoundedArchive`."""
    try:
        reader = _BoundedReader(path, source)
        if "[Content_Types].xml" not in reader.valid_files:
            raise FileFormatError(
                "is a ZIP archive, not an XLSX workbook",
                file=path,
                hint="unpack it and import the file inside",
            )
        reader.read()
    except InputError:
        raise
    except ValueError as exc:  # openpyxl wraps what went wrong, a limit included, in a ValueError
        if isinstance(exc.__cause__, InputError):
            raise exc.__cause__ from None
        raise FileFormatError(f"is not a readable XLSX workbook ({exc})", file=path) from exc
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise FileFormatError(f"is not a readable XLSX workbook ({exc})", file=path) from exc
    return reader.wb


class _BoundedReader(ExcelReader):
    """openpyxl's workbook reader, reading from a :class:`_BoundedArchive`."""

    archive: zipfile.ZipFile

    def __init__(self, path: Path, source: BinaryIO) -> None:
        super().__init__(source, read_only=True, data_only=True, keep_links=False)
        self.archive.close()  # the plain archive openpyxl opened; the file stays open
        self.archive = _BoundedArchive(source, path)
        self.valid_files = self.archive.namelist()

    def read_worksheets(self) -> None:
        """Check every worksheet to its end before openpyxl reads a row of one: openpyxl pads rows as it
        goes, so a limit found halfway would come after the padding it bounds."""
        for _, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                with self.archive.open(rel.target) as stream:
                    while stream.read(1 << 16):
                        pass
        super().read_worksheets()

    def read_chartsheet(self, sheet: object, rel: object) -> None:
        """Chart sheets hold no rows: not read (openpyxl would parse each one whole from a stream)."""


class _BoundedArchive(zipfile.ZipFile):
    """A workbook's zip archive that refuses to expand beyond the limits (see the module's docstring)."""

    def __init__(self, source: BinaryIO, path: Path) -> None:
        super().__init__(source)
        self._path = path
        self._checked: set[str] = (
            set()
        )  # parts streamed to their end through the rules: their bytes are known
        total = 0
        for info in self.infolist():
            if info.file_size > MAX_XLSX_PART_BYTES:
                raise exceeded(
                    "MAX_XLSX_PART_BYTES",
                    f"part {info.filename} expands to {info.file_size:,} bytes",
                    file=path,
                )
            check_ratio(path, f"part {info.filename}", info.file_size, info.compress_size)
            total += info.file_size
        if total > MAX_INPUT_BYTES:
            raise exceeded("MAX_INPUT_BYTES", f"the workbook expands to {total:,} bytes", file=path)

    def read(self, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        """A part openpyxl parses whole, after counting its elements."""
        with super().open(name, "r", pwd) as stream:
            data = stream.read()
        _check_tree(self._path, _part_name(name), data)
        return data

    def open(
        self,
        name: str | zipfile.ZipInfo,
        mode: Literal["r", "w"] = "r",
        pwd: bytes | None = None,
        *,
        force_zip64: bool = False,
    ) -> IO[bytes]:
        """A part openpyxl streams, checked chunk by chunk as openpyxl reads it; once only (the sheet that is
        read is streamed three times)."""
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)
        part = _part_name(name)
        if part in self._checked:
            return stream
        return io.BufferedReader(_CheckedStream(stream, _StreamRules(self._path, part), self._checked))


def _part_name(name: str | zipfile.ZipInfo) -> str:
    return name.filename if isinstance(name, zipfile.ZipInfo) else name


def _check_tree(path: Path, part: str, data: bytes) -> None:
    """Refuse a part that would be parsed whole when it holds more than :data:`MAX_XML_ELEMENTS` elements or
    a DOCTYPE. Data that is not XML (a picture) is left alone: openpyxl's parser (expat too) refuses it
    itself."""
    elements = itertools.count(1)

    def start(name: str, attributes: dict[str, str]) -> None:
        if next(elements) > MAX_XML_ELEMENTS:
            raise exceeded("MAX_XML_ELEMENTS", f"part {part} has more elements", file=path)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _refuse_doctype(path, part)
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        pass


def _refuse_doctype(path: Path, part: str) -> Any:
    """An expat handler refusing a DOCTYPE: no workbook has one, and its entities could expand without end."""

    def refuse(*declaration: object) -> None:
        raise FileFormatError(f"part {part} declares a DOCTYPE, which no XLSX workbook has", file=path)

    return refuse


class _CheckedStream(io.RawIOBase):
    """A zip part's stream that shows each chunk to the rules before handing it on, and adds the part to
    ``checked`` once it has been read to its end."""

    def __init__(self, stream: IO[bytes], rules: _StreamRules, checked: set[str]) -> None:
        self._stream = stream
        self._rules = rules
        self._checked = checked

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        self._rules.feed(data)
        if not data:
            self._checked.add(self._rules.part)
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class _StreamRules:
    """Checks a streamed part as expat parses it: a worksheet's rows and cells, the shared strings. Expat is
    also openpyxl's parser, so when it finds the XML broken, openpyxl will too; checking stops there."""

    def __init__(self, path: Path, part: str) -> None:
        self.path, self.part = path, part
        self.bytes = self.row = self.rows = self.column = self.width = self.cells = 0
        self.strings = self.chars = 0
        self.parsing = True
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.StartDoctypeDeclHandler = _refuse_doctype(path, part)

    def feed(self, data: bytes) -> None:
        """Check the next chunk (an empty one at the end of the part)."""
        self.bytes += len(data)
        if self.bytes > MAX_XLSX_PART_BYTES:
            raise exceeded("MAX_XLSX_PART_BYTES", f"part {self.part} expands further", file=self.path)
        if self.parsing:
            try:
                self.parser.Parse(data, not data)
            except expat.ExpatError:
                self.parsing = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _CELL:
            self.start_cell(attributes.get("r"))
        elif name == _ROW:
            self.start_row(attributes.get("r"))
        elif name == _SHARED_STRING:
            self.start_string()

    def start_row(self, reference: str | None) -> None:
        """A row: numbered by its r="7" as openpyxl reads it, else the one after the previous row."""
        self.row = _row_number(reference, self.row) if reference else self.row + 1
        self.rows += 1
        self.column = self.width = 0
        if max(self.row, self.rows) > MAX_SHEET_ROWS:
            raise exceeded("MAX_SHEET_ROWS", f"{self.part} has a row {self.row:,}", file=self.path)

    def start_cell(self, reference: str | None) -> None:
        """A cell: in the column its r="B7" names, else the one after the previous cell; the row is padded
        up to it."""
        letters = reference.rstrip("0123456789").replace("$", "") if reference else ""
        self.column = _column_number(letters) if letters else self.column + 1
        if self.column > MAX_COLUMNS:
            raise exceeded(
                "MAX_COLUMNS",
                f"{self.part} has a cell in column {self.column:,}",
                file=self.path,
                row=self.row,
            )
        if self.column > self.width:
            self.cells += self.column - self.width
            self.width = self.column
            if self.cells > MAX_CELLS:
                raise exceeded("MAX_CELLS", f"the rows of {self.part} span more cells", file=self.path)

    def start_string(self) -> None:
        self.strings += 1
        self.chars = 0
        if self.strings > MAX_SHARED_STRINGS:
            raise exceeded("MAX_SHARED_STRINGS", f"{self.part} has more shared strings", file=self.path)
        self.parser.CharacterDataHandler = self.text

    def text(self, data: str) -> None:
        self.chars += len(data)
        if self.chars > MAX_FIELD_CHARS:
            raise exceeded(
                "MAX_FIELD_CHARS", f"shared string {self.strings:,} of {self.part} is longer", file=self.path
            )


def _row_number(reference: str, previous: int) -> int:
    """A row's r="7" as openpyxl reads it (r="1e3" too); one openpyxl cannot read, it refuses itself."""
    try:
        return int(float(reference))
    except (ValueError, OverflowError):
        return previous + 1


@functools.lru_cache(maxsize=4096)
def _column_number(letters: str) -> int:
    """``A`` → 1, ``AB`` → 28; more than three letters (openpyxl refuses them) lie past every column limit."""
    if len(letters) > 3:
        return 18_279  # the column after ZZZ
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
