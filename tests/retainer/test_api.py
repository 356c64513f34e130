"""The retainers JSON endpoint: the client book as of a day, with active clients' end as null."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.service.retainer import import_book, import_contracts
from ltvkit.web.app import LOOPBACK_HOSTS, create_app


def test_retainer_book_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "ltv.duckdb"
    with Workspace.open(path) as ws:
        import_contracts(ws, FIXTURES / "retainer_contracts.csv")
        import_book(ws, FIXTURES / "retainer_book.csv")
    with TestClient(create_app(path, allowed_hosts=(*LOOPBACK_HOSTS, "testserver"))) as client:
        answer = client.get("/api/retainer/book", params={"as_of": "2026-03-31", "margin": 0.5})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["clients"], body["active"], body["currencies"]) == (4, 3, ["UAH", "USD"])
        assert [c["end"] for c in body["clients_detail"]] == [None, "2026-02-28", None, None]
        march = [m for m in body["months"] if m["currency"] == "USD"][-1]
        assert (march["mrr"], march["churned"], round(march["nrr"], 6)) == (
            2000.0,
            2200.0,
            round(2000 / 4200, 6),
        )
        assert body["survival"]["reaching"] == {"3": round(2 / 3, 6), "6": None, "12": None}
        assert client.get("/api/retainer/book", params={"margin": 2}).status_code == 422
        russian = client.get("/api/retainer/book", params={"as_of": "2026-03-31", "lang": "ru"}).json()
        assert any(note.startswith("всего 4 клиентов") for note in russian["notes"])
