"""What an attacker tries against a dashboard on the loopback: a page on another site that writes to it
(cross-site POST), a site whose name is made to point at 127.0.0.1 to read it (DNS rebinding), framing and
sniffing (the security headers), and uploads made to break the server (.json/.jsonl, gzip)."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount
from tests.web.conftest import TEST_HOSTS, LiveServer

from ltvkit.web.app import CSP, SAFE_METHODS, bound_hosts, create_app

ORDERS = b"order_id,customer_id,date,amount\n1,a,2026-01-05,10\n2,b,2026-01-06,12\n"
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},  # a sandboxed iframe, a file:// page, a redirect from another site
    {"Referer": "http://evil.example/attack.html"},
    {"Origin": "http://testserver.evil.example"},
    {"Origin": "http://testserver:8080"},  # same name, another port: another origin
    {"Origin": "https://testserver"},  # same name, another scheme
    {"Origin": "http://evil.example@testserver"},  # not an origin at all
    {"Referer": "http://testserver@evil.example/"},
    {"Origin": "http://evil.example", "Referer": "http://testserver/data"},  # Origin decides
    {"Sec-Fetch-Site": "cross-site"},  # a browser that sent neither Origin nor Referer
]
FOREIGN_HOSTS = ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "evil.example:8765"]
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def ledger(client: TestClient) -> list[dict[str, Any]]:
    """The imports ledger, as the API shows it."""
    response = client.get("/api/imports")
    assert response.status_code == 200
    return response.json()


def data_version(client: TestClient) -> int:
    return client.get("/api/health").json()["data_version"]


def upload(client: TestClient, name: str, content: bytes, **kwargs: Any) -> httpx.Response:
    return client.post(
        "/api/imports?wait=true", files={"file": (name, content, "application/octet-stream")}, **kwargs
    )


def state_changing_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route that is not GET, HEAD or OPTIONS, path parameters filled; included
    routers are walked too (FastAPI keeps them as one entry of ``app.routes`` that holds the router)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path_format.replace("{", "").replace("}", "")  # {job_id} → job_id
            found += [(method, path) for method in sorted(route.methods - SAFE_METHODS)]
        elif hasattr(route, "original_router"):
            inner = prefix + getattr(getattr(route, "include_context", None), "prefix", "")
            found += state_changing_routes(route.original_router.routes, inner)
    return found


# --- cross-site writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", FOREIGN, ids=[" + ".join(f"{k}: {v}" for k, v in h.items()) for h in FOREIGN]
)
def test_a_cross_site_upload_is_refused_and_changes_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    before, version = ledger(client), data_version(client)
    response = upload(client, "orders.csv", ORDERS, headers=headers)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "forbidden" and set(body) == {"error", "message"}
    assert ledger(client) == before and data_version(client) == version


def test_every_state_changing_endpoint_refuses_a_foreign_origin(client: TestClient) -> None:
    routes = state_changing_routes(client.app.routes)
    assert {path for _, path in routes} >= {
        "/api/imports",
        "/api/fit",
        "/api/scenarios",
        "/api/tripwire",
        "/api/retainer/invoice",
    }
    version = data_version(client)
    for method, path in routes:
        for origin in ("http://evil.example", "null"):
            response = client.request(method, path, headers={"Origin": origin}, json={})
            assert response.status_code == 403, (method, path, origin, response.text)
            assert response.json()["error"] == "forbidden"
    # any other method on any path, routed or not, mounted files included
    for method in ("PUT", "DELETE", "PATCH"):
        for path in ("/api/imports", "/api/summary", "/static/dashboard.js", "/nowhere"):
            response = client.request(method, path, headers={"Origin": "http://evil.example"})
            assert response.status_code == 403, (method, path)
    assert any(isinstance(r, Mount) for r in client.app.routes)
    assert data_version(client) == version


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://testserver"}, {"Referer": "http://testserver/data"}, {}, {"Sec-Fetch-Site": "none"}],
    ids=["same-origin", "same-origin-referer", "no-browser", "typed-by-the-user"],
)
def test_same_origin_and_non_browser_writes_work(client: TestClient, headers: dict[str, str]) -> None:
    before = len(ledger(client))
    response = upload(client, "orders.csv", ORDERS, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["read"] == 2 and len(ledger(client)) == before + 1
    invoice = client.post(
        "/api/retainer/invoice",
        json={"fee": 1500, "currency": "USD", "start": "2026-11-13", "country": "UA"},
        headers=headers,
    )
    assert invoice.status_code == 200


def test_a_refused_request_is_refused_before_its_body_is_read(school: Path) -> None:
    app = create_app(school, allowed_hosts=TEST_HOSTS)
    received: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append({})
        return {"type": "http.request", "body": b"--x\r\n", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/imports",
        "raw_path": b"/api/imports",
        "query_string": b"wait=true",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"origin", b"http://evil.example"),
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", b"50000000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    # in a thread of its own: the browser tests' driver may hold this thread's event loop
    worker = threading.Thread(target=anyio.run, args=(app, scope, receive, send))
    try:
        worker.start()
        worker.join(timeout=60)
    finally:
        app.state.hub.close()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 403
    assert received == []


def test_cors_stays_closed(client: TestClient) -> None:
    preflight = client.options(
        "/api/imports",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    read = client.get("/api/summary", headers={"Origin": "http://evil.example"})
    for response in (preflight, read):
        assert not any(name.lower().startswith("access-control-") for name in response.headers)


# --- DNS rebinding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_a_foreign_host_is_refused_even_for_reads(client: TestClient, host: str) -> None:
    for path in ("/api/health", "/api/summary", "/", "/static/dashboard.js"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 403, (host, path)
        assert response.json()["error"] == "forbidden"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_default_hosts_are_the_loopback_names(school: Path) -> None:
    with TestClient(create_app(school), base_url="http://127.0.0.1:8765") as local:
        assert local.get("/api/health").status_code == 200
        for host in ("localhost:8765", "[::1]:8765", "127.0.0.1"):
            assert local.get("/api/health", headers={"Host": host}).status_code == 200, host
        for host in ("testserver", *FOREIGN_HOSTS, "127.0.0.1:8765, evil.example", "[::1]@evil.example"):
            assert local.get("/api/health", headers={"Host": host}).status_code == 403, host


def test_serve_allows_what_it_binds(school: Path) -> None:
    assert bound_hosts("127.0.0.1", 8765) == ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"]
    assert bound_hosts("0.0.0.0", 8765) == bound_hosts("::", 8765) == ["*"]
    assert bound_hosts("192.168.1.5", 9000) == ["192.168.1.5:9000"]
    with TestClient(
        create_app(school, allowed_hosts=bound_hosts("127.0.0.1", 8765)), base_url="http://127.0.0.1:8765"
    ) as local:
        assert local.get("/api/health").status_code == 200
        assert local.get("/api/health", headers={"Host": "localhost:8765"}).status_code == 200
        assert local.get("/api/health", headers={"Host": "127.0.0.1:9999"}).status_code == 403
        assert local.get("/api/health", headers={"Host": "evil.example:8765"}).status_code == 403
    with TestClient(
        create_app(school, token="s3cret", allowed_hosts=bound_hosts("0.0.0.0", 8765)),
        base_url="http://mybox.lan:8765",
    ) as anywhere:  # any name reaches it, and the token guards it
        assert anywhere.get("/api/health").status_code == 401
        assert anywhere.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        # a rebound name is same-origin with itself: only the token stops it
        same = anywhere.post("/api/fit?wait=true", headers={"Origin": "http://mybox.lan:8765"}, json={})
        assert same.status_code == 401
        assert (
            anywhere.post(
                "/api/imports",
                headers={"Origin": "http://evil.example", "Authorization": "Bearer s3cret"},
            ).status_code
            == 403
        )
    with TestClient(
        create_app(school, token="s3cret", allowed_hosts=TEST_HOSTS), base_url="http://evil.example"
    ) as guarded:  # the Host check comes before the token check: a rebinding page learns nothing
        assert guarded.get("/api/health").status_code == 403


# --- security headers ------------------------------------------------------------------------------------


def test_security_headers_on_pages_api_files_and_errors(client: TestClient) -> None:
    responses = {
        "page": client.get("/"),
        "data page": client.get("/data"),
        "api": client.get("/api/summary"),
        "file": client.get("/static/dashboard.css"),
        "not found": client.get("/api/nowhere"),
        "refused": client.post("/api/fit", headers={"Origin": "http://evil.example"}, json={}),
        "invalid": client.get("/api/cohorts?metric=nonsense"),
    }
    for what, response in responses.items():
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (what, name)
    assert responses["page"].headers["content-type"].startswith("text/html")
    docs = client.get("/docs")  # the app's own page of the OpenAPI schema: under the same strict policy
    assert docs.headers["content-security-policy"] == responses["page"].headers["content-security-policy"]
    assert "cdn.jsdelivr.net" not in docs.text and client.get("/redoc").status_code == 404
    assert responses["not found"].status_code == 404 and responses["not found"].json()["error"] == "http"


def test_security_headers_on_a_server_error(school: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ltvkit.service import descriptive

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(descriptive, "pareto", broken)
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS), raise_server_exceptions=False) as c:
        response = c.get("/api/pareto")
    assert response.status_code == 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_pages_need_no_inline_script(client: TestClient) -> None:
    """The policy allows scripts from the app only: a page may hold JSON data blocks, not inline code."""
    import re

    from ltvkit.web.app import PAGES

    for page in PAGES:
        html = client.get("/" if page == "overview" else f"/{page}").text
        for attributes, code in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in attributes or 'type="application/json"' in attributes, (page, code[:80])
        assert not re.search(r"\son[a-z]+\s*=", html), page
        assert "javascript:" not in html.lower(), page


# --- uploads made to break the server --------------------------------------------------------------------

DEEP = 100_000


def _json_orders(lines: bool) -> bytes:
    rows = [
        {"order_id": 1, "customer_id": "a", "date": "2026-01-05", "amount": 10},
        {"order_id": 2, "customer_id": "b", "date": "2026-01-06", "amount": 12},
    ]
    return ("\n".join(json.dumps(r) for r in rows) if lines else json.dumps(rows)).encode()


BAD_UPLOADS = [
    ("orders.json", b"[" * DEEP + b"]" * DEEP, 422, "orders.json"),
    ("orders.json", b"[" + b'{"a":' * 990 + b"1" + b"}" * 990 + b"]", 422, "orders.json"),
    ("orders.jsonl", b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"\n", 422, "orders.jsonl"),
    ("orders.jsonl", b'{"a": ' + b"[" * 990 + b"]" * 990 + b"}\n", 422, "orders.jsonl"),
    ("orders.ndjson", b"[" * DEEP, 422, "orders.ndjson"),
    ("orders.json", b"[1, 2", 422, "orders.json"),
    ("orders.json", b"[]", 422, "no rows"),
    ("orders.jsonl", bytes(range(256)) * 40, 422, "orders.jsonl"),
    ("orders.jsonl", b'{"a": "\\ud800"}\n', 422, "orders.jsonl"),
    ("orders.json.gz", gzip.compress(_json_orders(lines=False)), 415, "unsupported file type .gz"),
    ("orders.yaml", b"a: 1\n", 415, ".json"),  # says which types it takes
    ("orders.csv", gzip.compress(b"a,b\n1,2\n")[:12] + b"\xff\xff garbage", 422, "damaged gzip"),
    ("orders.csv", gzip.compress(gzip.compress(ORDERS)), 415, "gzip file inside a gzip file"),
    ("orders.csv", gzip.compress(b"0" * (3 << 20)), 413, "unpacks to more than"),
    ("orders.csv", gzip.compress(b"0" * (1 << 20)) * 3, 413, "unpacks to more than"),  # several members
]


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    BAD_UPLOADS,
    ids=[
        "deep-json",
        "deep-json-objects",
        "deep-jsonl",
        "deep-jsonl-lists",
        "unclosed-ndjson",
        "broken-json",
        "empty-json",
        "binary-jsonl",
        "lone-surrogate",
        "gz-name",
        "yaml",
        "damaged-gzip",
        "gzip-in-gzip",
        "gzip-bomb",
        "gzip-bomb-members",
    ],
)
def test_bad_uploads_answer_4xx_json(
    school: Path, name: str, content: bytes, status: int, message: str
) -> None:
    with TestClient(create_app(school, max_upload_mb=2, allowed_hosts=TEST_HOSTS)) as small:
        before, version = ledger(small), data_version(small)
        for wait in (True, False):
            response = small.post(
                f"/api/imports?wait={str(wait).lower()}",
                files={"file": (name, content, "application/octet-stream")},
            )
            body = response.json()
            if response.status_code == 202:  # the job fails with the same reason
                job = small.get(f"/api/jobs/{body['id']}").json()
                while job["status"] in ("queued", "running"):
                    job = small.get(f"/api/jobs/{body['id']}").json()
                assert job["status"] == "failed" and message in job["error"] and status == 422, job
                assert "internal error" not in job["error"]
                continue
            assert response.status_code == status, body
            assert {"error", "message"} <= set(body) <= {"error", "message", "messages"}, body
            assert (
                message in body["message"]
                and body.get("messages", {"en": body["message"]})["en"] == (body["message"])
            ), body  # a known error also in Russian and Ukrainian
        assert ledger(small) == before and data_version(small) == version


@pytest.mark.parametrize("name", ["orders.json", "orders.jsonl", "orders.ndjson"])
def test_json_uploads_are_read(client: TestClient, name: str) -> None:
    response = upload(client, name, _json_orders(lines=not name.endswith(".json")))
    assert response.status_code == 200, response.text
    assert response.json()["read"] == 2


def test_a_broken_multipart_body_answers_json(client: TestClient) -> None:
    for content_type in ("multipart/form-data; boundary=x", "multipart/form-data"):
        response = client.post(
            "/api/imports?wait=true", content=b"--x\r\nnot a part", headers={"content-type": content_type}
        )
        assert response.status_code == 400 and set(response.json()) == {"error", "message"}


# --- the same on a real server (a reset shows here, not in the test client) --------------------------------


def test_on_a_live_server(live_empty: LiveServer) -> None:
    base = live_empty.url
    with httpx.Client(base_url=base, timeout=120) as http:
        files = {"file": ("orders.jsonl", _json_orders(lines=True), "application/octet-stream")}
        refused = http.post("/api/imports?wait=true", files=files, headers={"Origin": "http://evil.example"})
        assert refused.status_code == 403 and http.get("/api/imports").json() == []
        rebound = http.get("/api/health", headers={"Host": f"evil.example:{live_empty.port}"})
        assert rebound.status_code == 403
        for name, content, status, _ in BAD_UPLOADS[:9]:
            response = http.post(
                "/api/imports?wait=true", files={"file": (name, content, "application/octet-stream")}
            )
            assert response.status_code == status and response.json()["error"], (name, response.text)
        same = http.post("/api/imports?wait=true", files=files, headers={"Origin": base})
        assert same.status_code == 200 and same.json()["loaded"] == 2
        assert http.get("/api/health").status_code == 200  # still up


# --- the attack in a real browser ------------------------------------------------------------------------

ATTACK = """<!DOCTYPE html><html><body>
<script>
const target = "TARGET";
function upload() {
  const form = new FormData();
  const rows = "order_id,customer_id,date,amount\\n9,mallory,2026-01-01,5\\n";
  form.append("file", new Blob([rows]), "orders.csv");
  return form;
}
fetch(target + "/api/imports?wait=true", {method: "POST", mode: "no-cors", body: upload()});
fetch(target + "/api/fit?wait=true", {method: "POST", mode: "no-cors",
  headers: {"Content-Type": "text/plain"}, body: JSON.stringify({model: "bgnbd"})});
