"""The workbook as an XLSX file that opens in Excel, LibreOffice and Google Sheets, in English, Russian or
Ukrainian: an LTV calculator with live formulas, the cohort triangle (retention and cumulative revenue per
customer, with cohort sizes) and the channel table.

Every figure is a number cell with a number format (money with the currency's sign placed as the language
places it, percentages, ratios with two decimals), never text. Text from the user's data (channel names)
goes through the formula guard of :mod:`ltvkit.io.writers`; the only formulas are the calculator's own::

    LTV            = average check × purchases a year × lifetime in years
    LTV × margin   = LTV × margin
    max CAC        = LTV × margin / target LTV:CAC

so a user who changes an input sees the results follow.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ltvkit import columns, formatting, i18n
from ltvkit.io.writers import guarded_cell

if TYPE_CHECKING:
    from ltvkit.service.workbook import WorkbookData

#: Where the calculator's inputs and results are (the value column; the label is in column A).
INPUTS = {"aov": "B5", "purchases_per_year": "B6", "lifetime_years": "B7", "margin": "B8", "target": "B9"}
RESULTS = {
    "ltv": ("B12", "={aov}*{purchases_per_year}*{lifetime_years}"),
    "profit_ltv": ("B13", "={ltv}*{margin}"),
    "max_cac": ("B14", "={profit_ltv}/{target}"),
}
#: The first row of the cohort and channel tables (their header); a title and a note sit above.
TABLE_HEADER_ROW = 3
PERCENT = "0.0%"
RATIO = "0.00"
COUNT = "#,##0"
MONTH = "yyyy-mm"
INPUT_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
NOTE = Font(italic=True, color="595959")


def money_format(currency: str, lang: str) -> str:
    """An Excel number format for whole amounts in ``currency`` with its sign where :func:`formatting.money`
    puts it in ``lang`` (``"$"#,##0``, ``#,##0" ₽"``); the spreadsheet's own locale picks the separators."""
    before, after = formatting.money(1, currency, lang).split("1")
    quoted = [f'"{part}"' if part else "" for part in (before, after)]
    return f"{quoted[0]}#,##0{quoted[1]}"


def workbook_file(data: WorkbookData, lang: str) -> bytes:
    """The XLSX file of ``data`` with its texts in ``lang``."""
    i18n.check_lang(lang)
    book = Workbook()
    money = money_format(data.currency, lang)
    _calculator(book.active, data, lang, money)
    _triangle(book.create_sheet(), data, lang, "retention", PERCENT)
    _triangle(book.create_sheet(), data, lang, "ltv", money)
    _channels(book.create_sheet(), data, lang, money)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text(sheet: Worksheet, ref: str, value: str, font: Font | None = None) -> None:
    """A text cell, guarded so that a spreadsheet never evaluates it."""
    cell = sheet[ref]
    cell.value = guarded_cell(value)
    cell.data_type = "s"
    if font is not None:
        cell.font = font


def _number(sheet: Worksheet, row: int, column: int, value: Any, number_format: str) -> None:
    """A number cell (nothing for a missing value)."""
    if value is None or pd.isna(value):
        return
    cell = sheet.cell(row=row, column=column, value=float(value) if number_format != COUNT else int(value))
    cell.number_format = number_format


def _calculator(sheet: Worksheet, data: WorkbookData, lang: str, money: str) -> None:
    calc = data.calculator
    sheet.title = i18n.text("wb_sheet_calculator", lang)
    _text(sheet, "A1", i18n.text("wb_calculator_title", lang, currency=data.currency), TITLE)
    _text(sheet, "A2", i18n.text("wb_calculator_note", lang, date=formatting.day(data.last_day, lang)), NOTE)
    for ref, key in (("A4", "wb_inputs"), ("B4", "wb_value"), ("C4", "wb_source"), ("A11", "wb_results")):
        _text(sheet, ref, i18n.text(key, lang), BOLD)
    lifetime_note = "wb_lifetime_lower_note" if calc.lifetime_is_lower_bound else "wb_lifetime_note"
    inputs = {
        "aov": (calc.aov, money, "wb_aov_note"),
        "purchases_per_year": (calc.purchases_per_year, RATIO, "wb_purchases_per_year_note"),
        "lifetime_years": (calc.lifetime_years, RATIO, lifetime_note),
        "margin": (calc.margin, PERCENT, f"wb_margin_note_{calc.margin_source}"),
        "target": (calc.target, RATIO, "wb_target_note"),
    }
    for name, (value, number_format, note) in inputs.items():
        ref = INPUTS[name]
        _text(sheet, f"A{ref[1:]}", i18n.text(f"wb_{name}", lang))
        sheet[ref].value = float(value)
        sheet[ref].number_format = number_format
        sheet[ref].fill = INPUT_FILL
        _text(sheet, f"C{ref[1:]}", i18n.text(note, lang), NOTE)
    refs = {**INPUTS, **{name: ref for name, (ref, _) in RESULTS.items()}}
    for name, (ref, formula) in RESULTS.items():
        _text(sheet, f"A{ref[1:]}", i18n.text(f"wb_{name}", lang), BOLD)
        sheet[ref].value = formula.format(**refs)
        sheet[ref].number_format = money
        sheet[ref].font = BOLD
        _text(sheet, f"C{ref[1:]}", i18n.text(f"wb_{name}_note", lang), NOTE)
    if data.other_currencies:
        _text(
            sheet, "A16", i18n.text("wb_other_currencies", lang, codes=", ".join(data.other_currencies)), NOTE
        )
    _widths(sheet, [34, 16, 90])


def _triangle(sheet: Worksheet, data: WorkbookData, lang: str, metric: str, number_format: str) -> None:
    """Cohort × age in months of ``metric`` with each cohort's size; ages a cohort has not reached are
    empty."""
    sheet.title = i18n.text(f"wb_sheet_{metric}", lang)
    _text(sheet, "A1", i18n.text(f"wb_{metric}_title", lang, currency=data.currency), TITLE)
    _text(sheet, "C2", i18n.text("wb_ages", lang), NOTE)
    matrix = data.cohorts.pivot_table(index="cohort", columns="age", values=metric, aggfunc="first")
    sizes = data.cohorts[data.cohorts["age"] == 0].set_index("cohort")["size"]
    head = TABLE_HEADER_ROW
    _text(sheet, f"A{head}", i18n.text("wb_cohort", lang), BOLD)
    _text(sheet, f"B{head}", i18n.text("wb_cohort_size", lang), BOLD)
    for offset, age in enumerate(matrix.columns):
        cell = sheet.cell(row=head, column=3 + offset, value=int(age))
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="right")
    for row, (cohort, values) in enumerate(matrix.iterrows(), start=head + 1):
        cell = sheet.cell(row=row, column=1, value=pd.Timestamp(cohort).to_pydatetime())
        cell.number_format = MONTH
        cell.alignment = Alignment(horizontal="left")
        _number(sheet, row, 2, sizes[cohort], COUNT)
        for offset, value in enumerate(values):
            _number(sheet, row, 3 + offset, value, number_format)
    sheet.freeze_panes = f"C{head + 1}"
    _widths(sheet, [10, 11, *([10] * len(matrix.columns))])


