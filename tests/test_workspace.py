from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.errors import AllRowsRejectedError, FileFormatError, WorkspaceError

ALL_FIXTURES = [
    "getcourse_orders.csv",
    "stripe_payments.csv",
    "shopify_orders.csv",
    "woocommerce_orders.csv",
    "generic_uk.csv",
    "generic_en.tsv",
    "spend.csv",
    "cdnow_master_head.txt",
]


def snapshot(ws: Workspace) -> dict[str, pd.DataFrame]:
    """The data a user sees (not the imports ledger, which records every attempt)."""
    return {
        "orders": ws.transactions().drop(columns=["import_id"]),
        "spend": ws.spend().drop(columns=["import_id"]),
        "rejected": ws.rejected().drop(columns=["import_id"]),
    }


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_importing_everything_twice_changes_nothing(workspace: Workspace) -> None:
    for name in ALL_FIXTURES:
        workspace.import_file(FIXTURES / name)
    before = snapshot(workspace)
    for name in ALL_FIXTURES:
        account = workspace.import_file(FIXTURES / name)
        assert account.loaded == 0 and account.updated == 0
    assert_same(snapshot(workspace), before)
    assert len(workspace.imports()) == 2 * len(ALL_FIXTURES)


def test_a_newer_export_updates_changed_orders(tmp_path: Path, workspace: Workspace) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order id,customer,date,amount,status\n1,a,2026-01-01,10,paid\n2,b,2026-01-02,20,paid\n",
        encoding="utf-8",
    )
    workspace.import_file(path)
    path.write_text(
        "order id,customer,date,amount,status\n1,a,2026-01-01,10,paid\n2,b,2026-01-02,20,refunded\n"
        "3,c,2026-01-03,30,paid\n",
        encoding="utf-8",
    )
    account = workspace.import_file(path)
    assert (account.read, account.loaded, account.updated, account.duplicates) == (3, 2, 1, 1)
    t = workspace.transactions().set_index("order_id")
    assert t["status"].to_dict() == {"1": "paid", "2": "refunded", "3": "paid"}
    assert t.loc["2", "refunded"] == 20.0


def test_a_failure_while_writing_leaves_the_workspace_as_it_was(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.import_file(FIXTURES / "stripe_payments.csv")
    before = snapshot(workspace)
    ledger = workspace.imports()

    class FailOnLedger:
        """The real connection, except that writing the ledger (the last step of an import) fails."""

        def __init__(self, con: object) -> None:
            self._con = con

        def __getattr__(self, name: str) -> object:
            return getattr(self._con, name)

        def execute(self, sql: str, *args: object) -> object:
            if sql.startswith("INSERT INTO imports"):
                raise RuntimeError("disk full")
            return self._con.execute(sql, *args)

    monkeypatch.setattr(workspace, "_con", FailOnLedger(workspace._con))
    with pytest.raises(RuntimeError, match="disk full"):
        workspace.import_file(FIXTURES / "getcourse_orders.csv")
    monkeypatch.undo()
    assert_same(snapshot(workspace), before)
    pd.testing.assert_frame_equal(workspace.imports(), ledger)


def test_an_unreadable_file_changes_nothing(tmp_path: Path, workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "stripe_payments.csv")
    before = snapshot(workspace)
    bad = tmp_path / "orders.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(FileFormatError):
        workspace.import_file(bad)
    assert_same(snapshot(workspace), before)
    assert len(workspace.imports()) == 1


KILL_SCRIPT = """
import sys
from ltvkit.data.workspace import Workspace
with Workspace.open(sys.argv[1]) as ws:
    ws.import_file(sys.argv[2])
    print("done", flush=True)
"""


def test_a_killed_import_is_all_or_nothing(tmp_path: Path) -> None:
    """SIGKILL in the middle of an import: the workspace holds the earlier state or the whole import."""
    big = tmp_path / "big.csv"
    rows = [
        f"{i},c{i % 5000},2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00,{i % 97}.50\n" for i in range(150_000)
    ]
    big.write_text("order id,customer,date,amount\n" + "".join(rows), encoding="utf-8")
    path = tmp_path / "ltv.duckdb"
    with Workspace.open(path) as ws:
        ws.import_file(FIXTURES / "stripe_payments.csv")
        before = snapshot(ws)
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, str(path), str(big)], stdout=subprocess.PIPE
        )
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Workspace.open(path) as ws:
            n = len(ws.transactions())
            assert n in (len(before["orders"]), len(before["orders"]) + 150_000)
            if n == len(before["orders"]):
                assert_same(snapshot(ws), before)
                assert len(ws.imports()) == 1


