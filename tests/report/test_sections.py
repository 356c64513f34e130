"""The report's own sections, composed by the service: the LTV to use for CAC (the models' or the formula's,
by the data's grade), the default comparison of two groups, and the client book of retainer clients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from tests.web.visible_text import untranslated
from typer.testing import CliRunner

from conftest import FIXTURES
from ltvkit import i18n
from ltvkit.cli import app
from ltvkit.data import demo
from ltvkit.data.workspace import Workspace
from ltvkit.report.build import render
from ltvkit.service.analysis import Analysis
from ltvkit.service.comparison import compare, compare_groups, default_pair
from ltvkit.service.descriptive import predicted_ltv
from ltvkit.service.report import report_data
from ltvkit.service.retainer import import_book, import_contracts
from ltvkit.service.summary import headline_ltv
from ltvkit.service.valuation import group_ltv

# customers by cohort (first purchase on the 10th) and the channel they came by; the data ends 2025-12-31,
# so the cohorts of January to June are observed for 6 months or more, July for 5, … December for 0
COHORTS = {
    "2025-01": (5, "ads"),
    "2025-02": (9, "ads"),
    "2025-03": (4, "ads"),
    "2025-04": (8, "ads"),
    "2025-05": (3, "ads"),
    "2025-06": (7, "ads"),
    "2025-07": (20, "organic"),
    "2025-08": (30, "organic"),
    "2025-09": (2, "organic"),
    "2025-10": (2, "organic"),
    "2025-11": (2, "organic"),
    "2025-12": (1, "organic"),
}


def _school(folder: Path, cohorts: dict[str, tuple[int, str]]) -> Path:
    """Orders of these cohorts: each customer buys on the 10th of the cohort's month and, every other one,
    again a month later (until the end of the data); a closing order on 2025-12-31."""
    rows = []
    for month, (size, channel) in cohorts.items():
        start = pd.Timestamp(f"{month}-10")
        for i in range(size):
            rows.append((f"{month}-{i}", start, 100.0, channel))
            later = start + pd.DateOffset(months=1)
            if i % 2 == 0 and later <= pd.Timestamp("2025-12-31"):
                rows.append((f"{month}-{i}", later, 50.0, channel))
    rows.append(("2025-12-0", pd.Timestamp("2025-12-31"), 10.0, "organic"))
    frame = pd.DataFrame(rows, columns=["customer", "date", "amount", "channel"])
    frame.insert(0, "order id", range(1, len(frame) + 1))
    frame["status"] = "paid"
    path = folder / "orders.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def school(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ltv.duckdb")
    ws.import_file(_school(tmp_path, COHORTS), currency="USD")
    yield ws
    ws.close()


def test_the_default_pair_is_the_two_largest_recent_cohorts_observed_six_months(school: Workspace) -> None:
    # January to June are old enough; of them February (9) and April (8) are the largest, the older first
    assert default_pair(Analysis(school)) == ("2025-02", "2025-04", "recent_cohorts", 6)
    found = compare(school)
    assert found is not None and (found.first, found.second, found.split) == ("2025-02", "2025-04", None)
    assert found.sizes == (9, 8)
    table, info = compare_groups(school.table("orders"), "2025-02", "2025-04")
    pd.testing.assert_frame_equal(found.table, table)
    assert info["age"] == found.info["age"] == 8  # April is observed to its 8th month
    said = found.how_chosen("ru")
    assert i18n.month(dt.date(2025, 2, 1), "ru") in said and "клиентов: 9" in said


def test_without_two_old_cohorts_the_two_largest_channels_are_compared(tmp_path: Path) -> None:
    young = {month: COHORTS[month] for month in ("2025-09", "2025-10", "2025-11", "2025-12")}
    young["2025-10"] = (2, "ads")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(_school(tmp_path, young), currency="USD")
        # three months needed when six are not there: September alone has them
        assert default_pair(Analysis(ws)) == ("organic", "ads", "largest_groups", 0)
        found = compare(ws)
        assert (
            found is not None and found.split == "channel" and found.sizes == (5, 2)
        )  # September, November and December: 2 + 2 + 1


def test_two_channels_are_judged_where_half_of_each_is_still_watched(school: Workspace) -> None:
    # organic: 57 customers at month 0; at month 4 July and August's 50 are watched, at month 5 July's 20
    # (fewer than half): the verdict is at month 4, though the table goes on to month 5
    table, info = compare_groups(school.table("orders"), "ads", "organic", split="channel")
    assert table["age"].iloc[-1] == 5 and list(table["customers_b"].iloc[[0, 4, 5]]) == [57, 50, 20]
    assert info["age"] == 4
    assert info["ltv_diff"] == pytest.approx(table.loc[table["age"] == 4, "ltv_diff"].iloc[0])


def test_thin_data_use_the_formula_with_its_caveat(school: Workspace) -> None:
    found = headline_ltv(school, margin=0.5)
    expected = Analysis(school).ltv().expected
    assert (found.basis, found.why, found.grade.grade) == ("formula", "thin", "thin")
    assert (found.value, found.low, found.high) == pytest.approx(
        (expected.value * 0.5, expected.low * 0.5, expected.high * 0.5)
    )
    assert found.max_cac == pytest.approx(found.value / 3)
    said = found.texts("ru")
    assert said["title"] == "LTV для расчёта CAC" and "Каплан" in said["why"] and "Оговорка" in said["why"]
    assert "при марже 50" in said["terms"] and said["grade"] == "Данных для моделей: слишком мало"


@pytest.fixture(scope="module")
def small_school(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("small-school")
    ws = Workspace.open(folder / "ltv.duckdb")
    for path in demo.generate(folder, seed=5, customers=400):
        ws.import_file(path)
    yield ws
    ws.close()


def test_enough_data_use_the_models_twelve_months_from_one_fit(small_school: Workspace) -> None:
    found = headline_ltv(small_school, margin=0.3)
    assert found.grade.models_usable and (found.basis, found.horizon_months) == ("model", 12)
    alone, _ = group_ltv(small_school.table("orders"), by=None, margin=0.3)
    assert found.value == pytest.approx(alone.loc[0, "ltv"] * 0.3, rel=1e-9)
    # the interval's 200 parameter draws are used group by group, so everyone valued beside the channels
    # and everyone valued alone differ by Monte-Carlo error only (a few percent at the 5% and 95% points)
    assert (found.low, found.high) == pytest.approx(
        tuple(alone.loc[0, ["ltv_low", "ltv_high"]] * 0.3), rel=0.06
    )
    # the report takes it from the fit it makes for the channels: the same figure, no second fit
    channels = predicted_ltv(small_school, margin=0.3, overall=True)
    assert channels.overall is not None and channels.overall["ltv"] == pytest.approx(alone.loc[0, "ltv"])
    weights = channels.table["customers"] / channels.table["customers"].sum()
    assert channels.overall["ltv"] == pytest.approx(float(weights @ channels.table["ltv"]))
    data = report_data(small_school, margin=0.3)
    assert data["headline"]["value"] == pytest.approx(found.value, rel=1e-6)
    assert data["headline"]["texts"]["uk"]["title"] == "LTV для розрахунку CAC"
    assert report_data(small_school, margin=0.3, predictions=False)["headline"]["why"] == "off"


@pytest.fixture()
def agency(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ltv.duckdb")
    ws.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
    ws.import_file(FIXTURES / "analytics_spend.csv")
    import_contracts(ws, FIXTURES / "retainer_contracts.csv")
    import_book(ws, FIXTURES / "retainer_book.csv")
    yield ws
    ws.close()


def test_the_report_shows_the_client_book_when_there_are_clients(agency: Workspace, tmp_path: Path) -> None:
    data = report_data(agency, predictions=False, as_of=dt.date(2026, 3, 31))
    book = data["retainers"]
    assert (book["clients"], book["active"]) == (4, 3)
    html = render(data, "ru")
    assert 'data-section="retainers"' in html and "Клиенты на абонементе" in html
    # March in USD: MRR 2 000 (A and D), B's 2 200 churned, NRR 2 000 / 4 200
    assert (
        i18n.month(dt.date(2026, 3, 1), "ru") in html
        and "2\xa0200\xa0$" in html
        and i18n.percent(2000 / 4200, "ru") in html
    )
    assert "доходят до 3 мес.: 67\xa0%" in html
    with Workspace.open(tmp_path / "orders-only.duckdb") as ws:
        ws.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
        alone = report_data(ws, predictions=False)
        assert alone["retainers"] is None and 'data-section="retainers"' not in render(alone, "ru")


def test_a_workspace_of_retainers_alone_gets_the_client_book_as_its_report(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        import_contracts(ws, FIXTURES / "retainer_contracts.csv")
        import_book(ws, FIXTURES / "retainer_book.csv")
        data = report_data(ws, as_of=dt.date(2026, 3, 31))
    assert data["summary"] is None and (data["retainers"]["clients"], data["retainers"]["active"]) == (4, 3)
    html = render(data, "uk", today=dt.date(2026, 3, 31))
    assert "<h1>Звіт про клієнтів на абонементі</h1>" in html
    assert f"Договори й платежі на {i18n.day(dt.date(2026, 3, 31), 'uk')}" in html
    assert 'data-section="retainers"' in html and "2\xa0200\xa0$" in html and "<script" not in html
    code = CliRunner().invoke(
        app, ["--lang", "ru", "report", "-w", str(tmp_path / "ltv.duckdb"), "--out", str(tmp_path / "r.html")]
    )
    assert code.exit_code == 0, code.output
    assert "Отчёт по клиентам на абонементе" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_the_sections_read_in_russian_and_ukrainian(
    agency: Workspace, browser, lang: str, tmp_path: Path
) -> None:  # noqa: ANN001
    data = report_data(agency, predictions=False, as_of=dt.date(2026, 3, 31))
    path = tmp_path / f"{lang}.html"
    path.write_text(render(data, lang), encoding="utf-8")
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        for section in ("headline", "comparison", "retainers"):
            assert page.locator(f"[data-section={section}]").is_visible(), section
        assert untranslated(page) == []
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # tables scroll inside
        page.close()
