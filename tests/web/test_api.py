"""The JSON API: every endpoint against the core's own numbers, uploads good and bad, the token, errors."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import TEST_HOSTS

from ltvkit.analytics.channels import quality_by
from ltvkit.analytics.historical import ltv_summary
from ltvkit.analytics.segments import segment, segment_summary
from ltvkit.web.app import create_app


def state(client: TestClient) -> tuple[int, int, int, int]:
    """The workspace as the app sees it (this process holds it open, so through the app's own connection)."""
    with client.app.state.hub.reader() as ws:
        return ws.data_version(), ws.count("orders"), ws.count("spend"), ws.count("rejected")


def test_analytics_endpoints_give_the_core_numbers(client: TestClient) -> None:
    summary = client.get("/api/summary").json()
    channels = client.get("/api/channels").json()
    rfm = client.get("/api/segments?scheme=rfm").json()
    with client.app.state.hub.reader() as ws:
        core = ltv_summary(ws.table("orders"))
        by_channel = quality_by(ws.table("orders"), "channel")
        sizes = segment_summary(segment(ws.table("orders"), "rfm"))
    assert summary["customers"] == core.customers and summary["ltv"][0]["ltv_mean"] == pytest.approx(
        core.ltv_mean
    )
    assert [row["channel"] for row in channels] == by_channel["channel"].tolist()
    assert [row["customers"] for row in rfm] == sizes["customers"].tolist() and sum(
        r["customers"] for r in rfm
    ) == core.customers
    cohorts = client.get("/api/cohorts?metric=retention").json()
    assert all(row[0] == 1.0 for row in cohorts["values"])  # every cohort is all there in its first month
    split = client.get("/api/cohorts", params={"split": "channel", "value": "organic"}).json()
    assert split["value"] == "organic" and "organic" in split["split_values"]
    cac = client.get("/api/cac?target=3").json()
    assert all(row["max_cac"] == pytest.approx(row["gross_profit_ltv"] / 3) for row in cac)
    pareto = client.get("/api/pareto").json()
    assert 0 < pareto["gini"] < 1 and pareto["table"][0]["top_share"] == 0.01


def test_models_scenarios_and_retainers(client: TestClient) -> None:
    fitted = client.post("/api/fit?wait=true", json={"model": "bgnbd"}).json()
    assert fitted["model"] == "bgnbd" and fitted["customers"] > 1500
    job = client.post("/api/fit", json={"model": "paretonbd"}).json()
    for _ in range(200):
        job = client.get(f"/api/jobs/{job['id']}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done" and job["result"]["model"] == "paretonbd"
    value = client.get("/api/predictions?horizon=6&intervals=false&top=5").json()
    assert sum(value["alive_histogram"]["counts"]) == value["customers"] and len(value["top"]) == 5
    scenarios = client.post(
        "/api/scenarios", json={"scenarios": [{"name": "upsell", "aov_change": 0.4}]}
    ).json()
    upsell = scenarios["rows"][1]
    assert upsell["formula_ltv_change"] == pytest.approx(0.4) and upsell["model_ltv_change"] == pytest.approx(
        0.4
    )
    invoice = client.post(
        "/api/retainer/invoice", json={"fee": 1500, "currency": "USD", "start": "2026-11-13", "country": "UA"}
    ).json()
    # November 2026 in Ukraine: 21 working days, 12 of them from the 13th → 1500 × 12 / 21
    assert (
        invoice["first_invoice"]["remaining_working_days"] == 12
        and invoice["first_invoice"]["amount"] == 857.14
    )
    csv = client.get("/api/segments/export", params={"scheme": "rfm", "segment": "champions"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbfcustomer_id")


def test_upload_gives_the_row_account_and_repeats_change_nothing(
    client: TestClient, school_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    orders = school_files[0]
    with TestClient(create_app(tmp_path / "new.duckdb", allowed_hosts=TEST_HOSTS)) as fresh:
        assert fresh.get("/api/summary").status_code == 409
        first = fresh.post(
            "/api/imports?wait=true", files={"file": ("orders.csv", orders.read_bytes(), "text/csv")}
        ).json()
        assert (
            first["read"] == first["loaded"] + first["duplicates"] + first["rejected"]
            and first["loaded"] > 5000
        )
        assert first["file"] == "orders.csv"
        job = fresh.post(
            "/api/imports", files={"file": ("orders.csv", orders.read_bytes(), "text/csv")}
        ).json()
        while job["status"] in ("queued", "running"):
            time.sleep(0.05)
            job = fresh.get(f"/api/jobs/{job['id']}").json()
        assert job["status"] == "done" and job["result"]["loaded"] == 0 and job["stage"] == "done"
        rejected = fresh.get(
            f"/api/rejected?import_id={job['result']['import_id']}"
        ).json()  # kept once per file
        assert len(rejected) == first["rejected"] and all(row["reason"] for row in rejected)
        ledger = fresh.get("/api/imports").json()
        assert [row["file_name"] for row in ledger] == [
            "orders.csv",
            "orders.csv",
        ] and "file_path" not in ledger[0]


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("orders.exe", b"MZ\x90\x00", 415, "unsupported file type"),
        ("orders.csv", b"", 400, "empty"),
        ("orders.csv", bytes(range(256)) * 40, 422, ""),
        ("orders.xlsx", b"PK\x03\x04 not really a workbook", 422, "orders.xlsx"),
        ("orders.csv", b"colour;size\nred;3\nblue;4\n", 422, "orders.csv"),
        ("orders.parquet", b"PAR1garbagePAR1", 422, "orders.parquet"),
        (
            "../../../etc/orders.csv",
            b'order,customer,date,amount\n1,a,"2026-01-01,5\n2,b,2026-01-02,7\n',
            422,
            "orders.csv, row 2: malformed CSV",
        ),
    ],
    ids=[
        "wrong-type",
        "empty",
        "garbage-bytes",
        "fake-xlsx",
        "unknown-columns",
        "fake-parquet",
        "malformed-csv",
    ],
)
def test_bad_uploads_answer_4xx_and_change_nothing(
    client: TestClient, name: str, content: bytes, status: int, message: str
) -> None:
    before = state(client)
    response = client.post(
        "/api/imports?wait=true", files={"file": (name, content, "application/octet-stream")}
    )
    body = response.json()
    assert response.status_code == status, body
    assert (
        {"error", "message"} <= set(body) <= {"error", "message", "messages", "columns", "found", "missing"}
    )
    assert message in body["message"]
    assert (
        "Traceback" not in body["message"]
        and "ltv-upload-" not in body["message"]
        and "/tmp" not in body["message"]
    )
    assert state(client) == before


def test_oversize_upload_is_refused(school: Path) -> None:
    with TestClient(create_app(school, max_upload_mb=1, allowed_hosts=TEST_HOSTS)) as small:
        before = state(small)
        response = small.post(
            "/api/imports?wait=true", files={"file": ("big.csv", b"a,b\n" + b"1,2\n" * 400_000, "text/csv")}
        )
        assert response.status_code == 413 and "1 MB" in response.json()["message"]
        assert state(small) == before


def test_token_is_required_on_every_request_when_set(school: Path) -> None:
    with TestClient(create_app(school, token="s3cret", allowed_hosts=TEST_HOSTS)) as guarded:
        assert guarded.get("/api/health").status_code == 401
        assert guarded.get("/").status_code == 401
        assert guarded.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert guarded.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert guarded.get("/?token=s3cret").status_code == 200  # and the page sets the cookie
        assert guarded.get("/api/summary").status_code == 200


def test_errors_are_json_without_stack_traces(school: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ltvkit.service import descriptive

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(descriptive, "pareto", broken)
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS), raise_server_exceptions=False) as c:
        response = c.get("/api/pareto")
        assert response.status_code == 500 and response.json() == {
            "error": "internal",
            "message": "internal error; the server log has the details",
        }
        assert c.get("/api/cohorts?metric=nonsense").json()["error"] == "validation"
        assert (
            c.get("/api/cohorts", params={"split": "channel", "value": "carrier pigeon"}).status_code == 404
        )
        assert c.get("/api/jobs/nope").status_code == 404


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_pages_render_in_each_language(client: TestClient, lang: str) -> None:
    from ltvkit.web.app import PAGES, dashboard_labels

    labels = dashboard_labels(lang)
    for page in PAGES:
        html = client.get("/" if page == "overview" else f"/{page}", params={"lang": lang}).text
        assert f'<html lang="{lang}">' in html and escape(labels[f"nav_{page}"]) in html
        assert "http://" not in html and "https://" not in html  # nothing from elsewhere: it works offline
    assert client.get("/static/report/echarts.min.js").status_code == 200


def test_a_second_currency_and_rows_without_one_break_no_page(school: Path, tmp_path: Path) -> None:
    """One order in USD and one that names no currency (kept apart as XXX) beside the school's roubles: every
    page's endpoint answers in the main currency (RUB, the largest by revenue) and names the others; the
    switch (``currency=USD``) answers for the dollar customer."""
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "order_id,customer_id,email,ordered_at,amount,currency,status,product\n"
        "usd-1,usd-buyer,usd@example.com,2025-06-01,120.00,USD,paid,Course\n"
        "none-1,no-code,nc@example.com,2025-06-02,300,,paid,Course\n",
        encoding="utf-8",
    )
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS)) as c:
        account = c.post("/api/imports?wait=true", files={"file": ("extra.csv", extra.read_bytes())}).json()
        assert (account["loaded"], account["rejected"]) == (2, 0)
        summary = c.get("/api/summary").json()
        assert {row["currency"] for row in summary["by_currency"]} == {"RUB", "USD", "XXX"}
        cohorts = c.get("/api/cohorts").json()
        assert cohorts["currency"] == "RUB" and set(cohorts["other_currencies"]) == {"USD", "XXX"}
        assert c.get("/api/pareto").json()["currency"] == "RUB"
        for path in ("/api/channels", "/api/cac", "/api/segments", "/api/segments?scheme=lifecycle"):
            assert c.get(path).status_code == 200, path
        fitted = c.post("/api/fit?wait=true", json={"model": "bgnbd"}).json()
        assert fitted["currency"] == "RUB"
        predictions = c.get("/api/predictions?intervals=false&top=1").json()
        assert predictions["currency"] == "RUB"
        plans = c.post("/api/scenarios", json={"scenarios": [{"aov_change": 0.1}]}).json()
        assert plans["currency"] == "RUB"
        dollars = c.get("/api/cohorts?metric=customers&currency=USD").json()
        assert dollars["currency"] == "USD" and dollars["cohorts"] == ["2025-06-01"]
        assert dollars["values"][0][0] == 1 and sum(dollars["values"][0]) == 1  # one customer, one order
        assert c.get("/api/pareto?currency=USD").json()["table"][0]["revenue"] == 120.0


