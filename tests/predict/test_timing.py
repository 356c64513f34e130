"""Purchase timing (:mod:`ltvkit.predict.timing`) against the models' simulators, its own definition and (for
Pareto/NBD) a direct two-dimensional integration over the purchase and drop-out rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

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


PARETO = ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.6, beta=11.7)


def test_pareto_probability_of_a_purchase_matches_simulated_futures() -> None:
    """Pareto/NBD customers observed 52 weeks, then 13 more: the predicted P(≥1 purchase) against the share
    who made one, overall and by repeat purchases so far, within 4 standard errors of the simulated share."""
    data = PARETO.simulate(T=np.full(50_000, 52.0), future=13.0, random_state=7)
    predicted = probability_of_purchase(PARETO, 13.0, data)
    bought = (data["future_purchases"] > 0).astype(float)
    by_x = pd.DataFrame({"x": np.minimum(data["frequency"], 4), "p": predicted, "a": bought})
    for _, group in [("all", by_x), *by_x.groupby("x")]:
        error = np.sqrt(group["p"].mean() * (1 - group["p"].mean()) / len(group))
        assert abs(group["p"].mean() - group["a"].mean()) < 4 * error


def _active_purchase_share(model: ParetoNBDModel, x: float, T: float, t: float) -> float:
    """P(a purchase within t | active at T) = E[λ/(λ+μ) · (1 − e^(−(λ+μ)t))], λ ~ Gamma(r+x, α+T) and
    μ ~ Gamma(s, β+T) independent, integrated over log λ and log μ where the densities are above e^−60
    of their peaks (t = inf: buys again at all)."""
    r, alpha, s, beta = model._p

    def log_density(v: float, shape: float, rate: float) -> float:  # of log G, G ~ Gamma(shape, rate)
        return shape * v - rate * math.exp(v) + shape * math.log(rate) - math.lgamma(shape)

    def share(log_mu: float, log_lambda: float) -> float:
        lam, mu = math.exp(log_lambda), math.exp(log_mu)
        bought = lam / (lam + mu) * (1.0 if math.isinf(t) else -math.expm1(-(lam + mu) * t))
        return bought * math.exp(log_density(log_lambda, r + x, alpha + T) + log_density(log_mu, s, beta + T))

    def span(shape: float, rate: float) -> tuple[float, float]:
        return -math.log(rate) - 60 / shape - 5, -math.log(rate) + math.log(100 + 10 * shape)

    (a0, a1), (b0, b1) = span(r + x, alpha + T), span(s, beta + T)
    return float(integrate.dblquad(share, a0, a1, b0, b1, epsabs=1e-12, epsrel=1e-9)[0])


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 20.0), (3, 10.0, 40.0), (20, 39.0, 40.0)])
def test_pareto_timing_matches_the_rates_integrated_directly(x: int, t_x: float, T: float) -> None:
    history = {"frequency": x, "recency": t_x, "T": T}
    alive = PARETO.probability_alive(**history)
    for t in (2.0, 13.0, 52.0):
        want = alive * _active_purchase_share(PARETO, x, T, t)
        assert probability_of_purchase(PARETO, t, **history) == pytest.approx(want, rel=1e-8)
    ever = _active_purchase_share(PARETO, x, T, np.inf)
    for q in (0.5, 0.9):
        wait = purchase_wait(PARETO, probability=q, **history)
        assert _active_purchase_share(PARETO, x, T, float(wait)) / ever == pytest.approx(q, rel=1e-8)


def test_pareto_waits_are_shorter_for_frequent_buyers_and_finite() -> None:
    history = {"frequency": np.array([0.0, 1, 6, 300]), "recency": np.array([0.0, 10, 40, 49]), "T": 50.0}
    wait = purchase_wait(PARETO, **history)
    assert np.all(np.isfinite(wait)) and np.all(np.diff(wait) < 0)
    assert (purchase_wait(PARETO, probability=0.9, **history) > wait).all()


def test_timing_refuses_what_it_cannot_do() -> None:
    bg = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    with pytest.raises(ParameterError, match="probability"):
        purchase_wait(bg, probability=1.0, frequency=1, recency=2, T=3)
    with pytest.raises(ParameterError, match="negative"):
        probability_of_purchase(PARETO, -1.0, frequency=1, recency=2, T=3)
