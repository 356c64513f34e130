"""Pareto/NBD: the original model of non-contractual purchasing.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers: Who Are They and What Will
They Do Next?" Management Science 33(1), 1–24. Likelihood and expressions as in Fader, P. S. & Hardie, B. G. S.
(2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions" (Hardie note 009).

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α); the lifetime is exponential with rate
μ ~ Gamma(s, β)::

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 ]

    A0 = F(t_x) − F(T),  F(t) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t)) / (α+t)^(r+s+x)        (α ≥ β)
                         F(t) = ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+t)) / (β+t)^(r+s+x)        (α < β)

Numerical care: Euler's transformation turns both ₂F₁ into ₂F₁(1, ·; r+s+x+1; z), whose terms shrink
geometrically however large ``x`` is, and ``F`` is kept in logs, so the difference ``A0`` is
``log F(t_x) + log1p(−exp(log F(T) − log F(t_x)))`` — the overflow of the direct formula for large x or T does
not arise. The gradient is by central differences (the ₂F₁ parameters depend on the model's parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln

from ltvkit.models._special import hyp2f1
from ltvkit.models.base import BaseModel
from ltvkit.models.data import Columns, as_arrays, check_rfm


class ParetoNBDModel(BaseModel):
    """Pareto/NBD model. Fit on ``frequency`` (x), ``recency`` (t_x) and ``T``."""

    _param_names = ("r", "alpha", "s", "beta")
    _data_columns = ("frequency", "recency", "T")
    _initial = (1.0, 1.0, 1.0, 1.0)

    def _validate(self, data: pd.DataFrame) -> None:
        check_rfm(data)

    @staticmethod
    def _log_f(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = params
        c = r + s + x + 1
        if alpha >= beta:
            z = (alpha - beta) / (alpha + t)
            return -s * np.log(beta + t) - (r + x) * np.log(alpha + t) + np.log(hyp2f1(1.0, r + x, c, z))
        z = (beta - alpha) / (beta + t)
        return (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t) + np.log(hyp2f1(1.0, s + 1, c, z))

    def _log_terms(self, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log of the 'alive throughout' term and of the 'died between t_x and T' term of L (without the
        common factor)."""
        r, alpha, s, beta = params
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        f_tx, f_T = self._log_f(params, x, t_x), self._log_f(params, x, T)
        gap = np.minimum(f_T - f_tx, 0.0)
        with np.errstate(divide="ignore"):
            log_a0 = np.where(t_x < T, f_tx + np.log(-np.expm1(gap)), -np.inf)
        died = np.log(s) - np.log(r + s + x) + log_a0
        return alive, died

    def _log_likelihood(self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = params
        alive, died = self._log_terms(params, frequency, recency, T)
        return gammaln(r + frequency) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died)

    def probability_alive(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0)."""
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        alive, died = self._log_terms(self._p, x, t_x, T)
        return expit(alive - died)

    def expected_purchases(self, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """Expected purchases in the next ``t`` given the history::

            E[Y(t)] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)

        (the bracket over s−1 tends to log((β+T+t)/(β+T)) as s → 1, computed with ``expm1``).
        """
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        return self._expected(np.asarray(t, dtype=float), x, T) * self.probability_alive(frequency=x, recency=t_x, T=T)

    def _expected(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._p
        log_ratio = np.log(beta + T) - np.log(beta + T + t)
        horizon = -log_ratio if abs(s - 1) < 1e-10 else -np.expm1((s - 1) * log_ratio) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * horizon

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)]."""
        t = np.asarray(t, dtype=float)
        return self._expected(t, np.zeros_like(t), np.zeros_like(t))

    def simulate(
        self,
        T: float | np.ndarray,
        size: int | None = None,
        random_state: int | np.random.Generator | None = None,
        *,
        future: float = 0.0,
    ) -> pd.DataFrame:
        """Simulate customers observed for ``T``: frequency, recency, T, purchases in (T, T + ``future``],
        and the latent ``lambda``, ``mu``, ``alive`` (at T)."""
        r, alpha, s, beta = self._p
        rng = np.random.default_rng(random_state)
        T = np.broadcast_to(np.asarray(T, dtype=float), (size,) if size else np.shape(T)).copy()
        n = len(T)
        lam = rng.gamma(r, 1 / alpha, n)
        mu = rng.gamma(s, 1 / beta, n)
        death = rng.exponential(1 / mu)
        active_for = np.minimum(death, T)
        x = rng.poisson(lam * active_for).astype(float)
        # the last of x uniform purchase times on (0, active_for)
        t_x = np.where(x > 0, active_for * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
        later = rng.poisson(lam * np.clip(np.minimum(death, T + future) - T, 0, None)).astype(float)
        return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "future_purchases": later, "lambda": lam,
                             "mu": mu, "alive": death > T})  # fmt: skip
