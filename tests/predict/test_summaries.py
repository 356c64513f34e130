from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CALIBRATION_END, DATA, cdnow_days
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError
from ltvkit.models import BetaGeoModel, base
from ltvkit.models.base import coarsened
from ltvkit.predict import summaries
from ltvkit.predict.summaries import (
    calibration_holdout_summary,
    compressed,
    customer_summary,
    last_purchase_day,
)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.open(tmp_path_factory.mktemp("cdnow") / "ltv.duckdb")
    ws.import_file(DATA / "CDNOW_sample.txt.gz")
    return ws


def test_summary_of_the_imported_sample_equals_the_papers_data(
    cdnow: Workspace, cdnow_rfm: pd.DataFrame
) -> None:
    summary = customer_summary(cdnow.table("orders"), unit="week", observation_end="1997-09-30").execute()
    assert len(summary) == 2357
    # customer ids of the workspace are the master ids; the reference is keyed by sample id
    raw = pd.read_csv(DATA / "CDNOW_sample.txt.gz", sep=r"\s+", header=None, dtype=str).drop_duplicates(0)
    ids = dict(zip(raw[0], raw[1].astype(int), strict=False))
    mine = summary.assign(id=summary["customer_id"].map(ids)).set_index("id").sort_index()
    for column in ("frequency", "recency", "T", "monetary_value"):
        pd.testing.assert_series_equal(
            mine[column],
            cdnow_rfm[column].astype(float),
            check_names=False,
            check_index_type=False,
            rtol=1e-12,
        )
    model = BetaGeoModel().fit(
        compressed(customer_summary(cdnow.table("orders"), observation_end="1997-09-30")).execute()
    )
    assert model.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    assert model.n_customers_ == 2357


def test_holdout_counts_purchase_days_after_calibration(cdnow: Workspace) -> None:
    split = calibration_holdout_summary(
        cdnow.table("orders"), calibration_end="1997-09-30", observation_end="1998-06-30"
    ).execute()
    days = cdnow_days()
    later = days[(days["date"] > CALIBRATION_END)]
    assert split["frequency_holdout"].sum() == len(later)
    assert split["duration_holdout"].iloc[0] == pytest.approx(273 / 7)
    first = split.set_index("customer_id")
    by_customer = later.groupby("id").size()
    assert by_customer.max() == first["frequency_holdout"].max()


