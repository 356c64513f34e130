from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from ltvkit.analytics.definitions import PURCHASE_STATUSES
from ltvkit.data import demo
from ltvkit.data.workspace import Workspace


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return demo.generate(tmp_path_factory.mktemp("demo"), seed=7, customers=4000)


def test_demo_is_seeded(school: tuple[Path, Path], tmp_path: Path) -> None:
    again = demo.generate(tmp_path, seed=7, customers=4000)
    for a, b in zip(school, again, strict=False):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_demo_imports_through_the_user_path_with_its_blemishes_accounted_for(
    school: tuple[Path, Path], workspace: Workspace
) -> None:
    orders, spend = school
    account = workspace.import_file(orders)
    assert account.preset == "generic"
    assert (account.duplicates, account.rejected) == (
        150,
        4,
    )  # the overlapping re-export; tests and a bad date
    assert account.read == account.loaded + 154
    assert workspace.import_file(spend).rejected == 0
    t = workspace.transactions()
    buyers = t[t["status"].isin(PURCHASE_STATUSES)]["customer_id"].nunique()
    assert 3700 <= buyers <= 4000  # a few customers only ever had a refunded first order
    assert set(t["status"]) == {"paid", "partially_refunded", "refunded", "pending", "cancelled"}
    assert set(t["currency"]) == {"RUB"}


def test_demo_channels_differ_in_quality_and_the_onboarding_change_helps(
    school: tuple[Path, Path], workspace: Workspace
) -> None:
    workspace.import_file(school[0])
    t = workspace.transactions()
    t = t[t["status"].isin(PURCHASE_STATUSES)]
    first = t.groupby("customer_id")["ordered_at"].min()
    orders = t.groupby("customer_id").size()
    channel = t.groupby("customer_id")["channel"].first()
    repeat = (orders > 1).groupby(channel).mean()
    assert repeat["facebook_ads"] < repeat["google_ads"] < repeat["youtube_bloggers"]
    # orders in a customer's first 120 days, for cohorts observed that long, before and after the change
    t = t.join(first.rename("joined"), on="customer_id")
    early = t[t["ordered_at"] < t["joined"] + pd.Timedelta(days=120)].groupby("customer_id").size()
    change = pd.Timestamp(demo.ONBOARDING_CHANGE)
    before = early[(first >= change - pd.DateOffset(years=1)) & (first < change)].mean()
    after = early[(first >= change) & (first < pd.Timestamp(demo.END) - pd.Timedelta(days=120))].mean()
    assert after > before * 1.1
