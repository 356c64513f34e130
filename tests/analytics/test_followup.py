"""The follow-up list: unpaid orders that no later purchase of the same product settled, by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ltvkit.cli import app
from ltvkit.data.workspace import Workspace
from ltvkit.service.segments import follow_up_list

# The last day of the data is 2026-03-20 (e's payment); with days=30 the window opens on 2026-02-18.
# - a: pending Course on 03-01, paid Course on 03-03: settled, not listed;
# - b: pending Course on 03-10 (2,000), nothing after: listed, 10 days waiting;
# - c: pending Book on 01-05: before the window, not listed;
# - d: pending Course on 03-15 (5,000), then paid a Book on 03-16 (another product): listed, 5 days;
# - e: pending Course on 03-18 (700), paid Course on 03-12 (before it): listed, 2 days;
# - f: cancelled Course on 03-19: not waiting, not listed.
ORDERS = """order_id,customer_id,email,phone,ordered_at,amount,currency,status,product
1,a,a@example.com,+79990000001,2026-03-01,2000,RUB,pending,Course
2,a,a@example.com,+79990000001,2026-03-03,2000,RUB,paid,Course
3,b,b@example.com,+79990000002,2026-03-10,2000,RUB,pending,Course
4,c,c@example.com,,2026-01-05,500,RUB,pending,Book
5,d,d@example.com,+380500000004,2026-03-15,5000,RUB,pending,Course
6,d,d@example.com,+380500000004,2026-03-16,500,RUB,paid,Book
7,e,e@example.com,,2026-03-12,700,RUB,paid,Course
8,e,e@example.com,,2026-03-18,700,RUB,pending,Course
9,f,f@example.com,,2026-03-19,2000,RUB,cancelled,Course
10,e,e@example.com,,2026-03-20,300,RUB,paid,Book
"""


@pytest.fixture()
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        assert ws.import_file(path).loaded == 10
    return tmp_path / "ltv.duckdb"


def test_unpaid_orders_that_nothing_settled_are_listed_largest_first(shop: Path) -> None:
    with Workspace.open(shop, read_only=True) as ws:
        found = follow_up_list(ws, days=30)
    assert str(found.end) == "2026-03-20"
    rows = found.orders
    assert list(rows["customer_id"]) == ["d", "b", "e"]
    assert list(rows["amount"]) == [5000.0, 2000.0, 700.0]
    assert list(rows["days_waiting"]) == [5, 10, 2]
    assert list(rows["phone"].fillna("")) == ["+380500000004", "+79990000002", ""]


def test_the_command_lists_and_exports_them(shop: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["followup", "-w", str(shop), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [row["email"] for row in json.loads(listed.stdout)] == [
        "d@example.com",
        "b@example.com",
        "e@example.com",
    ]
    out = tmp_path / "followup.csv"
    written = runner.invoke(app, ["followup", "-w", str(shop), "--days", "90", "--out", str(out)])
    assert written.exit_code == 0, written.output
    text = out.read_text(encoding="utf-8-sig")
    assert "c@example.com,,Book,500.0,RUB,2026-01-05,74" in text  # 90 days reach c, 74 days waiting
    assert "b@example.com,+79990000002," in text  # a phone is a number, not a formula: written as it is
