"""An import into a workspace on a full disk: the workspace keeps what it held (no half import) and the user
reads one sentence, from the CLI (no traceback) and from the API (a JSON error, never a 500 with a trace).

The disk is made full where DuckDB writes: ``Workspace._write`` inserts the rows, then fails with the
error DuckDB raises when the file cannot grow (``Could not write file …: No space left on device``), so the
transaction has rows to undo. ``test_a_real_full_disk`` fills a real file system where the system lets an
unprivileged user mount one (a tmpfs in a user namespace); DuckDB then fails at its checkpoint, as here."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.conftest import FIXTURES
from tests.web.conftest import TEST_HOSTS
from typer.testing import CliRunner

from ltvkit.cli import app as cli
from ltvkit.data.workspace import Workspace
from ltvkit.web.app import create_app

FULL = 'IO Error: Could not write file "{path}": No space left on device'
SENTENCE = {
    "en": "there is no space left on the disk that holds",
    "ru": "не осталось места",
    "uk": "не залишилося місця",
}
NEW_FILE = FIXTURES / "generic_en.tsv"


def state(path: Path) -> dict[str, Any]:
    """What a workspace holds: every orders row, the ledger, the rejected rows."""
    with Workspace.open(path, read_only=True) as ws:
        return {
            "orders": ws.transactions(),
            "imports": ws.imports(),
            "rejected": ws.rejected(),
        }


def assert_unchanged(path: Path, before: dict[str, Any]) -> None:
    after = state(path)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)


@pytest.fixture()
def full_disk(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every import's write fails as on a full disk, after its rows are inserted; how many rows each had."""
    write = Workspace._write
    inserted: list[int] = []

    def write_then_fail(self: Workspace, *args: Any) -> Any:
        account = write(self, *args)
        inserted.append(account.loaded)
        raise duckdb.IOException(FULL.format(path=self.path))

    monkeypatch.setattr(Workspace, "_write", write_then_fail)
    return inserted


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_the_command_line_says_the_disk_is_full_and_keeps_the_workspace(
    school: Path, full_disk: list[int], lang: str
) -> None:
    before = state(school)
    result = CliRunner().invoke(cli, ["--lang", lang, "import", str(NEW_FILE), "-w", str(school)])
    assert result.exit_code == 1 and full_disk and full_disk[0] > 0  # rows were written, then undone
    said = " ".join(result.output.split())
    assert SENTENCE[lang] in said and "Traceback" not in said and "IOException" not in said
    assert len(said) < 400
    assert_unchanged(school, before)


def test_the_api_answers_a_full_disk_in_json_and_keeps_the_workspace(
    school: Path, full_disk: list[int]
) -> None:
    before = state(school)
    upload = {"file": ("more.tsv", NEW_FILE.read_bytes(), "text/tab-separated-values")}
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS), raise_server_exceptions=False) as client:
        waited = client.post("/api/imports?wait=true", files=upload)
        assert waited.status_code == 409, waited.text
        problem = waited.json()
        assert problem["error"] == "WorkspaceError" and SENTENCE["en"] in problem["message"]
        assert {lang: SENTENCE[lang] in problem["messages"][lang] for lang in SENTENCE} == dict.fromkeys(
            SENTENCE, True
        )
        job = client.post("/api/imports", files=upload).json()
        while job["status"] in ("queued", "running"):
            time.sleep(0.05)
            job = client.get(f"/api/jobs/{job['id']}").json()
        assert job["status"] == "failed" and SENTENCE["en"] in job["error"]
        assert job["problem"]["messages"]["uk"].startswith("на диску")
        assert client.get("/api/summary").status_code == 200  # the workspace still reads
    assert len(full_disk) == 2 and min(full_disk) > 0
    assert_unchanged(school, before)


def test_a_full_disk_outside_the_workspace_is_one_sentence_too(
    school: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload's temporary folder on a full disk: 507 with the system's reason, in JSON."""
    import ltvkit.web.api

    def no_space(*args: Any, **kwargs: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    upload = {"file": ("more.tsv", NEW_FILE.read_bytes(), "text/tab-separated-values")}
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS), raise_server_exceptions=False) as client:
        monkeypatch.setattr(ltvkit.web.api.tempfile, "mkdtemp", no_space)
        refused = client.post("/api/imports?wait=true", files=upload)
    assert refused.status_code == 507
    assert refused.json()["message"].startswith("No space left on device; the workspace is unchanged")
    assert "Traceback" not in refused.text


def _can_mount() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs unprivileged user and mount namespaces (Linux)")
def test_a_real_full_disk(tmp_path: Path) -> None:
    """A 3 MB tmpfs: a first small import fits, a second of 20,000 orders does not; the CLI says so in one
    sentence and the workspace holds the first import alone."""
    from ltvkit.data import demo

    small = tmp_path / "small.csv"
    small.write_text(
        "order id,customer,date,amount,currency\n1,a,2026-01-05,10,USD\n2,b,2026-02-06,20,USD\n",
        encoding="utf-8",
    )
    large, _ = demo.generate(tmp_path / "large", seed=3, customers=6000)
    disk = tmp_path / "disk"
    disk.mkdir()
    ltv = Path(sys.executable).parent / "ltv"
    script = (
        f"mount -t tmpfs -o size=3m tmpfs {disk} && "
        f"{ltv} import {small} -w {disk}/ltv.duckdb --json >/dev/null && "
        f"{{ {ltv} import {large} -w {disk}/ltv.duckdb; echo exit=$?; }} && "
        f"{ltv} summary -w {disk}/ltv.duckdb --json"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    said = " ".join(done.stderr.split())
    assert "exit=1" in done.stdout and SENTENCE["en"] in said and "Traceback" not in said, done.stderr
    assert '"customers": 2,' in done.stdout and '"orders": 2,' in done.stdout  # the first import alone
