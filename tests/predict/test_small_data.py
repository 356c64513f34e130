"""Small schools end to end: orders of 30 to 200 customers over 3 to 12 months, simulated from the BG/NBD
process with purchase dates, imported like a user's export; every model command finishes, returns finite
values and says the data are thin; predicted LTV by group has intervals and caveats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ltvkit.analytics.grade import data_grade
from ltvkit.choices import MODELS
from ltvkit.data.workspace import Workspace
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.predict.groups import max_cac, predicted_group_ltv
from ltvkit.service.valuation import fit_model, follow_up, group_ltv, predict_customers

START = dt.datetime(2025, 1, 1)
DAYS_PER_MONTH = 30.4375
PRICES = {"Tripwire": 990.0, "Core": 14_900.0, "Club": 1_990.0}


def school_orders(path: Path, customers: int, months: int, seed: int) -> Path:
    """An orders CSV: customers acquired evenly over ``months``; while active, each buys at a Poisson rate
    λ ~ Gamma(0.6, 2 months) and drops out after a purchase with probability p ~ Beta(0.8, 2.5)."""
    rng = np.random.default_rng(seed)
    end = months * DAYS_PER_MONTH
    rows = []
    for i in range(customers):
        rate = rng.gamma(0.6, 1 / 2.0) / DAYS_PER_MONTH
        drop = rng.beta(0.8, 2.5)
        day = rng.uniform(0, end)
        channel = rng.choice(["ads", "organic", "blog"], p=[0.5, 0.3, 0.2])
        product = "Tripwire" if rng.random() < 0.6 else "Core"
        while day <= end:
            rows.append((f"c{i}", START + dt.timedelta(days=float(day)), product, channel))
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
            product = rng.choice(list(PRICES))
    frame = pd.DataFrame(rows, columns=["customer", "date", "product", "channel"])
    frame.insert(0, "order id", range(1, len(frame) + 1))
    frame["amount"] = frame["product"].map(PRICES)
    frame["status"] = "paid"
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d %H:%M")
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module", params=[(30, 3), (60, 6), (200, 12)], ids=["30x3", "60x6", "200x12"])
def school(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    customers, months = request.param
    folder = tmp_path_factory.mktemp("school")
    ws = Workspace.open(folder / "ltv.duckdb")
    ws.import_file(school_orders(folder / "orders.csv", customers, months, seed=customers), currency="RUB")
    yield ws
    ws.close()


@pytest.mark.parametrize("name", [m for m in MODELS if m != "sbg"])
def test_every_model_fits_a_small_school_finitely_and_says_it_is_regularised(
    school: Workspace, name: str
) -> None:
    result = fit_model(school.table("orders"), name, unit="month").to_dict()
    params = [v for k, v in result.items() if k in result["intervals_95"]]
    assert all(np.isfinite(v) and 1e-4 < v < 1e5 for v in params), result
    assert result["regularization"]["reason"] == "thin_data"
    assert "weakly informative" in result["regularization"]["sentence"]


def test_subscription_model_fits_a_small_club(school: Workspace) -> None:
    result = fit_model(school.table("orders"), "sbg", unit="month", product="Club").to_dict()
    assert np.isfinite(result["alpha"]) and np.isfinite(result["beta"])
    assert result["regularization"]["reason"] == "thin_data"


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_predictions_with_intervals_never_crash(school: Workspace, model: str) -> None:
    scored, info = predict_customers(school.table("orders"), model=model, horizon=12, unit="month")
    values = scored[["probability_alive", "clv", "clv_low", "clv_high"]].to_numpy()
    assert np.isfinite(values).all() and (scored["clv_low"] <= scored["clv_high"]).all()
    assert scored["probability_alive"].min() < 0.95  # informative: not 1.00 for everyone
    assert info["purchase_regularization"]["applied"] and info["spend_regularization"]["applied"]


@pytest.mark.parametrize("by", ["channel", "cohort", "first_product"])
def test_group_ltv_has_intervals_caveats_and_max_cac(school: Workspace, by: str) -> None:
    table, info = group_ltv(school.table("orders"), by=by, margin=0.5, target_ratio=3.0)
    assert table["customers"].sum() == school.table("orders").customer_id.nunique().execute()
    assert (table["ltv_low"] <= table["ltv"]).all() and (table["ltv"] <= table["ltv_high"]).all()
    assert np.isfinite(table[["ltv", "ltv_low", "ltv_high", "max_cac"]].to_numpy()).all()
    assert table["max_cac"].to_numpy() == pytest.approx(table["ltv"].to_numpy() * 0.5 / 3)
    assert (table["observed"] >= 0).all() and (table["predicted"] >= 0).all()
    assert (table["small_group"] == (table["customers"] < 30)).all()
    assert ((table["share_predicted"] >= 0) & (table["share_predicted"] <= 1)).all()


def test_group_ltv_adds_the_models_outlook_to_what_is_observed_only_for_the_time_still_to_come() -> None:
    """Hand-built: an old customer (T ≥ horizon) is all observed; a young one adds E[spend] · E[Y(H − T)]."""
    bg = BetaGeoModel.from_params(unit="month", r=0.5, alpha=3.0, a=0.8, b=2.5)
    gg = GammaGammaModel.from_params(p=6.0, q=3.8, gamma=15.0)
    for model in (bg, gg):  # intervals need a covariance: a small one around the given values
        model._cov_log = np.eye(len(model._p)) * 1e-4
    people = pd.DataFrame(
        {
            "frequency": [3.0, 1.0],
            "recency": [10.0, 1.0],
            "T": [14.0, 2.0],
            "monetary_value": [40.0, 30.0],
            "revenue_in_horizon": [150.0, 60.0],
            "channel": ["old", "young"],
        }
    )
    table = predicted_group_ltv(bg, gg, people, "channel", horizon=12, draws=50).set_index("channel")
    assert table.loc["old", "ltv"] == 150.0 and table.loc["old", "share_predicted"] == 0
    young = people.iloc[[1]]
    expected = gg.expected_spend(young)[0] * bg.expected_purchases(10.0, young)[0]
    assert table.loc["young", "predicted"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["young", "share_predicted"] == pytest.approx(10 / 12)
    assert table.loc["young", "mostly_predicted"] and table["small_group"].all()
    with_cac = max_cac(table, margin=0.4, target_ratio=4)
    assert with_cac.loc["old", "max_cac"] == pytest.approx(150 * 0.4 / 4)


def test_the_grade_reads_in_every_language() -> None:
    thin = data_grade(61, 12, 365)
    assert thin.sentence() == (
        "Too little data for the models (61 customers, 12 of them repeat buyers, 365 days of orders): the "
        "figures use the formula with an expected lifetime instead; the models need at least 100 customers "
        "(now 61); at least 20 repeat buyers (now 12)."
    )
    assert "не менее 100 клиентов (сейчас 61)" in thin.sentence("ru")
    assert "щонайменше 20 повторних покупців (зараз 12)" in thin.sentence("uk")
    assert data_grade(5000, 900, 400).sentence("uk").startswith("Даних для моделей достатньо")


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_follow_up_dates_come_after_the_end_of_the_data(school: Workspace, model: str) -> None:
    table, info = follow_up(school.table("orders"), model=model, within=1.0)
    end = pd.Timestamp(info["observation_end"]).date()
    assert (table["next_purchase_date"] > end).all()
    buys = table["probability_purchase"]
    assert ((buys >= 0) & (buys <= table["probability_alive"])).all()