def _orders(ws: Workspace, tmp_path: Path, text: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order id,customer,date,amount,status,refunded\n" + text, encoding="utf-8")
    ws.import_file(path)


def test_hand_computed_summary(workspace: Workspace, tmp_path: Path) -> None:
    _orders(
        workspace,
        tmp_path,
        "\n".join(
            [
                "1,a,2026-01-31 09:00,100,paid,",  # a: first purchase on a month end
                "2,a,2026-01-31 18:00,50,paid,",  # same day: one transaction of 150
                "3,a,2026-02-14,40,paid,",  # repeat 1
                "4,a,2026-02-28,60,partially refunded,20",  # repeat 2: 40 net
                "5,a,2026-03-01,99,refunded,99",  # refunded: not a purchase
                "6,b,2026-02-01,10,paid,",  # b: one purchase
                "7,c,2026-02-10,70,cancelled,",  # c: never bought
                "8,d,2026-03-05,30,paid,",  # d: after the observation end
            ]
        ),
    )
    s = customer_summary(workspace.table("orders"), unit="day", observation_end="2026-03-01").execute()
    s = s.set_index("customer_id").sort_index()
    assert list(s.index) == ["a", "b"]
    assert s.loc["a", ["frequency", "recency", "T", "monetary_value", "revenue"]].tolist() == [
        2,
        28,
        29,
        40,
        230,
    ]
    assert s.loc["b", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 28, 0]
    assert last_purchase_day(workspace.table("orders")) == dt.date(
        2026, 3, 5
    )  # d's; the refund is no purchase
    assert last_purchase_day(workspace.table("orders"), "2026-03-01") == dt.date(2026, 3, 1)
    weeks = customer_summary(workspace.table("orders"), unit="week", observation_end="2026-03-01").execute()
    assert weeks.set_index("customer_id").loc["a", "T"] == pytest.approx(29 / 7)


def test_several_currencies_need_a_choice(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount,currency\na,2026-01-01,10,USD\nb,2026-01-02,20,EUR\n", encoding="utf-8"
    )
    workspace.import_file(path)
    with pytest.raises(ParameterError, match="several currencies"):
        customer_summary(workspace.table("orders")).execute()
    only = customer_summary(workspace.table("orders"), currency="eur").execute()
    assert only["customer_id"].tolist() == ["b"]


def test_bad_parameters(workspace: Workspace, tmp_path: Path) -> None:
    _orders(workspace, tmp_path, "1,a,2026-01-01,10,paid,")
    with pytest.raises(ParameterError, match="unknown time unit"):
        customer_summary(workspace.table("orders"), unit="fortnight")
    with pytest.raises(ParameterError, match="must be after"):
        calibration_holdout_summary(
            workspace.table("orders"), calibration_end="2026-02-01", observation_end="2026-01-01"
        )
    with pytest.raises(ParameterError, match="not a date"):
        customer_summary(workspace.table("orders"), observation_end="soon")


def _reference_summary(orders: pd.DataFrame, end: str, scale: float) -> pd.DataFrame:
    """The summary by hand in pandas: customer-days of purchases up to ``end``, the first one excluded from
    frequency and mean spend."""
    paid = orders[orders["status"].isin(["paid", "partially_refunded"])]
    paid = paid.assign(day=paid["ordered_at"].dt.normalize(), value=paid["amount"] - paid["refunded"])
    days = (
        paid[paid["day"] <= pd.Timestamp(end)].groupby(["customer_id", "day"], as_index=False)["value"].sum()
    )
    rows = {}
    for customer, group in days.groupby("customer_id"):
        group = group.sort_values("day")
        x = len(group) - 1
        first, last = group["day"].iloc[0], group["day"].iloc[-1]
        rows[customer] = {
            "frequency": float(x),
            "recency": (last - first).days / scale,
            "T": (pd.Timestamp(end) - first).days / scale,
            "monetary_value": group["value"].iloc[1:].mean() if x else 0.0,
            "revenue": group["value"].sum(),
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


order_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 40),  # day
        st.integers(0, 86_399),  # second of the day
        st.floats(-50, 500, allow_nan=False).map(lambda v: round(v, 2)),
        st.sampled_from(["paid", "paid", "partially_refunded", "refunded", "cancelled"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(rows=order_rows, generic=st.booleans())
def test_summary_equals_a_hand_computed_reference(
    rows: list[tuple[str, int, int, float, str]], generic: bool
) -> None:
    """Values of the one-aggregation summary (DuckDB's ``arg_min``, or the portable ``argmin`` other
    engines get) against pandas, for any mix of days, same-day orders and statuses."""
    start = pd.Timestamp("2026-01-01")
    orders = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ordered_at": [start + pd.Timedelta(days=r[1], seconds=r[2]) for r in rows],
            "amount": [r[3] for r in rows],
            "refunded": [r[3] / 4 if r[4] == "partially_refunded" else 0.0 for r in rows],
            "status": [r[4] for r in rows],
            "currency": "USD",
        }
    )
    end = "2026-02-01"
    expected = _reference_summary(orders, end, 7.0)
    if expected.empty:
        return
    with pytest.MonkeyPatch.context() as patch:
        if generic:
            patch.setattr(summaries, "_first_value", lambda days: days.value.argmin(days.day))
        got = customer_summary(ibis.memtable(orders), unit="week", observation_end=end, sort=True).execute()
    got = got.set_index("customer_id")[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_index_type=False, rtol=1e-9)
    unsorted = customer_summary(ibis.memtable(orders), unit="week", observation_end=end).execute()
    assert sorted(unsorted["customer_id"]) == list(expected.index)


def test_the_fit_time_grain_rounds_recency_and_t_to_whole_weeks_past_the_cap() -> None:
    days = pd.DataFrame(
        {  # four histories in weeks of whole days; t_x 3 and 4 days round to 0 and 1 week, T 9-10 days to 1
            "frequency": [0.0, 1.0, 1.0, 1.0],
            "recency": [0.0, 3 / 7, 4 / 7, 4 / 7],
            "T": [10 / 7, 10 / 7, 10 / 7, 9 / 7],
            "weight": [2.0, 1.0, 3.0, 4.0],
        }
    )
    assert coarsened(days, "week", max_rows=4) == (days, None)
    grained, grain = coarsened(days, "week", max_rows=3)
    assert grain == 7.0
    assert grained.to_dict("list") == {
        "frequency": [0.0, 1.0, 1.0],
        "recency": [0.0, 0.0, 1.0],
        "T": [1.0, 1.0, 1.0],
        "weight": [2.0, 1.0, 7.0],
    }
    in_days, grain = coarsened(days.assign(recency=days["recency"] * 7, T=days["T"] * 7), "day", max_rows=3)
    assert grain == 7.0 and in_days["recency"].tolist() == [0.0, 0.0, 7.0]
    assert coarsened(days, "week", max_rows=1)[1] == 91.0  # the coarsest grain, whatever is left


def test_a_purchase_model_past_the_cap_is_fitted_on_the_grain_it_records(
    cdnow_rfm: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = BetaGeoModel(unit="week").fit(cdnow_rfm)
    assert exact.grain_days_ is None and exact.n_distinct_ > 1000
    monkeypatch.setattr(base, "MAX_FIT_ROWS", 1000)
    grained = BetaGeoModel(unit="week").fit(cdnow_rfm)
    assert grained.grain_days_ == 7.0 and grained.n_distinct_ <= 1000
    assert grained.n_customers_ == exact.n_customers_ == 2357
    # weeks instead of days move no estimate by more than its standard error on CDNOW
    assert (abs(grained.params_ - exact.params_) < exact.standard_errors_).all()
    assert BetaGeoModel().fit(cdnow_rfm).grain_days_ is None  # no unit: no grain to round to
