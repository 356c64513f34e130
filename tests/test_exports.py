"""Exports that cannot be turned against their readers: cells a spreadsheet would evaluate are neutralised
in CSV and XLSX (read back here as text), and XLSX cells are values, never formulas."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ltvkit.io.writers import csv_bytes, guarded_cell, write_table

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "=1+1"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+7 999 123-45-67", "'+7 999 123-45-67"),
        ("-", "'-"),
        ("@name", "'@name"),
        ("\tx", "'\tx"),
        ("-5", "-5"),
        ("+1.5", "+1.5"),
        ("-3,25", "-3,25"),
        ("1e-3", "1e-3"),
        ("Course = Python", "Course = Python"),
        (12.5, 12.5),
        (None, None),
    ],
)
def test_guarded_cell(value: object, written: object) -> None:
    assert guarded_cell(value) == written


def test_csv_and_xlsx_exports_read_back_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": HOSTILE, "amount": range(len(HOSTILE))})
    with write_table(frame, tmp_path / "out.csv").open(encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    names = [row[0] for row in rows]
    assert header == ["name", "amount"] and names == ["'" + v for v in HOSTILE]
    assert [row[1] for row in rows] == [str(n) for n in range(len(HOSTILE))]
    book = openpyxl.load_workbook(write_table(frame, tmp_path / "out.xlsx"))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    assert [cell.value for cell in cells] == [n.replace("\r", "\n") for n in names]  # XML keeps no bare CR


def test_xlsx_cells_are_values_even_without_the_guard(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["=1+1", "plain"], "when": pd.to_datetime(["2026-01-02", None])})
    book = openpyxl.load_workbook(write_table(frame, tmp_path / "raw.xlsx", guard=False))
    rows = list(book.active.iter_rows(min_row=2, values_only=False))
    assert rows[0][0].value == "=1+1" and rows[0][0].data_type == "s"
    assert rows[1][1].value is None
    raw = pd.read_csv(write_table(frame, tmp_path / "raw.csv", guard=False), encoding="utf-8-sig")
    assert raw["name"].tolist() == ["=1+1", "plain"]


def test_machine_formats_are_written_as_they_are(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": HOSTILE})
    assert pd.read_parquet(write_table(frame, tmp_path / "out.parquet"))["name"].tolist() == HOSTILE
    assert pd.read_json(write_table(frame, tmp_path / "out.json"))["name"].tolist() == HOSTILE


def test_downloads_are_the_same_bytes_as_the_files(tmp_path: Path) -> None:
    """The API's CSV downloads (``csv_bytes``) are what ``write_table`` writes, guard included."""
    frame = pd.DataFrame({"name": HOSTILE, "amount": range(len(HOSTILE))})
    assert csv_bytes(frame) == write_table(frame, tmp_path / "out.csv").read_bytes()
    assert b"'=1+1" in csv_bytes(frame) and b"\n=1+1" not in csv_bytes(frame)
    assert csv_bytes(frame, guard=False) == write_table(frame, tmp_path / "raw.csv", guard=False).read_bytes()
