"""Weakly informative priors for small data: a normal prior on each log-parameter, and when to use it.

On a few dozen customers the likelihood of a BTYD model is often flat along a ridge or keeps rising towards
a limit of the model: BG/NBD's r and α grow together without bound when the purchase rates look alike
(r = 8·10^5 on a 61-customer school), a and b do when nobody is seen to drop out, and then P(alive) is 1.00
for everyone. Maximising the likelihood plus the log of a prior (MAP) keeps every parameter at a plausible,
finite value: where the data speak they win (the prior's weight does not grow with the customers, the
likelihood's does), where they are silent the estimate stays near values typical of published fits
(Gelman et al. 2008, "A weakly informative default prior distribution for logistic and other regression
models", Annals of Applied Statistics 2(4): the prior rules out the implausible without claiming to know
the answer).

Each log-parameter θ_j ~ Normal(c_j, s_j²); the penalty added to the negative log-likelihood is
``weight · Σ (θ_j − c_j)² / (2 s_j²)`` with ``weight`` the model's ``regularization`` (1 = these priors).
Shape parameters (dimensionless) are centred on typical published values; scale parameters carry the data's
units (time, money), so they are centred on the data's own scale — the fitted model then does not depend on
whether time is counted in days, weeks or months:

==============  ==========  ==========================================================  ======
model           parameter   centre                                                      sd
==============  ==========  ==========================================================  ======
BG/NBD, MBG     r           1 (exponentially distributed purchase rates)                1.5
                alpha       r₀ / observed rate, the rate (Σx + 1) / ΣT                  2
                a, b        1, 3 (a quarter drop out after a purchase, as on CDNOW)     1.5
Pareto/NBD      r, alpha    as BG/NBD                                                   1.5, 2
                s, beta     1, s₀ × the longest observation T (lifetimes of that order) 1.5, 2
BG/BB           alpha, beta 1, 1 (purchase probability uniform)                         1.5
                gamma,delta 1, 3 (a quarter drop out before an opportunity)             1.5
Gamma-Gamma     p, q        4, 3 (spend varies ±50% within a customer; finite mean)     1.5, 1
                gamma       m̄ (q₀ − 1) / p₀, so the prior mean spend is the mean m̄      2
sBG             alpha, beta 1, 3 (a quarter cancel each period)                         1.5
==============  ==========  ==========================================================  ======

``regularization="auto"`` (the default) uses the priors when the data are below the "good" grade of
:mod:`ltvkit.analytics.grade` (500 customers and 100 with a repeat purchase — or, for sBG, 100 who
cancelled), and on more data only when the plain maximum-likelihood fit runs to a limit of the model (a
parameter beyond 10^±6); otherwise the fit is the plain maximum likelihood, so the published values
reproduce. What was chosen, and why, is the fitted ``regularization_`` (:class:`Regularization`), with a
sentence in English, Russian or Ukrainian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ltvkit import i18n
from ltvkit.analytics.grade import THRESHOLDS
from ltvkit.errors import ParameterError

RegularizationSetting = Literal["auto", "none"] | float
Reason = Literal["thin_data", "at_limit", "enough_data", "asked", "off"]
ENOUGH_CUSTOMERS, ENOUGH_REPEAT, _ = THRESHOLDS["good"]


@dataclass(frozen=True)
class Prior:
    """Independent normal priors on the log-parameters: ``centre`` and ``scale`` (sd) per parameter."""

    centre: np.ndarray
    scale: np.ndarray

    def penalty(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """−log prior (up to a constant) and its gradient in the log-parameters."""
        z = (log_params - self.centre) / self.scale
        return float(0.5 * z @ z), z / self.scale

    @property
    def precision(self) -> np.ndarray:
        """The prior's information (the Hessian of the penalty): diag(1/scale²)."""
        return np.diag(self.scale**-2.0)


