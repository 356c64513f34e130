"""Gamma-Gamma model of spend per transaction.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis." Journal of Marketing Research 42(4), 415–430; Fader & Hardie (2013), "The Gamma-Gamma Model of
Monetary Value" (Hardie note 025).

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, so the mean ``m`` of
``x`` transactions has density::

    f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px−1) x^(px) / (γ + m x)^(px+q)

Fitted on repeat customers (x ≥ 1) with ``monetary_value`` the mean of their repeat transactions. The model
assumes spend is independent of purchase frequency: :meth:`fit` warns when the two correlate.

The population mean spend per order is p γ / (q − 1), finite only for q > 1; a customer's expected spend,
p (γ + m x) / (p x + q − 1), is finite only where p x + q > 1. Heavy-tailed spend (a few very large orders)
fits q ≤ 1: :meth:`fit` then warns (:class:`~ltvkit.errors.HeavyTailWarning`) and the predictions are +∞
where the mean does not exist — never negative or NaN. ``q_constraint=True`` fits with q > 1 (as
lifetimes' option of that name), so the mean stays finite.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ltvkit.errors import HeavyTailWarning, InputError, StatisticalWarning
from ltvkit.i18n import Note
from ltvkit.models.base import LOG_BOUNDS, BaseModel, Data, as_frame
from ltvkit.models.data import Columns, as_arrays

CORRELATION_WARNING = 0.3
Q_FLOOR = 1.0 + 1e-6  # the constrained fit's lower bound of q: just above the infinite mean at q = 1


class GammaGammaModel(BaseModel):
    """Gamma-Gamma spend model. Fit on ``frequency`` (x ≥ 1) and ``monetary_value`` (> 0)."""

    _param_names = ("p", "q", "gamma")
    _data_columns = ("frequency", "monetary_value")
    _initial = (1.0, 1.0, 1.0)
    _label = "model_name_gammagamma"
    _param_meanings = dict.fromkeys(_param_names, "meaning_spend_varies")

    def __init__(self, *, q_constraint: bool = False, **settings: Any) -> None:
        """``q_constraint``: fit with q > 1, so that the mean spend per order is finite (the other settings
        are :class:`~ltvkit.models.base.BaseModel`'s)."""
        super().__init__(**settings)
        self.q_constraint = q_constraint

    def _log_bounds(self) -> list[tuple[float, float]]:
        bounds = super()._log_bounds()
        if self.q_constraint:
            bounds[1] = (float(np.log(Q_FLOOR)), LOG_BOUNDS[1])
        return bounds

    def fit(self, data: Data, *, weights: pd.Series | np.ndarray | None = None) -> GammaGammaModel:
        """Fit on the rows with ``frequency`` ≥ 1 (customers with repeat transactions; a DataFrame or an Ibis
        table); sets ``frequency_spend_correlation_``. Warns (:class:`~ltvkit.errors.HeavyTailWarning`)
        when the fitted q ≤ 1 (or, with ``q_constraint``, when q stops at its bound): the mean spend is then
        infinite."""
        data = as_frame(data, self._data_columns)
        if weights is None and "weight" in data.columns:
            weights = data["weight"]
        w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
        repeat_rows = (data["frequency"] > 0).to_numpy()
        repeat, w = data[repeat_rows], w[repeat_rows]
        super().fit(repeat, weights=w)
        self.frequency_spend_correlation_ = _weighted_correlation(
            repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float), w
        )
        if abs(self.frequency_spend_correlation_) > CORRELATION_WARNING:
            warnings.warn(
                Note("note_spend_correlation", r=round(self.frequency_spend_correlation_, 2)),
                StatisticalWarning,
                stacklevel=2,
            )
        q = self.params_["q"]
        if q <= 1 or (self.q_constraint and q < Q_FLOOR * (1 + 1e-6)):
            warnings.warn(
                Note("note_heavy_tail_constrained" if self.q_constraint else "note_heavy_tail", q=float(q)),
                HeavyTailWarning,
                stacklevel=2,
            )
        return self

    def _weak_consequence(self) -> Note:
        if "p" in self.identification_.weak and self._p[0] > 1e3:
            # E[M | x, m] = (γ + m x) p / (p x + q − 1) → m as p → ∞ with p γ fixed
            return Note("note_weak_own_average")
        return super()._weak_consequence()

    def _validate(self, data: pd.DataFrame) -> None:
        m = data["monetary_value"].to_numpy(float)
        if not np.all(np.isfinite(m)) or np.any(m <= 0):
            raise InputError(
                "monetary_value must be positive for every repeat customer (exclude zero-value "
                "customers or use net values above zero)"
            )

    def _prepare(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Levels of x (the gamma functions are evaluated per distinct frequency) and log m, fixed during
        fitting."""
        levels, index = np.unique(arrays["frequency"], return_inverse=True)
        return {**arrays, "levels": (levels, index.ravel(), np.log(arrays["monetary_value"]))}

    def _log_likelihood(
        self,
        params: np.ndarray,
        frequency: np.ndarray,
        monetary_value: np.ndarray,
        levels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        p, q, g = params
        x, m = frequency, monetary_value
        ux, ix, log_m = levels or (x, slice(None), np.log(m))
        per_x = gammaln(p * ux + q) - gammaln(p * ux) + p * ux * np.log(ux)
        return per_x[ix] - gammaln(q) + q * np.log(g) + (p * x - 1) * log_m - (p * x + q) * np.log(g + m * x)

    def _gradient(
        self,
        params: np.ndarray,
        frequency: np.ndarray,
        monetary_value: np.ndarray,
        levels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        p, q, g = params
        x, m = frequency, monetary_value
        ux, ix, log_m = levels or (x, slice(None), np.log(m))
        shared = digamma(p * ux + q)[ix]
        log_gmx = np.log(g + m * x)
        d_p = x * (shared - digamma(p * ux)[ix] + log_m + np.log(ux)[ix] - log_gmx)
        d_q = shared - digamma(q) + np.log(g) - log_gmx
        d_g = q / g - (p * x + q) / (g + m * x)
        return np.column_stack([d_p, d_q, d_g])

    def expected_spend(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """E[M | x, m] = (γ + m x) p / (p x + q − 1): the customer's mean shrunk towards the population mean
        p γ / (q − 1); customers with x = 0 get the population mean. +∞ where p x + q ≤ 1 (no finite
        mean)."""
        x, m = as_arrays(data, columns, ("frequency", "monetary_value"))
        intercept, slope = self.spend_weights(x)
        return intercept + slope * np.where(x > 0, m, 0.0)

    def spend_weights(self, frequency: Columns) -> tuple[np.ndarray, np.ndarray]:
        """E[M | x, m] as ``intercept + slope · m``: intercept p γ / (p x + q − 1), slope p x / (p x + q − 1).
        Linear in m, so an engine can finish the prediction from two numbers per distinct x. Where
        p x + q ≤ 1 the posterior mean is infinite: intercept +∞ and slope 0 (so +∞ for every m ≥ 0, never
        NaN)."""
        x = np.asarray(frequency, dtype=float)
        p, q, g = self._p
        denominator = p * x + q - 1
        finite = denominator > 0
        safe = np.where(finite, denominator, 1.0)
        return np.where(finite, p * g / safe, np.inf), np.where(finite, p * x / safe, 0.0)

    def mean_spend(self) -> float:
        """Population mean spend per transaction, p γ / (q − 1) (infinite for q ≤ 1)."""
        p, q, g = self._p
        return float(p * g / (q - 1)) if q > 1 else float("inf")

    def simulate(
        self, frequency: np.ndarray, random_state: int | np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Mean spend of ``frequency`` transactions per customer drawn from the model."""
        p, q, g = self._p
        rng = np.random.default_rng(random_state)
        x = np.asarray(frequency, dtype=float)
        nu = rng.gamma(q, 1 / g, len(x))
        total = rng.gamma(p * x, 1 / nu)  # a sum of x Gamma(p, ν) values is Gamma(p x, ν)
        return pd.DataFrame({"frequency": x, "monetary_value": total / x, "nu": nu})


def _weighted_correlation(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    cov = np.cov(a, b, aweights=w)
    return float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
