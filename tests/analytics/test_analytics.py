"""Descriptive analytics against tables computed by hand from ``fixtures/analytics_orders.csv``.

Customers: a (ads; Jan 31, Feb 1, Mar 15 partly refunded: net 100, 300, 150), b (organic; Jan 10, plus a
refunded upsell), c (ads; Feb 5 for 400, a 100 refund on its own row in April), e (organic; two orders on
Apr 30: 60 + 40). d has only a refunded order and f only a cancelled one: neither is a customer. The data
ends on Apr 30, so April is the last fully observed month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit.analytics.channels import cac_table, product_paths, quality_by
from ltvkit.analytics.cohorts import cohort_matrix, cohort_table
from ltvkit.analytics.historical import lorenz_curve, ltv_summary, pareto_table
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError

nan = np.nan


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    workspace.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
    workspace.import_file(FIXTURES / "analytics_spend.csv")
    return workspace


def matrix(ws: Workspace, metric: str, **kw: object) -> list[list[float]]:
    table = cohort_table(ws.table("orders"), **kw)  # type: ignore[arg-type]
    return cohort_matrix(table, metric).round(4).values.tolist()


def same(a: list[list[float]], b: list[list[float]]) -> bool:
    return np.array_equal(np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True)


def test_monthly_cohorts(shop: Workspace) -> None:
    # cohorts Jan (a, b), Feb (c), Apr (e); censored ages are empty
    assert same(matrix(shop, "customers"), [[2, 1, 1, 0], [1, 0, 0, nan], [1, nan, nan, nan]])
    assert same(matrix(shop, "retention"), [[1, 0.5, 0.5, 0], [1, 0, 0, nan], [1, nan, nan, nan]])
    assert same(matrix(shop, "orders"), [[2, 1, 1, 0], [1, 0, 0, nan], [2, nan, nan, nan]])
    # Jan: 100 + 100 (+0 for b's refunded upsell); Feb: a 300; Mar: a 200 − 50; c's refund lands in April
    assert same(matrix(shop, "revenue"), [[200, 300, 150, 0], [400, 0, -100, nan], [100, nan, nan, nan]])
    assert same(matrix(shop, "ltv"), [[100, 250, 325, 325], [400, 400, 300, nan], [100, nan, nan, nan]])
    table = cohort_table(shop.table("orders"))
    jan = table[table["cohort"] == "2026-01-01"]
    # gross profit: Jan 90 + 90 − 5 (b's refunded upsell still cost 5), Feb 270, Mar 130
    assert jan["cumulative_gross_profit"].round(2).tolist() == [87.5, 222.5, 287.5, 287.5]


def test_weekly_cohorts_follow_iso_weeks(shop: Workspace) -> None:
    table = cohort_table(shop.table("orders"), period="week")
    a_week = table[
        table["cohort"] == "2026-01-26"
    ]  # a's Saturday first purchase; Sunday's order is age 0 too
    assert a_week[["age", "size", "orders", "revenue"]].iloc[0].tolist() == [0, 1, 2, 400.0]
    # the week of Apr 27 ends on May 3, after the data ends: censored, so e's cohort has no cell at all
    assert table[table["cohort"] == "2026-04-27"].empty


def test_split_by_channel(shop: Workspace) -> None:
    table = cohort_table(shop.table("orders"), split="channel")
    ads = table[(table["channel"] == "ads")]
    assert ads.groupby("cohort")["size"].first().to_dict() == {
        pd.Timestamp("2026-01-01"): 1,
        pd.Timestamp("2026-02-01"): 1,
    }
    assert cohort_matrix(table, "ltv", "organic").values.tolist()[0] == [100, 100, 100, 100]


def test_ltv_breakdown(shop: Workspace) -> None:
    s = ltv_summary(shop.table("orders"), margin=0.5, inactive_after_days=30)
    assert (s.customers, s.purchases, s.net_revenue) == (4, 7, 1050.0)
    assert s.aov == pytest.approx(150.0) and s.ltv_mean == pytest.approx(262.5) and s.ltv_median == 200.0
    assert s.repeat_rate == 0.5  # a and e
    assert s.repeat_revenue_share == pytest.approx(1 - (100 + 100 + 400 + 60) / 1050)
    lifetime = (42 / 365.25) / 4 + 1 / 12  # a: Jan 31 10:00 → Mar 15 is 42 whole days; others 0
    assert s.lifetime_years == pytest.approx(lifetime)
    assert s.frequency_per_year == pytest.approx(7 / 4 / lifetime)
    assert s.aov * s.frequency_per_year * s.lifetime_years == pytest.approx(s.ltv_mean)
    assert s.active_share == 0.25  # only e bought within 30 days of Apr 30 (a last bought on Mar 15)
    assert s.gross_profit_ltv == pytest.approx((490 + 85 + 360 - 100 + 90) / 4)
    assert s.margin_ltv == pytest.approx(262.5 * 0.5)


def test_pareto(shop: Workspace) -> None:
    table = pareto_table(shop.table("orders"), shares=(0.2, 0.5))
    assert table[["customers", "revenue"]].values.tolist() == [[1, 550.0], [2, 850.0]]
    curve, gini = lorenz_curve(shop.table("orders"), points=5)
    assert curve["revenue_share"].round(4).tolist() == [
        0,
        round(550 / 1050, 4),
        round(850 / 1050, 4),
        round(950 / 1050, 4),
        1,
    ]
    values = np.array([100, 100, 300, 550])
    mean_difference = np.abs(values[:, None] - values[None, :]).mean()
    assert gini == pytest.approx(mean_difference / (2 * values.mean()))


def test_channel_quality(shop: Workspace) -> None:
    q = quality_by(shop.table("orders"), "channel").set_index("channel")
    assert q.loc["ads", ["customers", "repeat_rate", "aov"]].tolist() == [2, 0.5, pytest.approx(850 / 4)]
    assert q.loc["organic", "aov"] == pytest.approx(200 / 3)
    # LTV chained over matched cohorts. ads: a (January) 100, 400, 550, 550 by age; c (February) 400, 400,
    # 300 (a refund), then censored. Age 0 over both: 250; + (300 + 0)/2 + (150 − 100)/2 + (0, a alone) = 425.
    # Averaging the cohorts observed at age 3 would give a's 550 alone, and 300 at age 2 < 550 at age 3 would
    # fall or rise with the mix of cohorts rather than with what customers did.
    assert q.loc["ads", "ltv_3"] == 425 and q.loc["organic", "ltv_3"] == 100
    assert np.isnan(q.loc["ads", "ltv_6"])
    assert q.loc["ads", "customers_observed_12"] == 0


def test_product_paths(shop: Workspace) -> None:
    paths = product_paths(shop.table("orders"))
    got = {(r.first_product, r.next_product): (r.customers, round(r.share, 4)) for r in paths.itertuples()}
    # b's upsell was refunded, so b has no next product
    assert got == {
        ("Core", "(none)"): (1, 1.0),
        ("Tripwire", "Core"): (1, 0.3333),
        ("Tripwire", "Upsell"): (1, 0.3333),
        ("Tripwire", "(none)"): (1, 0.3333),
    }


def test_cac_payback_and_max_cac(shop: Workspace) -> None:
    by_channel, by_month = cac_table(shop.table("orders"), shop.table("spend"), horizon=12, target_ratio=3)
    months = by_month.set_index("cohort")
    assert months["cac"].tolist() == [300.0, 500.0]
    # a's cohort: gross profit per customer 90, 360 (≥ 300) → payback at age 1; c's: 360, 360, 260 → not yet
    assert months["payback_months"].tolist()[0] == 1 and np.isnan(months["payback_months"].tolist()[1])
    ads = by_channel.set_index("channel").loc["ads"]
    assert (ads["spend"], ads["new_customers"], ads["cac"], ads["ltv_age"]) == (800.0, 2, 400.0, 3)
    # chained over a and c (see test_channel_quality): profit (90 + 360)/2 + (270 + 0)/2 + (130 − 100)/2 + 0
    assert ads["gross_profit_ltv"] == 375.0 and ads["ltv"] == 425.0
    assert ads["ltv_to_cac"] == pytest.approx(375 / 400) and ads["max_cac"] == pytest.approx(375 / 3)
    assert ads["payback_months"] == 1


def test_mixed_currencies_are_refused(shop: Workspace, tmp_path) -> None:  # noqa: ANN001
    extra = tmp_path / "eur.csv"
    extra.write_text("customer,date,amount,currency\nz,2026-01-05,10,EUR\n", encoding="utf-8")
    shop.import_file(extra)
    with pytest.raises(ParameterError, match="several currencies"):
        cohort_table(shop.table("orders"))
    assert cohort_table(shop.table("orders"), currency="EUR")["size"].tolist() == [1, 1, 1, 1]
