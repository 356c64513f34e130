"""Each platform's export as it is downloaded today (headers from the platforms' current exports), imported
through ``Workspace.import_file``: the row account, and net revenue, customers, purchases and first-touch
channels against values computed by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ltvkit.analytics.cohorts import customers
from ltvkit.analytics.overview import overview
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _account(ws: Workspace, name: str | Path, **options: object) -> tuple[str, int, int, int, int]:
    account = ws.import_file(FIXTURES / name, **options)  # an absolute path stays itself
    assert account.read == account.loaded + account.duplicates + account.rejected
    return account.preset, account.read, account.loaded, account.duplicates, account.rejected


def _first_touch(ws: Workspace) -> dict[str, str]:
    people = customers(ws.table("orders")).execute()
    return dict(zip(people["customer_id"], people["channel"], strict=True))


def _reasons(ws: Workspace) -> dict[int, str]:
    rejected = ws.rejected()
    return dict(zip(rejected["row_number"], rejected["reason"], strict=True))


def test_getcourse_without_paid_column_counts_what_partial_payments_paid(workspace: Workspace) -> None:
    """Today's UI export (cp1251, ``;``) with «Заработано, RUB» and «Комиссии» but no «Оплачено»."""
    # 9 rows: the false order (row 6) and a partly paid order with no Заработано/Комиссии (row 10) rejected
    assert _account(workspace, "getcourse_orders_2026.csv") == ("getcourse", 9, 7, 0, 2)
    t = workspace.transactions().set_index("order_id")
    # partly paid: Заработано + Комиссии = 14 475 + 525 = 15 000 and 9 650 + 350 = 10 000, not 49 900 / 29 900
    assert t.loc["500002", ["amount", "status"]].tolist() == [15_000.0, "paid"]
    assert t.loc["500006", "amount"] == 10_000.0
    assert t.loc["500007", ["amount", "refunded", "status"]].tolist() == [1990.0, 1990.0, "refunded"]
    assert t.loc["500008", "status"] == "free"
    assert t.loc["500004", "status"] == "pending"
    # order utm_* are the last touch; the promo code, tags, city and manager are kept with the order
    assert t.loc["500002", ["channel", "utm_source", "utm_campaign"]].tolist() == [
        "vk",
        "email",
        "core_launch",
    ]
    extra = json.loads(t.loc["500002", "extra"])
    assert (extra["Использован промокод"], extra["Теги"], extra["Город"], extra["Менеджер"]) == (
        "SPRING",
        "рассрочка",
        "Москва",
        "Ольга",
    )
    summary = overview(workspace.table("orders"))
    # net: 990 + 15 000 + 49 900 + 10 000 paid; 1 990 − 1 990 refunded; 0 free → 75 890
    # (the price of every partly paid order would give 990 + 49 900 + 49 900 + 29 900 + 29 900 = 160 590)
    assert summary.net_revenue == {"RUB": 75_890.0}
    # customers with a purchase: anna (500001, 500002), igor (500003), elena (500006); purchases 4
    assert (summary.customers, summary.orders) == (3, 4)
    # first touch from user_utm_source; igor has none, so his order's last-touch utm (yandex) is not used
    assert _first_touch(workspace) == {"300001": "vk", "300002": "(none)", "300005": "telegram"}
    reasons = _reasons(workspace)
    assert reasons[6].startswith("is a false order (Ложный)")
    assert reasons[10] == "is partly paid and a value of Заработано, RUB + Комиссии is blank"
    account = workspace.import_file(FIXTURES / "getcourse_orders_2026.csv")
    assert (account.loaded, account.duplicates, account.rejected) == (0, 7, 2)


def test_getcourse_partial_payment_without_any_paid_column_is_refused(
    tmp_path: Path, workspace: Workspace
) -> None:
    """No «Оплачено», no «Заработано»: a partly paid order is rejected saying why, its price never counted."""
    lines = (FIXTURES / "getcourse_orders_2026.csv").read_text(encoding="cp1251").splitlines()
    header = lines[0].split(";")
    keep = [i for i, h in enumerate(header) if not h.startswith(("Заработано", "Комиссии"))]
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(";".join(line.split(";")[i] for i in keep) for line in lines), encoding="cp1251"
    )
    # rows 3, 7 and 10 are partly paid; row 6 is the false order
    assert _account(workspace, path) == ("getcourse", 9, 5, 0, 4)
    reasons = _reasons(workspace)
    assert [reasons[r] for r in (3, 7, 10)] == [
        "is partly paid, and the export has no column saying how much: its price 'Стоимость, RUB' is not "
        "what was paid (add the column 'Оплачено' to the export)"
    ] * 3
    # 990 + 49 900 paid; 1 990 refunded; free 0
    assert overview(workspace.table("orders")).net_revenue == {"RUB": 50_890.0}


