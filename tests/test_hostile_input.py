"""Hostile input: every case is generated here (no large fixture files). A file beyond a limit is refused with
the error class and a message naming the limit; a hostile value rejects its row with a reason naming the
column, and the row account still holds. The bombs are refused within 5 s and 500 MB, measured in a fresh
process."""

from __future__ import annotations

import bz2
import contextlib
import csv
import datetime as dt
import gzip
import json
import lzma
import random
import string
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltvkit.data.workspace import Workspace
from ltvkit.errors import (
    AmbiguousFormatError,
    FileFormatError,
    InputError,
    LimitExceededError,
    MissingDataError,
    ParameterError,
)
from ltvkit.io import readers, xlsx
from ltvkit.io.limits import MAX_FIELD_CHARS
from ltvkit.io.normalize import ImportOptions, normalize
from ltvkit.io.parsing import parse_amount, parse_amount_column, parse_timestamp_column
from ltvkit.io.presets import PRESETS
from ltvkit.io.readers import read_table

# the workbooks made here are minimal: openpyxl says so
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no stylesheet:UserWarning")

HEADER = "order id,customer,date,amount,product\n"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
        '<sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{RELS}">'
        f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}
ORDER_ROWS: list[tuple[int, list[tuple[int, Any]]]] = [
    (1, [(1, "order id"), (2, "customer"), (3, "date"), (4, "amount")]),
    (2, [(1, 1), (2, "a"), (3, "2026-01-05"), (4, 10)]),
    (3, [(1, 2), (2, "b"), (3, "2026-01-06"), (4, 20)]),
]


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: Iterable[tuple[int, list[tuple[int, Any]]]], dimension: str | None = None) -> str:
    """A worksheet of (row number, [(column number, value)]): numbers as numbers, text as inline strings."""

    def cell(ref: str, value: Any) -> str:
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        if isinstance(value, tuple):  # ("s", 0): shared string 0
            return f'<c r="{ref}" t="s"><v>{value[1]}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'

    body = "".join(
        f'<row r="{r}">' + "".join(cell(f"{column_letters(c)}{r}", v) for c, v in cells) + "</row>"
        for r, cells in rows
    )
    claim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{MAIN}">{claim}<sheetData>{body}</sheetData></worksheet>'


def write_workbook(
    path: Path,
    sheet: str,
    shared: Iterable[bytes] = (f'<sst xmlns="{MAIN}"/>'.encode(),),
    extra: dict[str, str] | None = None,
) -> Path:
    """An XLSX workbook written part by part; the shared strings are streamed in, so a huge one costs no
    memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in {**WORKBOOK_PARTS, **(extra or {})}.items():
            book.writestr(name, text)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        with book.open("xl/sharedStrings.xml", "w") as stream:
            for chunk in shared:
                stream.write(chunk)
    return path


def random_text(chars: int) -> str:
    """Text that does not compress (so no ratio limit is what refuses it)."""
    return "".join(random.Random(chars).choices(string.ascii_letters, k=chars))


def refused(path: Path, limit: str, **where: Any) -> LimitExceededError:
    """The limit error reading ``path`` raises, checked to name the limit (and ``where``: row, column)."""
    with pytest.raises(LimitExceededError) as info:
        read_table(path)
    error = info.value
    assert isinstance(error, FileFormatError)
    assert error.limit == limit and limit in str(error) and error.file == str(path)
    for attribute, value in where.items():
        assert getattr(error, attribute) == value
    return error


MEASURE = """
import json, sys, time
import psutil
from ltvkit.errors import LtvError
from ltvkit.data.workspace import Workspace

with Workspace.open(sys.argv[1]) as ws:
    outcome = {"baseline_mb": psutil.Process().memory_info().rss / 2**20}
    start = time.perf_counter()
    try:
        ws.import_file(sys.argv[2])
        outcome["error"] = None
    except LtvError as exc:
        outcome.update(error=type(exc).__name__, limit=getattr(exc, "limit", None), message=str(exc))
    outcome["seconds"] = time.perf_counter() - start
    outcome["orders"], outcome["imports"] = ws.count("orders"), ws.count("imports")
