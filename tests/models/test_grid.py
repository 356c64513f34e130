"""A grid over extreme inputs and parameters for every model (issue 21): histories up to x = 10^4 and
T = 10^4, horizons up to 10^4, parameters at the bounds the fit allows (e^±18). Every value must be finite,
within its bounds and monotone where the model says so, agree with an independent reference where one exists
(1e-6), and come back within a generous time budget — the evaluations have a fixed or capped cost."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from tests.models.references import bg_expected, bgbb_expected, pareto_alive

from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from ltvkit.models.base import LOG_BOUNDS

EDGE = float(np.exp(LOG_BOUNDS[1]))
VALUES = (1 / EDGE, 1e-2, 1.0, 1e2, EDGE)  # each parameter: both bounds of the fit, and between
BUDGET = 5.0  # seconds for one parameter set's whole block of rows (the old hangs took minutes per row)

# every history: x up to 10^4, the last purchase at the start, in the middle or at the end, T up to 10^4
X = np.array([0.0, 1, 10, 1e4])
T = np.array([0.5, 40.0, 1e4])
rows = [(x, share * t, t) for x, t, share in itertools.product(X, T, (0.0, 0.5, 1.0)) if x > 0 or share == 0]
FREQUENCY, RECENCY, AGE = (np.array(v) for v in zip(*rows, strict=True))
HORIZONS = (1.0, 1e4)


def _timed(call):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    value = call()
    assert time.perf_counter() - start < BUDGET
    return value


def _check_purchase_model(model) -> None:  # noqa: ANN001
    alive = _timed(lambda: model.probability_alive(frequency=FREQUENCY, recency=RECENCY, T=AGE))
    assert np.all((alive >= 0) & (alive <= 1)), model
    near, far = (
        _timed(lambda t=t: model.expected_purchases(t, frequency=FREQUENCY, recency=RECENCY, T=AGE))
        for t in HORIZONS
    )
    assert np.all(np.isfinite(near) & np.isfinite(far) & (near >= 0)), model
    assert np.all(far >= near * (1 - 1e-9)), model  # more time, at least as many purchases
    new = model.expected_purchases_new_customer(np.array(HORIZONS))
    assert np.all(np.isfinite(new)) and 0 <= new[0] <= new[1] * (1 + 1e-9), model
    ll = _timed(lambda: model.log_likelihood(frequency=FREQUENCY, recency=RECENCY, T=AGE))
    assert np.all(np.isfinite(ll)), model
    pmf = model.probability_of_n_purchases(40.0, np.arange(4))
    assert np.all(np.isfinite(pmf) & (pmf >= 0)) and pmf.sum() <= 1 + 1e-6, model


PURCHASE_GRIDS = {
    BetaGeoModel: ("r", "alpha", "a", "b"),
    ModifiedBetaGeoModel: ("r", "alpha", "a", "b"),
    ParetoNBDModel: ("r", "alpha", "s", "beta"),
}


@pytest.mark.parametrize("cls", list(PURCHASE_GRIDS), ids=lambda c: c.__name__)
def test_purchase_models_on_the_edge_grid(cls: type) -> None:
    """Drop-out parameters over the whole grid; the purchase-rate parameters at both ends and the middle."""
    names = PURCHASE_GRIDS[cls]
    for r, alpha in ((1 / EDGE, EDGE), (1.0, 1.0), (EDGE, 1 / EDGE)):
        for third, fourth in itertools.product(VALUES, repeat=2):
            _check_purchase_model(cls.from_params(**dict(zip(names, (r, alpha, third, fourth), strict=True))))


@pytest.mark.slow  # the full 5^4 grid: CI runs it
@pytest.mark.parametrize("cls", list(PURCHASE_GRIDS), ids=lambda c: c.__name__)
def test_purchase_models_on_the_full_grid(cls: type) -> None:
    names = PURCHASE_GRIDS[cls]
    for values in itertools.product((1 / EDGE, 1.0, EDGE), (1 / EDGE, 1.0, EDGE), VALUES, VALUES):
        _check_purchase_model(cls.from_params(**dict(zip(names, values, strict=True))))


REFERENCE_VALUES = (1e-3, 1.0, 1e3)


def test_pareto_probability_alive_agrees_with_the_closed_form_across_the_grid() -> None:
    for r, alpha, s, beta in itertools.product((0.7,), REFERENCE_VALUES, REFERENCE_VALUES, REFERENCE_VALUES):
        model = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s, beta=beta)
        x, t_x, age = np.array([0.0, 1, 10, 100]), np.array([0.0, 20, 5, 39]), np.full(4, 40.0)
        got = model.probability_alive(frequency=x, recency=t_x, T=age)
        want = [pareto_alive(r, alpha, s, beta, *row) for row in zip(x, t_x, age, strict=True)]
        assert got == pytest.approx(want, rel=1e-6, abs=1e-12), (r, alpha, s, beta)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel], ids=lambda c: c.__name__)
def test_bg_expectation_agrees_with_the_series_across_the_grid(cls: type) -> None:
    """Against eq. 10's ₂F₁ summed at 40 digits (t ≤ α + T keeps its series short), a ≠ 1."""
    for a, b in itertools.product((1e-3, 0.4, 30.0, 1e4), repeat=2):
        model = cls.from_params(r=0.5, alpha=5.0, a=a, b=b)
        x, age, t = np.array([0.0, 3, 500]), np.array([40.0, 40, 1e4]), np.array([39.0, 45.0, 1e4])
        got = model.expected_purchases(t, frequency=x, recency=age, T=age)
        alive = model.probability_alive(frequency=x, recency=age, T=age)
        want = [
            p * bg_expected(0.5, 5.0, a, b, int(k), u, v, cls._shift)
            for p, k, u, v in zip(alive, x, age, t, strict=True)
        ]
        assert got == pytest.approx(want, rel=1e-6, abs=1e-300), (a, b)