</script>
<form id="form" method="post" enctype="multipart/form-data" action="TARGET/api/imports?wait=true"
  target="sink"><input type="file" name="file" id="file"></form>
<iframe name="sink"></iframe>
<script>
const files = new DataTransfer();
files.items.add(new File(["order_id,customer_id,date,amount\\n8,mallory,2026-01-01,5\\n"], "orders.csv"));
document.getElementById("file").files = files.files;
document.getElementById("form").submit();
</script>
<iframe sandbox="allow-scripts" srcdoc="<script>const f = new FormData();
  f.append('file', new Blob(['order_id,customer_id,date,amount\\n7,mallory,2026-01-01,5\\n']), 'orders.csv');
  fetch('TARGET/api/imports?wait=true', {method: 'POST', mode: 'no-cors', body: f});</script>"></iframe>
</body></html>"""


class AttackerSite:
    """A page on another origin (another port of the loopback) that writes to the dashboard at ``target``."""

    def __init__(self, target: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        page = ATTACK.replace("TARGET", target).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AttackerSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def recording(app: Any, seen: list[tuple[str, str, str | None, int]]) -> Any:
    """``app`` noting (method, path, Origin, status) of every HTTP request it answers."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        origin = dict(scope["headers"]).get(b"origin")

        async def noting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen.append((scope["method"], scope["path"], origin and origin.decode(), message["status"]))
            await send(message)

        return await app(scope, receive, noting)

    return asgi