def test_stripe_unified_payments_with_todays_header(workspace: Workspace) -> None:
    """``Created date (UTC)`` (today) is recognised as well as ``Created (UTC)`` (older exports); failed,
    blocked and uncaptured payments took no money and are left out saying so."""
    assert _account(workspace, "stripe_unified_payments.csv") == ("stripe", 8, 5, 0, 3)
    t = workspace.transactions().set_index("order_id")
    assert t["status"].to_dict() == {
        "py_3QaA0001": "paid",
        "py_3QaA0002": "paid",
        "py_3QaA0003": "partially_refunded",
        "py_3QaA0004": "refunded",
        "py_3QaA0006": "paid",
    }
    assert t.loc["py_3QaA0001", "ordered_at"] == pd.Timestamp("2026-03-01 09:12:33")
    failed = "is a failed payment (declined, or blocked by Radar): no money was taken"
    left_out = workspace.rejected()[["row_number", "column", "value", "reason"]].values.tolist()
    assert left_out == [
        [6, "Status", "Failed", failed],
        [
            8,
            "Captured",
            "false",
            "is a payment that was never captured (authorised only, or declined): no money was taken",
        ],  # Status Uncaptured: authorised, never charged
        [9, "Status", "Blocked", failed],
    ]
    summary = overview(workspace.table("orders"))
    # USD: 49 + 49 + (1 200 − 300); the refunded 1 200 nets 0; EUR: 90
    assert summary.net_revenue == {"EUR": 90.0, "USD": 998.0}
    # jane (2 payments), john, hans: li's only payment was refunded; purchases 4
    assert (summary.customers, summary.orders) == (3, 4)


