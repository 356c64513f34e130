"""The report with hostile names in the data: every name is text in the file and in the browser, the chart
data cannot leave its script element, and the Content-Security-Policy lets the report's own scripts (and
nothing else) run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hostile import HTML_SINKS, INJECTED, MARKUP, PAYLOADS, WATCH_CSP, channels, write_orders, write_spend
from ltvkit.data.workspace import Workspace
from ltvkit.report.build import render
from ltvkit.report.security import inline_script, json_script, script_hash
from ltvkit.service.report import build_report, report_data
from ltvkit.whatif.scenarios import Scenario

LANGS = ["en", "ru", "uk"]


class Page(HTMLParser):
    """What a browser's parser would make of an HTML text: tags, attribute names, scripts, table cells and
    meta elements."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.scripts: list[tuple[str | None, str]] = []  # (type, text)
        self.cells: list[str] = []
        self.metas: list[dict[str, str | None]] = []
        self._open: str | None = None
        self._type: str | None = None
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.update(name for name, _ in attrs)
        if tag == "meta":
            self.metas.append(dict(attrs))
        if tag in ("script", "td"):
            self._open, self._type, self._text = tag, dict(attrs).get("type"), []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open == "script":
            self.scripts.append((self._type, "".join(self._text)))
        elif tag == self._open == "td":
            self.cells.append("".join(self._text))
        self._open = None if tag == self._open else self._open


SCENARIOS = [Scenario(f"{payload} scenario", aov_change=0.1) for payload in PAYLOADS]


@pytest.fixture(scope="module")
def hostile_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A shop whose customers, channels, products and campaigns are named by payloads."""
    folder = tmp_path_factory.mktemp("hostile")
    with Workspace.open(folder / "ltv.duckdb") as ws:
        ws.import_file(write_orders(folder / "orders.csv"), currency="USD")
        ws.import_file(write_spend(folder / "spend.csv"))
        yield ws


@pytest.fixture(scope="module")
def hostile_data(hostile_shop: Workspace) -> dict[str, Any]:
    """The report's figures for the hostile shop, with what-if scenarios named by payloads too."""
    return report_data(hostile_shop, scenarios=SCENARIOS)


def test_names_reach_the_data_as_they_were(hostile_data: dict[str, Any]) -> None:
    assert set(hostile_data["channel_curves"]["series"]) == set(channels())
    assert {row["channel"] for row in hostile_data["cac"]} == set(channels())
    assert {row["first_product"] for row in hostile_data["products"]} == {f"{p} product" for p in PAYLOADS}


@pytest.mark.parametrize("lang", LANGS)
def test_no_payload_reaches_the_html_raw(hostile_data: dict[str, Any], lang: str) -> None:
    html = render(hostile_data, lang)
    for payload in MARKUP:
        assert payload not in html
    page = Page(html)
    assert "img" not in page.tags and "svg" not in page.tags
    assert not [name for name in page.attributes if name.startswith("on")]
    # the names are table cells as text, {{7*7}} not evaluated
    for payload in PAYLOADS:
        assert f"{payload} product" in page.cells and f"{payload} scenario" in page.cells
        assert f"{payload} channel" in page.cells
    assert "49 product" not in page.cells
    # the chart library, ltvkit's number formats, the data, the report's code
    assert [kind for kind, _ in page.scripts] == [None, None, "application/json", None]
    assert not [text for _, text in page.scripts if re.search("[\u2028\u2029]", text)]
    data_text = page.scripts[2][1]
    assert not re.search("[<>&\u2028\u2029]", data_text)
    data = json.loads(data_text)
    assert set(data["channel_curves"]["series"]) == set(channels())


