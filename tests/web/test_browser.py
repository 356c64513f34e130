"""The dashboard in headless Chromium: upload the demo files through the Data page, open every page in each
language, and check that the charts render and the numbers shown are the API's."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import LiveServer
from tests.web.visible_text import untranslated

from ltvkit import formatting, i18n
from ltvkit.web.app import PAGES, dashboard_labels

CHARTS = {
    "overview": ["lorenz"],
    "actions": ["actions"],
    "cohorts": ["cohorts"],
    "channels": ["channels"],
    "value": ["alive"],
    "segments": ["segments"],
}


def settle(page) -> None:  # noqa: ANN001
    """Wait until the page has asked the API for everything and shown it (its status line is empty)."""
    page.wait_for_function(
        "() => document.getElementById('status').textContent === '' && "
        "Array.from(document.querySelectorAll('[data-chart]')).every(el => el.dataset.rendered)",
        timeout=90_000,
    )


def open_page(browser, origin: str, path: str):  # noqa: ANN001, ANN201
    """A page of the server at ``origin``, recording console errors and any request that leaves it."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith((origin + "/", "data:")) else None
    )
    page.goto(origin + path)
    return page, errors, outside


def test_upload_then_every_page_in_every_language(
    browser, live_empty: LiveServer, school_files: tuple[Path, Path, Path]
) -> None:  # noqa: ANN001
    base = live_empty.url
    page, errors, outside = open_page(browser, base, "/data")
    # predicates are functions: Playwright re-evaluates a bare expression with eval, which CSP refuses
    for file in school_files[:2]:
        page.set_input_files("input[type=file]", str(file))
        page.click("#upload-form button")
        page.wait_for_function(
            "() => document.getElementById('upload-result').hasAttribute('data-account')", timeout=60_000
        )
        account = json.loads(page.get_attribute("#upload-result", "data-account"))
        assert account["read"] == account["loaded"] + account["duplicates"] + account["rejected"]
        shown = page.locator("#upload-result").inner_text()  # a sentence, not a JSON dump
        assert "{" not in shown and f"{account['loaded']:,}" in shown
        page.evaluate("document.getElementById('upload-result').removeAttribute('data-account')")
    # the ledger refreshes after each import: wait for the second one's row
    # (a slow machine shows the first first)
    page.wait_for_function(
        "() => document.querySelectorAll('#imports-table tbody tr').length >= 2", timeout=60_000
    )
    assert page.locator("#imports-table tbody tr").count() == 2
    # the row account of each import, under human headers
    heads = page.locator("#imports-table th").all_inner_texts()
    assert [h for h in heads if h in ("Rows read", "Loaded", "Duplicates", "Rejected")] == [
        "Rows read",
        "Loaded",
        "Duplicates",
        "Rejected",
    ]
    page.close()
    assert errors == [] and outside == []

    api = httpx.get(f"{base}/api/summary", timeout=60).json()
    for lang in ("en", "ru", "uk"):
        labels = dashboard_labels(lang)
        for name in PAGES:
            page, errors, outside = open_page(
                browser, base, f"/{'' if name == 'overview' else name}?lang={lang}"
            )
            assert page.locator("h1").inner_text() == labels[f"nav_{name}"]
            for chart in CHARTS.get(name, []):
                page.wait_for_selector(f"[data-chart={chart}][data-rendered=true]", timeout=60_000)
                drawn = page.evaluate(
                    f"""() => {{ const el = document.querySelector('[data-chart={chart}]');
                    const c = echarts.getInstanceByDom(el); const canvas = el.querySelector('canvas');
                    return !!c && !!canvas && canvas.width > 0 && """
                    "c.getOption().series[0].data.length > 0; }"
                )
                assert drawn, (name, chart)
            if name == "overview":
                shown = {
                    el.get_attribute("data-kpi"): float(el.get_attribute("data-value"))
                    for el in page.locator("[data-kpi]").all()
                }
                assert shown["customers"] == api["customers"] and shown["orders"] == api["orders"]
                assert shown["ltv"] == pytest.approx(api["ltv"][0]["ltv_mean"]) and shown[
                    "repeat_rate"
                ] == pytest.approx(api["ltv"][0]["repeat_rate"])
                text = page.locator("[data-kpi=customers]").inner_text()
                assert text.replace("\u202f", " ").replace("\u00a0", " ") == (
                    f"{api['customers']:,}" if lang == "en" else f"{api['customers']:,}".replace(",", " ")
                )
            if name == "cohorts":  # values in the cells; month 0 (100%) grey, off the colour scale
                option = page.evaluate(
                    """() => { const el = document.querySelector('[data-chart=cohorts]');
                    const o = echarts.getInstanceByDom(el).getOption();
                    return [o.visualMap[0].max, o.series[0].label.show,
                    o.series[0].data.some(p => p[0] === 0), o.series[1].data.every(p => p[0] === 0)]; }"""
                )
                assert option[0] < 1 and option[1] and not option[2] and option[3]
            if name == "actions":  # the levers in the API's order, each list a download of its segment
                page.wait_for_selector("#levers li")
                levers = httpx.get(f"{base}/api/actions", timeout=60).json()["levers"]
                shown = page.eval_on_selector_all("#levers li", "ls => ls.map(l => l.dataset.lever)")
                assert shown == [lever["lever"] for lever in levers]
                links = page.eval_on_selector_all("#levers a.download", "as => as.map(a => a.href)")
                assert len(links) == sum(len(lever["targets"]) for lever in levers) > 0
                assert httpx.get(links[0], timeout=60).status_code == 200
            if name == "segments":
                page.wait_for_selector("#segment-table table")
                rows = httpx.get(f"{base}/api/segments", timeout=60).json()
                cells = page.locator("#segment-table td[data-col=customers]").all()
                assert [float(c.get_attribute("data-value")) for c in cells] == [r["customers"] for r in rows]
            if name == "scenarios":
                page.wait_for_selector("#scenario-table table", timeout=60_000)
                assert page.locator("#scenario-table tbody tr").count() == 2
            if name == "retainers":
                page.fill("input[name=start]", "2026-11-13")
                page.click("#invoice-form button")
                page.wait_for_selector("[data-first-invoice]")
                assert page.get_attribute("[data-first-invoice]", "data-first-invoice") == "857.14"
            if lang != "en":
                settle(page)
                assert untranslated(page) == [], (name, lang)
            page.close()
            assert errors == [] and outside == [], (name, lang, errors, outside)


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_channels_over_their_max_cac_are_flagged(browser, school: Path, lang: str) -> None:  # noqa: ANN001
    with LiveServer(school) as server:
        rows = httpx.get(f"{server.url}/api/cac", timeout=60).json()
        over = [r["channel"] for r in rows if r["cac"] > r["max_cac"]]
        page, errors, _ = open_page(browser, server.url, f"/channels?lang={lang}")
        settle(page)
        page.wait_for_selector("#cac-table table")
        assert over, "the demo school has channels above their max CAC"
        flagged = page.locator("#cac-table tr.over td[data-col=channel]").all_inner_texts()
        assert flagged == over
        color = page.eval_on_selector(
            "#cac-table tr.over [data-verdict=over]", "e => getComputedStyle(e).color"
        )
        assert color == "rgb(180, 35, 24)"  # the verdict in red, and in words:
        first = next(r for r in rows if r["cac"] > r["max_cac"])
        verdict = page.locator("#cac-table tr.over [data-verdict=over]").first.inner_text()
        assert formatting.money(first["cac"] - first["max_cac"], "RUB", lang) in verdict
        assert formatting.money(first["max_cac"], "RUB", lang) in verdict
        assert page.get_attribute("#cac-verdict", "data-over") == str(len(over))
        ratios = page.locator("#cac-table td[data-col=ltv_to_cac]").all_inner_texts()
        assert ratios == [formatting.ratio(r["ltv_to_cac"], lang) for r in rows]  # 2.47, never "2"
        firsts = [r for r in rows if r["payback_months"] == 0]
        assert page.locator("#cac-table td[data-col=payback_months]").all_inner_texts().count(
            i18n.text("payback_first_month", lang)
        ) == len(firsts)
        page.close()
        assert errors == []


