"""Each preset on a small hand-written export: detection, every row accounted for, and hand-checked values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA, FIXTURES
from ltvkit.analytics.overview import overview
from ltvkit.data.workspace import Workspace
from ltvkit.errors import AmbiguousFormatError, MappingError
from ltvkit.io.presets import load_mapping

# file, options, preset, read, loaded, duplicates, rejected
CASES = [
    ("getcourse_orders.csv", {}, "getcourse", 10, 7, 0, 3),
    ("stripe_payments.csv", {}, "stripe", 6, 5, 0, 1),
    ("shopify_orders.csv", {}, "shopify", 6, 5, 1, 0),
    ("woocommerce_orders.csv", {}, "woocommerce", 7, 6, 1, 0),
    ("generic_uk.csv", {}, "generic", 6, 4, 0, 2),
    ("generic_en.tsv", {}, "generic", 3, 3, 0, 0),
    ("spend.csv", {}, "spend", 6, 4, 1, 1),
    ("amocrm_deals.csv", {"mapping": FIXTURES / "amocrm.toml"}, "amocrm", 4, 4, 0, 0),
    ("cdnow_master_head.txt", {}, "cdnow", 29, 29, 0, 0),
]


@pytest.mark.parametrize(("name", "options", "preset", "read", "loaded", "duplicates", "rejected"), CASES)
def test_every_row_is_accounted_for(
    workspace: Workspace,
    name: str,
    options: dict,
    preset: str,
    read: int,
    loaded: int,
    duplicates: int,
    rejected: int,
) -> None:
    account = workspace.import_file(FIXTURES / name, **options)
    assert (account.preset, account.read, account.loaded, account.duplicates, account.rejected) == (
        preset,
        read,
        loaded,
        duplicates,
        rejected,
    )
    assert account.read == account.loaded + account.duplicates + account.rejected
    assert len(workspace.rejected(account.import_id)) == rejected
    again = workspace.import_file(FIXTURES / name, **options)
    assert (again.loaded, again.duplicates, again.rejected) == (0, read - rejected, rejected)


def _orders(ws: Workspace) -> pd.DataFrame:
    return ws.transactions().set_index("order_id")


def test_getcourse(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "getcourse_orders.csv")
    t = _orders(workspace)
    assert t["status"].to_dict() == {
        "412345678": "paid",
        "412345679": "paid",
        "412345680": "free",
        "412345681": "pending",
        "412345682": "paid",
        "412345684": "refunded",
        "412345685": "paid",
    }
    # paid amount, not the price, for a partially paid order; payment date over creation date
    assert t.loc["412345682", "amount"] == 15_000
    assert t.loc["412345679", "ordered_at"] == pd.Timestamp("2026-02-20 18:05")
    assert t.loc["412345679", "fee"] == 1746.5
    # first touch (user_utm_source) is the channel; the order's own utm stays in utm_source
    assert t.loc["412345679", "channel"] == "vk" and t.loc["412345679", "utm_source"] == "email"
    assert t.loc["412345678", "customer_id"] == "200111"
    assert set(t["currency"]) == {"RUB"}
    assert json.loads(t.loc["412345678", "extra"])["Теги"] == "трипваер"
    summary = overview(workspace.table("orders"))
    # 990 + 49 900 + 15 000 + 1 990 paid; 49 900 refunded
    assert summary.net_revenue == {"RUB": 67_880.0}
    assert summary.customers == 3
    reasons = workspace.rejected()["reason"].tolist()
    assert reasons[0].startswith("is a false order (Ложный)")
    assert reasons[1:] == ["'31.02.2026 11:11' is not a valid date", pytest.approx(reasons[2])]
    assert reasons[2].startswith("unknown status 'В обработке'")


def test_stripe(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "stripe_payments.csv")
    t = _orders(workspace)
    charge = "ch_3PaAaA2eZvKYlo2C0abc000"
    assert t.loc[charge + "3", ["amount", "refunded", "status"]].tolist() == [
        1200.0,
        300.0,
        "partially_refunded",
    ]
    assert t.loc[charge + "4", "status"] == "refunded"
    assert charge + "5" not in t.index  # Failed, Captured false: no money was taken
    assert workspace.rejected()[["row_number", "column", "value", "reason"]].values.tolist() == [
        [6, "Status", "Failed", "is a failed payment (declined, or blocked by Radar): no money was taken"]
    ]
    assert t.loc[charge + "6", ["customer_id", "currency"]].tolist() == ["hans@example.de", "EUR"]
    assert overview(workspace.table("orders")).net_revenue == {"EUR": 90.0, "USD": 49 + 49 + 900.0}


def test_shopify_line_items_merge_into_their_order(workspace: Workspace) -> None:
    account = workspace.import_file(FIXTURES / "shopify_orders.csv")
    assert account.merged_line_items == 1
    t = _orders(workspace)
    first = t.loc["#1001"]
    assert (first["amount"], first["quantity"], first["customer_id"]) == (59.0, 3.0, "ann@example.com")
    assert [li["product"] for li in json.loads(first["extra"])["line_items"]] == [
        "Ceramic mug",
        "Coaster set",
    ]
    assert first["ordered_at"] == pd.Timestamp("2026-01-10 11:13:25")  # wall clock of the shop
    assert t.loc["#1002", ["refunded", "status"]].tolist() == [20.0, "partially_refunded"]
    assert t.loc["#1004", ["status", "ordered_at"]].tolist() == ["pending", pd.Timestamp("2026-02-05 16:20")]
    assert overview(workspace.table("orders")).net_revenue == {"USD": 59 + 60 + 0 + 48.0}


def test_woocommerce_guests_are_identified_by_email(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "woocommerce_orders.csv")
    t = _orders(workspace)
    assert t.loc["1501", "customer_id"] == "17"
    assert t.loc["1506", "customer_id"] == "iryna@example.ua"
    assert t["status"].to_dict() == {
        "1501": "paid",
        "1502": "paid",
        "1503": "refunded",
        "1504": "pending",
        "1505": "cancelled",
        "1506": "partially_refunded",
    }
    assert t.loc["1502", "quantity"] == 3
    assert overview(workspace.table("orders")).net_revenue == {"UAH": 1490 + 5980 + 5480.0}


def test_generic_ukrainian_export_with_separate_refund_rows(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "generic_uk.csv")
    t = _orders(workspace)
    assert t.loc["A-1", ["amount", "currency", "customer_id", "channel"]].tolist() == [
        1490.0,
        "UAH",
        "K-001",
        "instagram",
    ]
    assert t.loc["A-3", ["amount", "status"]].tolist() == [-1490.0, "refunded"]
    assert t.loc["A-5", ["amount", "status"]].tolist() == [12.5, "pending"]
    assert overview(workspace.table("orders")).net_revenue == {"UAH": 2990.5}
    rejected = workspace.rejected()
    assert rejected[["row_number", "column", "reason"]].values.tolist() == [
        [5, "customer", "no customer id, email or phone"],
        [7, "Сума", "'abc' is not an amount"],
    ]
    assert json.loads(rejected["raw"].iloc[0])["Номер замовлення"] == "A-4"


def test_generic_english_tsv_with_us_dates(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "generic_en.tsv")
    t = _orders(workspace)
    assert t.loc["1", ["ordered_at", "amount", "currency", "channel"]].tolist() == [
        pd.Timestamp("2025-11-23"),
        1234.56,
        "USD",
        "google",
    ]
    assert t.loc["2", "ordered_at"] == pd.Timestamp("2025-11-24 14:05")


def test_spend_by_month_sums_split_rows(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "spend.csv")
    spend = workspace.spend()
    assert spend[["date", "channel", "amount"]].values.tolist() == [
        [pd.Timestamp("2026-01-01"), "facebook_ads", 12500.0],
        [pd.Timestamp("2026-01-01"), "google_ads", 8000.0],
        [pd.Timestamp("2026-02-01"), "facebook_ads", 12000.0],
        [pd.Timestamp("2026-02-01"), "google_ads", 9500.5],
    ]
    assert set(spend["period"]) == {"month"}


def test_amocrm_mapping_file(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "amocrm_deals.csv", mapping=FIXTURES / "amocrm.toml")
    t = _orders(workspace)
    assert t["status"].to_dict() == {"9001": "paid", "9002": "paid", "9003": "cancelled", "9004": "pending"}
    assert t.loc["9004", "ordered_at"] == pd.Timestamp("2026-04-12 10:00")  # not closed: creation date
    assert overview(workspace.table("orders")).net_revenue == {"RUB": 60_000.0}


def test_cdnow_sample_keeps_every_row_including_same_day_and_zero_dollar_rows(workspace: Workspace) -> None:
    account = workspace.import_file(DATA / "CDNOW_sample.txt.gz")
    assert (account.preset, account.loaded) == ("cdnow", 6919)
    summary = overview(workspace.table("orders"))
    assert (summary.customers, summary.orders) == (2357, 6919)
    assert summary.net_revenue["USD"] == pytest.approx(244_091.94)


def test_mapping_file_naming_a_missing_column(tmp_path: Path, workspace: Workspace) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "columns:\n  customer_id: Client\n  ordered_at: Date\n  amount: Total\n", encoding="utf-8"
    )
    with pytest.raises(MappingError, match="'Client'") as info:
        workspace.import_file(FIXTURES / "generic_en.tsv", mapping=mapping)
    assert "the file's columns are" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns = 3", r"needs a \[columns\] table"),
        ('[columns]\ntotal = "Total"', "unknown field 'total'"),
        ('[columns]\namount = "Total"\n[statuses]\nWon = "won"', "maps to 'won'"),
        ("[columns", "cannot read"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=message):
        load_mapping(path)


def test_missing_required_column_names_what_was_looked_for(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer,amount\na,10\n", encoding="utf-8")
    with pytest.raises(MappingError, match="no column for ordered_at") as info:
        workspace.import_file(path)
    assert info.value.file == str(path) and "--mapping" in str(info.value)


def test_ambiguous_amounts_are_refused_with_file_row_and_column(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer;date;amount\na;2026-01-01;5\nb;2026-01-02;1,500\n", encoding="utf-8")
    with pytest.raises(AmbiguousFormatError) as info:
        workspace.import_file(path)
    assert (info.value.file, info.value.row, info.value.column) == (str(path), 3, "amount")
    assert "--decimal" in str(info.value)
    account = workspace.import_file(path, decimal=",")
    assert workspace.transactions()["amount"].tolist() == [5.0, 1.5] and account.loaded == 2


def test_currencies_are_kept_apart_and_unknown_currency_is_flagged(
    tmp_path: Path, workspace: Workspace
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount,currency\na,2026-01-01,10,usd\nb,2026-01-02,20,\nc,2026-01-03,5,руб.\n"
        "d,2026-01-04,7,dollars\n",
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert account.rejected == 1 and "no currency" in account.notes[0]
    assert overview(workspace.table("orders")).net_revenue == {"RUB": 5.0, "USD": 10.0, "XXX": 20.0}
    assert workspace.rejected()["reason"].tolist() == ["is not a currency code (use e.g. RUB, USD)"]


def test_conflicting_versions_of_an_order_in_one_file(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order id,customer,date,amount\n1,a,2026-01-01,10\n1,a,2026-01-01,10\n1,a,2026-01-01,12\n",
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.loaded, account.duplicates, account.rejected) == (1, 1, 1)
    assert workspace.rejected()["reason"].tolist() == [
        "order '1' already appears at row 2 with different values"
    ]
