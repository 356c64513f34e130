"""What to do first through every edge: the API, the dashboard page, the report and the command line give the
service's levers, in its order, in the reader's language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import TEST_HOSTS
from typer.testing import CliRunner

from conftest import FIXTURES
from ltvkit import formatting, i18n
from ltvkit.cli import app as cli_app
from ltvkit.data.workspace import Workspace
from ltvkit.report.build import render
from ltvkit.service.actions import actions
from ltvkit.service.report import report_data
from ltvkit.web.app import create_app

ORDER = ["budget", "upsell", "retention", "frequency", "win_back"]  # tests/whatif/test_actions.py by hand


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("actions-web") / "ltv.duckdb"
    with Workspace.open(path) as ws:
        ws.import_file(FIXTURES / "actions_orders.csv")
        ws.import_file(FIXTURES / "actions_spend.csv")
    return path


@pytest.fixture(scope="module")
def client(school: Path) -> Iterator[TestClient]:
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS)) as c:
        yield c


def test_the_api_gives_the_levers_in_the_asked_language(client: TestClient) -> None:
    ru = client.get("/api/actions?lang=ru").json()
    assert [lever["lever"] for lever in ru["levers"]] == ORDER
    assert ru["levers"][0]["money"] == pytest.approx(840) and ru["levers"][0]["money_text"] == "840\u00a0₽"
    assert ru["levers"][0]["title"] == i18n.text("lever_budget", "ru")
    assert ru["money_head"] == i18n.text("actions_money_revenue", "ru", months=12)
    win_back = ru["levers"][-1]
    assert [(t["segment"], t["label"], t["customers"]) for t in win_back["targets"]] == [
        ("at risk", i18n.text("segment_at risk", "ru"), 1),
        ("hibernating", i18n.text("segment_hibernating", "ru"), 1),
        ("lost", i18n.text("segment_lost", "ru"), 2),
    ]
    # each list the lever acts on is the segment export's
    export = client.get("/api/segments/export", params={"scheme": ru["scheme"], "segment": "lost"})
    assert export.status_code == 200 and export.text.count("example.com") == 2
    # over six months: nobody came and nothing was spent since June, so only the win-back applies
    en = client.get("/api/actions?horizon=6").json()
    assert en["horizon_months"] == 6 and [lever["applies"] for lever in en["levers"]] == [True] + [False] * 4
    assert {lever["lever"]: lever["why"] for lever in en["levers"]} == {
        "win_back": None,
        "upsell": "no_new",
        "frequency": "no_new",
        "retention": "no_new",
        "budget": "no_recent_spend",
    }
    assert client.get("/api/actions?lang=xx").status_code == 422
    assert client.get("/api/actions?horizon=0").status_code == 422


def test_the_page_is_in_the_navigation_in_every_language(client: TestClient) -> None:
    for lang in ("en", "ru", "uk"):
        html = client.get(f"/actions?lang={lang}").text
        assert f"<h1>{i18n.text('nav_actions', lang)}</h1>" in html
        assert 'data-nav="actions"' in html and 'data-chart="actions"' in html


def test_the_report_has_the_section_with_the_levers_in_order(school: Path) -> None:
    with Workspace.open(school, read_only=True) as ws:
        data = report_data(ws, predictions=False)
    for lang in ("en", "ru", "uk"):
        html = render(data, lang)
        section = html[html.index('<section id="actions">') :]
        section = section[: section.index("</section>")]
        assert re.findall(r'data-lever="(\w+)"', section) == ORDER
        assert formatting.money(840, "RUB", lang) in section
        assert i18n.text("actions_sure_low", lang) in section
        assert '<span class="target" data-user>ads</span>' in section  # a channel name, marked as data


def test_the_assumptions_are_parameters_of_the_api_and_the_command_line(
    client: TestClient, school: Path
) -> None:
    """+20% to the check doubles the upsell of tests/whatif/test_actions.py (5 × 1,190 × 10% = 595); half the
    at-risk back adds 40% × 600 = 240 to the win-back (123 by default); the page has the form."""
    default = {v["lever"]: v["money"] for v in client.get("/api/actions").json()["levers"]}
    asked = client.get("/api/actions", params={"aov_change": 0.2, "at_risk": 0.5}).json()
    money = {v["lever"]: v["money"] for v in asked["levers"]}
    assert money["upsell"] == pytest.approx(2 * default["upsell"]) == pytest.approx(1190)
    assert money["win_back"] - default["win_back"] == pytest.approx(240)
    assert asked["assumptions"]["aov_change"] == 0.2 and asked["assumptions"]["hibernating"] == 0.05
    for bad in ({"aov_change": 0}, {"churn_cut": 1}, {"lost": 1.5}):
        assert client.get("/api/actions", params=bad).status_code == 422
    result = CliRunner().invoke(
        cli_app, ["actions", "-w", str(school), "--aov-change", "0.2", "--at-risk", "0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert {v["lever"]: v["money"] for v in json.loads(result.stdout)["levers"]} == pytest.approx(money)
    bad = CliRunner().invoke(cli_app, ["--lang", "ru", "actions", "-w", str(school), "--churn-cut", "1"])
    assert (
        bad.exit_code == 1
        and "churn_cut — доля в пределах (0, 1)" in bad.stderr
        and "--churn-cut" in bad.stderr
    )
    for lang in ("en", "ru", "uk"):
        html = client.get(f"/actions?lang={lang}").text
        assert 'id="actions-form"' in html and i18n.text("actions_field_aov_change", lang) in html


def test_the_command_line_ranks_and_points_at_the_lists(school: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["--lang", "uk", "actions", "-w", str(school), "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    with Workspace.open(school, read_only=True) as ws:
        expected = actions(ws).to_dict("uk")
    assert [lever["lever"] for lever in view["levers"]] == ORDER
    assert [lever["money"] for lever in view["levers"]] == pytest.approx(
        [v["money"] for v in expected["levers"]]
    )
    shown = runner.invoke(cli_app, ["--lang", "ru", "actions", "-w", str(school)], terminal_width=200)
    assert shown.exit_code == 0 and i18n.text("actions_sure_low", "ru") in shown.stdout
    assert 'ltv segments --segment "at risk" --out at_risk.csv' in shown.stdout
    out = tmp_path / "at_risk.csv"
    listed = runner.invoke(
        cli_app, ["segments", "-w", str(school), "--segment", "at risk", "--out", str(out)]
    )
    assert listed.exit_code == 0, listed.output
    assert "b1@example.com" in out.read_text(encoding="utf-8-sig")
    missing = runner.invoke(cli_app, ["segments", "-w", str(school), "--segment", "champs"])
    assert missing.exit_code == 1 and "champions" in missing.output


def test_the_page_form_changes_an_assumption(browser, school: Path) -> None:  # noqa: ANN001
    """The form shows the default assumptions as percentages, with labels in the page's language; +20% to the
    check doubles the upsell lever's money (595 → 1,190), and nothing on the page is left in English."""
    from tests.web.conftest import LiveServer
    from tests.web.test_browser import open_page, settle
    from tests.web.visible_text import untranslated

    with LiveServer(school) as server:
        page, errors, outside = open_page(browser, server.url, "/actions?lang=uk")
        settle(page)
        upsell = "[data-lever=upsell]"
        assert (
            page.input_value("input[name=aov_change]") == "10" and page.input_value("input[name=lost]") == "2"
        )
        assert float(page.get_attribute(upsell, "data-money")) == pytest.approx(595)
        assert untranslated(page) == []
        page.fill("input[name=aov_change]", "20")
        page.click("#actions-form button[type=submit]")
        page.wait_for_function(f"() => document.querySelector('{upsell}').dataset.money === '1190'")
        assert i18n.text("actions_field_aov_change", "uk") in page.inner_text("#actions-form")
        assert errors == [] and outside == []
        page.close()