@pytest.mark.parametrize("lang", LANGS)
def test_policy_allows_only_the_inline_scripts_by_hash(hostile_data: dict[str, Any], lang: str) -> None:
    html = render(hostile_data, lang)
    page = Page(html)
    metas = [m for m in page.metas if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1 and html.index("Content-Security-Policy") < html.index("<script")
    policy = dict(d.strip().split(" ", 1) for d in (metas[0]["content"] or "").split(";"))
    code = [text for kind, text in page.scripts if kind is None]
    assert len(code) == 3 and policy.pop("script-src").split() == [script_hash(text) for text in code]
    assert policy == {
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_report_script_sets_no_string_as_markup() -> None:
    source = resources.files("ltvkit.report").joinpath("static/report.js").read_text(encoding="utf-8")
    assert not HTML_SINKS.search(source)


def test_json_script_escapes_what_could_end_the_element() -> None:
    value = {"name": "</script><!--<script>&\u2028\u2029", "n": [1, None]}
    text = str(json_script(value))
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == value
    with pytest.raises(ValueError):
        json_script(float("nan"))


def test_inline_script_refuses_what_would_end_it() -> None:
    assert str(inline_script("var a = 1 < 2;")) == "var a = 1 < 2;"
    for bad in ("x = '</script>'", "x = '</SCRIPT '", "<!-- x", "a\rb", "a\x00b"):
        with pytest.raises(ValueError):
            inline_script(bad)


def open_report(browser, path: Path):  # noqa: ANN001, ANN201
    """The report at ``path`` in a new page, recording dialogs, console errors, page errors, requests that
    leave the file and Content-Security-Policy violations (window.__csp)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "requests": []}
    page.add_init_script(WATCH_CSP)
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on(
        "request",
        lambda r: seen["requests"].append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto(path.as_uri())
    return page, seen


SHOW_TIP = """name => {
    const el = document.querySelector(`[data-chart=${name}]`);
    echarts.getInstanceByDom(el).dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: 1 });
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_report_in_chromium(hostile_shop: Workspace, browser, lang: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = build_report(hostile_shop, tmp_path / f"report_{lang}.html", lang=lang, scenarios=SCENARIOS)
    page, seen = open_report(browser, path)
    page.wait_for_function("() => document.body.dataset.chartsRendered !== undefined", timeout=15_000)
    assert page.evaluate("document.body.dataset.chartsRendered") == "6"
    # tooltips: the channel names in them (echarts' own markup) and a heatmap's (built here) are text
    for chart in ("cac", "channel_curves", "retention", "ltv", "cohort_curves"):
        page.evaluate(SHOW_TIP, chart)
    for chart in ("cac", "channel_curves"):
        page.wait_for_function(
            "([name, names]) => names.some(n => document.querySelector(`[data-chart=${name}]`)"
            ".textContent.includes(n))",
            arg=[chart, channels()],
            timeout=5_000,
        )
    cells = page.locator("td").all_text_contents()
    assert all(f"{p} product" in cells and f"{p} scenario" in cells for p in PAYLOADS)
    page.wait_for_timeout(200)
    assert page.evaluate(INJECTED) == 0
    assert page.evaluate("window.__csp") == []
    assert seen == {"dialogs": [], "errors": [], "requests": []}
    page.close()


def test_policy_blocks_a_script_that_is_not_the_reports(
    hostile_data: dict[str, Any], browser, tmp_path: Path
) -> None:  # noqa: ANN001
    """Were a name ever to get through as markup, the browser would still not run it."""
    injected = (
        "<script>document.title = 'pwned'</script>"
        "<img src=x onerror=\"document.title = 'pwned'\">"
        "<div onclick=\"document.title = 'pwned'\" id=bait></div>"
    )
    path = tmp_path / "tampered.html"
    path.write_text(render(hostile_data, "en").replace("</main>", injected + "</main>"), encoding="utf-8")
    page, seen = open_report(browser, path)
    page.wait_for_function("() => document.body.dataset.chartsRendered !== undefined", timeout=15_000)
    page.dispatch_event("#bait", "click")
    page.wait_for_timeout(200)
    assert page.title() != "pwned"
    violated = " ".join(page.evaluate("window.__csp"))
    assert "script-src" in violated and "img-src" in violated
    assert page.evaluate("document.body.dataset.chartsRendered") == "6"  # the report's own scripts still run
    page.close()
