from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ltvkit.store import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent / "data"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        yield ws
