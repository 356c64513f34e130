"""A school's own Google-Sheets sheet saved as XLSX: typed and text cells in one column, a title above the
header, a total row, and a summary sheet before the orders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from ltvkit.analytics.overview import overview
from ltvkit.data.workspace import Workspace
from ltvkit.errors import FileFormatError, MappingError


@pytest.fixture
def school_sheet(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = "Сводка"
    summary.append(["Месяц", "Выручка"])
    summary.append(["2026-01", 32_125.0])
    orders = book.create_sheet("Заказы")
    orders.append(["Продажи школы «Аналитика», январь 2026"])  # row 1: a title
    orders.append([])  # row 2: blank
    orders.append(["Дата", "Email", "Курс", "Сумма", "Статус"])  # row 3: the header
    orders.append([dt.datetime(2026, 1, 10, 12, 0), "a@example.ru", "Excel", 990, "оплачен"])  # number cell
    orders.append(["12.01.2026", "b@example.ru", "Аналитик", "29 900,50 ₽", "оплачен"])  # text cells
    orders.append([dt.datetime(2026, 1, 15), "a@example.ru", "SQL", 1234.5, "оплачен"])  # a decimal number
    orders.append([dt.datetime(2026, 1, 20), "c@example.ru", "Excel", 990, "возврат"])
    orders.append(["Итого", None, None, 33_115.0, None])  # row 8: the total
    path = tmp_path / "school.xlsx"
    book.save(path)
    return path


def test_typed_and_text_cells_title_and_total_rows(school_sheet: Path, workspace: Workspace) -> None:
    account = workspace.import_file(school_sheet, currency="RUB")
    # rows 4-7 are orders, row 8 the total; the title (rows 1-2) is no row of the table
    assert (account.read, account.loaded, account.duplicates, account.rejected) == (5, 4, 0, 1)
    assert any("row 1 above the header (row 3)" in n for n in account.notes)
    assert any("read the worksheet 'Заказы'" in n for n in account.notes)
    t = workspace.transactions().set_index("source_row")
    # the number cell 1234.5 is taken as it is beside the decimal-comma text 29 900,50
    assert t["amount"].to_dict() == {4: 990.0, 5: 29_900.5, 6: 1234.5, 7: 990.0}
    assert t.loc[5, "ordered_at"] == dt.datetime(2026, 1, 12)
    rejected = workspace.rejected()
    assert rejected[["row_number", "reason"]].values.tolist() == [
        [8, "the row is a total row ('Итого'), not an order"]
    ]
    summary = overview(workspace.table("orders"))
    # 990 + 29 900,50 + 1 234,50 paid; the refunded 990 nets 0
    assert summary.net_revenue == {"RUB": 32_125.0}
    assert (summary.customers, summary.orders) == (2, 3)


def test_the_sheet_can_be_named(school_sheet: Path, workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="no column for ordered_at"):
        workspace.import_file(school_sheet, sheet="Сводка")
    assert workspace.import_file(school_sheet, sheet="2", currency="RUB").loaded == 4
    with pytest.raises(FileFormatError, match="has no worksheet 'Orders'") as info:
        workspace.import_file(school_sheet, sheet="Orders")
    assert "'Сводка', 'Заказы'" in str(info.value)


def test_total_rows_in_a_csv_are_rejected_too(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("date,email,amount\n2026-01-01,a@x.ru,10\nTotal:,,10\n", encoding="utf-8")
    account = workspace.import_file(path)
    assert (account.loaded, account.rejected) == (1, 1)
    assert workspace.rejected()["reason"].tolist() == ["the row is a total row ('Total:'), not an order"]


def test_a_header_narrower_than_its_rows_is_still_the_header(tmp_path: Path, workspace: Workspace) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Дата", None, None, None, None, "Email", "Сумма"])  # three names over seven columns
    sheet.append([dt.datetime(2026, 2, 1), "a", "b", "c", "d", "a@example.ru", 100])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    account = workspace.import_file(path, currency="RUB")
    assert (account.read, account.loaded, account.notes) == (1, 1, [])


def test_the_command_line_passes_the_sheet_and_the_tax_option(school_sheet: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ltvkit.cli import app

    ws = str(tmp_path / "w.duckdb")
    result = CliRunner().invoke(
        app, ["import", str(school_sheet), "-w", ws, "--sheet", "Заказы", "--currency", "RUB", "--json"]
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["loaded"] == 4
    shop = str(Path(__file__).parent.parent / "fixtures" / "shopify_orders.csv")
    result = CliRunner().invoke(app, ["import", shop, "-w", ws, "--exclude-tax-shipping", "--json"])
    assert result.exit_code == 0
    with Workspace.open(Path(ws)) as workspace:
        assert overview(workspace.table("orders")).net_revenue["USD"] == 162.0
