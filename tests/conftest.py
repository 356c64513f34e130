from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ltvkit.data.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """Debian's headless Chromium driven by Playwright (never a downloaded browser); in CI its absence
    fails."""
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        yield ws


CALIBRATION_END = pd.Timestamp("1997-09-30")


def cdnow_days() -> pd.DataFrame:
    """The CDNOW sample as the papers use it: one transaction per customer-day, dollars summed."""
    raw = pd.read_csv(
        DATA / "CDNOW_sample.txt.gz",
        sep=r"\s+",
        header=None,
        names=["master_id", "id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw.groupby(["id", "date"], as_index=False)["dollars"].sum()


@pytest.fixture(scope="session")
def cdnow_rfm() -> pd.DataFrame:
    """:func:`cdnow_calibration_summary`, once per session."""
    return cdnow_calibration_summary()


def cdnow_calibration_summary() -> pd.DataFrame:
    """Calibration summary of the CDNOW sample in weeks (39-week calibration), computed independently of
    ltvkit's own summary code: frequency, recency, T, and the mean of the repeat transactions, indexed by the
    sample id."""
    days = cdnow_days()
    cal = days[days["date"] <= CALIBRATION_END].sort_values(["id", "date"])
    g = cal.groupby("id")["date"].agg(["min", "max", "count"])
    repeat = cal[cal.groupby("id").cumcount() > 0].groupby("id")["dollars"].mean()
    return pd.DataFrame(
        {
            "frequency": g["count"] - 1,
            "recency": (g["max"] - g["min"]).dt.days / 7,
            "T": (CALIBRATION_END - g["min"]).dt.days / 7,
            "monetary_value": repeat.reindex(g.index).fillna(0.0),
        }
    )