def test_bgbb_on_the_edge_grid() -> None:
    x, t_x, n = (
        np.array([0.0, 1, 5, 30, 100]),
        np.array([0.0, 1, 9, 60, 100]),
        np.array([6.0, 10, 10, 100, 100]),
    )
    for params in itertools.product((1 / EDGE, 1.0, EDGE), (1 / EDGE, 1.0, EDGE), VALUES, VALUES):
        model = BetaGeoBetaBinomModel.from_params(
            **dict(zip(("alpha", "beta", "gamma", "delta"), params, strict=True))
        )
        alive = _timed(lambda m=model: m.probability_alive(frequency=x, recency=t_x, n_periods=n))
        assert np.all((alive >= 0) & (alive <= 1 + 1e-12)), params
        near, far = (model.expected_purchases(k, frequency=x, recency=t_x, n_periods=n) for k in (1.0, 1e4))
        assert np.all(np.isfinite(near) & (near >= 0) & (far >= near * (1 - 1e-9))), params
        assert np.all(near <= 1 + 1e-9) and np.all(far <= 1e4 * (1 + 1e-9)), params  # at most one a period
        assert np.all(np.isfinite(model.log_likelihood(frequency=x, recency=t_x, n_periods=n))), params
        pmf = model.probability_of_n_purchases(10, np.arange(11))
        assert pmf.sum() == pytest.approx(1, abs=1e-6), params


def test_bgbb_expectation_agrees_with_the_sums_across_the_grid() -> None:
    for params in itertools.product((0.5, 5.0), (0.8,), (1e-3, 0.7, 30.0, 1e3), (1e-3, 2.0, 300.0, 1e5)):
        model = BetaGeoBetaBinomModel.from_params(
            **dict(zip(("alpha", "beta", "gamma", "delta"), params, strict=True))
        )
        for x, t_x, n, n_star in [(0, 0, 6, 5), (3, 4, 6, 50), (10, 10, 10, 300)]:
            got = model.expected_purchases(n_star, frequency=x, recency=t_x, n_periods=n)
            assert got == pytest.approx(bgbb_expected(params, x, t_x, n, n_star), rel=1e-6), params


def test_gamma_gamma_on_the_edge_grid() -> None:
    x = np.array([0.0, 1, 10, 1e4])
    m = np.array([0.0, 5.0, 1e3, 1e-2])
    for p, q, g in itertools.product(VALUES, VALUES, VALUES):
        model = GammaGammaModel.from_params(p=p, q=q, gamma=g)
        spend = model.expected_spend(frequency=x, monetary_value=m)
        assert not np.any(np.isnan(spend)) and np.all(spend >= 0), (p, q, g)
        finite = p * x + q > 1
        assert np.all(np.isfinite(spend[finite])) and np.all(np.isposinf(spend[~finite])), (p, q, g)
        repeat = (x > 0) & finite
        lower, upper = np.minimum(m, model.mean_spend()), np.maximum(m, model.mean_spend())
        assert np.all(spend[repeat] >= lower[repeat] * (1 - 1e-9)), (p, q, g)  # shrunk between the two
        assert np.all(spend[repeat] <= upper[repeat] * (1 + 1e-9)), (p, q, g)
        assert np.all(np.isfinite(model.log_likelihood(frequency=x[1:], monetary_value=m[1:])))


def test_sbg_on_the_edge_grid() -> None:
    t = np.arange(0, 10_001, 100.0)
    for a, b in itertools.product(VALUES, repeat=2):
        model = ShiftedBetaGeometricModel.from_params(alpha=a, beta=b)
        survival = model.survival(t)
        assert np.all((survival >= 0) & (survival <= 1)) and np.all(np.diff(survival) <= 0), (a, b)
        retention = model.retention_rate(t[1:])
        assert np.all((retention >= 0) & (retention <= 1)) and np.all(np.diff(retention) >= -1e-15), (a, b)
        derl = _timed(lambda m=model: m.discounted_expected_residual_lifetime(0.1, np.array([1.0, 10, 1e4])))
        assert np.all(np.isfinite(derl) & (derl >= 0) & (derl <= 11 * (1 + 1e-12))), (a, b)  # ≤ Σ 1.1^−k
        assert np.all(np.isfinite(model.log_likelihood(periods=[1.0, 1e4], churned=[1, 0]))), (a, b)
