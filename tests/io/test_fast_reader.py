"""A large CSV is split by DuckDB (``readers._read_text_in_duckdb``): it must give exactly the table the
record-by-record reader gives — the same values, row numbers, rows left out as malformed and total rows —
or decline, and an import through it must load and leave out the same rows for the same reasons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.io import readers
from ltvkit.io.readers import RawTable, read_table

TEXTS = {
    "plain": "id,email,amount\n1,a@x.ru,10\n2,b@x.ru,20\n",
    "crlf, no final line end": "id,email,amount\r\n1,a@x.ru,10\r\n2,b@x.ru,20",
    "quoted delimiter and quote": 'id,email,amount\n1,"a,b@x.ru","1 ""000"""\n2,,\n',
    "short row padded": "id,email,amount\n1,a@x.ru\n2,b@x.ru,20\n",
    "blank line": "id,email,amount\n1,a@x.ru,10\n\n2,b@x.ru,20\n",
    "row of delimiters only": "id,email,amount\n1,a@x.ru,10\n,,\n2,b@x.ru,20\n",
    "row of spaces only": "id,email,amount\n1,a@x.ru,10\n \u00a0, ,\n2,b@x.ru,20\n",
    "quoted line end": 'id,email,amount\n1,"a\nb@x.ru",10\n2,b@x.ru,20\n',
    "wider row": "id,email,amount\n1,a@x.ru,10,extra\n2,b@x.ru,20\n",
    "wider row, blank extra": "id,email,amount\n1,a@x.ru,10,,\n2,b@x.ru,20\n",
    "total row": "id,email,amount\n1,a@x.ru,10\n Итого: ,,10\n",
    "total inside a value": "id,email,amount\n1,total@x.ru,10\n2,Grand totals,20\n",
    "sep line": "sep=;\nid;email;amount\n1;a@x.ru;10,5\n",
    "semicolons, Cyrillic": "Номер;Email;Сумма\n1;a@x.ru;1 000,50 руб.\n2;б@x.ru;20\n",
    "headerless numbers": "1,2,3\n4,5,6\n",
    "control characters": "id,email,amount\n1,a\x1b@x.ru,10\n2,b@x.ru\u202e,20\n",
    "duplicate and blank headers": "id,id,,amount\n1,2,3,4\n",
}


def _same(path: Path, monkeypatch: pytest.MonkeyPatch, **options: str) -> tuple[bool, RawTable]:
    """Whether the DuckDB reader was used for ``path``, and that it gave the record reader's table."""
    monkeypatch.setattr(readers, "DUCKDB_MIN_CHARS", 1 << 62)
    slow = read_table(path, **options)
    monkeypatch.setattr(readers, "DUCKDB_MIN_CHARS", 0)
    fast = read_table(path, **options)
    assert list(fast.frame.columns) == list(slow.frame.columns)
    assert fast.frame.astype(object).values.tolist() == slow.frame.values.tolist()
    assert (fast.row_numbers, fast.malformed, fast.has_header) == (
        slow.row_numbers,
        slow.malformed,
        slow.has_header,
    )
    assert (fast.encoding, fast.delimiter, fast.notes) == (slow.encoding, slow.delimiter, slow.notes)
    used = len(fast.frame.columns) > 0 and isinstance(fast.frame.dtypes.iloc[0], pd.StringDtype)
    return used, fast


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.[ct]sv")))
def test_fixtures_read_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    used, _ = _same(FIXTURES / name, monkeypatch)
    assert used  # every fixture is plain enough for DuckDB


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_odd_texts_read_the_same_or_are_declined(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(TEXTS[case].encode("cp1251" if "Cyrillic" in case else "utf-8"))
    used, table = _same(path, monkeypatch)
    # DuckDB is used only where each record is one line of its own, with a header, nothing left out (a
    # row wider than the header by blank fields only is cut to it by both)
    declined = {
        "blank line",
        "row of delimiters only",
        "row of spaces only",
        "quoted line end",
        "wider row",
        "total row",
        "headerless numbers",
    }
    assert used == (case not in declined), case
    if case == "sep line":
        assert table.row_numbers == [3]


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=6))
def test_any_csv_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]
) -> None:
    path = tmp_path / "round.csv"
    pd.DataFrame(rows, columns=["order id", "customer", "amount"]).to_csv(path, index=False, sep=";")
    _same(path, monkeypatch, delimiter=";")


@pytest.mark.parametrize(
    "name", ["getcourse_orders.csv", "shopify_orders.csv", "woocommerce_advanced_export.csv", "spend.csv"]
)
def test_an_import_through_duckdb_is_the_same(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows that load, their values and the rows left out with their reasons, through either reader."""
    outcomes = []
    for least in (1 << 62, 0):
        monkeypatch.setattr(readers, "DUCKDB_MIN_CHARS", least)
        with Workspace.open(tmp_path / f"{least}.duckdb") as ws:
            account = ws.import_file(FIXTURES / name)
            table = "spend" if account.kind == "spend" else "transactions"
            rows = getattr(ws, table)().astype(object)
            outcomes.append(
                ((account.read, account.loaded, account.duplicates, account.rejected), rows, ws.rejected())
            )
    (account, rows, rejected), (fast_account, fast_rows, fast_rejected) = outcomes
    assert fast_account == account
    pd.testing.assert_frame_equal(fast_rows, rows)
    pd.testing.assert_frame_equal(fast_rejected.astype(object), rejected.astype(object))
