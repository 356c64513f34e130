"""Fits that say when the data cannot pin their parameters down (``BaseModel.identification_``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, FIXTURES
from ltvkit.data import demo
from ltvkit.data.workspace import Workspace
from ltvkit.errors import WeakIdentificationWarning
from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from ltvkit.models.base import Identification
from ltvkit.predict.summaries import customer_summary
from ltvkit.service.valuation import fit_model


@pytest.fixture(scope="module")
def demo_summary(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("school")
    orders, _ = demo.generate(folder, seed=7, customers=1500)
    with Workspace.open(folder / "ltv.duckdb") as ws:
        ws.import_file(orders)
        return customer_summary(ws.table("orders")).execute()


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_published_purchase_fits_are_identified(cls: type, cdnow_rfm: pd.DataFrame) -> None:
    model = cls().fit(cdnow_rfm)
    assert model.identification_.weak == ()
    assert model.summary()["identified"].all() and model.standard_errors_.notna().all()


def test_published_spend_and_donation_fits_are_identified(cdnow_rfm: pd.DataFrame) -> None:
    repeaters = cdnow_rfm[(cdnow_rfm["frequency"] > 0) & (cdnow_rfm["monetary_value"] > 0)]
    assert GammaGammaModel().fit(repeaters).identification_.weak == ()
    donations = pd.read_csv(DATA / "donations.csv").rename(
        columns={"periods": "n_periods", "weights": "weight"}
    )
    assert BetaGeoBetaBinomModel().fit(donations).identification_.weak == ()


def test_demo_spend_model_is_weakly_identified_wherever_the_optimiser_stops(
    demo_summary: pd.DataFrame,
) -> None:
    """Every demo customer pays one price per course, so spend does not vary within a customer: the
    Gamma-Gamma likelihood rises towards p → ∞, γ → 0 with p γ fixed. Wherever along that ridge a fit stops,
    the check flags p and γ."""
    repeaters = demo_summary[(demo_summary["frequency"] > 0) & (demo_summary["monetary_value"] > 0)]
    with pytest.warns(WeakIdentificationWarning, match="how spend per order varies"):
        fitted = GammaGammaModel(regularization="none").fit(repeaters)
    p, q, gamma = fitted.params_
    for factor in (1e-4, 1e-2, 1.0, 10.0):
        along_ridge = GammaGammaModel.from_params(p=p * factor, q=q, gamma=gamma / factor)
        assert {"p", "gamma"} <= set(along_ridge.check_identification(repeaters).weak), factor
    summary = fitted.summary()
    assert not summary.loc["p", "identified"] and np.isnan(summary.loc["p", "standard_error"])
    assert summary.loc["q", "identified"] and np.isfinite(summary.loc["q", "upper_95"])


def test_tiny_shop_purchase_model_is_weakly_identified_at_any_parameters() -> None:
    """Four customers, one of them a repeat buyer: nothing tells how quickly customers stop buying, at the
    fitted values or anywhere else."""
    summary = pd.DataFrame(
        {"frequency": [2.0, 0, 0, 0], "recency": [6.14, 0, 0, 0], "T": [18.0, 20.0, 14.0, 3.0]}
    )
    for params in (
        {"r": 0.3, "alpha": 4.5, "a": 2e6, "b": 6e6},
        {"r": 0.24, "alpha": 4.4, "a": 0.8, "b": 2.4},
    ):
        assert BetaGeoModel.from_params(**params).check_identification(summary).weak != ()


def test_fit_reports_weak_identification_in_words(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(FIXTURES / "analytics_orders.csv", currency="USD")
        result = fit_model(ws.table("orders"), "bgnbd")
    data = result.to_dict()
    assert data["weakly_identified"] and all(
        data["standard_errors"][n] is None for n in data["weakly_identified"]
    )
    assert any(
        "how quickly customers stop buying" in note and "not pinned down" in note for note in data["notes"]
    )


def test_identification_reads_the_eigenvalues_not_the_diagonal() -> None:
    """A ridge: each log-parameter alone is well determined (large diagonal), but their sum is not."""
    information = np.array([[100.0, -99.9], [-99.9, 100.0]])
    found = Identification.of(("a", "b"), np.zeros(2), information)
    assert found.weak == ("a", "b") and found.condition == pytest.approx(199.9 / 0.1)
    saddle = Identification.of(("a", "b"), np.zeros(2), np.array([[5.0, 0.0], [0.0, -1.0]]))
    assert saddle.weak == ("b",) and "not convex" in saddle.reasons[0]
    edge = Identification.of(("a", "b"), np.array([np.log(2e6), 0.0]), np.eye(2) * 50)
    assert edge.weak == ("a",)
