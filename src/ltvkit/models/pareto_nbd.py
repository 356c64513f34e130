"""Pareto/NBD: the original model of non-contractual purchasing.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers: Who Are They and What Will
They Do Next?" Management Science 33(1), 1–24. Likelihood and expressions as in Fader, P. S. &
Hardie, B. G. S. (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions" (Hardie note 009).

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α); the lifetime τ is exponential with rate
μ ~ Gamma(s, β), so across customers τ has the Lomax density s/β · (1+τ/β)^(−s−1). Given τ, the purchases in
(0, min(τ, T)] are negative binomial, hence::

    L = Γ(r+x) α^r / Γ(r) · [ (1+T/β)^(−s) / (α+T)^(r+x) + ∫_{t_x}^T s/(β+τ) (1+τ/β)^(−s) / (α+τ)^(r+x) dτ ]

(the second term: the customer dropped out at τ between the last purchase and T). The usual closed form
writes the integral with a Gauss ₂F₁ whose series needs millions of terms near the ridge s, β → ∞ that young
data produce; here it is a quadrature (:func:`~ltvkit.models._special.concave_quadrature`): after
τ + c = (t_x + c)·e^v, c = min(α, β), the integrand is log-concave in v, so a fixed 128-point rule resolves it
for every parameter and history, in logs throughout. ``(1+τ/β)^(−s)`` is taken as ``exp(−s·log1p(τ/β))``,
which tends to e^(−μτ) as s, β → ∞ with s/β = μ fixed: that limit — every customer with the same
exponential lifetime — needs no special case. The gradient differentiates under the integral sign on the same
nodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, logsumexp

from ltvkit.i18n import Note
from ltvkit.models._special import concave_quadrature, expm1_ratio
from ltvkit.models.base import PurchaseModel
from ltvkit.models.data import Columns, as_arrays, check_rfm

STAY = "meaning_keep_buying"
_BLOCK = 4096  # rows per quadrature block


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model. Fit on ``frequency`` (x), ``recency`` (t_x) and ``T``."""

    _param_names = ("r", "alpha", "s", "beta")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _label = "model_name_paretonbd"
    _param_meanings = {**PurchaseModel._param_meanings, "s": STAY, "beta": STAY}

    def _validate(self, data: pd.DataFrame) -> None:
        check_rfm(data)

    @staticmethod
    def _died(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, grad: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """log ∫_{t_x}^T s/(β+τ) (1+τ/β)^(−s) (α+τ)^(−(r+x)) dτ (−inf where t_x = T) and, with ``grad``, its
        derivatives w.r.t. (r, α, s, β) as columns."""
        r, alpha, s, beta = params
        c = min(alpha, beta)
        k = (r + x)[:, None]
        base = (t_x + c)[:, None]

        def tau(v: np.ndarray) -> np.ndarray:
            return t_x[:, None] + base * np.expm1(v)

        def log_f(v: np.ndarray) -> np.ndarray:
            t = tau(v)
            return np.log(t + c) - s * np.log1p(t / beta) - np.log(beta + t) - k * np.log(alpha + t)

        def slope(v: np.ndarray) -> np.ndarray:
            t = tau(v)
            return 1 - (t + c) * ((s + 1) / (beta + t) + k / (alpha + t))

        v, log_w = concave_quadrature(log_f, slope, np.zeros_like(x), np.log1p((T - t_x) / (t_x + c)))
        with np.errstate(divide="ignore"):
            total = logsumexp(log_w, axis=1)
            value = np.log(s) + total
        if not grad:
            return value, None
        share = np.exp(log_w - np.where(np.isfinite(total), total, 0.0)[:, None])
        t = tau(v)
        per_node = (
            -np.log(alpha + t),
            -k / (alpha + t),
            -np.log1p(t / beta),
            (s * t / beta - 1) / (beta + t),
        )
        derivative = np.column_stack([np.sum(share * d, axis=1) for d in per_node])
        derivative[:, 2] += 1 / s
        return value, derivative

    def _log_terms(
        self, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, grad: bool = False
    ) -> tuple[np.ndarray, ...]:
        """log of the 'alive at T' and of the 'dropped out between t_x and T' terms of L (without the
        common factor), and with ``grad`` their derivatives."""
        r, alpha, s, beta = params
        x, t_x, T = (np.atleast_1d(v).astype(float).ravel() for v in np.broadcast_arrays(x, t_x, T))
        alive = -(r + x) * np.log(alpha + T) - s * np.log1p(T / beta)
        # in blocks of rows, so that the rows × 160 quadrature arrays stay small for any number of customers
        parts = [
            self._died(params, x[i : i + _BLOCK], t_x[i : i + _BLOCK], T[i : i + _BLOCK], grad=grad)
            for i in range(0, len(x), _BLOCK)
        ]
        died = np.concatenate([part[0] for part in parts])
        d_died = np.concatenate([part[1] for part in parts]) if grad else None  # type: ignore[misc]
        if d_died is None:
            return alive, died
        d_alive = np.column_stack(
            [-np.log(alpha + T), -(r + x) / (alpha + T), -np.log1p(T / beta), s * T / (beta * (beta + T))]
        )
        return alive, died, d_alive, d_died

    def fit(self, data: pd.DataFrame, *, weights: pd.Series | np.ndarray | None = None) -> ParetoNBDModel:
        try:
            return super().fit(data, weights=weights)
        finally:
            self.__dict__.pop("_memo", None)  # the last quadrature of the fit: no use after it

    def _fitting_terms(
        self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """:meth:`_log_terms` with derivatives, remembered for the last parameters and data: the optimiser
        asks for the likelihood and then the gradient at the same point, and both come from one
        quadrature."""
        key = params.tobytes()
        memo = getattr(self, "_memo", None)
        if (
            memo is not None
            and memo[0] == key
            and all(a is b for a, b in zip(memo[1], (frequency, recency, T), strict=True))
        ):
            return memo[2]
        terms = self._log_terms(params, frequency, recency, T, grad=True)
        self._memo = (key, (frequency, recency, T), terms)
        return terms

    def _log_likelihood(
        self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, _, _ = params
        alive, died, *_ = self._fitting_terms(params, frequency, recency, T)
        return gammaln(r + frequency) - gammaln(r) + r * np.log(alpha) + np.logaddexp(alive, died)

    def _gradient(
        self, params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, _, _ = params
        alive, died, d_alive, d_died = self._fitting_terms(params, frequency, recency, T)
        w_died = np.exp(died - np.logaddexp(alive, died))[:, None]
        common = np.zeros_like(d_alive)
        common[:, 0] = digamma(r + frequency) - digamma(r) + np.log(alpha)
        common[:, 1] = r / alpha
        return common + (1 - w_died) * d_alive + w_died * d_died

    def probability_alive(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """P(alive | x, t_x, T): the 'alive at T' term's share of L."""
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        alive, died = self._log_terms(self._p, x, t_x, T)
        return expit(alive - died).reshape(np.shape(x))

    def expected_purchases(
        self, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` given the history::

            E[Y(t)] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)

        (the bracket over s−1 is computed as log((β+T+t)/(β+T)) · (e^w − 1)/w, w = −(s−1)·log(…), which is
        exact at s = 1).
        """
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        return self._expected(np.asarray(t, dtype=float), x, T) * self.probability_alive(
            frequency=x, recency=t_x, T=T
        )

    def _expected(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._p
        growth = np.log1p(t / (beta + T))
        return (r + x) * (beta + T) / (alpha + T) * growth * expm1_ratio(-(s - 1) * growth)

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)]."""
        t = np.asarray(t, dtype=float)
        return self._expected(t, np.zeros_like(t), np.zeros_like(t))

    def probability_of_n_purchases(self, t: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
        """P(X(t) = n) for a new customer: the negative binomial count of the time alive, min(τ, t), averaged
        over the Lomax lifetime τ::

            P = NB(n; t) · (1+t/β)^(−s) + ∫_0^t NB(n; τ) · s/(β+τ) · (1+τ/β)^(−s) dτ,
            NB(n; u) = Γ(r+n)/(Γ(r) n!) · (α/(α+u))^r (u/(α+u))^n

        The integral is taken in log τ, where its integrand is log-concave (as in the likelihood)."""
        r, alpha, s, beta = self._p
        t, n = (v.ravel() for v in np.broadcast_arrays(np.asarray(t, float), np.asarray(n, float)))
        shape = np.broadcast_shapes(np.shape(t), np.shape(n))
        positive = t > 0
        tt, nn = np.where(positive, t, 1.0), n
        k = nn[:, None]

        def log_f(u: np.ndarray) -> np.ndarray:
            tau = np.exp(u)
            return (k + 1) * u - (r + k) * np.log(alpha + tau) - np.log(beta + tau) - s * np.log1p(tau / beta)

        def slope(u: np.ndarray) -> np.ndarray:
            tau = np.exp(u)
            return (k + 1) - tau * ((r + k) / (alpha + tau) + (s + 1) / (beta + tau))

        hi = np.log(tt)
        lo = np.minimum(hi, np.log(min(alpha, beta)) - np.log(2 * (r + nn + s + 1))) - 120.0
        _, log_w = concave_quadrature(log_f, slope, lo, hi)
        log_nb = gammaln(r + nn) - gammaln(r) - gammaln(nn + 1) + r * np.log(alpha)
        alive = nn * np.log(tt) - (r + nn) * np.log(alpha + tt) - s * np.log1p(tt / beta)
        value = np.exp(log_nb + np.logaddexp(alive, np.log(s) + logsumexp(log_w, axis=1)))
        return np.where(positive, value, (n == 0).astype(float)).reshape(shape)

    def _weak_consequence(self) -> Note:
        r, alpha, s, beta = self._p
        if s > 1e3 and beta > 1e3:
            # the ridge s, β → ∞ with s/β fixed: Lomax lifetimes tend to one exponential lifetime
            return Note("note_weak_exponential", lifetime=float(beta / s))
        return super()._weak_consequence()

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
