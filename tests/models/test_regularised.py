"""Regularised fits (``regularization``, :mod:`ltvkit.models.priors`): finite, informative estimates on small
simulated schools, closer to the truth than the plain maximum likelihood on average, the published values
untouched on enough data, and the Python API's traps closed (Ibis input, explicit time units)."""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pandas as pd
import pytest

from ltvkit import i18n
from ltvkit.errors import ParameterError
from ltvkit.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from ltvkit.models.base import BaseModel
from ltvkit.models.priors import Regularization, prior_for
from ltvkit.predict.clv import customer_value
from ltvkit.predict.summaries import UNIT_DAYS

BG_TRUTH = {"r": 0.5, "alpha": 3.0, "a": 0.8, "b": 2.5}  # months
PARETO_TRUTH = {"r": 0.6, "alpha": 3.0, "s": 0.8, "beta": 6.0}


def school(cls: type, truth: dict[str, float], customers: int, months: float, seed: int) -> pd.DataFrame:
    """A school whose customers were acquired evenly over ``months`` (T in months), from ``cls``'s process."""
    rng = np.random.default_rng(seed)
    return cls.from_params(**truth).simulate(T=rng.uniform(0.1, months, customers), random_state=rng)


def quiet_fit(model: BaseModel, data: pd.DataFrame) -> BaseModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data)


def log_error(model: BaseModel, truth: dict[str, float]) -> float:
    """Root mean square of log(estimate / truth) over the parameters."""
    return float(np.sqrt(np.mean(np.log(model.params_.to_numpy() / np.array(list(truth.values()))) ** 2)))


def small_data(name: str, seed: int) -> tuple[type, pd.DataFrame, dict[str, float]]:
    """One small data set per model: 60 customers over 6 months (Gamma-Gamma: 25 repeat buyers; sBG: a
    retainer book of 30 clients over 4 periods)."""
    rng = np.random.default_rng(seed)
    if name in ("bgnbd", "mbgnbd"):
        cls = BetaGeoModel if name == "bgnbd" else ModifiedBetaGeoModel
        return cls, school(cls, BG_TRUTH, 60, 6, seed), BG_TRUTH
    if name == "bgbb":
        truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
        data = BetaGeoBetaBinomModel.from_params(**truth).simulate(6, 60, random_state=rng)
        return BetaGeoBetaBinomModel, data, truth
    if name == "gammagamma":
        truth = {"p": 6.0, "q": 3.8, "gamma": 15.0}
        data = GammaGammaModel.from_params(**truth).simulate(rng.integers(1, 5, 25), random_state=rng)
        return GammaGammaModel, data, truth
    truth = {"alpha": 0.7, "beta": 1.2}
    data = ShiftedBetaGeometricModel.from_params(**truth).simulate(30, max_periods=4, random_state=rng)
    return ShiftedBetaGeometricModel, data, truth


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "bgbb", "gammagamma", "sbg"])
def test_regularised_estimates_are_closer_to_the_truth_on_average(name: str) -> None:
    """Over 8 small data sets the regularised fit's log-parameter error is well below the plain fit's (which
    often runs to a limit of the model, 10^5 and beyond)."""
    plain, regularised = [], []
    for seed in range(8):
        cls, data, truth = small_data(name, seed)
        plain.append(log_error(quiet_fit(cls(regularization="none"), data), truth))
        fitted = quiet_fit(cls(), data)
        assert fitted.regularization_.reason == "thin_data" and fitted.regularization_.applied
        regularised.append(log_error(fitted, truth))
    assert np.mean(regularised) < 0.75 * np.mean(plain), (regularised, plain)
    assert np.mean(regularised) < 1.0


