"""The models at their edges (issue 21): each reproduction of a hang, a NaN or a negative value, as a test
against an independent reference (high-precision closed forms, direct sums, adaptive quadrature)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import betaln, gammaln
from tests.models.references import bg_expected, bgbb_expected, pareto_alive

from ltvkit.errors import ConvergenceError, HeavyTailWarning, ParameterError, WeakIdentificationWarning
from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)

RIDGE = {"r": 1.3, "alpha": 47.25, "s": 1e4, "beta": 1.2e6}


def _within(seconds: float, call):  # noqa: ANN001, ANN202
    """``call()`` and assert that it returned within a generous budget (the issue's hangs took minutes)."""
    start = time.perf_counter()
    value = call()
    assert time.perf_counter() - start < seconds
    return value


# --- Pareto/NBD --------------------------------------------------------------------------------------------


def test_pareto_probability_alive_on_the_ridge_is_fast_and_right() -> None:
    """Took ~3 s (four mpmath ₂F₁ per row); now a fixed quadrature."""
    model = ParetoNBDModel.from_params(**RIDGE)
    alive = _within(1.0, lambda: model.probability_alive(frequency=[1], recency=[10], T=[40]))
    assert alive[0] == pytest.approx(pareto_alive(**RIDGE, x=1, t_x=10, T=40), rel=1e-9)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        {"r": 0.55, "alpha": 12.0, "s": 0.6, "beta": 9.0},
        {"r": 2.0, "alpha": 0.01, "s": 30.0, "beta": 500.0},
        {"r": 0.3, "alpha": 100.0, "s": 0.01, "beta": 1e-3},
        RIDGE,
    ],
)
@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 40.0), (1, 10.0, 40.0), (30, 2.5, 300.0), (500, 90, 100)]
)
def test_pareto_probability_alive_matches_the_closed_form(params: dict, x: int, t_x: float, T: float) -> None:
    model = ParetoNBDModel.from_params(**params)
    got = model.probability_alive(frequency=x, recency=t_x, T=T)
    assert got == pytest.approx(pareto_alive(**params, x=x, t_x=t_x, T=T), rel=1e-8, abs=1e-300)
    assert np.shape(got) == ()


def _exponential_lifetime_log_likelihood(
    r: float, alpha: float, mu: float, x: int, t_x: float, T: float
) -> float:
    """The limit of the Pareto/NBD as s, β → ∞ with s/β = μ: one exponential lifetime for all, by quad."""
    k = r + x
    alive = np.exp(-mu * T) * (alpha + T) ** -k
    died = integrate.quad(lambda u: mu * np.exp(-mu * u) * (alpha + u) ** -k, t_x, T, epsabs=0, epsrel=1e-12)[
        0
    ]
    return float(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + np.log(alive + died))


def test_pareto_ridge_tends_to_the_exponential_lifetime() -> None:
    """Along s, β → ∞ with s/β fixed the likelihood is flat: it tends to the exponential-lifetime model's."""
    mu = 1 / 120
    rows = {"frequency": [0.0, 1, 4], "recency": [0.0, 10, 35], "T": [40.0, 40, 39]}
    limit = [
        _exponential_lifetime_log_likelihood(1.3, 47.25, mu, *row) for row in zip(*rows.values(), strict=True)
    ]
    for s in (1e3, 1e5, 1e7):
        model = ParetoNBDModel.from_params(r=1.3, alpha=47.25, s=s, beta=s / mu)
        assert model.log_likelihood(**rows) == pytest.approx(limit, rel=2 / s)


def _young_school(seed: int) -> pd.DataFrame:
    """600 customers over 40 weeks with low drop-out, as CLVTools' apparel data: drop-out not yet visible."""
    rng = np.random.default_rng(seed)
    truth = ParetoNBDModel.from_params(r=1.3, alpha=47.25, s=1.0, beta=400.0)
    return truth.simulate(T=rng.uniform(1, 40, 600).round(2), random_state=rng)


def test_pareto_fit_on_young_data_finishes_and_says_what_it_cannot_tell() -> None:
    """Did not finish in 10 minutes (the ridge into mpmath); here it finishes in seconds and the note says
    the data cannot tell how long customers keep buying."""
    data = _young_school(2)
    with pytest.warns(WeakIdentificationWarning, match="how long customers keep buying"):
        model = _within(60.0, lambda: ParetoNBDModel().fit(data))
    assert {"s", "beta"} <= set(model.identification_.weak)
    r, alpha, s, beta = model.params_
    for factor in (1e-2, 1.0, 1e2):  # wherever along the ridge the optimiser stopped, the check flags it
        along = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s * factor, beta=beta * factor)
        assert {"s", "beta"} <= set(along.check_identification(data).weak)


