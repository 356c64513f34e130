"""A small load test on loopback: dashboard reads from several clients while an import runs, with no errors;
readers see the data before or after the import, never half of it."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from tests.web.conftest import LiveServer

from ltvkit.data import demo

READS = ["/api/summary", "/api/cohorts", "/api/channels", "/api/segments", "/api/pareto", "/api/imports"]
CLIENTS = 4
ROUNDS = 10  # 4 clients × 10 rounds × 6 pages = 240 requests


def test_reads_keep_answering_while_an_import_runs(
    school_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    path = Path(shutil.copy(school_files[2], tmp_path / "ltv.duckdb"))
    orders, _ = demo.generate(tmp_path / "more", seed=22, customers=6000)
    with LiveServer(path) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        before = http.get("/api/summary").json()["customers"]
        job = http.post("/api/imports", files={"file": ("more.csv", orders.read_bytes(), "text/csv")}).json()

        def reader(_: int) -> list[tuple[str, int, int | None]]:
            seen = []
            with httpx.Client(base_url=server.url, timeout=120) as own:
                for _round in range(ROUNDS):
                    for url in READS:
                        response = own.get(url)
                        customers = (
                            response.json().get("customers")
                            if url == "/api/summary" and response.is_success
                            else None
                        )
                        seen.append((url, response.status_code, customers))
            return seen

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [row for rows in pool.map(reader, range(CLIENTS)) for row in rows]
        while job["status"] in ("queued", "running"):
            time.sleep(0.1)
            job = http.get(f"/api/jobs/{job['id']}").json()
        after = http.get("/api/summary").json()["customers"]
    assert len(results) == CLIENTS * ROUNDS * len(READS)
    assert [r for r in results if r[1] != 200] == []
    assert job["status"] == "done" and after > before
    assert {c for url, _, c in results if c is not None} <= {
        before,
        after,
    }  # a snapshot, never half an import