def test_stripe_captured_false_leaves_out_a_paid_status(tmp_path: Path, workspace: Workspace) -> None:
    """A charge whose status reads as paid but was never captured (``Captured`` false, as the API's
    ``succeeded`` authorisations are) is no payment: the column decides, not the status."""
    lines = (FIXTURES / "stripe_unified_payments.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "payments.csv"
    path.write_text("\n".join([lines[0], lines[1].replace(",true,", ",FALSE,", 1), lines[2]]) + "\n")
    assert _account(workspace, path) == ("stripe", 2, 1, 0, 1)
    assert workspace.rejected()[["row_number", "column", "value"]].values.tolist() == [
        [2, "Captured", "FALSE"]
    ]
    assert overview(workspace.table("orders")).net_revenue == {"USD": 49.0}


def test_stripe_itemized_balance_report(workspace: Workspace) -> None:
    """Balance change from activity, itemized: refunds are rows of their own, payouts and fees are no
    payments; amounts are in the settlement currency."""
    assert _account(workspace, "stripe_balance_itemized.csv") == ("stripe_balance", 7, 5, 0, 2)
    reasons = _reasons(workspace)
    assert reasons == {
        6: "is a row of the balance that is no customer's payment",  # payout
        7: "is a row of the balance that is no customer's payment",  # Radar fee
    }
    t = workspace.transactions().set_index("order_id")
    assert t.loc["txn_3QaB0003", ["amount", "status", "customer_id"]].tolist() == [
        -300.0,
        "refunded",
        "cus_R1bbbbbbbbbbbb",
    ]
    summary = overview(workspace.table("orders"))
    # 49 + 1 200 − 300 + 97.20 (the EUR 90 workshop, settled in USD) + 49
    assert summary.net_revenue == {"USD": pytest.approx(1095.2)}
    # jane (2 charges), john, hans; the refund row is no purchase
    assert (summary.customers, summary.orders) == (3, 4)


def test_woocommerce_analytics_orders_download(workspace: Workspace) -> None:
    """WooCommerce's own Analytics → Orders download: net revenue without tax and shipping, and customers
    known only by name."""
    assert _account(workspace, "woocommerce_analytics_orders.csv", currency="UAH") == (
        "woocommerce",
        4,
        4,
        0,
        0,
    )
    t = workspace.transactions().set_index("order_id")
    assert t["status"].to_dict() == {"3001": "paid", "3002": "paid", "3003": "pending", "3004": "paid"}
    assert t.loc["3002", "quantity"] == 3
    summary = overview(workspace.table("orders"))
    # 1 490 + 5 980 + 5 980; 3003 on hold
    assert summary.net_revenue == {"UAH": 13_450.0}
    assert (summary.customers, summary.orders) == (2, 3)  # Oksana Melnyk twice, Taras Bondar


def test_woocommerce_advanced_order_export_with_line_items_and_local_status_labels(
    workspace: Workspace,
) -> None:
    """The Advanced Order Export plugin's default fields, one row per line item, statuses as the shop's
    Ukrainian and Russian admin labels them; the export names no currency, so it is given."""
    # 9 rows: order 2002 has two line items (one merged)
    assert _account(workspace, "woocommerce_advanced_export.csv", currency="UAH") == (
        "woocommerce",
        9,
        8,
        1,
        0,
    )
    t = workspace.transactions().set_index("order_id")
    assert t["status"].to_dict() == {
        "2001": "paid",  # Виконано
        "2002": "paid",  # Обработка
        "2003": "refunded",  # Повернено
        "2004": "pending",  # В ожидании оплаты
        "2005": "cancelled",  # Не удался
        "2006": "partially_refunded",  # Виконано, 500 refunded
        "2007": "pending",  # На утриманні
        "2008": "cancelled",  # Скасовано
    }
    assert t.loc["2002", "quantity"] == 3  # 2 workbooks + 1 mentoring
    lines = json.loads(t.loc["2002", "extra"])["line_items"]
    assert [li["product"] for li in lines] == ["Воркбук", "Менторство"]
    assert t.loc["2001", "customer_id"] == "oksana@example.ua"  # no customer id: the billing email
    summary = overview(workspace.table("orders"))
    # 1 490 + 5 980 + (5 980 − 500); 2003 refunded in full
    assert summary.net_revenue == {"UAH": 12_950.0}
    # oksana (2001), taras (2002), iryna (2006)
    assert (summary.customers, summary.orders) == (3, 3)
    assert set(_first_touch(workspace).values()) == {"(none)"}


def test_shopify_revenue_without_tax_and_shipping(workspace: Workspace) -> None:
    assert _account(workspace, "shopify_orders.csv", exclude_tax_shipping=True) == ("shopify", 6, 5, 1, 0)
    t = workspace.transactions().set_index("order_id")
    # #1001: 59 − 5 shipping; #1003: 29 − 5, its refund of 29 capped at the 24 left
    assert t.loc["#1001", "amount"] == 54.0
    assert t.loc["#1003", ["amount", "refunded"]].tolist() == [24.0, 24.0]
    # 54 + (80 − 20) + 0 + 48; with tax and shipping it is 59 + 60 + 0 + 48 = 167
    assert overview(workspace.table("orders")).net_revenue == {"USD": 162.0}


def test_shopify_partially_paid_order_is_refused_not_counted_at_its_total(
    tmp_path: Path, workspace: Workspace
) -> None:
    text = (FIXTURES / "shopify_orders.csv").read_text(encoding="utf-8")
    path = tmp_path / "orders.csv"
    path.write_text(text.replace("#1005,bob@example.com,paid,", "#1005,bob@example.com,partially_paid,"))
    workspace.import_file(path)
    assert _reasons(workspace)[7].startswith("is partly paid, and the export has no column saying how much")


def test_excluding_tax_and_shipping_needs_those_columns(workspace: Workspace) -> None:
    with pytest.raises(ParameterError, match="no tax or shipping column"):
        workspace.import_file(FIXTURES / "stripe_unified_payments.csv", exclude_tax_shipping=True)


def test_bitrix24_deals_through_a_mapping_file(tmp_path: Path, workspace: Workspace) -> None:
    """Bitrix24 deals (REST field names) with the mapping example of docs/import.md."""
    mapping = tmp_path / "bitrix24.toml"
    mapping.write_text(
        'name = "bitrix24"\n[columns]\norder_id = "ID"\ncustomer_id = "CONTACT_ID"\n'
        'ordered_at = ["CLOSEDATE", "DATE_CREATE"]\namount = "OPPORTUNITY"\ncurrency = "CURRENCY_ID"\n'
        'status = "STAGE_SEMANTIC_ID"\nutm_source = "UTM_SOURCE"\n'
        '[statuses]\nS = "paid"\nF = "cancelled"\nP = "pending"\n',
        encoding="utf-8",
    )
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "ID,TITLE,STAGE_ID,STAGE_SEMANTIC_ID,OPPORTUNITY,CURRENCY_ID,CONTACT_ID,DATE_CREATE,CLOSEDATE,UTM_SOURCE\n"
        "11,Курс,WON,S,45000.00,RUB,501,2026-02-01T10:00:00+03:00,2026-02-03T12:00:00+03:00,vk\n"
        "12,Курс,LOSE,F,45000.00,RUB,502,2026-02-02T10:00:00+03:00,2026-02-04T12:00:00+03:00,\n"
        "13,Менторство,NEW,P,15000.00,RUB,501,2026-02-05T10:00:00+03:00,,vk\n"
        "14,Менторство,WON,S,15000.00,RUB,501,2026-03-01T10:00:00+03:00,2026-03-02T09:00:00+03:00,\n",
        encoding="utf-8",
    )
    assert _account(workspace, deals, mapping=mapping) == ("bitrix24", 4, 4, 0, 0)
    summary = overview(workspace.table("orders"))
    assert summary.net_revenue == {"RUB": 60_000.0}  # 45 000 + 15 000 won
    assert (summary.customers, summary.orders) == (1, 2)
    assert _first_touch(workspace) == {"501": "vk"}


