"""Two cohorts or two groups at equal ages (:func:`ltvkit.analytics.cohorts.compare_cohorts`): the same
values as the cohort table, and a difference whose interval is a bootstrap over customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit.analytics.cohorts import cohort_table, compare_cohorts
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError
from ltvkit.service.comparison import compare_groups


@pytest.fixture
def orders(workspace: Workspace):  # noqa: ANN201
    workspace.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
    return workspace.table("orders")


def test_two_cohorts_at_equal_ages_match_the_cohort_table(orders) -> None:  # noqa: ANN001
    """January (a, b) against February (c, d) on data to 30 April: ages 0–2, February's last full age."""
    found = compare_cohorts(orders, "2026-01", "2026-02")
    table = cohort_table(orders).set_index(["cohort", "age"])
    assert found["age"].tolist() == [0, 1, 2]
    for suffix, cohort in (("a", "2026-01-01"), ("b", "2026-02-01")):
        cells = table.loc[pd.Timestamp(cohort)].loc[[0, 1, 2]]
        np.testing.assert_allclose(found[f"retention_{suffix}"], cells["retention"])
        np.testing.assert_allclose(found[f"ltv_{suffix}"], cells["ltv"])
        assert (found[f"customers_{suffix}"] == cells["size"].to_numpy()).all()
    np.testing.assert_allclose(found["ltv_diff"], found["ltv_b"] - found["ltv_a"])
    for metric in ("retention", "ltv"):
        assert (found[f"{metric}_low"] <= found[f"{metric}_diff"] + 1e-12).all()
        assert (found[f"{metric}_diff"] <= found[f"{metric}_high"] + 1e-12).all()


def test_two_channels_count_each_customer_only_while_their_cohort_is_observed(orders) -> None:  # noqa: ANN001
    found = compare_cohorts(orders, "ads", "organic", split="channel")
    # organic: b (January) and e (April, observed at age 0 only); ads: a (January) and c (February; d's one
    # order was refunded, so d is no customer)
    assert found.loc[0, "customers_b"] == 2 and found.loc[1, "customers_b"] == 1
    assert found.loc[0, "customers_a"] == 2 and found.loc[3, "customers_a"] == 1


def test_unknown_or_empty_groups_are_refused(orders) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError, match="no customers in 2025-06"):
        compare_cohorts(orders, "2026-01", "2025-06")
    with pytest.raises(ParameterError, match="not a cohort"):
        compare_cohorts(orders, "2026-01", "2026-13")


def test_the_interval_is_that_of_a_difference_of_two_shares(workspace: Workspace, tmp_path) -> None:  # noqa: ANN001
    """200 January customers, 60 of whom buy again in February, against 200 March customers, 90 of whom buy
    in April: retention at age 1 is 0.30 against 0.45, and the bootstrap interval of the difference is
    close to the normal approximation 0.15 ± 1.645·√(0.3·0.7/200 + 0.45·0.55/200)."""
    rows = []
    for cohort, later, returning in (("2026-01-10", "2026-02-10", 60), ("2026-03-10", "2026-04-10", 90)):
        for i in range(200):
            rows.append((f"{cohort}-{i}", cohort))
            if i < returning:
                rows.append((f"{cohort}-{i}", later))
    rows.append(("closing", "2026-05-31"))
    frame = pd.DataFrame(rows, columns=["customer", "date"])
    frame.insert(0, "order id", range(1, len(frame) + 1))
    frame["amount"], frame["status"] = 100.0, "paid"
    frame.to_csv(tmp_path / "orders.csv", index=False)
    workspace.import_file(tmp_path / "orders.csv", currency="USD")
    found = compare_cohorts(workspace.table("orders"), "2026-01", "2026-03", draws=4000).set_index("age")
    assert found.loc[1, ["retention_a", "retention_b"]].tolist() == pytest.approx([0.30, 0.45])
    assert found.loc[1, "ltv_diff"] == pytest.approx(15.0)
    normal = 1.645 * np.sqrt(0.3 * 0.7 / 200 + 0.45 * 0.55 / 200)
    half = (found.loc[1, "retention_high"] - found.loc[1, "retention_low"]) / 2
    assert half == pytest.approx(normal, rel=0.1)
    assert found.loc[1, "retention_low"] > 0  # the difference is beyond chance


def test_service_says_which_differences_are_beyond_chance(orders) -> None:  # noqa: ANN001
    table, info = compare_groups(orders, "2026-01", "2026-02")
    assert info["age"] == 2 and info["first"] == "2026-01" and info["second"] == "2026-02"
    assert info["ltv_diff"] == pytest.approx(table["ltv_diff"].iloc[-1])
    assert isinstance(info["ltv_significant"], bool)
