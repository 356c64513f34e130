"""The dashboard's LTV to use for CAC (overview), comparison of two groups (cohorts page) and client book
(retainers page): the API's numbers are the service's, and the pages read in Russian and Ukrainian."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import LiveServer
from tests.web.visible_text import untranslated

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.service.comparison import compare_groups
from ltvkit.service.retainer import import_book, import_contracts
from ltvkit.service.summary import headline_ltv


def test_the_comparison_endpoint_chooses_a_pair_or_compares_the_one_asked(client: TestClient) -> None:
    found = client.get("/api/cohorts/compare", params={"lang": "ru"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["chosen"] == "recent_cohorts" and body["split"] is None
    assert body["how_chosen"].startswith("По умолчанию") and len(body["sentences"]) == 2
    asked = client.get("/api/cohorts/compare", params={"a": body["first"], "b": body["second"]}).json()
    with client.app.state.hub.reader() as ws:
        table, info = compare_groups(ws.table("orders"), body["first"], body["second"])
    assert asked["chosen"] == "given" and asked["how_chosen"] == ""
    assert asked["ltv_diff"] == pytest.approx(info["ltv_diff"]) and asked["age"] == info["age"]
    assert [row["retention_b"] for row in asked["by_age"]] == pytest.approx(
        list(table["retention_b"]), abs=1e-6
    )
    channels = client.get("/api/cohorts/compare", params={"by": "channel"}).json()
    assert channels["chosen"] == "largest_groups" and channels["sizes"][0] >= channels["sizes"][1]
    # groups the data does not have, or half a pair: not in the data (the schema cannot say what is)
    for params in ({"a": "2025-03"}, {"a": "1999-01", "b": "1999-02"}, {"a": "March", "b": "June"}):
        assert client.get("/api/cohorts/compare", params=params).status_code == 404
    assert client.get("/api/cohorts/compare", params={"by": "segment"}).status_code == 422


def test_the_headline_endpoint_is_the_service_s(client: TestClient) -> None:
    body = client.get("/api/ltv/headline", params={"margin": 0.4, "lang": "uk"}).json()
    with client.app.state.hub.reader() as ws:
        found = headline_ltv(ws, margin=0.4)
    assert (body["basis"], body["value"]) == (found.basis, pytest.approx(found.value))
    assert body["texts"]["title"] == "LTV для розрахунку CAC" and body["texts"]["grade"].startswith("Даних")


@pytest.fixture()
def agency(school: Path) -> Path:
    """The demo school with a retainer practice beside it."""
    with Workspace.open(school) as ws:
        import_contracts(ws, FIXTURES / "retainer_contracts.csv")
        import_book(ws, FIXTURES / "retainer_book.csv")
    return school


READY = {
    "overview": "() => document.querySelector('[data-headline]').hasAttribute('data-value')",
    "cohorts": "() => !!document.querySelector('#compare-table tr.verdict-age')",
    "retainers": "() => document.querySelectorAll('#book-tables table').length === 2",
}


SECTION = {"overview": "#headline", "cohorts": "#compare", "retainers": "main section"}


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_the_pages_show_them_in_russian_and_ukrainian(browser, agency: Path, lang: str) -> None:  # noqa: ANN001
    with LiveServer(agency) as server:
        for width in (1280, 390):
            for name, ready in READY.items():
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(f"{server.url}/{'' if name == 'overview' else name}?lang={lang}")
                page.wait_for_function(ready, timeout=120_000)
                assert untranslated(page) == [], (name, width)
                right = page.evaluate(
                    f"() => document.querySelector('{SECTION[name]}').getBoundingClientRect().right"
                )
                assert right <= width, (name, width)  # the section fits; its tables scroll inside it
                assert errors == [], name
                page.close()
