"""The file import and a source on the same raw file read the same orders and leave out the same rows
for the same reasons: the order rules are written once (ltvkit.io.orders, ltvkit.io.mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    "shopify_orders.csv": {},
    "stripe_payments.csv": {},
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
    options = EXPORTS[name]
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        account = ws.import_file(FIXTURES / name, **options)
        imported = ws.transactions()
        rejected = ws.rejected(account.import_id)
    with Source.open(str(FIXTURES / name), mapping=options.get("mapping")) as source:
        sourced = source.table("orders").execute()
        left_out = source.left_out(1000)
        counted = source.account()
    imported["order_id"] = imported["order_id"].where(~imported["order_id"].str.startswith("~"))
    pd.testing.assert_frame_equal(
        _sorted(imported, ORDER_FIELDS), _sorted(sourced, ORDER_FIELDS), check_dtype=False
    )
    assert sorted(zip(rejected["row_number"], rejected["column"], rejected["reason"], strict=True)) == sorted(
        zip(left_out["source_row"], left_out["reason_column"], left_out["reason"], strict=True)
    )
    assert (counted.rows, counted.usable, counted.merged) == (account.read, len(imported), account.duplicates)


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