def _channels(sheet: Worksheet, data: WorkbookData, lang: str, money: str) -> None:
    sheet.title = i18n.text("wb_sheet_channels", lang)
    _text(sheet, "A1", i18n.text("wb_channels_title", lang, currency=data.currency), TITLE)
    table = data.channels
    head = TABLE_HEADER_ROW
    formats = {"money": money, "number": COUNT, "ratio": RATIO, "payback": COUNT, "percent": PERCENT}
    for column, name in enumerate(table.columns, start=1):
        if name == "ltv":
            title = i18n.text("wb_ltv_at", lang, months=data.ltv_age)
        elif name == "payback_months":
            title = i18n.text("wb_payback_months", lang)
        else:
            title = columns.header(str(name), lang)
        _text(sheet, f"{get_column_letter(column)}{head}", title, BOLD)
    for row, values in enumerate(table.itertuples(index=False), start=head + 1):
        for column, (name, value) in enumerate(zip(table.columns, values, strict=True), start=1):
            if columns.kind(str(name)) == "name":
                _text(sheet, f"{get_column_letter(column)}{row}", str(value))
            else:
                _number(sheet, row, column, value, formats[columns.kind(str(name))])
    note_row = head + len(table) + 2
    if data.has_spend:
        note = i18n.text("wb_channels_note", lang, target=formatting.ratio(data.calculator.target, lang))
    else:
        note = i18n.text("wb_channels_no_spend", lang)
    _text(sheet, f"A{note_row}", note, NOTE)
    sheet.freeze_panes = f"B{head + 1}"
    _widths(sheet, [24, *([15] * (len(table.columns) - 1))])


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