print(json.dumps(outcome))
"""


def import_in_fresh_process(tmp_path: Path, path: Path) -> dict[str, Any]:
    """Import ``path`` into a new workspace in a fresh interpreter: its outcome, the import's time, and the
    interpreter's peak memory, sampled with psutil every 2 ms (the child's own ``ru_maxrss`` would start at
    this process's size, inherited through fork and exec)."""
    child = psutil.Popen(
        [sys.executable, "-c", MEASURE, str(tmp_path / "ltv.duckdb"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, child.memory_info().rss)
        time.sleep(0.002)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    outcome: dict[str, Any] = {**json.loads(out), "peak_mb": peak / 2**20}
    print(f"{path.name}: {outcome}")  # the measurement, shown with pytest -s
    return outcome


# --- bombs -----------------------------------------------------------------------------------------------


def test_a_workbook_with_a_300_mb_shared_string_is_refused_in_seconds_and_little_memory(
    tmp_path: Path,
) -> None:
    chunk = b"A" * (1 << 20)
    shared = [f'<sst xmlns="{MAIN}"><si><t>'.encode(), *([chunk] * 300), b"</t></si></sst>"]
    rows = [*ORDER_ROWS[:2], (3, [(1, 2), (2, ("s", 0)), (3, "2026-01-06"), (4, 20)])]
    bomb = write_workbook(tmp_path / "orders.xlsx", sheet_xml(rows), shared)
    assert bomb.stat().st_size < 400_000
    outcome = import_in_fresh_process(tmp_path, bomb)
    assert outcome["error"] == "LimitExceededError" and outcome["limit"] == "MAX_COMPRESSION_RATIO"
    assert "xl/sharedStrings.xml" in outcome["message"]
    assert outcome["seconds"] < 5 and outcome["peak_mb"] < 500
    assert outcome["orders"] == outcome["imports"] == 0


def test_a_gzip_bomb_named_csv_is_refused_in_seconds_and_little_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "orders.csv"  # by its name a CSV; by its content gzip
    bomb.write_bytes(gzip.compress(HEADER.encode() + b"0" * 100_000_000, compresslevel=9))
    assert bomb.stat().st_size < 200_000
    outcome = import_in_fresh_process(tmp_path, bomb)
    assert outcome["error"] == "LimitExceededError" and outcome["limit"] == "MAX_COMPRESSION_RATIO"
    assert "the gzip file expands" in outcome["message"]
    assert outcome["seconds"] < 5 and outcome["peak_mb"] < 500
    assert outcome["orders"] == outcome["imports"] == 0


def test_a_sheet_claiming_a1_to_xfd1048576_is_bounded_by_its_cells(tmp_path: Path) -> None:
    claim = write_workbook(tmp_path / "orders.xlsx", sheet_xml(ORDER_ROWS, dimension="A1:XFD1048576"))
    outcome = import_in_fresh_process(tmp_path, claim)
    assert outcome["error"] is None and outcome["orders"] == 2
    assert outcome["seconds"] < 5 and outcome["peak_mb"] < 500


# --- limits of the readers -------------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_up_to_the_limit_imports_and_a_longer_one_is_refused(
    tmp_path: Path, workspace: Workspace, quoted: bool
) -> None:
    def orders(product: str) -> Path:
        path = tmp_path / "orders.csv"
        value = '"' + product.replace('"', '""') + '"' if quoted else product
        path.write_text(f"{HEADER}1,a,2026-01-05,10,{value}\n2,b,2026-01-06,20,x\n", encoding="utf-8")
        return path

    text = 'a, "b"\n' if quoted else "ab"  # a quoted field may hold the delimiter, quotes and line ends
    longest = (text * MAX_FIELD_CHARS)[:MAX_FIELD_CHARS]
    account = workspace.import_file(orders(longest))
    assert (account.read, account.loaded, account.rejected) == (2, 2, 0)
    assert workspace.transactions().set_index("order_id").loc["1", "product"] == longest
    for length in (MAX_FIELD_CHARS + 1, 3 * MAX_FIELD_CHARS):
        refused(orders((text * length)[:length]), "MAX_FIELD_CHARS", row=2, column="product")


def test_a_long_cell_or_json_value_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    long = random_text(MAX_FIELD_CHARS + 1)
    rows = [*ORDER_ROWS, (4, [(1, 3), (2, long), (3, "2026-01-07"), (4, 30)])]
    refused(
        write_workbook(tmp_path / "cell.xlsx", sheet_xml(rows)), "MAX_FIELD_CHARS", row=4, column="customer"
    )
    lines = tmp_path / "orders.jsonl"
    lines.write_text(
        json.dumps({"id": 1}) + "\n" + json.dumps({"id": 2, "note": long}) + "\n", encoding="utf-8"
    )
    refused(lines, "MAX_FIELD_CHARS", row=2, column="note")


def test_too_many_columns_are_refused_in_every_format(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n", encoding="utf-8"
    )
    assert "100,000 columns" in str(refused(wide, "MAX_COLUMNS", row=1))
    keys = tmp_path / "keys.jsonl"
    keys.write_text("".join(json.dumps({f"k{i}": i}) + "\n" for i in range(1_001)), encoding="utf-8")
    refused(keys, "MAX_COLUMNS", row=1_001)
    parquet = tmp_path / "wide.parquet"
    pd.DataFrame({f"c{i}": [1] for i in range(1_001)}).to_parquet(parquet)
    refused(parquet, "MAX_COLUMNS")
    sheet = write_workbook(tmp_path / "wide.xlsx", sheet_xml([*ORDER_ROWS, (4, [(1_001, 1)])]))
    refused(sheet, "MAX_COLUMNS", row=4)


def test_sheet_rows_and_padded_cells_are_bounded_before_openpyxl_reads_them(tmp_path: Path) -> None:
    far = write_workbook(tmp_path / "far.xlsx", sheet_xml([*ORDER_ROWS, (2_000_000, [(1, 1)])]))
    refused(far, "MAX_SHEET_ROWS")
    sparse = [(r, [(1_000, 1)]) for r in range(4, 60_004)]  # 60,000 rows padded to 1,000 cells each
    padded = write_workbook(tmp_path / "padded.xlsx", sheet_xml([*ORDER_ROWS, *sparse]))
    assert padded.stat().st_size < 1_000_000
    refused(padded, "MAX_CELLS")


def test_shared_strings_are_bounded_in_length_and_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [*ORDER_ROWS[:2], (3, [(1, 2), (2, ("s", 0)), (3, "2026-01-06"), (4, 20)])]
    long = [
        f'<sst xmlns="{MAIN}"><si><t>'.encode(),
        random_text(MAX_FIELD_CHARS + 1).encode(),
        b"</t></si></sst>",
    ]
    error = refused(write_workbook(tmp_path / "long.xlsx", sheet_xml(rows), long), "MAX_FIELD_CHARS")
    assert "shared string 1" in str(error)
    monkeypatch.setattr(xlsx, "MAX_SHARED_STRINGS", 3)
    many = [f'<sst xmlns="{MAIN}">'.encode(), b"<si><t>x</t></si>" * 4, b"</sst>"]
    refused(write_workbook(tmp_path / "many.xlsx", sheet_xml(rows), many), "MAX_SHARED_STRINGS")


def test_zip_parts_are_bounded_by_their_declared_size_elements_and_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = write_workbook(
        tmp_path / "orders.xlsx",
        sheet_xml(ORDER_ROWS),
        extra={"xl/styles.xml": f'<styleSheet xmlns="{MAIN}">' + "<numFmt/>" * 100 + "</styleSheet>"},
    )
    assert len(read_table(book).frame) == 2
    monkeypatch.setattr(xlsx, "MAX_XML_ELEMENTS", 50)  # styles.xml is parsed whole, into a tree
    error = refused(book, "MAX_XML_ELEMENTS")
    assert "xl/styles.xml" in str(error)
    monkeypatch.undo()
    monkeypatch.setattr(xlsx, "MAX_XLSX_PART_BYTES", 500)
    assert "expands to 638 bytes" in str(refused(book, "MAX_XLSX_PART_BYTES"))  # [Content_Types].xml
    monkeypatch.undo()
    monkeypatch.setattr(xlsx, "MAX_INPUT_BYTES", 2_000)
    assert "the workbook expands" in str(refused(book, "MAX_INPUT_BYTES"))


def test_a_workbook_declaring_entities_or_not_a_workbook_at_all_is_refused(tmp_path: Path) -> None:
    laughs = b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    entity = [laughs + f'<sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>'.encode()]
    with pytest.raises(FileFormatError, match="DOCTYPE"):
        read_table(write_workbook(tmp_path / "entities.xlsx", sheet_xml(ORDER_ROWS), entity))
    archive = tmp_path / "orders.csv"  # a zip of a CSV, named like the CSV inside
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("orders.csv", HEADER)
    with pytest.raises(FileFormatError, match="ZIP archive, not an XLSX workbook"):
        read_table(archive)


def test_compression_is_told_by_content_not_name(tmp_path: Path, workspace: Workspace) -> None:
    orders = f"{HEADER}1,a,2026-01-05,10,x\n2,b,2026-01-06,20,y\n".encode()
    gzipped = tmp_path / "orders.csv"
    gzipped.write_bytes(gzip.compress(orders))
    account = workspace.import_file(gzipped)
    assert (account.read, account.loaded) == (2, 2)
    for name, data in {
        "bzip2": bz2.compress(orders),
        "xz": lzma.compress(orders),
        "zstd": b"\x28\xb5\x2f\xfd" + orders,
        "7z": b"7z\xbc\xaf\x27\x1c" + orders,
        "RAR": b"Rar!\x1a\x07\x00" + orders,
    }.items():
        other = tmp_path / f"{name}.csv"
        other.write_bytes(data)
        with pytest.raises(FileFormatError, match=f"compressed with {name}"):
            read_table(other)
    twice = tmp_path / "twice.csv.gz"
    twice.write_bytes(gzip.compress(gzip.compress(orders)))
    with pytest.raises(FileFormatError, match="compressed twice"):
        read_table(twice)


def test_input_bytes_are_bounded_for_plain_and_gzip_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_INPUT_BYTES", 100_000)
    rows = "".join(f"{i},{random_text(20)},2026-01-05,{i}.5,x\n" for i in range(5_000))  # ratio below limits
    plain = tmp_path / "orders.csv"
    plain.write_text(HEADER + rows, encoding="utf-8")
    assert "bytes" in str(refused(plain, "MAX_INPUT_BYTES"))
    packed = tmp_path / "orders.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + rows).encode()))
    assert packed.stat().st_size < 100_000
    assert "the gzip file expands" in str(refused(packed, "MAX_INPUT_BYTES"))


def test_parquet_nested_columns_and_amplified_dictionaries_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    nested = tmp_path / "nested.parquet"
    pd.DataFrame({"order id": [1], "payment": [{"amount": 10}]}).to_parquet(nested)
    with pytest.raises(FileFormatError, match="nested") as info:
        read_table(nested)
    assert info.value.column == "payment"
    repeated = tmp_path / "repeated.parquet"  # one 10,000-character value, 2,000 times, in a few KB
    value = pa.array(["y" * 10_000]).dictionary_encode().take(pa.array([0] * 2_000))
    pq.write_table(pa.table({"id": range(2_000), "note": value}), repeated)
    assert repeated.stat().st_size < 100_000
    monkeypatch.setattr(readers, "MAX_TABLE_CHARS", 1_000_000)
    refused(repeated, "MAX_TABLE_CHARS")
    monkeypatch.setattr(readers, "MAX_CELLS", 3_000)
    refused(repeated, "MAX_CELLS")


def test_json_lines_that_nest_too_deep_or_hold_huge_numbers_are_rejected_rows(
    tmp_path: Path, workspace: Workspace
) -> None:
    path = tmp_path / "orders.jsonl"
    good = {"order id": 1, "customer": "a", "date": "2026-01-05", "amount": 10}
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                '{"a":' * 5_000 + "1" + "}" * 5_000,
                "[" * 100_000,
                '{"amount": ' + "9" * 5_000 + "}",
            ]
        ),
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (4, 1, 3)
    reasons = workspace.rejected()["reason"].tolist()
    assert reasons[:2] == ["the row nests objects too deeply"] * 2
    assert reasons[2].startswith("the row is not valid JSON (Exceeds the limit (4300 digits)")


