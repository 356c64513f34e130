"""`ltv serve` as the user starts it: the command's own process, answering requests that collect notes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ltvkit.data import demo
from ltvkit.data.workspace import Workspace

SERVE = "import sys; from ltvkit.cli import main; sys.argv[0] = 'ltv'; main()"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, timeout: float) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.status, json.loads(answer.read())


def test_served_requests_collect_their_notes_while_the_command_runs(tmp_path: Path) -> None:
    """The command's notes are not collected around the server: the process-wide lock that collecting
    takes would be held for as long as the server runs, and every request that collects its own notes
    (predicted values, the headline LTV) would wait for it forever."""
    orders, spend = demo.generate(tmp_path, seed=5, customers=300)
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(orders)
        ws.import_file(spend)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "-w", str(tmp_path / "ltv.duckdb"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/api/imports", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        status, body = _get(f"{base}/api/channels/predicted?lang=ru", timeout=180)
        assert status == 200 and body["rows"] and "notes" in body
        status, body = _get(f"{base}/api/ltv/headline", timeout=180)
        assert status == 200 and body["value"] > 0 and body["basis"]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            server.kill()
    assert server.returncode is not None
