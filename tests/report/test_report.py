"""The HTML report: self-contained, in three languages, and rendering in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.web.visible_text import untranslated

from conftest import FIXTURES
from ltvkit import i18n
from ltvkit.analytics.historical import ltv_summary
from ltvkit.data.workspace import Workspace
from ltvkit.report.build import render
from ltvkit.service.report import build_report, report_data


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.open(tmp_path_factory.mktemp("shop") / "ltv.duckdb")
    ws.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
    ws.import_file(FIXTURES / "analytics_spend.csv")
    return ws


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_report_is_self_contained_and_localised(shop: Workspace, lang: str, tmp_path: Path) -> None:
    path = build_report(shop, tmp_path / "report.html", lang=lang)
    html = path.read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html
    markup = re.sub(
        r"(<script[^>]*>).*?</script>", r"\1</script>", html, flags=re.S
    )  # the inlined code aside
    assert markup.count("<script") == 4  # the chart library, the formatter, the data and the drawing code
    assert not re.search(
        r"<(script|link|img|iframe)[^>]+(src|href)=", markup
    )  # nothing loaded from elsewhere
    summary = ltv_summary(shop.table("orders"))
    assert i18n.money(summary.ltv_mean, "USD", lang) in html  # 262.5 → "$263" / "263 $"
    assert i18n.text("title", lang) in html and i18n.text("retention_heatmap", lang) in html


def test_localised_number_formats() -> None:
    assert i18n.money(1234.56, "RUB", "ru", digits=2) == "1\u00a0234,56\u00a0₽"
    assert i18n.money(1234.56, "USD", "en", digits=2) == "$1,234.56"
    assert i18n.money(2500, "UAH", "uk") == "2\u00a0500\u00a0₴"
    assert i18n.percent(0.125, "en") == "12.5%"
    assert i18n.money_short(515_830_570, "RUB", "ru") == "515,8\u00a0млн\u00a0₽"


def test_report_without_spend_says_so(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        ws.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
        html = render(report_data(ws), "en")
    assert i18n.text("no_spend", "en") in html


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_charts_render_in_chromium_offline(shop: Workspace, browser, lang: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = build_report(shop, tmp_path / f"report_{lang}.html", lang=lang)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_function("() => document.body.dataset.chartsRendered !== undefined", timeout=15_000)
    assert page.evaluate("document.body.dataset.chartsRendered") == "6"
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
            const chart = echarts.getInstanceByDom(el);
            const canvas = el.querySelector('canvas');
            return [el.dataset.chart, !!chart, !!canvas && canvas.width > 0, """
        """chart ? chart.getOption().series.length : 0];
        })"""
    )
    assert all(has_chart and has_canvas and series > 0 for _, has_chart, has_canvas, series in drawn), drawn
    assert errors == [] and requests == []
    tiles = page.locator(".tile .value").all_inner_texts()
    summary = ltv_summary(shop.table("orders"))
    assert i18n.money(summary.ltv_mean, "USD", lang) in tiles
    page.close()


def test_report_with_scenarios(shop: Workspace) -> None:
    from ltvkit.whatif.scenarios import Scenario

    data = report_data(shop, scenarios=[Scenario("upsell", aov_change=0.4)])
    assert [row["scenario"] for row in data["scenarios"]] == ["baseline", "upsell"]
    upsell = data["scenarios"][1]
    assert upsell["formula_ltv_change"] == pytest.approx(0.4) and upsell["model_ltv_change"] == pytest.approx(
        0.4
    )
    html = render(data, "ru")
    assert i18n.text("scenarios", "ru") in html and i18n.percent(0.4, "ru") in html
    # four customers cannot pin drop-out down, wherever the optimiser stops (tests/models/test_identification)
    assert any("how quickly customers stop buying" in note for note in data["model_notes"])
    assert i18n.text("model_note", "ru") in html


@pytest.mark.parametrize(
    "rows",
    [
        ["1,a,2026-01-05,10,USD"],  # one purchase
        ["1,a,2026-01-05,10,USD", "2,b,2026-01-05,20,USD", "3,a,2026-01-05 18:00,5,USD"],  # all on one day
    ],
    ids=["one purchase", "one day"],
)
def test_degenerate_orders_still_give_a_report(rows: list[str], browser, tmp_path: Path) -> None:  # noqa: ANN001
    orders = tmp_path / "orders.csv"
    orders.write_text("order id,customer,date,amount,currency\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        ws.import_file(orders)
        path = build_report(ws, tmp_path / "report.html", lang="ru")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("() => document.body.dataset.chartsRendered !== undefined", timeout=15_000)
    assert errors == []
    page.close()


def test_ratios_and_payback_read_as_people_say_them() -> None:
    from ltvkit import formatting
    from ltvkit.report.build import _payback

    assert formatting.ratio(2.69, "ru") == "2,69" and formatting.ratio(3, "en") == "3.00"  # never "3"
    assert _payback(0, "ru") == "в первый же месяц" and _payback(None, "uk") == "ще ні"
    assert formatting.percent(0.26, "ru") == "26,0\u00a0%" and formatting.percent(0.204, "uk") == "20,4%"
    assert formatting.money(6293, "RUB", "uk") == "6\u00a0293\u00a0₽"  # not "6 293 RUB", CLDR's Ukrainian
    assert (
        formatting.money(6293, "RUB", "en") == "₽6,293" and formatting.money(5, "CAD", "en") == "5\u00a0CAD"
    )
    assert formatting.money(-300, "USD", "en") == "-$300"
    assert formatting.money_short(26_730, "RUB", "ru") == "26\u00a0730\u00a0₽"
    assert " " not in formatting.money_short(515_830_570, "RUB", "uk")  # no breakable space anywhere


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_report_on_a_phone_is_translated_and_flags_channels(
    shop: Workspace, browser, lang: str, tmp_path: Path
) -> None:  # noqa: ANN001
    path = build_report(shop, tmp_path / f"report_{lang}.html", lang=lang)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(path.as_uri())
    page.wait_for_function("() => document.body.dataset.chartsRendered !== undefined", timeout=15_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert untranslated(page) == []
    data = report_data(shop)
    over = [r for r in data["cac"] if r["cac"] > r["max_cac"]]
    assert page.locator("tr.over").count() == len(over)
    assert page.locator("tr.over td.flag.bad").count() == len(over)
    # a legend names only the series drawn, and a series of one point shows it
    legends = page.evaluate(
        """() => ['cohort_curves', 'channel_curves'].map(name => {
            const o = echarts.getInstanceByDom(document.querySelector(`[data-chart=${name}]`)).getOption();
            return [o.legend[0].data, o.series.map(s => [s.name, s.data.filter(v => v != null).length,
                                                         s.showSymbol])];
        })"""
    )
    for names, series in legends:
        assert names == [name for name, _, _ in series]
        assert all(points > 0 and show == (points == 1) for _, points, show in series)
    page.close()
