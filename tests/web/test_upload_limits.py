"""The upload limit holds while the body streams in: an oversize upload is refused before it is stored."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

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