def test_tilda_webhooks_through_the_documented_mapping(tmp_path: Path, workspace: Workspace) -> None:
    """Tilda's webhook bodies saved as JSON lines (with the time each arrived), mapped as docs/import.md
    shows."""
    mapping = tmp_path / "tilda.toml"
    mapping.write_text(
        'name = "tilda"\n[columns]\norder_id = "payment.orderid"\nemail = "Email"\nphone = "Phone"\n'
        'ordered_at = "received_at"\namount = "payment.amount"\nutm_source = "utm_source"\n'
        '[options]\ncurrency = "RUB"\n',
        encoding="utf-8",
    )
    hooks = tmp_path / "tilda.jsonl"
    hooks.write_text(
        '{"Name": "Анна", "Email": "anna@example.ru", "Phone": "+7 916 123-45-67", "utm_source": "vk", '
        '"received_at": "2026-02-01 10:00:05", "payment": {"orderid": "1771001", "amount": "4900", '
        '"products": [{"sku": "SMM", "quantity": 1}]}}\n'
        '{"Name": "Анна", "Email": "anna@example.ru", "Phone": "+7 916 123-45-67", "utm_source": "email", '
        '"received_at": "2026-02-20 18:30:00", "payment": {"orderid": "1771002", "amount": "9900", '
        '"products": [{"sku": "PRO", "quantity": 1}]}}\n'
        '{"Name": "Игорь", "Email": "", "Phone": "+7 903 000-11-22", "received_at": "2026-02-21 09:00:00", '
        '"payment": {"orderid": "1771003", "amount": "4900", "products": [{"sku": "SMM", "quantity": 1}]}}\n',
        encoding="utf-8",
    )
    assert _account(workspace, hooks, mapping=mapping) == ("tilda", 3, 3, 0, 0)
    summary = overview(workspace.table("orders"))
    assert summary.net_revenue == {"RUB": 19_700.0}  # 4 900 + 9 900 + 4 900
    assert (summary.customers, summary.orders) == (2, 3)  # anna by email, igor by phone
    assert _first_touch(workspace) == {"anna@example.ru": "vk", "+79030001122": "(none)"}


def test_getcourse_without_first_touch_columns_says_so(tmp_path: Path, workspace: Workspace) -> None:
    lines = (FIXTURES / "getcourse_orders_2026.csv").read_text(encoding="cp1251").splitlines()
    keep = [i for i, h in enumerate(lines[0].split(";")) if not h.startswith("user_utm_")]
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(";".join(line.split(";")[i] for i in keep) for line in lines), encoding="cp1251"
    )
    account = workspace.import_file(path)
    assert any(n.startswith("the export has no first-touch column (user_utm_source)") for n in account.notes)
    # the orders' last-touch utm_source (vk, yandex, telegram) never stands in for a first touch
    assert set(_first_touch(workspace).values()) == {"(none)"}