def test_the_command_line_works_beside_an_idle_dashboard(school: Path) -> None:
    """The server holds the workspace file only while it answers: between requests, ``ltv summary`` and even
    ``ltv import`` run on the same workspace, and the dashboard then shows what the import added."""
    import subprocess
    import sys

    import httpx
    from tests.conftest import FIXTURES
    from tests.web.conftest import LiveServer

    def ltv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "ltv"), *args, "-w", str(school)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    with LiveServer(school) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        before = http.get("/api/summary").json()["customers"]
        summary = ltv("summary", "--json")
        assert summary.returncode == 0, summary.stderr
        imported = ltv("import", str(FIXTURES / "generic_en.tsv"), "--json")
        assert imported.returncode == 0, imported.stderr
        assert http.get("/api/summary").json()["customers"] > before


def test_an_upload_job_tells_every_stage_of_the_import(tmp_path: Path) -> None:
    """The stages read in the worker process (read, map, values, rules, account) reach the job as the
    import's own (:data:`ltvkit.data.workspace.STAGES`), in order, then the write and the end; each has a
    label."""
    from ltvkit import i18n
    from ltvkit.data.workspace import STAGES
    from ltvkit.io.normalize import ImportOptions
    from ltvkit.web.state import Hub

    orders = tmp_path / "orders.csv"
    orders.write_text("order id,customer,date,amount,currency\n1,a,2026-01-05,10,USD\n", encoding="utf-8")
    hub = Hub(tmp_path / "ltv.duckdb")
    seen: list[tuple[str, int, int]] = []
    try:
        hub.import_file(orders, ImportOptions(), progress=lambda *stage: seen.append(stage))
    finally:
        hub.close()
    stages = [stage for stage, _, _ in seen if stage != "refresh"]
    assert list(dict.fromkeys(stages)) == list(STAGES)
    account = STAGES.index("account")
    assert [(done, total) for stage, done, total in seen if stage == "account"] == [
        (account, len(STAGES) - 1)
    ]
    assert all(i18n.text(f"progress_{stage}", "uk") for stage in STAGES)  # the dashboard's labels
