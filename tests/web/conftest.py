"""A small demo school shared by the web tests, copied per module so tests may change it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ltvkit.data import demo
from ltvkit.data.workspace import Workspace
from ltvkit.web.app import LOOPBACK_HOSTS, create_app

TEST_HOSTS = (*LOOPBACK_HOSTS, "testserver")  # the Host that Starlette's TestClient sends


@pytest.fixture(scope="session")
def school_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The demo school (2,000 customers) as export files and as an imported workspace."""
    folder = tmp_path_factory.mktemp("web-school")
    orders, spend = demo.generate(folder, seed=21, customers=2000)
    with Workspace.open(folder / "school.duckdb") as ws:
        ws.import_file(orders)
        ws.import_file(spend)
    return orders, spend, folder / "school.duckdb"


@pytest.fixture()
def school(school_files: tuple[Path, Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the imported workspace."""
    return Path(shutil.copy(school_files[2], tmp_path / "ltv.duckdb"))


@pytest.fixture()
def client(school: Path) -> Iterator[TestClient]:
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS)) as c:
        yield c


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, workspace: Path, **settings: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.app = create_app(workspace, **settings)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def live_empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running server on an empty workspace."""
    with LiveServer(tmp_path_factory.mktemp("live") / "ltv.duckdb") as server:
        yield server