@pytest.mark.parametrize(
    ("cls", "truth"),
    [(BetaGeoModel, BG_TRUTH), (ModifiedBetaGeoModel, BG_TRUTH), (ParetoNBDModel, PARETO_TRUTH)],
    ids=["bgnbd", "mbgnbd", "paretonbd"],
)
@pytest.mark.parametrize(("customers", "months"), [(30, 3), (60, 6), (200, 12)])
def test_small_school_fits_are_finite_and_informative(
    cls: type, truth: dict[str, float], customers: int, months: float
) -> None:
    """Every parameter between 10^-3 and 10^3, P(alive) differs between customers, and the CLV interval is
    finite for everyone."""
    data = school(cls, truth, customers, months, seed=1)
    model = quiet_fit(cls(unit="month"), data)
    assert model.regularization_.reason == "thin_data"
    assert ((model.params_ > 1e-3) & (model.params_ < 1e3)).all(), model.params_
    alive = model.probability_alive(data)
    assert np.all((alive > 0) & (alive <= 1)) and np.ptp(alive) > 0.1 and alive.min() < 0.9
    data["monetary_value"] = np.where(data["frequency"] > 0, 100.0 + 10 * data["frequency"], 0.0)
    spend = quiet_fit(GammaGammaModel(), data[data["frequency"] > 0])
    scored = customer_value(model, spend, data, horizon=12, unit="month")
    assert np.isfinite(scored[["clv", "clv_low", "clv_high"]].to_numpy()).all()
    assert (scored["clv_low"] <= scored["clv"]).all() and (scored["clv"] <= scored["clv_high"]).all()


def test_the_plain_fit_that_runs_to_a_limit_stays_finite_when_regularised() -> None:
    """30 customers, 3 months: without a prior BG/NBD's drop-out parameters run off beyond 10^5 (nobody is
    seen to stop) and the data cannot pin them down; with it they stay plausible."""
    data = school(BetaGeoModel, BG_TRUTH, 30, 3, seed=0)
    plain = quiet_fit(BetaGeoModel(regularization="none"), data)
    assert plain.identification_.weak and plain.regularization_.reason == "off"
    regularised = quiet_fit(BetaGeoModel(), data)
    assert regularised.params_.max() < 20 and regularised.params_.min() > 0.05


def test_auto_leaves_enough_data_to_the_likelihood(cdnow_rfm: pd.DataFrame) -> None:
    """CDNOW (2,357 customers, 946 repeat buyers): "auto" is the plain maximum likelihood, with the
    published values (``test_published`` checks them at three digits), and says so."""
    auto = BetaGeoModel().fit(cdnow_rfm)
    plain = BetaGeoModel(regularization="none").fit(cdnow_rfm)
    assert auto.regularization_ == Regularization(0.0, "enough_data", 2357.0, 946.0)
    pd.testing.assert_series_equal(auto.params_, plain.params_)
    assert "2,357 customers" in auto.regularization_.sentence("en")
    assert "2 357" in auto.regularization_.sentence("ru").replace("\xa0", " ")


def test_a_prior_weighs_less_as_customers_grow() -> None:
    """The same prior weight on 100× the (identical) customers moves the estimate 100× less towards the
    prior's centre: the likelihood grows with the data, the prior does not."""
    data = school(BetaGeoModel, BG_TRUTH, 200, 12, seed=3)
    plain = quiet_fit(BetaGeoModel(regularization="none"), data)
    shifts = []
    for factor in (1.0, 100.0):
        weighted = data.assign(weight=factor)
        fitted = quiet_fit(BetaGeoModel(regularization=1.0), weighted)
        assert fitted.regularization_.reason == "asked"
        shifts.append(np.log(fitted.params_ / plain.params_).abs().max())
    assert shifts[1] < shifts[0] / 20


def test_the_estimate_is_a_stationary_point_of_the_log_posterior() -> None:
    """At the regularised estimate the derivative of log-likelihood + log prior in the log-parameters is
    zero (by central differences): the prior's analytic gradient used by the optimiser is right."""
    data = school(BetaGeoModel, BG_TRUTH, 60, 6, seed=2)
    model = quiet_fit(BetaGeoModel(tol=1e-12), data)
    arrays = {c: data[c].to_numpy(dtype=float) for c in model._data_columns}
    w = np.ones(len(data))
    prior = prior_for(model, arrays, w)

    def log_posterior(lp: np.ndarray) -> float:
        return float(model._log_likelihood(np.exp(lp), **arrays).sum()) - prior.penalty(lp)[0]

    lp = np.log(model.params_.to_numpy())
    for j in range(len(lp)):
        step = np.zeros_like(lp)
        step[j] = 1e-5
        slope = (log_posterior(lp + step) - log_posterior(lp - step)) / 2e-5
        assert abs(slope) < 1e-3, (j, slope)