def test_pareto_ridge_note_names_the_exponential_limit() -> None:
    model = ParetoNBDModel.from_params(r=1.3, alpha=47.25, s=5e4, beta=4e7)
    model.identification_ = type("I", (), {"weak": ("s", "beta")})()  # the state a fit on the ridge leaves
    assert "average lifetime of about 800" in model._weak_identification_note()


def _central(f, x: np.ndarray) -> np.ndarray:  # noqa: ANN001
    grad = np.empty_like(x)
    for j in range(len(x)):
        step = np.zeros_like(x)
        step[j] = 1e-6 * max(1.0, abs(x[j]))
        grad[j] = (f(x + step) - f(x - step)) / (2 * step[j])
    return grad


@pytest.mark.parametrize("params", [[1.3, 47.25, 1e4, 1.2e6], [0.3, 1e-3, 50.0, 2.0], [5.0, 3.0, 1e-3, 1e-4]])
def test_pareto_gradient_matches_central_differences_at_the_edges(params: list[float]) -> None:
    data = _young_school(0)
    arrays = {c: data[c].to_numpy(float) for c in ("frequency", "recency", "T")}
    model, p = ParetoNBDModel(), np.array(params)
    # in log-parameters, as the fit sees them
    analytic = model._gradient(p, **arrays).sum(axis=0) * p
    numeric = _central(lambda lp: model._log_likelihood(np.exp(lp), **arrays).sum(), np.log(p))
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-5)


# --- Gamma-Gamma -------------------------------------------------------------------------------------------


def test_gamma_gamma_heavy_tail_is_warned_and_never_negative() -> None:
    """p = 2, q = 0.8 gave CLV −56 and −115 for one-time buyers; q = 1 gave NaN."""
    heavy = GammaGammaModel.from_params(p=2.0, q=0.8, gamma=10.0)
    spend = heavy.expected_spend(frequency=[0, 0, 1, 5], monetary_value=[0.0, 0.0, 50.0, 50.0])
    assert np.isposinf(spend[:2]).all()  # the mean spend does not exist: +∞, not a negative number
    assert spend[2:] == pytest.approx([2 * (10 + 50) / (2 + 0.8 - 1), 2 * (10 + 250) / (10 + 0.8 - 1)])
    edge = GammaGammaModel.from_params(p=2.0, q=1.0, gamma=10.0)
    assert np.isposinf(edge.expected_spend(frequency=0, monetary_value=0.0))
    assert edge.expected_spend(frequency=1, monetary_value=5.0) == pytest.approx(2 * 15 / 2)
    assert np.isposinf(heavy.mean_spend())
    data = heavy.simulate(np.random.default_rng(1).integers(1, 10, 3000), random_state=2)
    with pytest.warns(HeavyTailWarning, match="q_constraint=True"):
        assert GammaGammaModel().fit(data).params_["q"] < 1


def test_gamma_gamma_q_constraint_keeps_the_mean_finite() -> None:
    truth = GammaGammaModel.from_params(p=6.0, q=3.8, gamma=15.0)
    data = truth.simulate(np.random.default_rng(5).integers(1, 15, 5000), random_state=6)
    free = GammaGammaModel().fit(data)
    constrained = GammaGammaModel(q_constraint=True).fit(data)  # q̂ > 1 anyway: the same optimum
    assert constrained.params_.to_numpy() == pytest.approx(free.params_.to_numpy(), rel=1e-4)
    heavy = GammaGammaModel.from_params(p=2.0, q=0.8, gamma=10.0).simulate(np.full(3000, 3), random_state=2)
    with pytest.warns(HeavyTailWarning, match="even the constrained fit"):
        bounded = GammaGammaModel(q_constraint=True).fit(heavy)
    assert bounded.params_["q"] > 1 and np.isfinite(bounded.mean_spend())


# --- BG/BB -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        (1.204, 0.750, 0.657, 2.783),
        (1.2, 0.75, 300.0, 300.0),
        (1.2, 0.75, 1e3, 1e3),
        (1.2, 0.75, 1.0, 3.0),
        (1.2, 0.75, 0.5, float(np.exp(18))),
        (2.0, 3.0, float(np.exp(18)), float(np.exp(18))),
    ],
)
def test_bgbb_expected_purchases_against_the_sums(params: tuple[float, ...]) -> None:
    """NaN for γ = δ ≥ 300 and the wrong sign near δ = e^18 before (a difference of gamma ratios)."""
    model = BetaGeoBetaBinomModel.from_params(
        **dict(zip(("alpha", "beta", "gamma", "delta"), params, strict=True))
    )
    for x, t_x, n, n_star in [(3, 4, 6, 5), (0, 0, 6, 1), (6, 6, 6, 100), (2, 5, 10, 1000)]:
        got = model.expected_purchases(n_star, frequency=x, recency=t_x, n_periods=n)
        assert got == pytest.approx(bgbb_expected(params, x, t_x, n, n_star), rel=1e-6)
    horizon = np.arange(1, 60)
    e = model.expected_purchases(horizon, frequency=np.full(59, 2), recency=5, n_periods=10)
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) >= -1e-14 * e[1:])  # rising, to rounding