# --- hostile values --------------------------------------------------------------------------------------


def test_control_characters_reject_the_row_naming_the_column(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order id", "customer", "date", "amount", "product", "note"])
        writer.writerow([1, "anna\x00", "2026-01-05", 10, "Курс", ""])
        writer.writerow([2, "oleg", "2026-01-05", 10, "Курс\x1b[31m", ""])
        writer.writerow([3, "ivan", "2026-01-05", 10, "Курс", "\u202etxt.exe"])
        writer.writerow([4, "iv\tan", "2026-01-05", 10, "Курс", ""])
        writer.writerow([5, "zero\u200bwidth", "2026-01-05", 10, "Курс", ""])
        writer.writerow([6, "olga", "2026-01-05", 10, "Курс\nPython", "two\nlines"])
        writer.writerow([7, "petr", "2026-01-05", 10, "Курс", ""])
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.duplicates, account.rejected) == (7, 2, 0, 5)
    rejected = workspace.rejected().set_index("row_number")
    assert rejected["column"].to_dict() == {
        2: "customer",
        3: "product",
        4: "note",
        5: "customer",
        6: "customer",
    }
    assert "U+0000 (NUL)" in rejected.loc[2, "reason"] and "control character" in rejected.loc[2, "reason"]
    assert "U+001B (ESCAPE)" in rejected.loc[3, "reason"]
    assert "RIGHT-TO-LEFT OVERRIDE" in rejected.loc[4, "reason"]
    assert "U+0009 (TAB)" in rejected.loc[5, "reason"] and "one-line field" in rejected.loc[5, "reason"]
    assert "ZERO WIDTH SPACE" in rejected.loc[6, "reason"]
    assert rejected.loc[2, "value"] == "anna\\u0000"  # shown escaped, never stored raw
    for raw in rejected["raw"]:
        assert not any(ch in raw for ch in "\x00\x1b\u202e\u200b")
    assert json.loads(rejected.loc[4, "raw"])["note"] == "\u202etxt.exe"  # the raw row is still valid JSON
    loaded = workspace.transactions().set_index("order_id")
    assert loaded.loc["6", "product"] == "Курс\nPython"  # free text may hold lines


