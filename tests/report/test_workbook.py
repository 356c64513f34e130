"""The workbook (``ltv workbook``, ``GET /api/workbook``): opened with openpyxl, its formulas evaluated by a
tiny evaluator of the shapes it writes (cell references, numbers, + − × ÷, parentheses; no formula package
is needed), they equal the numbers ``ltv summary --json`` prints; the cohort triangle is ``ltv cohorts``,
the channel table ``ltv cac``; every other cell is a value, text from the data guarded."""

from __future__ import annotations

import ast
import io
import json
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl.worksheet.worksheet import Worksheet
from tests.web.conftest import TEST_HOSTS
from typer.testing import CliRunner

from conftest import FIXTURES
from ltvkit import i18n
from ltvkit.cli import app
from ltvkit.report.workbook import INPUTS, RESULTS, TABLE_HEADER_ROW, money_format
from ltvkit.web.app import create_app

runner = CliRunner()
OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate(sheet: Worksheet, ref: str, changed: dict[str, float] | None = None) -> float:
    """The value of cell ``ref`` as a spreadsheet computes it, with the inputs in ``changed`` typed over."""
    changed = changed or {}
    if ref in changed:
        return changed[ref]
    value = sheet[ref].value
    if not (isinstance(value, str) and value.startswith("=")):
        return float(value)

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id.isalnum():
            return evaluate(sheet, node.id, changed)
        raise AssertionError(f"{ref}: a formula shape the workbook should not write: {value}")

    return walk(ast.parse(value[1:], mode="eval").body)


def ltv(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hand-checked orders of ``tests/fixtures/analytics_orders.csv`` (4 customers in USD, costs on the
    orders) with two months of spend; the CLI's JSON and the workbook in Russian."""
    folder = tmp_path_factory.mktemp("workbook")
    ws = str(folder / "ltv.duckdb")
    ltv("import", str(FIXTURES / "analytics_orders.csv"), "--currency", "USD", "-w", ws)
    ltv("import", str(FIXTURES / "analytics_spend.csv"), "-w", ws)
    ltv("--lang", "ru", "workbook", "-w", ws, "--out", str(folder / "ltv.xlsx"))
    return {
        "workspace": ws,
        "summary": json.loads(ltv("summary", "-w", ws, "--json"))["ltv"][0],
        "cohorts": pd.DataFrame(json.loads(ltv("cohorts", "-w", ws, "--json"))),
        "cac": json.loads(ltv("cac", "-w", ws, "--json")),
        "book": openpyxl.load_workbook(folder / "ltv.xlsx"),
    }


def test_sheets_are_named_in_the_users_language(school: dict[str, Any]) -> None:
    assert school["book"].sheetnames == ["Калькулятор LTV", "Удержание", "Выручка на клиента", "Каналы"]


def test_the_calculator_formulas_evaluate_to_the_summary(school: dict[str, Any]) -> None:
    sheet = school["book"]["Калькулятор LTV"]
    expected, summary = school["summary"]["expected"], school["summary"]
    # the inputs are the orders' own figures: 1050 net revenue / 7 purchases = 150, and the margin is
    # gross profit / net revenue = 231.25 / 262.5 per customer (the orders carry costs)
    assert sheet[INPUTS["aov"]].value == 150.0 == expected["aov"]
    # a cell keeps 16 significant digits (Excel computes with 15)
    assert sheet[INPUTS["purchases_per_year"]].value == pytest.approx(
        expected["purchases_per_year"], rel=1e-15
    )
    assert sheet[INPUTS["lifetime_years"]].value == pytest.approx(expected["lifetime"]["years"], rel=1e-15)
    assert sheet[INPUTS["margin"]].value == pytest.approx(231.25 / 262.5, rel=1e-12)
    assert sheet[INPUTS["target"]].value == 3.0
    ltv_value = evaluate(sheet, RESULTS["ltv"][0])
    factors = expected["aov"] * expected["purchases_per_year"] * expected["lifetime"]["years"]
    assert ltv_value == pytest.approx(factors, rel=1e-14)  # check × frequency × lifetime of the summary
    assert ltv_value == pytest.approx(expected["value"], rel=1e-12)  # = its expected LTV
    profit = evaluate(sheet, RESULTS["profit_ltv"][0])
    assert profit == pytest.approx(expected["value"] * summary["gross_profit_ltv"] / summary["ltv_mean"])
    assert evaluate(sheet, RESULTS["max_cac"][0]) == pytest.approx(profit / 3)


def test_changing_an_input_moves_the_results(school: dict[str, Any]) -> None:
    sheet = school["book"]["Калькулятор LTV"]
    typed = {INPUTS["aov"]: 200.0, INPUTS["margin"]: 0.5, INPUTS["target"]: 4.0}
    ltv_value = evaluate(sheet, RESULTS["ltv"][0], typed)
    years, per_year = sheet[INPUTS["lifetime_years"]].value, sheet[INPUTS["purchases_per_year"]].value
    assert ltv_value == pytest.approx(200 * per_year * years)
    assert evaluate(sheet, RESULTS["max_cac"][0], typed) == pytest.approx(ltv_value * 0.5 / 4)


def test_the_only_formulas_are_the_calculators(school: dict[str, Any]) -> None:
    formulas = {
        (sheet.title, cell.coordinate)
        for sheet in school["book"]
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    }
    assert formulas == {("Калькулятор LTV", ref) for ref, _ in RESULTS.values()}


def test_number_formats(school: dict[str, Any]) -> None:
    calculator = school["book"]["Калькулятор LTV"]
    assert money_format("USD", "ru") == '#,##0"\u00a0$"' and money_format("USD", "en") == '"$"#,##0'
    assert money_format("RUB", "ru") == '#,##0"\u00a0₽"'
    assert calculator[INPUTS["aov"]].number_format == '#,##0"\u00a0$"'
    assert calculator[INPUTS["margin"]].number_format == "0.0%"
    assert calculator[RESULTS["max_cac"][0]].number_format == '#,##0"\u00a0$"'
    assert school["book"]["Удержание"]["C4"].number_format == "0.0%"
    assert school["book"]["Выручка на клиента"]["C4"].number_format == '#,##0"\u00a0$"'


@pytest.mark.parametrize(("title", "metric"), [("Удержание", "retention"), ("Выручка на клиента", "ltv")])
def test_the_triangle_is_the_cohort_table(school: dict[str, Any], title: str, metric: str) -> None:
    sheet = school["book"][title]
    table = school["cohorts"].assign(cohort=lambda t: pd.to_datetime(t["cohort"]))
    head = TABLE_HEADER_ROW
    ages = [cell.value for cell in sheet[head]][2:]
    assert ages == list(range(int(table["age"].max()) + 1))
    rows = {sheet.cell(row=r, column=1).value: r for r in range(head + 1, sheet.max_row + 1)}
    assert list(rows) == sorted(table["cohort"].unique())
    for cell in table.itertuples():
        row = rows[cell.cohort]
        assert sheet.cell(row=row, column=2).value == cell.size
        assert sheet.cell(row=row, column=3 + cell.age).value == pytest.approx(getattr(cell, metric))
    # ages a cohort has not reached are empty: the April cohort is seen at age 0 only
    april = rows[pd.Timestamp("2026-04-01")]
    assert [sheet.cell(row=april, column=c).value for c in range(3, 3 + len(ages))][1:] == [None] * (
        len(ages) - 1
    )
    # the January cohort (a, b): month 1 retention ½, revenue per customer (100 + 100 + 300) / 2 by month 1
    january = rows[pd.Timestamp("2026-01-01")]
    if metric == "retention":
        assert sheet.cell(row=january, column=4).value == 0.5
    else:
        assert sheet.cell(row=january, column=4).value == 250.0


def test_the_channel_table_is_the_cac_table(school: dict[str, Any]) -> None:
    sheet = school["book"]["Каналы"]
    head = TABLE_HEADER_ROW
    header = [cell.value for cell in sheet[head]]
    assert header == [
        "Канал",
        "Клиенты",
        "Чистая выручка",
        "LTV за 3 мес.",
        "Расходы",
        "CAC",
        "LTV по валовой прибыли",
        "LTV:CAC",
        "Макс. CAC",
        "Окупаемость, мес.",
    ]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(head + 1, head + 3)}
    assert list(rows) == ["ads", "organic"]  # 2 customers each; the tie by name
    (ads,) = school["cac"]
    values = [cell.value for cell in sheet[rows["ads"]]]
    assert values == [
        "ads",
        2,
        850.0,  # a: 100 + 300 + (200 − 50), c: 400 − 100 (d's one order was refunded: no customer)
        ads["ltv"],
        ads["spend"],
        ads["cac"],
        ads["gross_profit_ltv"],
        ads["ltv_to_cac"],
        ads["max_cac"],
        ads["payback_months"],
    ]
    assert [cell.value for cell in sheet[rows["organic"]]][4:] == [None] * 6  # no spend on organic
    assert sheet.cell(row=rows["ads"], column=8).number_format == "0.00"
    assert sheet.cell(row=rows["ads"], column=3).number_format == '#,##0"\u00a0$"'


