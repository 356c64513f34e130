"""The dashboard with hostile names imported through its API: every page, in every language, under the
Content-Security-Policy the server is to send, shows them as text (no dialog, no injected element, no console
error, no policy violation)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from tests.web.conftest import LiveServer

from hostile import (
    HTML_SINKS,
    INJECTED,
    PAYLOADS,
    WATCH_CSP,
    append_rejects,
    channels,
    write_orders,
    write_spend,
)
from ltvkit.web.app import PAGES

# the dashboard's policy (sent by the app; set here too, unless the app already sends one, so that the pages
# are checked under it either way)
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
UPLOAD_NAME = "<img src=x onerror=alert(9)>.csv"


def with_policy(server: LiveServer) -> LiveServer:
    """``server`` with a middleware adding :data:`POLICY` to responses that carry no policy of their own."""

    @server.app.middleware("http")
    async def policy(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    return server


def upload(base: str, path: Path, filename: str, **form: str) -> dict[str, Any]:
    """Import ``path`` through POST /api/imports (as ``filename``) and wait for the job's account."""
    with path.open("rb") as file:
        answer = httpx.post(
            f"{base}/api/imports", files={"file": (filename, file, "text/csv")}, data=form, timeout=60
        )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = httpx.get(f"{base}/api/jobs/{job['id']}", timeout=60).json()
    assert job["status"] == "done", job
    return job["result"]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running server whose workspace holds the hostile shop (and some rejected hostile rows)."""
    folder = tmp_path_factory.mktemp("hostile-web")
    orders = append_rejects(write_orders(folder / "orders.csv"))
    spend = write_spend(folder / "spend.csv")
    with with_policy(LiveServer(folder / "ltv.duckdb")) as server:
        account = upload(server.url, orders, UPLOAD_NAME, kind="orders", currency="USD")
        assert account["rejected"] == len(PAYLOADS) and account["loaded"] > 0, account
        upload(server.url, spend, "spend.csv", kind="spend")
        yield server


# what each page has shown once it has loaded its data
READY = {
    "overview": "[data-chart=lorenz][data-rendered=true]",
    "actions": "#levers li",
    "cohorts": "[data-chart=cohorts][data-rendered=true]",
    "channels": "#cac-table table",
    "value": "#top-table table",
    "segments": "#segment-table table",
    "scenarios": "#scenario-table table",
    "retainers": "#invoice-form",
    "data": "#rejected-table table",
}
SHOW_TIP = """name => {
    const el = document.querySelector(`[data-chart=${name}]`);
    echarts.getInstanceByDom(el).dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: 1 });
    return el.textContent;
}"""


def open_page(browser, url: str):  # noqa: ANN001, ANN201
    """The page at ``url``, recording dialogs, console and page errors and policy violations."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list[str]] = {"dialogs": [], "errors": []}
    page.add_init_script(WATCH_CSP)
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    return page, seen


def check_names(page, name: str) -> None:  # noqa: ANN001
    """The hostile names on page ``name`` are there as text, in tables, menus and tooltips."""
    texts = page.locator("td").all_text_contents()
    if name == "channels":
        assert set(channels()) <= set(texts)
        page.wait_for_function(
            "names => { const el = document.querySelector('[data-chart=channels]');"
            "echarts.getInstanceByDom(el).dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: 1 });"
            "return names.some(n => el.textContent.includes(n)); }",
            arg=channels(),
            timeout=5_000,
        )
    if name == "cohorts":
        page.select_option("select[name=split]", "channel")
        page.wait_for_function("() => document.querySelectorAll('select[name=value] option').length > 1")
        options = page.locator("select[name=value] option").all_text_contents()
        assert set(options) == set(channels())
        page.evaluate(SHOW_TIP, "cohorts")
    if name == "value":
        customers = page.locator("#top-table td[data-col=customer_id]").all_text_contents()
        assert customers and all(any(c.startswith(p) for p in PAYLOADS) for c in customers), customers
    if name == "data":
        assert set(PAYLOADS) <= set(texts)  # the rejected values, as they were in the file
        assert any(t.startswith("_img src_x onerror_alert_9__") for t in texts), texts  # the upload's name
    if name == "retainers":
        page.fill("input[name=start]", "2026-11-13")
        page.click("#invoice-form button")
        page.wait_for_selector("[data-first-invoice]")


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_every_page_shows_hostile_names_as_text(browser, hostile_server: LiveServer, lang: str) -> None:  # noqa: ANN001
    for name in PAGES:
        page, seen = open_page(
            browser, f"{hostile_server.url}/{'' if name == 'overview' else name}?lang={lang}"
        )
        page.wait_for_selector(READY[name], timeout=60_000)
        check_names(page, name)
        page.wait_for_timeout(100)
        problems = {**seen, "injected": page.evaluate(INJECTED), "csp": page.evaluate("window.__csp")}
        assert problems == {"dialogs": [], "errors": [], "injected": 0, "csp": []}, (name, lang)
        page.close()


def test_pages_have_no_inline_code_and_the_script_no_html_sinks() -> None:
    """What script-src 'self' would refuse is not in the templates (scripts are files, or JSON data), and
    dashboard.js sets no string as markup."""
    web = resources.files("ltvkit.web")
    for template in (web / "templates").iterdir():
        text = template.read_text(encoding="utf-8")
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S | re.I):
            assert (
                re.search(r'\ssrc="/static/', attributes)
                and not body.strip()
                or re.search(r'\stype="application/json"', attributes)
            ), (template.name, attributes)
        assert not re.search(r"<[^>]*\son\w+\s*=", text, re.I), template.name
        assert "javascript:" not in text.lower(), template.name
    assert not HTML_SINKS.search((web / "static" / "dashboard.js").read_text(encoding="utf-8"))
