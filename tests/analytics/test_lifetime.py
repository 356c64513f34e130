"""The expected lifetime (Kaplan–Meier with censoring), the expected LTV and the data grade, against tables
computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltvkit.analytics.grade import data_grade
from ltvkit.analytics.lifetime import (
    expected_lifetime,
    expected_ltv,
    kaplan_meier,
    lifetime_spans,
    restricted_mean,
)
from ltvkit.errors import ParameterError

END = pd.Timestamp("2026-12-31")
# inactive after 180 days: a last purchase before 2026-07-04 ends a lifetime
CUSTOMERS = pd.DataFrame(
    {
        "first_purchase": pd.to_datetime(
            ["2026-01-01", "2026-01-01", "2026-02-01 10:30", "2026-06-01", "2026-11-01"], format="ISO8601"
        ),
        "last_purchase": pd.to_datetime(
            ["2026-01-31", "2026-03-02", "2026-12-01", "2026-06-01", "2026-11-01"]
        ),
        "purchases": [2, 3, 5, 1, 1],
        "net_revenue": [100.0, 300.0, 1000.0, 50.0, 80.0],
    }
)


def test_lifetime_spans_end_or_are_censored_at_the_end_of_the_data() -> None:
    spans, ended = lifetime_spans(CUSTOMERS["first_purchase"], CUSTOMERS["last_purchase"], END, 180)
    assert (spans * 365.25).round(6).tolist() == [30, 60, 333, 0, 60]
    assert ended.tolist() == [True, True, False, True, False]


def test_kaplan_meier_table_by_hand() -> None:
    """t = 0: 5 at risk, 1 ends → 0.8; t = 30: 4, 1 → 0.6; t = 60: 3, 1 ends and 1 is censored → 0.4;
    t = 333: 1 at risk, censored → 0.4."""
    table = kaplan_meier(np.array([30, 60, 333, 0, 60.0]), np.array([True, True, False, True, False]))
    assert table["time"].tolist() == [0, 30, 60, 333]
    assert table["at_risk"].tolist() == [5, 4, 3, 1]
    assert table["ended"].tolist() == [1, 1, 1, 0] and table["censored"].tolist() == [0, 0, 1, 1]
    assert table["survival"].tolist() == pytest.approx([0.8, 0.6, 0.4, 0.4])
    # area: 30·0.8 + 30·0.6 + 273·0.4 = 151.2 days
    assert restricted_mean(table) == pytest.approx(151.2)


def test_expected_lifetime_and_ltv_by_hand() -> None:
    life = expected_lifetime(CUSTOMERS["first_purchase"], CUSTOMERS["last_purchase"], END)
    assert life.years == pytest.approx(151.2 / 365.25 + 1 / 12)
    assert (life.ended, life.censored, life.is_lower_bound) == (3, 2, True)
    assert life.survival_at_end == pytest.approx(0.4)
    value = expected_ltv(CUSTOMERS, END)
    exposure = 483 / 365.25 + 5 / 12
    assert value.value == pytest.approx(1530 / exposure * life.years)
    assert value.aov == pytest.approx(1530 / 12) and value.purchases_per_year == pytest.approx(12 / exposure)
    assert value.low <= value.value <= value.high


def test_a_lifetime_that_ends_everywhere_is_the_plain_mean() -> None:
    """With every lifetime ended the Kaplan–Meier mean is the ordinary mean."""
    durations = np.array([0.0, 10, 10, 40, 100])
    assert restricted_mean(kaplan_meier(durations, np.ones(5, dtype=bool))) == pytest.approx(durations.mean())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.booleans()), min_size=1, max_size=60))
def test_kaplan_meier_survival_is_a_non_increasing_probability(rows: list[tuple[int, bool]]) -> None:
    durations, ended = (np.array(v) for v in zip(*rows, strict=True))
    table = kaplan_meier(durations.astype(float), ended.astype(bool))
    survival = table["survival"].to_numpy()
    assert np.all((survival >= 0) & (survival <= 1)) and np.all(np.diff(survival) <= 1e-12)
    assert 0 <= restricted_mean(table) <= durations.max()
    if not ended.any():
        assert restricted_mean(table) == durations.max()


def test_bad_inputs_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="no lifetimes"):
        kaplan_meier(np.array([]), np.array([], dtype=bool))
    with pytest.raises(ParameterError, match="after the end"):
        lifetime_spans(
            CUSTOMERS["first_purchase"], CUSTOMERS["last_purchase"], pd.Timestamp("2026-06-01"), 180
        )
    with pytest.raises(ParameterError, match="inactive_after_days"):
        expected_lifetime(CUSTOMERS["first_purchase"], CUSTOMERS["last_purchase"], END, inactive_after_days=0)


@pytest.mark.parametrize(
    ("counts", "grade", "short"),
    [
        ((19_298, 14_355, 1035), "good", ()),
        ((500, 100, 180), "good", ()),
        ((61, 25, 365), "thin", ("at least 100 customers (now 61)",)),
        (
            (300, 40, 120),
            "fair",
            (
                "at least 500 customers (now 300)",
                "at least 100 repeat buyers (now 40)",
                "at least 180 days of orders (now 120)",
            ),
        ),
        ((50, 5, 90), "thin", ("at least 100 customers (now 50)", "at least 20 repeat buyers (now 5)")),
    ],
)
def test_data_grade_thresholds(counts: tuple[int, int, int], grade: str, short: tuple[str, ...]) -> None:
    found = data_grade(*counts)
    assert found.grade == grade and found.short_of == short
    assert found.models_usable == (grade != "thin")
    assert ("Too little data" in found.sentence()) == (grade == "thin")


def test_the_interval_drawn_per_distinct_lifetime_matches_a_bootstrap_over_customers() -> None:
    """The bootstrap drawn per distinct lifetime (Poisson counts, the revenue sum by its group's moments)
    gives the interval of the plain one that draws every customer's Poisson weight."""
    rng = np.random.default_rng(7)
    n = 4000
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    last = first + pd.to_timedelta((rng.exponential(120, n) * (rng.random(n) < 0.6)).astype(int), unit="D")
    last = last.where(last <= END, END)
    per = pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": last,
            "purchases": rng.integers(1, 6, n),
            "net_revenue": rng.gamma(2.0, 50.0, n),
        }
    )
    found = expected_ltv(per, END, draws=400)
    spans, ended = lifetime_spans(per["first_purchase"], per["last_purchase"], END, 180)
    revenue, exposure = per["net_revenue"].to_numpy(), spans + 1 / 12
    plain = []
    draws = np.random.default_rng(1)
    for _ in range(400):
        w = draws.poisson(1.0, n).astype(float)
        life = restricted_mean(kaplan_meier(spans, ended, weights=w)) + 1 / 12
        plain.append(w @ revenue / (w @ exposure) * life)
    low, high = np.percentile(plain, [5, 95])
    width = high - low
    assert abs(found.low - low) < 0.15 * width and abs(found.high - high) < 0.15 * width
    assert found.low < found.value < found.high
