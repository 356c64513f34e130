"""Each model against the numbers published in its paper (``../shared/data/README.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import DATA
from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from ltvkit.models.sbg import survivors_to_durations


def three_significant(values: pd.Series, expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert float(f"{values[name]:.3g}") == float(f"{value:.3g}"), (name, values[name], value)


def test_bgnbd_cdnow(cdnow_rfm: pd.DataFrame) -> None:
    """Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4."""
    model = BetaGeoModel().fit(cdnow_rfm)
    three_significant(model.params_, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert model.n_customers_ == 2357
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86 → 1.226 purchases in the next 39 weeks
    assert model.expected_purchases(39, frequency=2, recency=30.43, T=38.86) == pytest.approx(1.226, abs=5e-4)


def test_paretonbd_cdnow(cdnow_rfm: pd.DataFrame) -> None:
    """Fader & Hardie's Pareto/NBD fit: r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0."""
    model = ParetoNBDModel().fit(cdnow_rfm)
    three_significant(model.params_, {"r": 0.553, "alpha": 10.578, "s": 0.606})
    assert model.params_["beta"] == pytest.approx(11.669, rel=0.01)  # weakly identified
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_cdnow(cdnow_rfm: pd.DataFrame) -> None:
    """Fader, Hardie & Lee (2005, RFM and CLV): p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat buyers."""
    repeaters = cdnow_rfm[(cdnow_rfm["frequency"] > 0) & (cdnow_rfm["monetary_value"] > 0)]
    assert len(repeaters) == 946
    model = GammaGammaModel().fit(repeaters)
    three_significant(model.params_, {"p": 6.25, "q": 3.74, "gamma": 15.44})
    # shrinkage: a customer's expected spend lies between the population mean and their own mean
    expected = model.expected_spend(frequency=[1, 10], monetary_value=[100.0, 100.0])
    assert model.mean_spend() < expected[0] < expected[1] < 100


def test_bgbb_donations() -> None:
    """Fader, Hardie & Shang (2010): α = 1.204, β = 0.750, γ = 0.657, δ = 2.783, LL = −33,225.6."""
    data = pd.read_csv(DATA / "donations.csv").rename(columns={"periods": "n_periods", "weights": "weight"})
    model = BetaGeoBetaBinomModel().fit(data)
    three_significant(model.params_, {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783})
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert model.n_customers_ == 11104


REGULAR = [100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3]
HIGH_END = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4]


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta"),
    [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)],
    ids=["regular", "high-end"],
)
def test_sbg_retention(survivors: list[float], alpha: float, beta: float) -> None:
    """Fader & Hardie (2007): fitted on years 1–7 of 1,000 customers; projected to year 12."""
    model = ShiftedBetaGeometricModel().fit(survivors_to_durations(np.array(survivors[:8]) * 10))
    three_significant(model.params_, {"alpha": alpha, "beta": beta})
    projected = 100 * model.survival(np.arange(8, 13))
    # the paper's point: the projection tracks the actual years 8–12 within about two points
    assert np.abs(projected - np.array(survivors[8:])).max() < 2.5
    assert np.all(np.diff(model.retention_rate(np.arange(1, 13))) > 0)  # retention rises with tenure
