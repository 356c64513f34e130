"""Pareto/NBD: the original model of non-contractual purchasing.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers: Who Are They and What Will
They Do Next?" Management Science 33(1), 1–24. Likelihood and expressions as in Fader, P. S. &
Hardie, B. G. S. (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions" (Hardie note 009).

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α); the lifetime is exponential with rate
μ ~ Gamma(s, β)::

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 ]

    A0 = F(t_x) − F(T),  F(t) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t)) / (α+t)^(r+s+x)        (α ≥ β)
                         F(t) = ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+t)) / (β+t)^(r+s+x)        (α < β)

Numerical care: Euler's transformation turns both ₂F₁ into ₂F₁(1, ·; r+s+x+1; z), whose terms shrink
geometrically however large ``x`` is, and ``F`` is kept in logs, so the difference ``A0`` is
``log F(t_x) + log1p(−exp(log F(T) − log F(t_x)))`` — the overflow of the direct formula for large x or T does
not arise. The gradient is analytic: the ₂F₁'s derivatives in its parameters and argument are summed with it
(:func:`~ltvkit.models._special.hyp2f1_unit_a`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln

from ltvkit.models._special import hyp2f1_unit_a
from ltvkit.models.base import PurchaseModel
from ltvkit.models.data import Columns, as_arrays, check_rfm

STAY = "how long customers keep buying"


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model. Fit on ``frequency`` (x), ``recency`` (t_x) and ``T``."""

    _param_names = ("r", "alpha", "s", "beta")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _label = "Pareto/NBD"
    _param_meanings = {**PurchaseModel._param_meanings, "s": STAY, "beta": STAY}

    def _validate(self, data: pd.DataFrame) -> None:
        check_rfm(data)

    @staticmethod
    def _log_f(
        params: np.ndarray, x: np.ndarray, t: np.ndarray, *, grad: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """log F(t) (see the module docstring) and, with ``grad``, its derivatives w.r.t. (r, α, s, β) as
        columns. After Euler's transformation F is a power of (α+t) and (β+t) times H = ₂F₁(1, B; C; z)."""
        r, alpha, s, beta = params
        c = r + s + x + 1
        if alpha >= beta:
            z = (alpha - beta) / (alpha + t)
            h, hb, hc, hz = hyp2f1_unit_a(r + x, c, z)
            value = -s * np.log(beta + t) - (r + x) * np.log(alpha + t) + np.log(h)
            if not grad:
                return value, None
            dz = np.stack(
                [np.zeros_like(z), (beta + t) / (alpha + t) ** 2, np.zeros_like(z), -1 / (alpha + t)]
            )
            direct = np.stack(
                [-np.log(alpha + t), -(r + x) / (alpha + t), -np.log(beta + t), -s / (beta + t)]
            )
            via_bc = np.stack([(hb + hc) / h, np.zeros_like(z), hc / h, np.zeros_like(z)])
        else:
            z = (beta - alpha) / (beta + t)
            h, hb, hc, hz = hyp2f1_unit_a(s + 1, c, z)
            value = (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t) + np.log(h)
            if not grad:
                return value, None
            dz = np.stack(
                [np.zeros_like(z), -1 / (beta + t), np.zeros_like(z), (alpha + t) / (beta + t) ** 2]
            )
            direct = np.stack(
                [-np.log(alpha + t), (1 - r - x) / (alpha + t), -np.log(beta + t), -(s + 1) / (beta + t)]
            )
            via_bc = np.stack([hc / h, np.zeros_like(z), (hb + hc) / h, np.zeros_like(z)])
        return value, (direct + via_bc + dz * hz / h).T

    def _log_terms(
        self, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, grad: bool = False
    ) -> tuple[np.ndarray, ...]:
        """log of the 'alive throughout' term and of the 'died between t_x and T' term of L (without the
        common factor), and with ``grad`` their derivatives."""
        r, alpha, s, beta = params
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        (f_tx, g_tx), (f_T, g_T) = (
            self._log_f(params, x, t_x, grad=grad),
            self._log_f(params, x, T, grad=grad),
        )
        gap = np.minimum(f_T - f_tx, 0.0)
        apart = t_x < T
        with np.errstate(divide="ignore"):
            log_a0 = np.where(apart, f_tx + np.log(-np.expm1(gap)), -np.inf)
        died = np.log(s) - np.log(r + s + x) + log_a0
        if not grad:
            return alive, died
        d_alive = np.column_stack(
            [-np.log(alpha + T), -(r + x) / (alpha + T), -np.log(beta + T), -s / (beta + T)]
        )
        # d log(F1 − F2) = (dlogF1 − e^(logF2 − logF1) dlogF2) / (1 − e^(logF2 − logF1)), where t_x < T
        ratio = np.exp(gap)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            d_a0 = np.where(apart[:, None], (g_tx - ratio * g_T) / (1 - ratio), 0.0)
        d_died = d_a0 + np.column_stack(
            [-1 / (r + s + x), np.zeros_like(x), 1 / s - 1 / (r + s + x), np.zeros_like(x)]
        )
        return alive, died, d_alive, d_died

    def _log_likelihood(
        self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, s, beta = params
        alive, died = self._log_terms(params, frequency, recency, T)
        return (
            gammaln(r + frequency)
            - gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            + np.logaddexp(alive, died)
        )

    def _gradient(
        self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, s, beta = params
        alive, died, d_alive, d_died = self._log_terms(params, frequency, recency, T, grad=True)
        w_died = np.exp(died - np.logaddexp(alive, died))[:, None]
        common = np.column_stack(
            [
                digamma(r + frequency) - digamma(r) + np.log(alpha),
                np.full_like(alive, r / alpha),
                np.full_like(alive, np.log(beta)),
                np.full_like(alive, s / beta),
            ]
        )
        return common + (1 - w_died) * d_alive + w_died * d_died

    def probability_alive(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0)."""
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        alive, died = self._log_terms(self._p, x, t_x, T)
        return expit(alive - died)

    def expected_purchases(
        self, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` given the history::

            E[Y(t)] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)

        (the bracket over s−1 tends to log((β+T+t)/(β+T)) as s → 1, computed with ``expm1``).
        """
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        return self._expected(np.asarray(t, dtype=float), x, T) * self.probability_alive(
            frequency=x, recency=t_x, T=T
        )

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
        return pd.DataFrame(
            {
                "frequency": x,
                "recency": t_x,
                "T": T,
                "future_purchases": later,
                "lambda": lam,
                "mu": mu,
                "alive": death > T,
            }
        )
