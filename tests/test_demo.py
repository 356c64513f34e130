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


def test_the_report_reads_the_engine_a_handful_of_times_for_every_language(
    school: tuple[Path, Path], workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's figures come from one analysis of the orders (shared cohort cells, per-customer values,
    spend): at most 8 engine queries for the descriptive report in three languages, not one or more per
    figure; the models' section adds its own reads, at most 8 more."""
    import ibis.backends.duckdb

    from ltvkit.analytics.channels import quality_by
    from ltvkit.analytics.historical import pareto_table
    from ltvkit.service.report import build_reports, report_data

    for path in school:
        workspace.import_file(path)
    queries: list[str] = []
    run = ibis.backends.duckdb.Backend._to_duckdb_relation

    def counted(self, expr, **kwargs):  # noqa: ANN001, ANN202
        sql = self.compile(expr)
        queries.append(sql)
        return run(self, expr, **kwargs)

    monkeypatch.setattr(ibis.backends.duckdb.Backend, "_to_duckdb_relation", counted)
    outputs = {lang: tmp_path / f"{lang}.html" for lang in ("en", "ru", "uk")}
    paths = build_reports(workspace, outputs, predictions=False)
    assert [p.exists() for p in paths] == [True] * 3
    assert len(queries) <= 8, "\n\n".join(queries)
    # the predicted value by channel adds what the models read (their statistics, each customer's revenue
    # in the horizon and first channel), reusing the analysis's tables for the CAC beside it
    descriptive = len(queries)
    build_reports(workspace, outputs)
    assert len(queries) - descriptive <= descriptive + 8
    # the shared tables give the same figures as each analysis run on its own
    data = report_data(workspace)
    orders = workspace.table("orders")
    expected = pareto_table(orders)
    assert [r["customers"] for r in data["pareto"]] == list(expected["customers"])
    assert [r["revenue_share"] for r in data["pareto"]] == pytest.approx(
        list(expected["revenue_share"]), abs=1e-6
    )
    products = quality_by(orders, "first_product")
    assert [p["first_product"] for p in data["products"]] == list(products["first_product"])
    assert [p["ltv_12"] for p in data["products"]] == pytest.approx(list(products["ltv_12"]), nan_ok=True)
