"""Properties every model must keep: recovery of known parameters from its own simulator, bounds and
monotonicity of predictions, and finite values at extreme inputs (x and T up to 10^4, parameters near
their bounds) — where other implementations' Pareto/NBD and ₂F₁ evaluations overflow."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.models.references import hyp2f1_by_summation

from ltvkit.errors import InputError, NotFittedError, ParameterError
from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)

RFM_MODELS = {
    BetaGeoModel: {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeoModel: {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    ParetoNBDModel: {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0},
}


def within_intervals(model, truth: dict[str, float], z: float = 3.5) -> None:  # noqa: ANN001
    summary = model.summary()
    for name, value in truth.items():
        log_se = np.log(summary.loc[name, "upper_95"] / summary.loc[name, "estimate"]) / 1.96
        assert abs(np.log(summary.loc[name, "estimate"] / value)) < z * log_se + 1e-9, (name, summary)


@pytest.mark.parametrize("cls", list(RFM_MODELS), ids=lambda c: c.__name__)
def test_recovers_parameters_from_its_own_simulation(cls: type) -> None:
    truth = RFM_MODELS[cls]
    rng = np.random.default_rng(20261123)
    data = cls.from_params(**truth).simulate(T=rng.uniform(20, 80, 20_000).round(1), random_state=rng)
    fitted = cls().fit(data)
    within_intervals(fitted, truth)


def test_bgbb_recovers_parameters() -> None:
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    data = BetaGeoBetaBinomModel.from_params(**truth).simulate(n_periods=6, size=30_000, random_state=3)
    fitted = BetaGeoBetaBinomModel().fit(data)
    assert fitted.n_distinct_ <= 22  # compression: 30,000 donors, at most 22 distinct histories
    within_intervals(fitted, truth)


def test_gamma_gamma_recovers_parameters() -> None:
    truth = {"p": 6.0, "q": 3.8, "gamma": 15.0}
    x = np.random.default_rng(5).integers(1, 15, 20_000)
    data = GammaGammaModel.from_params(**truth).simulate(x, random_state=6)
    within_intervals(GammaGammaModel().fit(data), truth)


def test_sbg_recovers_parameters() -> None:
    truth = {"alpha": 0.7, "beta": 1.2}
    data = ShiftedBetaGeometricModel.from_params(**truth).simulate(20_000, max_periods=10, random_state=8)
    within_intervals(ShiftedBetaGeometricModel().fit(data), truth)


@pytest.mark.parametrize("cls", list(RFM_MODELS), ids=lambda c: c.__name__)
def test_predictions_match_simulated_futures(cls: type) -> None:
    """Expected purchases in (T, T+52] given each history against the purchases the simulation made."""
    model = cls.from_params(**RFM_MODELS[cls])
    data = model.simulate(T=np.full(200_000, 52.0), future=52.0, random_state=11)
    predicted = model.expected_purchases(52, data)
    assert predicted.mean() == pytest.approx(data["future_purchases"].mean(), rel=0.03)
    by_x = pd.DataFrame(
        {"x": np.minimum(data["frequency"], 3), "p": predicted, "a": data["future_purchases"]}
    )
    means = by_x.groupby("x").mean()
    assert means["p"].to_numpy() == pytest.approx(means["a"].to_numpy(), rel=0.06)
    assert model.probability_alive(data).mean() == pytest.approx(data["alive"].mean(), abs=0.01)
    new = model.expected_purchases_new_customer(52.0)
    assert float(new) == pytest.approx(data["frequency"].mean(), rel=0.03)


positive = st.floats(min_value=1e-3, max_value=1e3)


@settings(max_examples=150, deadline=None)
@given(
    r=positive,
    alpha=positive,
    a=st.floats(0.05, 50),
    b=st.floats(0.05, 50),
    x=st.integers(0, 10_000),
    T=st.floats(0.1, 10_000),
    share=st.floats(0, 1),
    t=st.floats(0.1, 10_000),
)
def test_bg_family_is_finite_and_bounded(r, alpha, a, b, x, T, share, t) -> None:  # noqa: ANN001
    recency = share * T if x > 0 else 0.0
    for cls in (BetaGeoModel, ModifiedBetaGeoModel):
        model = cls.from_params(r=r, alpha=alpha, a=a, b=b)
        alive = model.probability_alive(frequency=x, recency=recency, T=T)
        assert 0.0 <= alive <= 1.0
        e1, e2 = model.expected_purchases([t, 2 * t], frequency=x, recency=recency, T=T)
        assert np.isfinite(e1) and np.isfinite(e2) and -1e-9 <= e1 <= e2 * (1 + 1e-9) + 1e-12
        ll = model._log_likelihood(
            model.params_.to_numpy(), np.array([x]), np.array([recency]), np.array([T])
        )
        assert np.isfinite(ll).all()  # a density in t_x, so it may exceed 1


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.01, 20),
    alpha=positive,
    log_a=st.floats(np.log(0.05), 18),
    log_b=st.floats(np.log(0.05), 18),
    x=st.integers(0, 2_000),
    T=st.floats(1, 500),
    share=st.floats(0.001, 1),
    shift=st.sampled_from([0, 1]),
)
def test_bg_expected_purchases_match_the_formula_at_high_precision(
    r, alpha, log_a, log_b, x, T, share, shift
) -> None:  # noqa: ANN001
    """Eq. 10 (MBG: its shifted twin), its ₂F₁ summed at 80 digits, across the whole allowed parameter range
    (a and b up to e^18, where one form of the series or the other needs millions of terms in floats)."""
    import mpmath

    a, b, t = float(np.exp(log_a)), float(np.exp(log_b)), share * T  # t ≤ T keeps z ≤ ½ for the reference
    model = (ModifiedBetaGeoModel if shift else BetaGeoModel).from_params(r=r, alpha=alpha, a=a, b=b)
    with mpmath.workdps(80):
        r_, al, a_, b_, T_, t_ = (mpmath.mpf(v) for v in (r, alpha, a, b, T, t))
        a_ += mpmath.mpf("1e-50") if a == 1 else 0  # the limit a → 1, to far more digits than a float holds
        keep = (al + T_) / (al + T_ + t_)
        series = hyp2f1_by_summation(r_ + x, b_ + x + shift, a_ + b_ + x + shift - 1, 1 - keep)
        bracket = (a_ + b_ + x + shift - 1) / (a_ - 1) * (1 - keep ** (r_ + x) * series)
        expected = float(bracket * float(model.probability_alive(frequency=x, recency=T, T=T)))
    got = float(model.expected_purchases(t, frequency=x, recency=T, T=T))
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-12)


@pytest.mark.slow  # ~20 s here; CI runs it (make test runs every test)
@settings(max_examples=150, deadline=None)
@given(
    r=positive,
    alpha=positive,
    s=positive,
    beta=positive,
    x=st.integers(0, 10_000),
    T=st.floats(0.1, 10_000),
    share=st.floats(0, 1),
    t=st.floats(0.1, 10_000),
)
def test_pareto_nbd_is_finite_and_bounded(r, alpha, s, beta, x, T, share, t) -> None:  # noqa: ANN001
    recency = share * T if x > 0 else 0.0
    model = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s, beta=beta)
    alive = model.probability_alive(frequency=x, recency=recency, T=T)
    assert 0.0 <= alive <= 1.0
    e1, e2 = model.expected_purchases([t, 2 * t], frequency=x, recency=recency, T=T)
    assert np.isfinite(e1) and np.isfinite(e2) and 0 <= e1 <= e2 * (1 + 1e-9) + 1e-12
    ll = model._log_likelihood(model.params_.to_numpy(), np.array([x]), np.array([recency]), np.array([T]))
    assert np.isfinite(ll).all()


def test_probability_alive_falls_as_the_silence_grows() -> None:
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    alive = model.probability_alive(frequency=5, recency=10.0, T=np.array([10.0, 20, 40, 80]))
    assert np.all(np.diff(alive) < 0)
    assert alive[0] == pytest.approx(1 / (1 + 0.793 / (2.426 + 4)))  # a purchase just now may be the last
    pnbd = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    alive = pnbd.probability_alive(frequency=5, recency=10.0, T=np.array([10.0, 20, 40, 80]))
    assert np.all(np.diff(alive) < 0)


def test_extreme_history_gives_certain_answers() -> None:
    """x = 10^4 purchases, the last long ago: certainly gone; the last just now: certainly alive."""
    for model in (
        BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426),
        ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    ):
        gone = model.probability_alive(frequency=10_000, recency=100.0, T=10_000.0)
        here = model.probability_alive(frequency=10_000, recency=10_000.0, T=10_000.0)
        assert gone == 0.0 and here > 0.9999  # BG/NBD: even a purchase just now may have been the last
        assert model.expected_purchases(52, frequency=10_000, recency=100.0, T=10_000.0) == 0.0


def test_unfitted_models_say_so() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        BetaGeoModel().probability_alive(frequency=1, recency=1, T=2)
    with pytest.raises(NotFittedError):
        BetaGeoModel.from_params(r=1, alpha=1, a=1, b=1).sample_params(5)


def test_bad_inputs_are_clear_errors() -> None:
    bad = pd.DataFrame({"frequency": [1, 2], "recency": [5.0, 9.0], "T": [4.0, 10.0]})
    with pytest.raises(InputError, match="recency exceeds T in 1 rows"):
        BetaGeoModel().fit(bad)
    with pytest.raises(InputError, match="needs columns T"):
        BetaGeoModel().fit(bad.drop(columns="T"))
    with pytest.raises(ParameterError, match="positive"):
        BetaGeoModel.from_params(r=-1, alpha=1, a=1, b=1)
    with pytest.raises(ParameterError, match="takes parameters"):
        ParetoNBDModel.from_params(r=1, alpha=1, a=1, b=1)


def test_fit_cost_does_not_grow_with_customers() -> None:
    """Compression: 10x the customers, the same distinct histories to fit on (integer weeks)."""
    model = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    small = model.simulate(T=np.full(10_000, 52.0), random_state=1)
    large = model.simulate(T=np.full(100_000, 52.0), random_state=2)
    for frame in (small, large):
        frame["recency"] = np.ceil(frame["recency"])
    assert BetaGeoModel().fit(large).n_distinct_ < 2 * BetaGeoModel().fit(small).n_distinct_


def test_parameter_draws_and_round_trip_through_json() -> None:
    data = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5).simulate(
        T=np.full(5000, 52.0), random_state=4
    )
    model = BetaGeoModel().fit(data)
    draws = model.sample_params(4000, random_state=1)
    assert draws.shape == (4000, 4) and (draws > 0).all()
    assert np.median(draws, axis=0) == pytest.approx(model.params_.to_numpy(), rel=0.02)
    again = BetaGeoModel.from_dict(model.to_dict())
    pd.testing.assert_series_equal(again.params_, model.params_)
    pd.testing.assert_frame_equal(again.summary(), model.summary())


GRADIENT_CASES = [
    (BetaGeoModel, [0.3, 4.0, 0.8, 2.5]),
    (ModifiedBetaGeoModel, [0.3, 4.0, 0.8, 2.5]),
    (ParetoNBDModel, [0.55, 10.6, 0.6, 11.7]),
    (ParetoNBDModel, [0.55, 12.0, 0.6, 9.0]),  # the α ≥ β branch of the likelihood
    (BetaGeoBetaBinomModel, [1.2, 0.75, 0.66, 2.8]),
    (GammaGammaModel, [6.0, 3.7, 15.0]),
    (ShiftedBetaGeometricModel, [0.7, 1.2]),
]


def _central_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    grad = np.empty_like(x)
    for j in range(len(x)):
        step = np.zeros_like(x)
        step[j] = 1e-6 * max(1.0, abs(x[j]))
        grad[j] = (f(x + step) - f(x - step)) / (2 * step[j])
    return grad


@pytest.mark.parametrize(("cls", "params"), GRADIENT_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_analytic_gradients_match_central_differences(
    cls: type, params: list[float], cdnow_rfm: pd.DataFrame
) -> None:
    if cls is BetaGeoBetaBinomModel:
        data = cls.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8).simulate(6, 3000, random_state=1)
    elif cls is ShiftedBetaGeometricModel:
        data = cls.from_params(alpha=0.7, beta=1.2).simulate(3000, max_periods=8, random_state=1)
    else:
        data = cdnow_rfm[cdnow_rfm["monetary_value"] > 0] if cls is GammaGammaModel else cdnow_rfm
    model = cls()
    arrays = {c: data[c].to_numpy(dtype=float) for c in cls._data_columns}
    p = np.array(params)
    analytic = model._gradient(p, **arrays)
    numeric = _central_gradient(lambda lp: model._log_likelihood(np.exp(lp), **arrays).sum(), np.log(p)) / p
    assert analytic.sum(axis=0) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(
    ("cls", "params"), list(RFM_MODELS.items()), ids=lambda v: getattr(v, "__name__", "")
)
def test_gradient_of_log_probability_alive_matches_central_differences(
    cls: type, params: dict[str, float]
) -> None:
    """The analytic ∂ log P(alive)/∂ log θ the scoring intervals use, row by row, on histories from no
    repeat purchase to long silences and a purchase at T."""
    x = np.array([0.0, 1.0, 2.0, 7.0, 30.0, 5.0])
    t_x = np.array([0.0, 0.5, 30.4, 12.0, 60.0, 40.0])
    T = np.array([5.0, 38.9, 38.9, 70.0, 61.0, 40.0])
    log_p = np.log(list(params.values()))

    def log_alive(lp: np.ndarray, i: int) -> float:
        model = cls.from_params(**dict(zip(params, np.exp(lp), strict=True)))
        return float(np.log(model.probability_alive(frequency=x[i], recency=t_x[i], T=T[i])))

    alive, gradient = cls.from_params(**params)._alive_with_gradient(x, t_x, T)
    np.testing.assert_allclose(
        alive, cls.from_params(**params).probability_alive(frequency=x, recency=t_x, T=T)
    )
    for i in range(len(x)):
        numeric = _central_gradient(lambda lp, i=i: log_alive(lp, i), log_p)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8), i
