"""The demo school exported as GetCourse writes it (cp1251, ``;``, Russian headers and statuses) gives the
same school as its generic export."""

from __future__ import annotations

from pathlib import Path

from ltvkit.analytics.cohorts import customers
from ltvkit.analytics.overview import overview
from ltvkit.data import demo
from ltvkit.data.workspace import Workspace


def test_getcourse_export_of_the_demo_is_the_same_school(tmp_path: Path) -> None:
    generic, _ = demo.generate(tmp_path / "generic", seed=5, customers=600)
    getcourse, _ = demo.generate(tmp_path / "getcourse", seed=5, customers=600, platform="getcourse")
    raw = getcourse.read_bytes()
    assert raw.startswith("ID заказа;ID пользователя;Email;".encode("cp1251"))
    assert "Частично оплачен".encode("cp1251") in raw and "руб.".encode("cp1251") in raw
    with Workspace.open(tmp_path / "a.duckdb") as a, Workspace.open(tmp_path / "b.duckdb") as b:
        plain, russian = a.import_file(generic), b.import_file(getcourse)
        assert russian.preset == "getcourse"
        # the same blemishes (150 re-exported, 3 test orders, a bad date) and 5 false orders more
        assert (russian.duplicates, russian.rejected) == (plain.duplicates, plain.rejected + 5) == (150, 9)
        assert russian.loaded == plain.loaded
        first, second = overview(a.table("orders")), overview(b.table("orders"))
        assert second.net_revenue == first.net_revenue
        assert (second.customers, second.orders) == (first.customers, first.orders)
        channels = [
            customers(ws.table("orders")).execute().set_index("customer_id")["channel"] for ws in (a, b)
        ]
        assert channels[1].sort_index().equals(channels[0].sort_index())