def test_read_only_open_of_a_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="import a file first"):
        Workspace.open(tmp_path / "none.duckdb", read_only=True)


def test_a_file_that_is_not_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    import duckdb

    duckdb.connect(str(path)).close()
    with pytest.raises(WorkspaceError, match="not an ltvkit workspace"):
        Workspace.open(path, read_only=True)


def test_rejected_rows_stay_with_the_import_that_read_them(workspace: Workspace) -> None:
    first = workspace.import_file(FIXTURES / "generic_uk.csv")
    again = workspace.import_file(FIXTURES / "generic_uk.csv")
    assert first.rejected == again.rejected == 2
    ledger = workspace.imports().set_index("import_id")["rejected"]
    for account in (first, again):
        rows = workspace.rejected(account.import_id)
        assert len(rows) == ledger[account.import_id] == 2
        assert set(rows["import_id"]) == {account.import_id}
    listed = workspace.rejected()  # a file imported twice is listed once: its latest import
    assert len(listed) == 2 and set(listed["import_id"]) == {again.import_id}


def test_every_amount_failing_with_the_decimal_mark_given_is_an_error(
    tmp_path: Path, workspace: Workspace
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order id,customer,date,amount\n1,a,2026-01-05,1234.50\n2,b,2026-01-06,99.90\n3,c,2026-01-07,10.25\n",
        encoding="utf-8",
    )
    with pytest.raises(AllRowsRejectedError) as caught:
        workspace.import_file(path, decimal=",")
    assert "every amount failed with decimal=','; this file uses '.'" in str(caught.value)
    assert "decimal=','" in caught.value.localized("ru") and "'.'" in caught.value.localized("uk")
    assert workspace.count("orders") == 0 and workspace.imports().empty
    assert workspace.import_file(path).loaded == 3


def test_every_row_rejected_for_one_reason_is_an_error_naming_it(
    tmp_path: Path, workspace: Workspace
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order id,customer,date,amount\n1,a,2026-01-05,x\n2,b,2026-01-06,y\n", encoding="utf-8")
    with pytest.raises(
        AllRowsRejectedError, match=r"in column «amount» \(row 2: 'x' is not an amount\)"
    ) as caught:
        workspace.import_file(path)
    assert "(строка 2: 'x' — не сумма)" in caught.value.localized("ru")
    assert "(рядок 2: 'x' — не сума)" in caught.value.localized("uk")


def _month_channel_amount(path: Path) -> Path:
    """A school's own spend sheet: month, channel, amount, no currency anywhere (cp1251, ';')."""
    path.write_bytes("Месяц;Канал;Расход\n01.2026;vk;60 000\n02.2026;vk;55 000\n".encode("cp1251"))
    return path


def test_spend_without_a_currency_is_in_the_currency_of_the_orders(tmp_path: Path) -> None:
    spend = _month_channel_amount(tmp_path / "spend.csv")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(FIXTURES / "getcourse_orders.csv")
        account = ws.import_file(spend)
        assert account.loaded == 2
        assert sorted(ws.spend()["currency"]) == ["RUB", "RUB"]
        assert any("taken as RUB, the currency of the orders" in note for note in account.notes)
        again = ws.import_file(spend, currency="RUB")  # the same rows as given explicitly: duplicates
        assert (again.loaded, again.duplicates) == (0, 2)


def test_spend_without_a_currency_and_no_orders_is_kept_apart_with_a_note(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        account = ws.import_file(_month_channel_amount(tmp_path / "spend.csv"))
        assert sorted(ws.spend()["currency"]) == ["XXX", "XXX"]
        assert any("kept apart as XXX" in note for note in account.notes)
        given = ws.import_file(_month_channel_amount(tmp_path / "usd.csv"), currency="USD")
        assert given.notes == [] and sorted(ws.spend()["currency"]) == ["USD", "USD", "XXX", "XXX"]