@dataclass(frozen=True)
class Regularization:
    """How a fit was regularised: ``weight`` of the priors (0 = plain maximum likelihood), ``reason``
    (``thin_data``, ``at_limit``, ``enough_data``, ``asked``, ``off``), the ``customers`` fitted on and the
    ``informative`` ones among them (with a repeat purchase; sBG: who cancelled)."""

    weight: float
    reason: Reason
    customers: float
    informative: float

    @property
    def applied(self) -> bool:
        return self.weight > 0

    def sentence(self, lang: str = "en") -> str:
        """What was done, in plain words, in ``lang``."""
        return i18n.text(
            f"regularization_{self.reason}",
            lang,
            customers=i18n.number(self.customers, lang),
            informative=i18n.number(self.informative, lang),
            enough_customers=i18n.number(ENOUGH_CUSTOMERS, lang),
            enough_repeat=i18n.number(ENOUGH_REPEAT, lang),
            weight=i18n.number(self.weight, lang, digits=2),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "applied": self.applied,
            "reason": self.reason,
            "customers": self.customers,
            "informative": self.informative,
            "sentence": self.sentence(),
        }


def check_setting(setting: RegularizationSetting) -> None:
    """Raise :class:`ParameterError` unless ``setting`` is "auto", "none" or a weight ≥ 0."""
    if isinstance(setting, str):
        if setting not in ("auto", "none"):
            raise ParameterError(f"regularization is 'auto', 'none' or a weight ≥ 0, not {setting!r}")
    elif isinstance(setting, bool) or not (np.isfinite(setting) and setting >= 0):
        raise ParameterError(f"regularization is 'auto', 'none' or a weight ≥ 0, not {setting!r}")


def is_thin(customers: float, informative: float) -> bool:
    """Whether data this size are below the "good" grade, where the priors are used by default."""
    return customers < ENOUGH_CUSTOMERS or informative < ENOUGH_REPEAT


def _weighted_mean(values: np.ndarray, w: np.ndarray) -> float:
    return float(w @ values / w.sum())


def _purchase_rate_scale(arrays: dict[str, Any], w: np.ndarray) -> float:
    """1 / the observed repeat-purchase rate, (Σ w x + 1) / Σ w T, in the data's time unit (the +1 keeps it
    finite when nobody has bought again)."""
    exposure = float(w @ arrays["T"])
    return max(exposure, 1e-9) / (float(w @ arrays["frequency"]) + 1.0)


def _bgnbd(arrays: dict[str, Any], w: np.ndarray) -> Prior:
    r0 = 1.0
    return Prior(np.log([r0, r0 * _purchase_rate_scale(arrays, w), 1.0, 3.0]), np.array([1.5, 2.0, 1.5, 1.5]))


def _pareto_nbd(arrays: dict[str, Any], w: np.ndarray) -> Prior:
    r0, s0 = 1.0, 1.0
    window = max(float(np.max(arrays["T"])), 1e-9)
    return Prior(
        np.log([r0, r0 * _purchase_rate_scale(arrays, w), s0, s0 * window]), np.array([1.5, 2.0, 1.5, 2.0])
    )


def _bgbb(arrays: dict[str, Any], w: np.ndarray) -> Prior:
    return Prior(np.log([1.0, 1.0, 1.0, 3.0]), np.full(4, 1.5))


def _gamma_gamma(arrays: dict[str, Any], w: np.ndarray) -> Prior:
    p0, q0 = 4.0, 3.0
    mean_spend = _weighted_mean(arrays["monetary_value"], w)
    return Prior(np.log([p0, q0, mean_spend * (q0 - 1) / p0]), np.array([1.5, 1.0, 2.0]))


def _sbg(arrays: dict[str, Any], w: np.ndarray) -> Prior:
    return Prior(np.log([1.0, 3.0]), np.full(2, 1.5))


PRIORS: dict[str, Callable[[dict[str, Any], np.ndarray], Prior]] = {
    "BetaGeoModel": _bgnbd,
    "ParetoNBDModel": _pareto_nbd,
    "BetaGeoBetaBinomModel": _bgbb,
    "GammaGammaModel": _gamma_gamma,
    "ShiftedBetaGeometricModel": _sbg,
}


def prior_for(model: object, arrays: dict[str, Any], w: np.ndarray) -> Prior:
    """The :class:`Prior` of ``model``'s class (or the nearest base class with one: MBG/NBD uses BG/NBD's),
    centred on the scale of the data ``arrays`` with weights ``w``."""
    for cls in type(model).__mro__:
        if cls.__name__ in PRIORS:
            return PRIORS[cls.__name__](arrays, w)
    raise ParameterError(f"{type(model).__name__} has no prior for a regularised fit")
