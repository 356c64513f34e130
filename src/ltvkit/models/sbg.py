"""Shifted-beta-geometric (sBG): churn in a contractual setting (subscriptions, retainers).

Fader, P. S. & Hardie, B. G. S. (2007). "How to Project Customer Retention." Journal of Interactive Marketing
21(1), 76–90; DERL from Fader & Hardie (2010), "Customer-Base Valuation in a Contractual Setting: The Perils
of Ignoring Heterogeneity." Marketing Science 29(1), 85–93.

Each customer renews each period with probability 1 − θ, θ ~ Beta(α, β) across customers. With lifetime T the
number of periods paid (T = 1, 2, …)::

    P(T = t) = B(α+1, β+t−1) / B(α, β)          S(t) = P(T > t) = B(α, β+t) / B(α, β)
    retention rate r(t) = S(t)/S(t−1) = (β+t−1) / (α+β+t−1)        (rises with t: the survivors are loyal)

Data: one row per customer (or weighted rows) with ``periods`` (periods paid so far) and ``churned``
(1 if the customer has left after those periods, 0 if still active — right-censored). A cohort's survivor
counts convert with :func:`survivors_to_durations`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from ltvkit.errors import InputError, ParameterError
from ltvkit.models._special import hyp2f1
from ltvkit.models.base import BaseModel


def survivors_to_durations(survivors: Sequence[float]) -> pd.DataFrame:
    """Survivor counts at periods 0, 1, …, n (``[1000, 631, 468, …]``) as weighted durations: those lost
    between t−1 and t churned after t periods; those still active at n are censored at n."""
    alive = np.asarray(survivors, dtype=float)
    if alive.ndim != 1 or len(alive) < 2 or np.any(np.diff(alive) > 0) or np.any(alive < 0):
        raise InputError("survivor counts must be a non-increasing sequence starting at period 0")
    lost = -np.diff(alive)
    periods = np.arange(1, len(alive))
    rows = pd.DataFrame({"periods": periods, "churned": 1, "weight": lost})
    rows.loc[len(rows)] = {"periods": len(alive) - 1, "churned": 0, "weight": alive[-1]}
    return rows[rows["weight"] > 0].reset_index(drop=True)


class ShiftedBetaGeometricModel(BaseModel):
    """sBG model of contractual churn."""

    _param_names = ("alpha", "beta")
    _data_columns = ("periods", "churned")
    _initial = (1.0, 1.0)
    _label = "model_name_sbg"
    _param_meanings = dict.fromkeys(_param_names, "meaning_cancel")

    def _validate(self, data: pd.DataFrame) -> None:
        periods, churned = data["periods"].to_numpy(float), data["churned"].to_numpy(float)
        if (
            np.any(periods < 0)
            or np.any(periods != np.round(periods))
            or not np.all(np.isin(churned, (0, 1)))
        ):
            raise InputError("sBG needs whole periods ≥ 0 and churned 0 or 1")
        if np.any((periods == 0) & (churned == 1)):
            raise InputError("a customer who churned must have paid at least one period")

    def _log_likelihood(self, params: np.ndarray, periods: np.ndarray, churned: np.ndarray) -> np.ndarray:
        a, b = params
        t = np.maximum(periods, 1)
        lost = betaln(a + 1, b + t - 1)
        kept = betaln(a, b + periods)
        return np.where(churned == 1, lost, kept) - betaln(a, b)

    def _gradient(self, params: np.ndarray, periods: np.ndarray, churned: np.ndarray) -> np.ndarray:
        """∂/∂α, ∂/∂β of log B(α+1, β+t−1) or log B(α, β+t), less log B(α, β), by digamma differences."""
        a, b = params
        t = np.maximum(periods, 1)
        base_a, base_b = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
        lost_a = digamma(a + 1) - digamma(a + b + t)
        lost_b = digamma(b + t - 1) - digamma(a + b + t)
        kept_a = digamma(a) - digamma(a + b + periods)
        kept_b = digamma(b + periods) - digamma(a + b + periods)
        gone = churned == 1
        return np.column_stack(
            [np.where(gone, lost_a, kept_a) - base_a, np.where(gone, lost_b, kept_b) - base_b]
        )

    def survival(self, t: float | np.ndarray) -> np.ndarray:
        """S(t): the share of a starting cohort still active after ``t`` periods."""
        a, b = self._p
        return np.exp(betaln(a, b + np.asarray(t, dtype=float)) - betaln(a, b))

    def churn_probability(self, t: float | np.ndarray) -> np.ndarray:
        """P(T = t): the share of a starting cohort that leaves after exactly ``t`` periods."""
        a, b = self._p
        return np.exp(betaln(a + 1, b + np.asarray(t, dtype=float) - 1) - betaln(a, b))

    def retention_rate(self, t: float | np.ndarray) -> np.ndarray:
        """r(t) = (β+t−1)/(α+β+t−1): the share of those active at t−1 who renew for period t."""
        a, b = self._p
        t = np.asarray(t, dtype=float)
        return (b + t - 1) / (a + b + t - 1)

    def expected_lifetime(self) -> float:
        """E[T] = Σ_{t≥0} S(t) = (α+β−1)/(α−1) periods (infinite for α ≤ 1: a heavy tail of loyal
        customers)."""
        a, b = self._p
        return float((a + b - 1) / (a - 1)) if a > 1 else float("inf")

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL: expected discounted number of payments of a new customer, Σ_{t≥0} S(t)/(1+d)^t
        = ₂F₁(1, β; α+β; 1/(1+d))."""
        _check_rate(discount_rate)
        a, b = self._p
        return float(hyp2f1(1.0, b, a + b, 1 / (1 + discount_rate)))

    def discounted_expected_residual_lifetime(
        self, discount_rate: float, periods_paid: int | np.ndarray
    ) -> np.ndarray:
        """DERL as Fader & Hardie (2010, eq. 6) define it: a customer who has made n − 1 renewals (paid
        ``periods_paid`` = n periods) stands at the end of period n, before the renewal decision; DERL is the
        expected discounted number of their further payments, the first (for period n+1, made at the
        decision if they renew) undiscounted::

            DERL(d | n−1 renewals) = Σ_{t≥n} S(t)/S(n−1) / (1+d)^(t−n)
                                   = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))

        Counted from the start of period n (one period earlier, the first further payment discounted once),
        the value is DERL/(1+d); for a new customer DEL = 1 + DERL(d | 0 renewals)/(1+d). n ≥ 1.
        """
        _check_rate(discount_rate)
        a, b = self._p
        n = np.asarray(periods_paid, dtype=float)
        if np.any(n < 1):
            raise ParameterError("DERL needs periods_paid ≥ 1 (a customer who has paid at least one period)")
        renew = (b + n - 1) / (a + b + n - 1)
        return renew * hyp2f1(1.0, b + n, a + b + n, 1 / (1 + discount_rate))

    def simulate(
        self, size: int, max_periods: int, random_state: int | np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Lifetimes of ``size`` new customers observed for ``max_periods`` periods (censored beyond)."""
        a, b = self._p
        rng = np.random.default_rng(random_state)
        theta = rng.beta(a, b, size)
        lifetime = rng.geometric(np.clip(theta, 1e-300, 1))
        churned = lifetime <= max_periods
        return pd.DataFrame(
            {
                "periods": np.minimum(lifetime, max_periods).astype(float),
                "churned": churned.astype(int),
                "theta": theta,
            }
        )


def _check_rate(rate: float) -> None:
    if not rate > 0:
        raise ParameterError(f"the discount rate per period must be positive, not {rate}")
