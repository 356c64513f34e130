"""Pareto table, Lorenz curve and Gini computed in the engine, against the pandas computation on every
customer's revenue brought back and sorted (the one the report uses)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ltvkit.analytics.historical import (
    customer_values,
    lorenz_curve,
    lorenz_points,
    pareto_shares,
    pareto_table,
)
from ltvkit.data.workspace import Workspace

SHARES = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)


def _reference(values: np.ndarray, points: int) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The pandas computation on every customer's revenue, as the report makes it from the values it has
    already read (:func:`pareto_shares`, :func:`lorenz_points`)."""
    curve, gini = lorenz_points(values, points)
    return pareto_shares(values, SHARES), curve, gini


def _check(orders: ibis.Table, points: int) -> None:
    values = customer_values(orders).execute()["net_revenue"].to_numpy()
    pareto, curve, gini = _reference(values, points)
    pd.testing.assert_frame_equal(pareto_table(orders, shares=SHARES), pareto, rtol=1e-9)
    mine, my_gini = lorenz_curve(orders, points=points)
    pd.testing.assert_frame_equal(mine, curve, rtol=1e-9, atol=1e-12)
    assert my_gini == pytest.approx(gini, rel=1e-9, abs=1e-12)


def test_on_the_analytics_fixture(workspace: Workspace) -> None:
    workspace.import_file(FIXTURES / "analytics_orders.csv")
    for points in (101, 11, 2):
        _check(workspace.table("orders"), points)


@settings(max_examples=30, deadline=None)
@given(
    revenue=st.lists(st.sampled_from([5.0, 10.0, 10.0, 40.0, 99.5, 300.0]), min_size=1, max_size=60),
    points=st.sampled_from([2, 5, 101, 257]),
)
def test_on_any_revenue_with_ties(revenue: list[float], points: int) -> None:
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": [f"c{i:03d}" for i in range(len(revenue))],
                "ordered_at": pd.Timestamp("2026-01-01"),
                "amount": revenue,
                "refunded": 0.0,
                "status": "paid",
                "currency": "USD",
                "cost": np.nan,
                "fee": np.nan,
            }
        )
    )
    _check(orders, points)