def test_absurd_amounts_are_rejected(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    amounts = ["9" * 400, "1 000 000 000 000 000", "-1e15", "inf", "999 999 999 999 999", "12,50"]
    path.write_text(
        HEADER + "".join(f'{i},c{i},2026-01-05,"{a}",x\n' for i, a in enumerate(amounts, start=1)),
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (6, 2, 4)
    reasons = workspace.rejected().set_index("row_number")["reason"]
    assert "not a plausible amount" in reasons[2] and len(reasons[2]) < 150  # the value is cut short
    assert "not a plausible amount" in reasons[3]
    assert "is not an amount" in reasons[4] and "is not an amount" in reasons[5]
    assert sorted(workspace.transactions()["amount"]) == [12.5, 999_999_999_999_999.0]


def test_a_utf8_file_with_a_cp1251_row_is_read_right_and_noted(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(
        f"{HEADER}1,a,2026-01-05,10,Курс Python\n".encode()
        + "2,b,2026-01-06,20,Курс Python\n".encode("cp1251")
        + "3,c,2026-01-07,30,Курс SQL\n".encode()
    )
    account = workspace.import_file(path, currency="RUB")
    assert (account.read, account.loaded) == (3, 3)
    assert set(workspace.transactions()["product"]) == {"Курс Python", "Курс SQL"}  # no РљСѓСЂСЃ
    assert account.notes == [
        "row 3 of orders.csv is not utf-8 like the rest of the file: it was read as cp1251; check it"
    ]
    assert json.loads(workspace.imports()["notes"].iloc[0]) == account.notes


def test_dates_outside_the_plausible_range_are_rejected(tmp_path: Path, workspace: Workspace) -> None:
    today = dt.date.today()
    dates = ["1989-12-31", "1990-01-01", today.isoformat(), (today + dt.timedelta(days=400)).isoformat()]
    dates += ["2099-01-01", "9999-12-31"]
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER + "".join(f"{i},c{i},{d},10,x\n" for i, d in enumerate(dates, start=1)), encoding="utf-8"
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (6, 2, 4)
    reasons = workspace.rejected().set_index("row_number")["reason"]
    assert reasons[2] == "is before 1990-01-01, the earliest plausible date (ImportOptions.min_date)"
    latest = (today + dt.timedelta(days=365)).isoformat()
    assert all(
        reasons[r] == f"is after {latest}, the latest plausible date (ImportOptions.max_date)"
        for r in (5, 6, 7)
    )
    wider = workspace.import_file(path, min_date=dt.date(1980, 1, 1), max_date=dt.date(2100, 1, 1))
    assert (wider.loaded, wider.rejected) == (3, 1)
    with pytest.raises(ParameterError, match="after the latest"):
        workspace.import_file(path, min_date=dt.date(2030, 1, 1), max_date=dt.date(2020, 1, 1))


def test_spend_months_outside_the_range_are_rejected(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(
        "month,channel,spend\n2026-01,ads,100\n2099-01,ads,100\n1970-01,ads,5\n", encoding="utf-8"
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (3, 1, 2)
    days = tmp_path / "days.csv"  # months beside days written in an explicit format
    days.write_text(
        "date,channel,spend\n05.01.2026,ads,100\n2026-02,ads,100\n05.01.2099,ads,1\n", encoding="utf-8"
    )
    dated = workspace.import_file(days, date_format="%d.%m.%Y")
    assert (dated.read, dated.loaded, dated.rejected) == (3, 2, 1)


def test_unknown_currencies_and_signs_that_disagree_are_rejected_every_one(
    tmp_path: Path, workspace: Workspace
) -> None:
    path = tmp_path / "orders.csv"
    rows = [
        ("$100", "RUB"),  # rejected: a dollar sign beside roubles
        ("$100", "CAD"),  # a dollar sign is the Canadian dollar's too
        ("100 ₽", "RUB"),
        ("10 usd", "EUR"),  # rejected
        ("100", "ABC"),  # rejected: no such ISO 4217 code
        ("100", "EURO"),  # rejected
        ("€5", "eur"),
        ("100", "rur"),  # the old rouble code, read as RUB
        ("$1", "XYZ"),  # rejected
    ]
    path.write_text(
        "order id,customer,date,amount,currency\n"
        + "".join(f"{i},c{i},2026-01-05,{a},{c}\n" for i, (a, c) in enumerate(rows, start=1)),
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (9, 4, 5)
    rejected = workspace.rejected().set_index("row_number")
    assert rejected.index.tolist() == [2, 5, 6, 7, 10]
    assert rejected.loc[2, "reason"] == "the currency column says RUB, the amount is written in '$'"
    assert rejected.loc[6, "reason"] == "is not a currency code (use e.g. RUB, USD)"
    assert workspace.transactions().set_index("order_id")["currency"].to_dict() == {
        "2": "CAD",
        "3": "RUB",
        "7": "EUR",
        "8": "RUB",
    }
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("order id,customer,date,amount,refunded\n1,a,2026-01-05,$10,5 ₽\n", encoding="utf-8")
    assert workspace.import_file(refunds).rejected == 1
    with pytest.raises(ParameterError, match="unknown currency 'XYZ'"):
        workspace.import_file(refunds, currency="XYZ")


def test_spend_currencies_are_checked_like_orders(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(
        "date,channel,spend,currency\n2026-01-05,ads,$100,RUB\n2026-01-05,ads,100,ABC\n2026-01-05,ads,100,RUB\n",
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.rejected) == (3, 1, 2)


def test_a_date_column_mixing_formats_is_read_value_by_value_or_refused(tmp_path: Path) -> None:
    def dates(*values: str) -> pd.Series:
        path = tmp_path / "orders.csv"
        path.write_text(
            HEADER + "".join(f"{i},c{i},{v},10,x\n" for i, v in enumerate(values)), encoding="utf-8"
        )
        table = read_table(path)
        rows = normalize(table, PRESETS["generic"], ImportOptions()).rows
        return rows.set_index("order_id")["ordered_at"].dt.strftime("%Y-%m-%d")

    with pytest.raises(AmbiguousFormatError, match="day/month or month/day") as info:
        dates("2026-03-04", "04/03/2026")  # ISO is unambiguous; 04/03 alone is not
    assert info.value.column == "date" and info.value.file is not None
    assert dates("2026-03-04", "04/03/2026", "25/12/2026").tolist() == [
        "2026-03-04",
        "2026-03-04",
        "2026-12-25",
    ]
    assert dates("2026-03-04", "04/03/2026", "12/25/2026").tolist() == [
        "2026-03-04",
        "2026-04-03",
        "2026-12-25",
    ]
    with pytest.raises(AmbiguousFormatError, match="mix day/month/year and month/day/year"):
        dates("25/12/2026", "12/25/2026")
    assert dates("12.25.2026", "03.04.2026").tolist() == ["2026-12-25", "2026-03-04"]  # the column says m.d
    assert dates("25.12.2026", "03.04.2026").tolist() == ["2026-12-25", "2026-04-03"]
    with pytest.raises(AmbiguousFormatError, match="mix"):
        dates("25.12.2026", "12.25.2026")


# --- fuzzing ---------------------------------------------------------------------------------------------

CSV_PIECES = [
    b",",
    b";",
    b"\t",
    b"|",
    b'"',
    b'""',
    b"\n",
    b"\r\n",
    b"\r",
    b"a",
    b"1",
    b"12,50",
    b" ",
    b"sep=;\n",
]
CSV_PIECES += [b"\xd0\x9a", b"\xca", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\x1f\x8b", b"PK", b"2026-01-05"]
csv_like = st.lists(st.sampled_from(CSV_PIECES), max_size=60).map(b"".join)
encoded_text = st.tuples(st.text(max_size=300), st.sampled_from(["utf-8", "utf-16", "cp1251"])).map(
    lambda t: t[0].encode(t[1], errors="ignore")
)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | csv_like | encoded_text)
def test_the_csv_reader_raises_nothing_but_input_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except InputError:
        return
    assert len(table.frame) == len(table.row_numbers)
    assert table.rows_read == len(table.frame) + len(table.malformed)
    assert table.frame.columns.is_unique


cell = st.text(max_size=12) | st.sampled_from(["", "1", "12,50", "$5", "2026-01-05", "05/01/2026", "RUB"])


@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=6))
def test_normalizing_any_orders_file_accounts_for_every_row(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["order id", "customer", "date", "amount", "currency"], *rows])
    try:
        table = read_table(path)
        result = normalize(table, PRESETS["generic"], ImportOptions())
    except InputError:
        return
    assert result.read == len(result.rows) + result.merged + len(result.rejected)
    assert not result.rows["customer_id"].str.contains("[\x00-\x1f\x7f-\x9f]").any()


@settings(deadline=None, max_examples=300)
@given(
    cents=st.integers(min_value=-(10**14), max_value=10**14),
    locale=st.sampled_from(["ru_RU", "uk_UA", "en_US"]),
    currency=st.sampled_from([None, "RUB", "UAH", "USD", "EUR"]),
)
def test_amounts_formatted_in_ru_uk_en_round_trip(cents: int, locale: str, currency: str | None) -> None:
    value = Decimal(cents) / 100
    if currency is None:
        text = format_decimal(value, format="#,##0.00", locale=locale)
    else:
        text = format_currency(value, currency, locale=locale)
    decimal = "." if locale == "en_US" else ","
    parsed, named = parse_amount(text, decimal)  # type: ignore[arg-type]
    assert parsed == pytest.approx(float(value), abs=1e-6)
    assert named == currency
    column = parse_amount_column(pd.Series([text, f"0{decimal}25"]))
    assert column.values.iloc[0] == pytest.approx(float(value), abs=1e-6)


@settings(deadline=None, max_examples=150)
@given(
    values=st.lists(
        st.text(max_size=25) | st.from_regex(r"[0-9]{1,20}([./-][0-9]{1,4}){0,2}", fullmatch=True)
    )
)
def test_the_parsers_return_a_value_or_raise_an_input_error(values: list[str]) -> None:
    for text in values:
        try:
            value, _ = parse_amount(text)
        except InputError:
            continue
        assert abs(value) < 1e15
    series = pd.Series(values, dtype=object)
    for parse in (parse_amount_column, parse_timestamp_column):
        try:
            parsed = parse(series)
        except InputError:
            continue
        assert len(parsed.values) == len(values) == len(parsed.errors)


# --- degenerate data: a report and predictions with a note, or one sentence, never a crash -----------------


def degenerate_orders(kind: str) -> str:
    """Orders files that no model can learn much from (docs/models.md, "Degenerate data"): one purchase per
    customer over six months, every purchase on one day, one order in all, amounts at the import's bound, and
    200 plain customers with a few repeat purchases."""
    rows: list[str] = []
    if kind == "one_each":
        rows = [f"{i},c{i},2026-0{1 + i % 6}-{1 + i % 27:02d},{10 + i % 50},USD" for i in range(200)]
    elif kind == "one_day":
        rows = [f"{c}-{j},c{c},2026-03-05,{20 + c % 40},USD" for c in range(200) for j in range(1 + c % 3)]
    elif kind == "one_order":
        rows = ["1,a,2026-03-05,10,USD"]
    elif kind == "huge":
        rows = [
            f"{c}-{j},c{c},2026-{1 + (c + 2 * j) % 9:02d}-05,999999999999999,USD"
            for c in range(50)
            for j in range(1 + c % 4)
        ]
    else:
        pick = random.Random(1)
        rows = [
            f"{c}-{j},c{c},2026-{pick.randint(1, 9):02d}-{pick.randint(1, 28):02d},{pick.randint(5, 100)},USD"
            for c in range(200)
            for j in range(pick.choice([1, 1, 1, 2, 3]))
        ]
    return "order id,customer,date,amount,currency\n" + "\n".join(rows) + "\n"


@pytest.fixture(params=["one_each", "one_day", "one_order", "huge", "plain"])
def degenerate(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / f"{request.param}.csv"
    path.write_text(degenerate_orders(request.param), encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(path)
    return request.param, tmp_path / "ltv.duckdb"


def strict_json(text: str) -> Any:
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


ONE_DAY = "every purchase falls on one day (2026-03-05)"
ONE_DAY_IN = {
    "ru": "все покупки приходятся на один день (2026-03-05)",
    "uk": "усі покупки припадають на один день (2026-03-05)",
}


def test_degenerate_data_give_a_report_fits_and_predictions_with_notes_through_the_cli(
    degenerate: tuple[str, Path], tmp_path: Path
) -> None:
    """Through the CLI: the report always; fit always (with the note of what the data cannot tell);
    predict and compare with their notes, or, when every purchase is on one day, one sentence that says
    so — valid JSON throughout, no traceback."""
    from typer.testing import CliRunner

    from ltvkit.cli import app

    kind, ws = degenerate
    runner = CliRunner()

    def ltv(*args: str) -> Any:
        return runner.invoke(app, [*args, "-w", str(ws)])

    report = ltv("report", "--out", str(tmp_path / "report.html"))
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    if kind in ("one_day", "one_order"):
        assert ONE_DAY in page  # the predicted section says why it is empty
    fit = ltv("fit", "--model", "paretonbd", "--json")
    predicted = ltv("predict", "--model", "paretonbd", "--json", "--out", str(tmp_path / "p.csv"))
    compared = ltv("compare", "--json")
    if kind in ("one_day", "one_order"):  # nothing to fit, predict or compare on: one sentence each
        for refused in (fit, predicted, compared):
            assert refused.exit_code == 1 and ONE_DAY in " ".join(refused.output.split())
            assert "Traceback" not in refused.output
        for lang, sentence in ONE_DAY_IN.items():
            for command in (["fit", "--model", "bgbb"], ["predict"], ["compare"]):
                said = ltv("--lang", lang, *command)
                assert said.exit_code == 1 and sentence in " ".join(said.output.split()), said.output
        return
    assert fit.exit_code == 0, fit.output
    assert strict_json(fit.stdout)["model"] == "paretonbd"
    assert predicted.exit_code == 0 and compared.exit_code == 0, predicted.output + compared.output
    totals = strict_json(predicted.stdout)
    assert totals["customers"] == {"one_each": 200, "huge": 50, "plain": 200}[kind]
    assert 0 < totals["total_clv"] < float("inf")
    scored = pd.read_csv(tmp_path / "p.csv")
    assert scored["clv"].between(0, 1e20).all()
    strict_json(compared.stdout)
    if kind == "one_each":
        assert any("no customer has paid for a repeat purchase yet" in n for n in totals["notes"])


def test_with_no_repeat_purchase_spend_per_order_is_the_first_purchases(tmp_path: Path) -> None:
    """One purchase per customer over six months: the purchase model rests on its priors (with its note) and
    spend per future order on the first purchases, so every customer's expected spend is close to the
    average first purchase (the prior of Gamma-Gamma's scale is centred on it and 200 values pin the mean);
    the spend fit reports that nobody bought again."""
    from ltvkit.service.segments import segments
    from ltvkit.service.valuation import group_ltv, predict_customers

    path = tmp_path / "orders.csv"
    path.write_text(degenerate_orders("one_each"), encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(path)
        scored, info = predict_customers(ws.table("orders"), model="bgnbd")
        average = ws.transactions()["amount"].mean()
        assert average == pytest.approx(sum(10 + i % 50 for i in range(200)) / 200)
        assert scored["expected_spend"].nunique() == 1
        assert scored["expected_spend"].iloc[0] == pytest.approx(average, rel=0.05)
        assert info["spend_regularization"]["informative"] == 0
        assert "0 of them bought again" in info["spend_regularization"]["sentence"]
        assert any("spend per future order is modelled on the first purchases" in n for n in info["notes"])
        by_channel, _ = group_ltv(ws.table("orders"))
        assert by_channel["ltv"].notna().all()
        value = segments(ws, scheme="value", use_model=True)
        assert len(value.customers) == 200 and not any(ONE_DAY in n for n in value.notes)


def test_when_every_purchase_is_on_one_day_model_segments_fall_back_with_the_reason(tmp_path: Path) -> None:
    from ltvkit.service.segments import segments
    from ltvkit.service.valuation import compare_on_holdout, predict_customers

    path = tmp_path / "orders.csv"
    path.write_text(degenerate_orders("one_day"), encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(path)
        for call in (predict_customers, compare_on_holdout):
            with pytest.raises(MissingDataError, match="falls on one day"):
                call(ws.table("orders"))
        value = segments(ws, scheme="value", use_model=True)
        assert len(value.customers) == 200 and any(ONE_DAY in n for n in value.notes)


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_degenerate_data_speak_the_readers_language(lang: str, tmp_path: Path) -> None:
    """The notes and sentences of degenerate data in Russian and Ukrainian: one purchase each (predict's
    note that spend per order rests on the first purchases), one day (the report's predicted section,
    fit's refusal) and a fit whose standard errors the data cannot give (null in JSON, with the note)."""
    from typer.testing import CliRunner

    from ltvkit import i18n
    from ltvkit.cli import app
    from ltvkit.service.valuation import fit_model

    runner = CliRunner()
    workspaces = {}
    for kind in ("one_each", "one_day"):
        path = tmp_path / f"{kind}.csv"
        path.write_text(degenerate_orders(kind), encoding="utf-8")
        workspaces[kind] = tmp_path / f"{kind}.duckdb"
        with Workspace.open(workspaces[kind]) as ws:
            ws.import_file(path)

    def ltv(kind: str, *args: str) -> Any:
        return runner.invoke(app, ["--lang", lang, *args, "-w", str(workspaces[kind])])

    predicted = ltv("one_each", "predict", "--model", "bgnbd", "--out", str(tmp_path / "p.csv"))
    said = " ".join(predicted.output.split())
    first_purchases = " ".join(i18n.text("note_spend_first_purchases", lang).split())
    assert predicted.exit_code == 0 and first_purchases in said, said
    assert "no customer has paid" not in said
    report = ltv("one_day", "report", "--lang", lang, "--out", str(tmp_path / "report.html"))
    assert report.exit_code == 0, report.output
    assert ONE_DAY_IN[lang] in (tmp_path / "report.html").read_text(encoding="utf-8")
    with Workspace.open(workspaces["one_each"]) as ws:  # plain maximum likelihood: a flat likelihood
        fitted = fit_model(ws.table("orders"), "paretonbd", regularization="none").to_dict()
    assert fitted["standard_errors"] == dict.fromkeys(["r", "alpha", "s", "beta"])  # null in JSON
    (noted,) = [n for n in fitted["notes"] if isinstance(n, i18n.Note) and n.key == "note_not_finite"]
    assert noted.values["names"] == ["r", "alpha", "s", "beta"]
    assert i18n.localized(noted, lang).endswith("(null в JSON)" if lang == "ru" else "(null у JSON)")