def test_segment_downloads_sit_inside_their_card(browser, school: Path) -> None:  # noqa: ANN001
    with LiveServer(school) as server:
        for lang in ("ru", "uk"):
            page, errors, _ = open_page(browser, server.url, f"/segments?lang={lang}")
            page.wait_for_selector("#segment-table a.download")
            card = page.locator("#segment-table").bounding_box()
            for link in page.locator("#segment-table a.download").all():
                box = link.bounding_box()
                assert (
                    box["x"] + box["width"] <= card["x"] + card["width"] and box["x"] + box["width"] <= 1280
                )
            page.close()
            assert errors == []


def test_the_page_formats_numbers_as_ltvkit_formatting_does(browser, school: Path) -> None:  # noqa: ANN001
    # exact halves too (0.145, 2.675, 1234.5): both round half to even on the shortest decimal
    values = [
        0,
        7,
        0.145,
        2.675,
        12.5,
        1234.5,
        1234.5678,
        -6293.4,
        26730,
        999_999,
        1_000_000,
        515_812_345,
        2.5e9,
    ]
    with LiveServer(school) as server:
        for lang in ("en", "ru", "uk"):
            page, _, _ = open_page(browser, server.url, f"/data?lang={lang}")
            shown = page.evaluate(
                """values => {
                const f = window.ltvFormatter(JSON.parse(document.getElementById('format').textContent));
                return values.map(v => [f.number(v), f.number(v, 2), f.percent(v / 1e4), f.ratio(v / 1e3),
                    f.money(v, 'RUB'), f.money(v, 'USD', 2), f.money(v, 'CAD'), f.moneyShort(v, 'UAH'),
                    f.month('2026-05-01'), f.date('2026-12-04')]); }""",
                values,
            )
            may, day = dt.date(2026, 5, 1), dt.date(2026, 12, 4)
            expected = [
                [
                    formatting.number(v, lang),
                    formatting.number(v, lang, digits=2),
                    formatting.percent(v / 1e4, lang),
                    formatting.ratio(v / 1e3, lang),
                    formatting.money(v, "RUB", lang),
                    formatting.money(v, "USD", lang, digits=2),
                    formatting.money(v, "CAD", lang),
                    formatting.money_short(v, "UAH", lang),
                    formatting.month(may, lang),
                    formatting.day(day, lang),
                ]
                for v in values
            ]
            assert shown == expected, lang
            page.close()


