"""Purchase timing (:mod:`ltvkit.predict.timing`) against the BG/NBD simulator and its own definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvkit.errors import ParameterError
from ltvkit.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from ltvkit.predict.timing import probability_of_purchase, purchase_wait


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_probability_of_a_purchase_matches_simulated_futures(cls: type) -> None:
    """Customers observed 52 weeks, then 13 more: the predicted P(≥1 purchase) against the share who made
    one, overall and by repeat purchases so far."""
    model = cls.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    data = model.simulate(T=np.full(200_000, 52.0), future=13.0, random_state=5)
    predicted = probability_of_purchase(model, 13.0, data)
    bought = (data["future_purchases"] > 0).astype(float)
    assert predicted.mean() == pytest.approx(bought.mean(), abs=0.004)
    by_x = pd.DataFrame({"x": np.minimum(data["frequency"], 4), "p": predicted, "a": bought})
    means = by_x.groupby("x").mean()
    np.testing.assert_allclose(means["p"], means["a"], atol=0.01)


def test_the_median_wait_is_when_half_of_the_active_have_bought() -> None:
    model = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    history = {"frequency": np.array([0.0, 1, 6]), "recency": np.array([0.0, 10, 40]), "T": np.full(3, 50.0)}
    wait = purchase_wait(model, **history)
    alive = model.probability_alive(**history)
    np.testing.assert_allclose(probability_of_purchase(model, wait, **history) / alive, 0.5)
    assert np.all(np.diff(wait) < 0)  # frequent buyers come back sooner
    assert (purchase_wait(model, probability=0.9, **history) > wait).all()


def test_timing_refuses_what_it_cannot_do() -> None:
    pareto = ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.6, beta=11.7)
    with pytest.raises(ParameterError, match="BG/NBD and MBG/NBD"):
        probability_of_purchase(pareto, 4.0, frequency=1, recency=2, T=3)
    bg = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    with pytest.raises(ParameterError, match="probability"):
        purchase_wait(bg, probability=1.0, frequency=1, recency=2, T=3)
