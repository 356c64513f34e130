"""The dashboard in headless Chromium: upload the demo files through the Data page, open every page in each
language, and check that the charts render and the numbers shown are the API's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.web.conftest import LiveServer

from ltvkit.web.app import PAGES, dashboard_labels

CHARTS = {
    "overview": ["lorenz"],
    "cohorts": ["cohorts"],
    "channels": ["channels"],
    "value": ["alive"],
    "segments": ["segments"],
}


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
            "() => document.getElementById('upload-result').textContent.includes('\"loaded\"')",
            timeout=60_000,
        )
        account = page.evaluate("JSON.parse(document.getElementById('upload-result').textContent)")
        assert account["read"] == account["loaded"] + account["duplicates"] + account["rejected"]
        page.evaluate("document.getElementById('upload-result').textContent = ''")
    # the ledger refreshes after each import: wait for the second one's row
    # (a slow machine shows the first first)
    page.wait_for_function(
        "() => document.querySelectorAll('#imports-table tbody tr').length >= 2", timeout=60_000
    )
    assert page.locator("#imports-table tbody tr").count() == 2
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
            page.close()
            assert errors == [] and outside == [], (name, lang, errors, outside)
