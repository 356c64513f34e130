"""`ltv serve --source`: the dashboard's API on a warehouse table, read-only, with the workspace's numbers."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from tests.web.conftest import TEST_HOSTS

from ltvkit.data.sources import Source
from ltvkit.web.app import create_app

READS = [
    "/api/summary",
    "/api/cohorts?metric=ltv",
    "/api/channels",
    "/api/cac?target=3",
    "/api/pareto",
    "/api/segments?scheme=rfm",
]


def test_the_api_on_a_source_answers_as_on_the_workspace(school: Path, tmp_path: Path) -> None:
    warehouse = Path(shutil.copy(school, tmp_path / "warehouse.duckdb"))
    opener = functools.partial(Source.open, f"duckdb://{warehouse}", "orders", spend_table="spend")
    with (
        TestClient(create_app(school, allowed_hosts=TEST_HOSTS)) as on_workspace,
        TestClient(
            create_app(tmp_path / "unused.duckdb", source=opener, allowed_hosts=TEST_HOSTS)
        ) as on_source,
    ):
        assert on_source.get("/api/health").json()["read_only"] is True
        for path in READS:
            assert on_source.get(path).json() == on_workspace.get(path).json(), path
        ledger = on_source.get("/api/imports").json()
        assert (
            len(ledger) == 1
            and ledger[0]["read"]
            == ledger[0]["loaded"]
            == on_workspace.get("/api/summary").json()["order_rows"]
        )
        assert on_source.get("/api/rejected").json() == []
        refused = on_source.post(
            "/api/imports?wait=true", files={"file": ("orders.csv", b"a,b\n1,2\n", "text/csv")}
        )
        assert refused.status_code == 409 and "imports go to a workspace" in refused.json()["message"]
    assert not (tmp_path / "unused.duckdb").exists()  # a source-backed app creates no workspace
