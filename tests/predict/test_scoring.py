"""Scoring internals of ``ltvkit.predict.clv``: the rearranged discounted sum and the intervals' gradient
on a few discount steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvkit.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from ltvkit.predict import clv

BG = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)


def test_discounted_sum_without_a_difference_table() -> None:
    """Σ E[Y(t_i)] (v_i − v_{i+1}) equals Σ (E[Y(t_i)] − E[Y(t_{i−1})]) v_i, summed by hand."""
    histories = pd.DataFrame(
        {"frequency": [0.0, 2.0, 7.0], "recency": [0.0, 30.4, 12.0], "T": [5.0, 38.9, 70]}
    )
    steps = np.linspace(52 / 24, 52, 24)
    discount = 1.1 ** -(steps * 7 / 365.25)
    outlook = clv.history_outlook(BG, histories, steps, discount)
    expected, discounted = outlook["expected_purchases"], outlook["discounted_purchases"]
    for i, h in histories.iterrows():
        cumulative = BG.expected_purchases(steps, frequency=h.frequency, recency=h.recency, T=h["T"])
        assert discounted[i] == pytest.approx(np.diff(cumulative, prepend=0.0) @ discount, rel=1e-12)
        assert expected[i] == pytest.approx(cumulative[-1], rel=1e-14)


@pytest.mark.parametrize("model", [BG, ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)])
def test_interval_gradient_on_a_few_steps(model: BetaGeoModel, cdnow_rfm: pd.DataFrame) -> None:
    """The gradient's outlooks on :data:`GRADIENT_STEPS` steps move the bounds by under 0.5% against every
    step at two years and 10% a year, and not at all without discounting (the last step is the horizon)."""
    purchase = type(model)().fit(cdnow_rfm)
    spend = GammaGammaModel().fit(cdnow_rfm[cdnow_rfm["monetary_value"] > 0])
    for rate, tolerance in ((0.1, 5e-3), (0.0, 1e-12)):
        few = clv.customer_value(purchase, spend, cdnow_rfm, horizon=104, unit="week", discount_rate=rate)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(clv, "GRADIENT_STEPS", 24)
            every = clv.customer_value(
                purchase, spend, cdnow_rfm, horizon=104, unit="week", discount_rate=rate
            )
        pd.testing.assert_series_equal(few["clv"], every["clv"], rtol=1e-14)
        for bound in ("clv_low", "clv_high"):
            assert np.abs(few[bound] / every[bound] - 1).max() < tolerance