def test_api_docs_render_with_the_network_off(browser, school: Path) -> None:  # noqa: ANN001
    with LiveServer(school) as server:
        context = browser.new_context()
        outside: list[str] = []

        def only_local(route) -> None:  # noqa: ANN001
            if route.request.url.startswith(server.url + "/"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        page.goto(server.url + "/docs")
        page.wait_for_selector("body[data-docs-rendered]", timeout=30_000)
        assert page.locator("[data-operation='get /api/summary']").count() == 1
        assert page.locator("[data-operation='post /api/imports']").count() == 1
        assert outside == []
        context.close()


def test_a_second_currency_gets_a_switch_on_every_page(browser, school: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """One order in USD beside the school's roubles: the header offers RUB (the main currency, first) and USD;
    choosing USD shows the dollar customer's figures on the analysis pages, in the page's language."""
    from ltvkit.data.workspace import Workspace

    extra = tmp_path / "usd.csv"
    extra.write_text(
        "order_id,customer_id,email,ordered_at,amount,currency,status,product\n"
        "usd-1,usd-buyer,usd@example.com,2025-06-01,120.00,USD,paid,Course\n",
        encoding="utf-8",
    )
    with Workspace.open(school) as ws:
        ws.import_file(extra)
    with LiveServer(school) as server:
        page, errors, _ = open_page(browser, server.url, "/cohorts?lang=ru")
        settle(page)
        page.wait_for_function("() => !document.querySelector('label.currency').hidden", timeout=30_000)
        options = page.eval_on_selector_all("#currency-switch option", "os => os.map(o => o.value)")
        assert options == ["RUB", "USD"]
        page.select_option("#currency-switch", "USD")
        page.wait_for_url("**currency=USD**")
        settle(page)
        assert page.eval_on_selector("#currency-switch", "s => s.value") == "USD"
        for name in ("overview", "channels", "segments"):
            page.goto(f"{server.url}/{'' if name == 'overview' else name}?lang=ru&currency=USD")
            settle(page)
            assert page.text_content("#status") == "", name
        assert "$" in page.text_content("main")  # the dollar customer's figures, with the dollar sign
        # the channels page asks for CAC, which needs spend; there is none in dollars (404, shown as no CAC)
        assert [e for e in errors if "status of 404" not in e] == []