def test_bgbb_takes_scalars_and_predicts_for_new_customers() -> None:
    model = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    alive = model.probability_alive(frequency=3, recency=4, n_periods=6)
    assert np.shape(alive) == () and 0 < alive < 1
    assert np.shape(model.expected_purchases(5, frequency=3, recency=4, n_periods=6)) == ()
    pmf = model.probability_of_n_purchases(6, np.arange(7))
    assert pmf.sum() == pytest.approx(1, abs=1e-12)
    assert model.expected_purchases_new_customer(6) == pytest.approx((np.arange(7) * pmf).sum(), rel=1e-12)
    sim = model.simulate(6, 200_000, random_state=3)
    assert np.bincount(sim["frequency"].astype(int), minlength=7) / 200_000 == pytest.approx(pmf, abs=4e-3)


# --- BG/NBD and MBG/NBD ------------------------------------------------------------------------------------


def _bracket_by_quad(
    r: float, alpha: float, a: float, b: float, x: int, T: float, t: float, shift: int
) -> float:
    """E[Y(t) | alive] = E_p[(1 − (1 + p t/(α+T))^−(r+x))/p], p ~ Beta(a, b+x+shift), by adaptive quad."""
    big_b, w, k = b + x + shift, t / (alpha + T), r + x
    density = lambda p: np.exp((a - 1) * np.log(p) + (big_b - 1) * np.log1p(-p) - betaln(a, big_b))  # noqa: E731
    gain = lambda p: -np.expm1(-k * np.log1p(p * w)) / p  # noqa: E731
    return integrate.quad(lambda p: density(p) * gain(p), 0, 1, epsabs=0, epsrel=1e-11, limit=500)[0]


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_bg_family_at_a_plus_b_one_is_finite(cls: type) -> None:
    """a + b = 1 made (a+b−1)·₂F₁(…; a+b−1; z) a 0·∞ for a new BG/NBD customer: NaN."""
    model = cls.from_params(r=0.243, alpha=4.414, a=0.4, b=0.6)
    got = model.expected_purchases_new_customer(np.array([1.0, 39.0]))
    alive_share = 1.0 if cls is BetaGeoModel else 0.6 / (0.4 + 0.6)
    want = [
        alive_share * _bracket_by_quad(0.243, 4.414, 0.4, 0.6, 0, 0.0, t, cls._shift) for t in (1.0, 39.0)
    ]
    assert got == pytest.approx(want, rel=1e-7)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_bg_family_with_huge_parameters_and_horizons_returns_quickly(cls: type) -> None:
    """a = b = 10^4 with x = 10^4 never returned (mpmath); a 10^4-week horizon took 1–2 s a customer."""
    big = cls.from_params(r=0.5, alpha=5.0, a=1e4, b=1e4)
    got = _within(5.0, lambda: big.expected_purchases([52.0, 1e4], frequency=1e4, recency=200.0, T=200.0))
    alive = big.probability_alive(frequency=1e4, recency=200.0, T=200.0)
    want = [alive * _bracket_by_quad(0.5, 5.0, 1e4, 1e4, 10_000, 200.0, t, cls._shift) for t in (52.0, 1e4)]
    assert got == pytest.approx(want, rel=1e-7)
    cdnow = cls.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    rows = {"frequency": np.arange(0, 200, 2.0), "recency": np.linspace(0, 38, 100), "T": np.full(100, 38.86)}
    rows["recency"][0] = 0.0
    long = _within(5.0, lambda: cdnow.expected_purchases(1e4, **rows))
    alive = cdnow.probability_alive(**rows)
    for i in (0, 1, 50, 99):  # adaptive quadrature: the series at z = 0.996 is slow even in mpmath
        x = int(rows["frequency"][i])
        want = alive[i] * _bracket_by_quad(0.243, 4.414, 0.793, 2.426, x, 38.86, 1e4, cls._shift)
        assert long[i] == pytest.approx(want, rel=1e-7)
    short = cdnow.expected_purchases(39.0, frequency=2, recency=30.43, T=38.86)  # the series as written
    want = cdnow.probability_alive(frequency=2, recency=30.43, T=38.86) * bg_expected(
        0.243, 4.414, 0.793, 2.426, 2, 38.86, 39.0, cls._shift
    )
    assert short == pytest.approx(want, rel=1e-9)


