"""The file import and a source on the same raw file read the same orders and leave out the same rows
for the same reasons: the order rules are written once (ltvkit.io.orders, ltvkit.io.mapping)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit.data.sources import Source
from ltvkit.data.workspace import Workspace

#: Every order or spend export among the fixtures, with the options both paths get.
EXPORTS: dict[str, dict[str, Any]] = {
    "amocrm_deals.csv": {"mapping": FIXTURES / "amocrm.toml"},
    "analytics_orders.csv": {},
    "cdnow_master_head.txt": {},
    "generic_en.tsv": {},
    "generic_uk.csv": {},
    "getcourse_orders.csv": {},
    "getcourse_orders_2026.csv": {},
    "shopify_orders.csv": {},
    "stripe_balance_itemized.csv": {},
    "stripe_payments.csv": {},
    "stripe_unified_payments.csv": {},
    "woocommerce_advanced_export.csv": {},
    "woocommerce_analytics_orders.csv": {},
    "woocommerce_orders.csv": {},
}
SPEND_EXPORTS = ("analytics_spend.csv", "spend.csv")
ORDER_FIELDS = [
    "order_id",
    "customer_id",
    "ordered_at",
    "amount",
    "refunded",
    "currency",
    "status",
    "channel",
]
SPEND_FIELDS = ["date", "period", "channel", "campaign", "amount", "currency"]


def _reasons(rows: pd.Series, columns: pd.Series, reasons: pd.Series) -> list[tuple[int, str, str]]:
    """(row, column, reason) of each left-out row, sorted; a row that names no column names ''."""
    return sorted(zip(rows.astype(int), columns.fillna("").astype(str), reasons, strict=True))


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for c in columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
        elif not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.sort_values(columns, na_position="first").reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_import_and_source_read_the_same_orders(name: str, tmp_path: Path) -> None:
    _same_orders(FIXTURES / name, EXPORTS[name], tmp_path)


def test_import_and_source_read_the_same_spreadsheet(tmp_path: Path) -> None:
    """Number cells beside text cells written the Russian way, a title above the header, a total row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Заказы за январь"])
    sheet.append(["Дата", "Email", "Сумма", "Возврат", "Статус"])
    sheet.append([dt.datetime(2026, 1, 10), "a@example.ru", 1234.5, None, "оплачен"])
    sheet.append(["12.01.2026", "b@example.ru", "29 900,50 ₽", "1 000,25", "оплачен"])
    sheet.append([dt.datetime(2026, 1, 15), "a@example.ru", 990, 990, "оплачен"])
    sheet.append(["Итого", None, 32_125.0, None, None])
    path = tmp_path / "school.xlsx"
    book.save(path)
    imported = _same_orders(path, {"currency": "RUB"}, tmp_path)
    assert imported.sort_values("amount")["amount"].tolist() == [990.0, 1234.5, 29_900.5]


def _same_orders(path: Path, options: dict[str, Any], tmp_path: Path) -> pd.DataFrame:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        account = ws.import_file(path, **options)
        imported = ws.transactions()
        rejected = ws.rejected(account.import_id)
    with Source.open(str(path), mapping=options.get("mapping"), currency=options.get("currency")) as source:
        sourced = source.table("orders").execute()
        left_out = source.left_out(1000)
        counted = source.account()
    imported["order_id"] = imported["order_id"].where(~imported["order_id"].str.startswith("~"))
    pd.testing.assert_frame_equal(
        _sorted(imported, ORDER_FIELDS), _sorted(sourced, ORDER_FIELDS), check_dtype=False
    )
    assert _reasons(rejected["row_number"], rejected["column"], rejected["reason"]) == _reasons(
        left_out["source_row"], left_out["reason_column"], left_out["reason"]
    )
    assert (counted.rows, counted.usable, counted.merged) == (account.read, len(imported), account.duplicates)
    return imported


@pytest.mark.parametrize("name", SPEND_EXPORTS)
def test_import_and_source_read_the_same_spend(name: str, tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(FIXTURES / name, kind="spend")
        imported = ws.spend()
    with Source.open(str(FIXTURES / "analytics_orders.csv"), spend_table=str(FIXTURES / name)) as source:
        sourced = source.table("spend").execute()
    assert len(imported) and len(sourced) == len(imported)
    pd.testing.assert_frame_equal(
        _sorted(imported, SPEND_FIELDS), _sorted(sourced, SPEND_FIELDS), check_dtype=False
    )
