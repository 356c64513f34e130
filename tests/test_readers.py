from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltvkit.errors import FileFormatError
from ltvkit.io.readers import WHITESPACE, read_table, sniff_delimiter

ROWS = [["order_id", "клиент", "сумма"], ["1", "Анна", "1 234,56"], ["2", "Олег", "990"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_text_encodings_and_delimiters_are_detected(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = tmp_path / "orders.csv"
    text = "\n".join(
        delimiter.join(f'"{c}"' if delimiter == "," and "," in c else c for c in r) for r in ROWS
    )
    path.write_bytes(text.encode(encoding))
    table = read_table(path)
    assert list(table.frame.columns) == ROWS[0]
    assert table.frame.values.tolist() == ROWS[1:]
    assert table.row_numbers == [2, 3]
    assert table.delimiter == delimiter


def test_excel_sep_hint_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("sep=;\na;b\n1;2\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame.to_dict(orient="records") == [{"a": "1", "b": "2"}]
    assert table.row_numbers == [3]


def test_rows_with_extra_fields_are_kept_as_malformed_with_their_row_number(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("a,b\n1,2\n3,4,5\n\n6\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame.values.tolist() == [["1", "2"], ["6", ""]]
    assert table.malformed == [(3, "3,4,5", "has 3 fields, the header has 2")]
    assert table.rows_read == 3


def test_quoted_newlines_keep_row_numbers_of_the_record_start(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text('a,b\n1,"two\nlines"\n3,4\n', encoding="utf-8")
    table = read_table(path)
    assert table.frame["b"].tolist() == ["two\nlines", "4"]
    assert table.row_numbers == [2, 4]


def test_whitespace_columns_and_headerless_files() -> None:
    assert sniff_delimiter([" 00001 19970101  1   11.77", " 00002 19970112  1   12.00"]) == WHITESPACE
    table = read_table(Path(__file__).parent / "data" / "CDNOW_sample.txt.gz")
    assert not table.has_header
    assert len(table.frame) == 6919
    assert table.frame.iloc[0].tolist() == ["00004", "0001", "19970101", "2", "29.33"]


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    table = read_table(path)
    assert table.frame.to_dict(orient="records") == [{"a": "1", "b": "2"}]
    assert table.path == path


def test_xlsx_round_trip(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Номер заказа", "Дата", "Сумма", "Клиент"])
    sheet.append([101, datetime(2026, 11, 23, 14, 5), 1234.56, "Анна"])
    sheet.append([102, datetime(2026, 11, 24), 990, None])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.format == "xlsx"
    assert table.frame.values.tolist() == [
        ["101", "2026-11-23 14:05:00", "1234.56", "Анна"],
        ["102", "2026-11-24 00:00:00", "990", ""],
    ]
    assert table.row_numbers == [2, 3]


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["a", "b"],
            "amount": [10.5, 20.0],
            "date": pd.to_datetime(["2026-01-01 00:00", "2026-01-02 10:00"]),
        }
    )
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    table = read_table(path)
    assert table.frame.values.tolist() == [
        ["a", "10.5", "2026-01-01 00:00:00"],
        ["b", "20", "2026-01-02 10:00:00"],
    ]


def test_json_lines_flatten_nested_objects_and_keep_bad_lines(tmp_path: Path) -> None:
    lines = [
        {"Email": "a@example.com", "payment": {"orderid": "T1", "amount": "990"}},
        "not json",
        {"Email": "b@example.com", "payment": {"orderid": "T2", "amount": 1490}},
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines), encoding="utf-8")
    table = read_table(path)
    assert table.frame.to_dict(orient="records") == [
        {"Email": "a@example.com", "payment.orderid": "T1", "payment.amount": "990"},
        {"Email": "b@example.com", "payment.orderid": "T2", "payment.amount": "1490"},
    ]
    assert table.row_numbers == [1, 3]
    assert table.malformed[0][0] == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("broken.xlsx", b"PK\x03\x04garbage", "XLSX"),
        ("broken.parquet", b"PAR1garbage", "parquet"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as info:
        read_table(path)
    assert info.value.file == str(path)


def test_missing_file() -> None:
    with pytest.raises(FileFormatError, match="file not found"):
        read_table("/nonexistent/orders.csv")


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12).map(
    str.strip
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=8))
def test_csv_round_trip(tmp_path: Path, rows: list[list[str]]) -> None:
    header = ["order id", "customer", "amount"]
    frame = pd.DataFrame(rows, columns=header)
    path = tmp_path / "round.csv"
    frame.to_csv(path, index=False, sep=";", encoding="utf-8")
    table = read_table(path, delimiter=";")
    kept = [r for r in rows if any(v for v in r)]  # rows with nothing in them are not records
    assert table.frame.values.tolist() == kept