def test_text_from_the_data_is_guarded_and_spend_missing_is_said(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order id,email,date,amount,currency,status,channel\n"
        '1,a@x.ru,2026-01-05,100,RUB,paid,"=HYPERLINK(""http://x"",""y"")"\n'
        "2,b@x.ru,2026-02-05,200,RUB,paid,@cmd\n"
        "3,a@x.ru,2026-03-05,300,RUB,paid,-2+3\n",
        encoding="utf-8",
    )
    ws = str(tmp_path / "ltv.duckdb")
    ltv("import", str(orders), "-w", ws)
    ltv("workbook", "-w", ws, "--out", str(tmp_path / "book.xlsx"))
    sheet = openpyxl.load_workbook(tmp_path / "book.xlsx")["Channels"]
    names = {sheet.cell(row=r, column=1).value for r in (TABLE_HEADER_ROW + 1, TABLE_HEADER_ROW + 2)}
    assert names == {'\'=HYPERLINK("http://x","y")', "'@cmd"}
    assert all(
        sheet.cell(row=r, column=1).data_type == "s" for r in (TABLE_HEADER_ROW + 1, TABLE_HEADER_ROW + 2)
    )
    assert sheet.max_column == 4  # no CAC columns without spend, and a note that says why
    assert sheet.cell(row=TABLE_HEADER_ROW + 4, column=1).value == i18n.text("wb_channels_no_spend", "en")


def test_the_dashboard_downloads_the_workbook(school: dict[str, Any]) -> None:
    with TestClient(create_app(Path(school["workspace"]), allowed_hosts=TEST_HOSTS)) as client:
        answer = client.get("/api/workbook", params={"lang": "uk", "target": 4})
        wrong = client.get("/api/workbook", params={"currency": "EUR"})
        overview = client.get("/?lang=ru").text
    assert 'href="/api/workbook?lang=ru"' in overview and i18n.text("wb_download", "ru") in overview
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert answer.headers["content-disposition"] == 'attachment; filename="ltv-uk.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames[0] == "Калькулятор LTV" and book.sheetnames[3] == "Канали"
    assert book.active[INPUTS["target"]].value == 4.0
    assert wrong.status_code == 404 and "EUR" in wrong.json()["message"]
