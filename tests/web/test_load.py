"""A small load test on loopback: dashboard reads from several clients while an import runs, with no errors;
readers see the data before or after the import, never half of it."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
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


def test_during_an_import_readers_get_the_figures_of_before_it_until_they_are_refreshed(
    tmp_path: Path,
) -> None:
    """The import's job computes the cached figures again on the new data (once: a reader meanwhile is
    answered from the figure of before the import, never by computing it itself), then readers see the new
    one; the file is read in the worker process, and its errors come back whole."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.errors import LimitExceededError
    from ltvkit.io.limits import MAX_FIELD_CHARS
    from ltvkit.io.normalize import ImportOptions
    from ltvkit.web.state import Hub

    header = "order id,customer,date,amount,currency\n"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "1,a,2026-01-05,10,USD\n2,b,2026-01-06,20,USD\n", encoding="utf-8")
    second.write_text(header + "3,c,2026-01-07,30,USD\n", encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(first)
    hub = Hub(tmp_path / "ltv.duckdb")
    computed: list[int] = []

    def orders(ws: Workspace) -> int:
        computed.append(ws.count("orders"))
        return computed[-1]

    seen_meanwhile: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage in ("write", "refresh"):
            seen_meanwhile.append(hub.cached(("orders",), orders))

    try:
        assert hub.cached(("orders",), orders) == 2
        account = hub.import_file(second, ImportOptions(), progress=progress)
        assert account.loaded == 1
        assert seen_meanwhile == [2, 2]  # at the write, and before the refresh computed the new figure
        assert hub.cached(("orders",), orders) == 3
        assert computed == [2, 3]  # the refresh computed it, once; the readers never did
        long = "ab" * MAX_FIELD_CHARS  # a field over the reader's bound
        (tmp_path / "bad.csv").write_text(f"{header}4,{long},2026-01-08,10,USD\n", encoding="utf-8")
        with pytest.raises(LimitExceededError) as refused:
            hub.import_file(tmp_path / "bad.csv", ImportOptions())
        assert refused.value.limit == "MAX_FIELD_CHARS" and refused.value.row == 2  # crossed whole
    finally:
        hub.close()


def test_a_remembered_figure_is_answered_without_opening_the_file_until_another_program_changes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between requests the server holds the file closed; a figure it remembers is answered without opening
    it (readers do not queue behind DuckDB), while an import by another program (the CLI) changes the file,
    so the next read opens it and computes the figure on the new data."""
    from ltvkit.data.workspace import Workspace
    from ltvkit.web.state import Hub

    header = "order id,customer,date,amount,currency\n"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "1,a,2026-01-05,10,USD\n2,b,2026-01-06,20,USD\n", encoding="utf-8")
    second.write_text(header + "3,c,2026-01-07,30,USD\n", encoding="utf-8")
    path = tmp_path / "ltv.duckdb"
    with Workspace.open(path) as ws:
        ws.import_file(first)
    hub = Hub(path)
    opened: list[Path] = []
    really_open = Workspace.open.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Workspace], where: Path, **options: bool) -> Workspace:
        opened.append(where)
        return really_open(cls, where, **options)  # type: ignore[no-any-return]

    def orders(ws: Workspace) -> int:
        return ws.count("orders")

    try:
        monkeypatch.setattr(Workspace, "open", classmethod(counted))
        assert hub.cached(("orders",), orders) == 2 and len(opened) == 1
        assert [hub.cached(("orders",), orders) for _ in range(5)] == [2] * 5
        assert len(opened) == 1  # remembered: the file stayed closed
        with Workspace.open(path) as ws:  # another program's import (the file is closed here)
            ws.import_file(second)
        assert hub.cached(("orders",), orders) == 3 and len(opened) == 3  # the import's open, then ours
    finally:
        hub.close()