def test_a_page_on_another_site_cannot_write_in_a_real_browser(browser, tmp_path: Path) -> None:  # noqa: ANN001
    import time

    seen: list[tuple[str, str, str | None, int]] = []
    live = LiveServer(tmp_path / "ltv.duckdb")
    live.server.config.app = recording(live.app, seen)  # loaded when the server starts
    with live, AttackerSite(live.url) as attacker:
        base = live.url
        before = httpx.get(f"{base}/api/imports", timeout=60).json()
        page = browser.new_page()
        page.goto(attacker.url)
        deadline = time.monotonic() + 30
        while len([s for s in seen if s[0] == "POST"]) < 4 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.close()
        writes = [s for s in seen if s[0] == "POST"]
        # a fetch and a form from the attacker's page, a fetch from its sandboxed frame (Origin: null)
        assert len(writes) == 4 and all(status == 403 for *_, status in writes), writes
        assert {origin for _, _, origin, _ in writes} == {attacker.url.rstrip("/"), "null"}, writes
        assert httpx.get(f"{base}/api/imports", timeout=60).json() == before

        # the dashboard's own page, under its own policy (no-referrer), writes: the browser sends its Origin
        page = browser.new_page()
        page.goto(f"{base}/data")
        status = page.evaluate(
            """async () => { const form = new FormData();
            const rows = "order_id,customer_id,date,amount\\n1,alice,2026-01-01,5\\n";
            form.append("file", new Blob([rows]), "o.csv");
            const r = await fetch("/api/imports?wait=true", {method: "POST", body: form});
            return r.status; }"""
        )
        page.close()
        assert status == 200 and seen[-1] == ("POST", "/api/imports", base, 200)