def test_time_unit_does_not_change_the_regularised_model() -> None:
    """The scale parameters' priors are centred on the data's own scale: counting time in days instead of
    months multiplies α by 30.44 and leaves the shapes as they are."""
    months = school(BetaGeoModel, BG_TRUTH, 60, 6, seed=4)
    ratio = UNIT_DAYS["month"]
    days = months.assign(recency=months["recency"] * ratio, T=months["T"] * ratio)
    in_months = quiet_fit(BetaGeoModel(tol=1e-12), months).params_
    in_days = quiet_fit(BetaGeoModel(tol=1e-12), days).params_
    scale = pd.Series([1.0, ratio, 1.0, 1.0], index=in_months.index)
    assert in_days.to_numpy() == pytest.approx((in_months * scale).to_numpy(), rel=1e-4)


def test_fit_takes_an_ibis_table() -> None:
    data = school(BetaGeoModel, BG_TRUTH, 60, 6, seed=5)
    from_frame = quiet_fit(BetaGeoModel(), data)
    from_table = quiet_fit(BetaGeoModel(), ibis.memtable(data))
    pd.testing.assert_series_equal(from_table.params_, from_frame.params_)
    data["monetary_value"] = np.where(data["frequency"] > 0, 50.0 + data["frequency"], 0.0)
    spend_frame = quiet_fit(GammaGammaModel(), data[data["frequency"] > 0])
    spend_table = quiet_fit(GammaGammaModel(), ibis.memtable(data))  # filters the repeat buyers itself
    pd.testing.assert_series_equal(spend_table.params_, spend_frame.params_, rtol=1e-6)


def test_customer_value_converts_the_horizon_to_the_models_unit() -> None:
    """A model fitted in weeks, asked for 12 months: the same as asking it for 52.18 weeks, never 12 weeks."""
    bg = BetaGeoModel.from_params(unit="week", r=0.24, alpha=4.4, a=0.79, b=2.4)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.4)
    summary = pd.DataFrame({"frequency": [0.0, 2, 5], "recency": [0.0, 20, 30], "T": [30.0, 35, 38]})
    summary["monetary_value"] = [0.0, 30, 40]
    months = customer_value(bg, gg, summary, horizon=12, unit="month", interval=None)
    weeks = customer_value(bg, gg, summary, horizon=12 * UNIT_DAYS["month"] / 7, unit="week", interval=None)
    twelve_weeks = customer_value(bg, gg, summary, horizon=12, unit="week", interval=None)
    np.testing.assert_allclose(months["clv"], weeks["clv"], rtol=1e-12)
    assert (months["clv"] > 2 * twelve_weeks["clv"]).all()
    assert BetaGeoModel.from_dict(bg.to_dict()).unit == "week"
    unknown = BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    with pytest.raises(ParameterError, match="time unit is unknown"):
        customer_value(unknown, gg, summary, horizon=12, interval=None)
    with pytest.raises(ParameterError, match="unknown time unit"):
        BetaGeoModel(unit="fortnight")  # type: ignore[arg-type]


@pytest.mark.parametrize("setting", ["sometimes", -1.0, float("nan"), True])
def test_bad_regularization_settings_are_refused(setting: object) -> None:
    data = school(BetaGeoModel, BG_TRUTH, 30, 3, seed=0)
    with pytest.raises(ParameterError, match="regularization"):
        BetaGeoModel(regularization=setting).fit(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", ["thin_data", "at_limit", "enough_data", "asked", "off"])
def test_every_regularisation_reason_reads_in_every_language(reason: str) -> None:
    found = Regularization(1.0, reason, 61.0, 12.0)  # type: ignore[arg-type]
    sentences = {lang: found.sentence(lang) for lang in i18n.LOCALES}
    assert len(set(sentences.values())) == 3 and all("{" not in s for s in sentences.values())
    assert found.to_dict()["sentence"] == sentences["en"]


def test_regularisation_survives_a_round_trip_through_json() -> None:
    fitted = quiet_fit(BetaGeoModel(unit="month"), school(BetaGeoModel, BG_TRUTH, 30, 3, seed=0))
    again = BetaGeoModel.from_dict(fitted.to_dict())
    assert again.regularization_ == fitted.regularization_ and again.unit == "month"
    pd.testing.assert_frame_equal(again.summary(), fitted.summary())