# --- sBG: DERL ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806)], ids=["regular", "high-end"])
def test_derl_is_fader_and_hardies(alpha: float, beta: float) -> None:
    """Fader & Hardie (2010, eq. 6): DERL(d | n−1 renewals) = Σ_{t≥n} S(t)/S(n−1)/(1+d)^(t−n), for the
    segments of Fader & Hardie (2007); DEL = 1 + DERL(d | 0 renewals)/(1+d)."""
    model = ShiftedBetaGeometricModel.from_params(alpha=alpha, beta=beta)
    d, t = 0.1, np.arange(0, 3000)
    survival = model.survival(t)
    for n in (1, 2, 5, 10):
        direct = np.sum(survival[n:] / survival[n - 1] * np.exp(-(t[n:] - n) * np.log1p(d)))
        assert model.discounted_expected_residual_lifetime(d, n) == pytest.approx(direct, rel=1e-10)
    first = model.discounted_expected_residual_lifetime(d, 1)
    assert model.discounted_expected_lifetime(d) == pytest.approx(1 + first / (1 + d), rel=1e-12)
    with pytest.raises(ParameterError, match="periods_paid"):
        model.discounted_expected_residual_lifetime(d, 0)


# --- P(X(t) = n) and the per-row log-likelihood ------------------------------------------------------------

PURCHASE = {
    BetaGeoModel: {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    ModifiedBetaGeoModel: {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    ParetoNBDModel: {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
}


@pytest.mark.parametrize("cls", list(PURCHASE), ids=lambda c: c.__name__)
def test_pmf_sums_to_one_and_matches_the_expectation_and_a_simulation(cls: type) -> None:
    model = cls.from_params(**PURCHASE[cls])
    n = np.arange(0, 4000)
    for t in (1.0, 39.0, 78.0):
        pmf = model.probability_of_n_purchases(t, n)
        assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1, abs=1e-9)
        assert (n * pmf).sum() == pytest.approx(float(model.expected_purchases_new_customer(t)), rel=1e-8)
    assert model.probability_of_n_purchases(0.0, [0, 1]) == pytest.approx([1.0, 0.0])
    simulated = model.simulate(T=np.full(200_000, 39.0), random_state=7)["frequency"].astype(int)
    share = np.bincount(simulated, minlength=6)[:6] / len(simulated)
    assert share == pytest.approx(model.probability_of_n_purchases(39.0, np.arange(6)), abs=5e-3)


def test_pareto_pmf_matches_quadrature_over_the_lifetime() -> None:
    r, alpha, s, beta = PURCHASE[ParetoNBDModel].values()
    model = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s, beta=beta)

    def nb(k: int, u: float) -> float:
        return float(
            np.exp(gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * np.log(alpha / (alpha + u)))
            * (u / (alpha + u)) ** k
        )

    def lomax(u: float) -> float:
        return s / beta * (1 + u / beta) ** (-s - 1)

    for k in (0, 1, 5):
        want = (
            nb(k, 39.0) * (1 + 39.0 / beta) ** -s
            + integrate.quad(lambda u, k=k: nb(k, u) * lomax(u), 0, 39.0, epsabs=0, epsrel=1e-12)[0]
        )
        assert model.probability_of_n_purchases(39.0, k) == pytest.approx(want, rel=1e-9)


def test_per_row_log_likelihood_adds_up_to_the_fit(cdnow_rfm: pd.DataFrame) -> None:
    for cls in PURCHASE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = cls().fit(cdnow_rfm)
        rows = model.log_likelihood(cdnow_rfm)
        assert rows.shape == (len(cdnow_rfm),) and rows.sum() == pytest.approx(
            model.log_likelihood_, rel=1e-10
        )
    single = BetaGeoModel.from_params(**PURCHASE[BetaGeoModel]).log_likelihood(frequency=0, recency=0, T=30)
    r, alpha, a, b = PURCHASE[BetaGeoModel].values()
    assert single == pytest.approx(r * np.log(alpha / (alpha + 30)))  # no repeat purchase: alive, none bought


def test_derl_beyond_the_series_ends_in_a_clear_error_not_a_hang() -> None:
    """Parameters at the fit's bounds with a tiny discount rate: the ₂F₁ neither converges as a float series
    nor within mpmath's budget — a ConvergenceError that says so, in seconds."""
    model = ShiftedBetaGeometricModel.from_params(alpha=1e-8, beta=6.6e7)
    start = time.perf_counter()
    with pytest.raises(ConvergenceError, match="did not converge"):
        model.discounted_expected_residual_lifetime(1e-4, 1)
    assert time.perf_counter() - start < 30
    ordinary = ShiftedBetaGeometricModel.from_params(alpha=0.704, beta=1.182)
    assert np.isfinite(_within(10.0, lambda: ordinary.discounted_expected_residual_lifetime(1e-9, 12)))
