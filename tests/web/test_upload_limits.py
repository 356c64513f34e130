"""The upload limit holds while the body streams in: an oversize upload is refused before it is stored."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import LiveServer

LIMIT_MB = 2
CHUNK = 64 << 10


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("limit") / "ltv.duckdb", max_upload_mb=LIMIT_MB) as server:
        yield server


def _request_head(server: LiveServer, extra: str) -> bytes:
    return (
        f"POST /api/imports HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n" + extra + "\r\n"
    ).encode()


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def test_a_declared_oversize_body_is_refused_before_it_is_sent(small_limit: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", small_limit.port)) as sock:
        sock.sendall(_request_head(small_limit, f"Content-Length: {300 << 20}\r\n"))
        started = time.monotonic()
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5
    assert b"content-security-policy" in answer.lower()


def test_a_streamed_oversize_body_is_refused_while_it_streams(small_limit: LiveServer) -> None:
    """A chunked body (no length given) of up to 300 MB: the 413 comes once the limit is passed, so the
    client has sent a few MB at most (the limit, the multipart allowance and the socket buffers)."""
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="orders.csv"\r\n\r\n'
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", small_limit.port)) as sock:
        sock.sendall(_request_head(small_limit, "Transfer-Encoding: chunked\r\n"))
        chunk = body + b"x" * (CHUNK - len(body))
        try:
            while sent < 300 << 20:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                chunk = b"1,a,2026-01-01,10\n" * (CHUNK // 18)
                if select.select([sock], [], [], 0)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 8 * (LIMIT_MB << 20), f"{sent / (1 << 20):.1f} MB sent before the refusal"


def test_an_upload_within_the_limit_imports(small_limit: LiveServer, tmp_path: Path) -> None:
    import httpx

    file = tmp_path / "orders.csv"
    file.write_text("order id,customer,date,amount,currency\n1,a,2026-01-05,10,USD\n", encoding="utf-8")
    with file.open("rb") as data:
        answer = httpx.post(
            f"{small_limit.url}/api/imports?wait=true", files={"file": ("orders.csv", data)}, timeout=300
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["loaded"] == 1


def test_a_streamed_oversize_body_reaches_the_app_only_up_to_the_limit() -> None:
    """What the application can store of a chunked 300 MB body against a 2 MB limit: at most the limit and
    the multipart allowance (3 MB, under twice the limit), then a 413 and no more of the body is read."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from ltvkit.web.app import UPLOAD_OVERHEAD, BodyLimit

    limit = (LIMIT_MB << 20) + UPLOAD_OVERHEAD
    piece = b"1,a,2026-01-01,10\n" * 3641  # 64 KB a message, as a server hands a body on
    sent: list[int] = []
    stored: list[int] = []
    answered: list[int] = []

    async def receive() -> dict:
        sent.append(len(piece))
        return {"type": "http.request", "body": piece, "more_body": sum(sent) < 300 << 20}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    async def store(scope: dict, receive: Any, send: Any) -> None:  # an upload written as it arrives
        while (message := await receive())["type"] == "http.request":
            stored.append(len(message["body"]))
            if not message.get("more_body"):
                break

    scope = {"type": "http", "method": "POST", "path": "/api/imports", "headers": [], "query_string": b""}
    with ThreadPoolExecutor(1) as own_thread:  # a loop of its own: the browser tests may run one here
        own_thread.submit(asyncio.run, BodyLimit(store, limit)(scope, receive, send)).result()
    assert answered == [413]
    assert sum(stored) <= limit < 2 * (LIMIT_MB << 20)
    assert sum(sent) <= limit + len(piece)  # nothing read past the refusal
