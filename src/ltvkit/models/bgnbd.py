"""BG/NBD: the beta-geometric/negative-binomial model of non-contractual purchasing.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy Way: An Alternative to
the Pareto/NBD Model." Marketing Science 24(2), 275–284.

While active, a customer buys at Poisson rate λ ~ Gamma(r, α); after each repeat purchase they drop out with
probability p ~ Beta(a, b). For a customer with ``x`` repeat purchases, the last at ``t_x``, observed for
``T`` since the first (eq. 6 of the paper)::

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + 1{x>0} · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

MBG/NBD (:mod:`ltvkit.models.mbgnbd`) differs only in letting a customer drop out right after the first
purchase; both are written here once, with ``_shift`` = 0 (BG/NBD) or 1 (MBG/NBD) added to ``x`` in the beta
terms.

Numerical care: everything is in logs (``logaddexp`` of the two terms); P(alive) is a logistic of a log-odds,
so it cannot overflow for large ``x``; the conditional expectation uses Euler's transformation of ₂F₁, whose
parameters then stay bounded as ``x`` grows (the failure of the direct formula in other implementations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betainc, betaincc, betaln, digamma, expit, gammaln, log_expit, logit

from ltvkit.models._special import concave_quadrature, hyp2f1_excess
from ltvkit.models.base import STOP_BUYING, PurchaseModel
from ltvkit.models.data import Columns, as_arrays, check_rfm


@dataclass(frozen=True)
class _Levels:
    """Distinct values of x, t_x and T (``x``, ``t_x``, ``T``) and each row's index into them."""

    x: np.ndarray
    ix: np.ndarray
    t_x: np.ndarray
    itx: np.ndarray
    T: np.ndarray
    iT: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Levels:
        (ux, ix), (utx, itx), (uT, iT) = (np.unique(v, return_inverse=True) for v in (x, t_x, T))
        return cls(ux, ix.ravel(), utx, itx.ravel(), uT, iT.ravel())


class BetaGeoModel(PurchaseModel):
    """BG/NBD model. Fit on a per-customer summary with ``frequency`` (x), ``recency`` (t_x) and ``T``."""

    _param_names = ("r", "alpha", "a", "b")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _label = "model_name_bgnbd"
    _param_meanings = {**PurchaseModel._param_meanings, "a": STOP_BUYING, "b": STOP_BUYING}
    _shift: ClassVar[int] = 0

    def _validate(self, data: pd.DataFrame) -> None:
        check_rfm(data)

    def _prepare(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Distinct levels of x, t_x and T with each row's position among them: the special functions are then
        evaluated once per level (a few hundred) instead of once per row."""
        return {**arrays, "levels": _Levels.of(arrays["frequency"], arrays["recency"], arrays["T"])}

    def _terms(
        self, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, levels: _Levels | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Levels, np.ndarray, np.ndarray]:
        r, alpha, a, b = params
        lv = levels or _Levels.of(x, t_x, T)
        xb = lv.x + self._shift
        has2 = (xb > 0)[lv.ix]
        xb2 = np.where(xb > 0, xb, 1.0)
        common = (gammaln(r + lv.x) - gammaln(r))[lv.ix] + r * np.log(alpha) - betaln(a, b)
        t1 = betaln(a, b + xb)[lv.ix] - (r + x) * np.log(alpha + lv.T)[lv.iT]
        t2 = betaln(a + 1, b + xb2 - 1)[lv.ix] - (r + x) * np.log(alpha + lv.t_x)[lv.itx]
        return common, t1, np.where(has2, t2, -np.inf), lv, xb, xb2

    def _log_likelihood(
        self,
        params: np.ndarray,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        levels: _Levels | None = None,
    ) -> np.ndarray:
        common, t1, t2, *_ = self._terms(params, frequency, recency, T, levels)
        return common + np.logaddexp(t1, t2)

    def _gradient(
        self,
        params: np.ndarray,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        levels: _Levels | None = None,
    ) -> np.ndarray:
        r, alpha, a, b = params
        x = frequency
        _, t1, t2, lv, xb, xb2 = self._terms(params, x, recency, T, levels)
        w2 = np.exp(t2 - np.logaddexp(t1, t2))  # share of the second term; 0 where it is absent
        w1 = 1.0 - w2
        d_ab, d_b = digamma(a + b), digamma(b)
        log_T, log_tx = np.log(alpha + lv.T)[lv.iT], np.log(alpha + lv.t_x)[lv.itx]
        d_r = (digamma(r + lv.x) - digamma(r))[lv.ix] + np.log(alpha) - w1 * log_T - w2 * log_tx
        d_alpha = r / alpha - (r + x) * (w1 / (alpha + lv.T)[lv.iT] + w2 / (alpha + lv.t_x)[lv.itx])
        d_abx = digamma(a + b + xb)
        d_a = w1 * (d_ab - d_abx)[lv.ix] + w2 * (digamma(a + 1) - digamma(a) + d_ab - d_abx)[lv.ix]
        d_b1 = (digamma(b + xb) - d_abx - d_b + d_ab)[lv.ix]
        d_b2 = (np.where(xb > 0, digamma(b + xb2 - 1), 0.0) - d_abx - d_b + d_ab)[lv.ix]
        return np.column_stack([d_r, d_alpha, d_a, w1 * d_b1 + w2 * d_b2])

    # --- predictions ------------------------------------------------------------------------------------

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log of P(dead)/P(alive) given the history (−inf where the customer cannot have dropped out)."""
        r, alpha, a, b = self._p
        xb = x + self._shift
        safe = np.where(xb > 0, xb, 1.0)
        odds = np.log(a) - np.log(b + safe - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(xb > 0, odds, -np.inf)

    def probability_alive(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))  (eq. 11)."""
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        return expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases(
        self, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
    ) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units given the history (eq. 10)::

            E[Y(t)] = (a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] · P(alive),
            z = t/(α+T+t)

        The bracket is computed as ``1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)``, ``z = t/(α+T+t)``
        (Euler's transformation: the ₂F₁ parameters no longer grow with x), with the division by a − 1 done
        analytically (:func:`~ltvkit.models._special.hyp2f1_excess`), so a = 1 is no special case.
        """
        x, t_x, T = as_arrays(data, columns, ("frequency", "recency", "T"))
        return self._expected(np.asarray(t, dtype=float), x, t_x, T)

    def _bracket(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """(a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)], z = t/(α+T+t) (MBG: b+x+1 and
        a+b+x), in whichever of two equal forms has the shorter ₂F₁ series.

        The ₂F₁ terms peak near k ≈ x·z/(1−z) as written, and near k ≈ a·z/(1−z) after Euler's
        transformation, ``(1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)``: the transformed form serves long
        histories (large x), the direct one large a (a flat prior on drop-out, common on young data). Both are
        summed as ``c · [(1 − (1−z)^E)/D − (1−z)^E · (E/D) · (₂F₁ − 1)/E]`` with no cancellation; the
        transformed form has E = D = a − 1, so a = 1 is no special case, and the direct one is used only
        where a − 1 > 1.
        """
        r, alpha, a, b = self._p
        shape = np.broadcast_shapes(np.shape(t), np.shape(x), np.shape(T))
        t, x, T = (np.atleast_1d(np.array(v, dtype=float)) for v in np.broadcast_arrays(t, x, T))
        z = t / (alpha + T + t)
        c = a + b + x + self._shift - 1
        log_keep = np.log1p(-z)
        direct = a - 1 > np.maximum(r + x, 1.0)
        exponent = np.where(direct, r + x, a - 1)
        upper = np.where(direct, b + x + self._shift, a + b + self._shift - 1 - r)
        ratio = np.where(direct, exponent / max(a - 1, 1.0), 1.0)  # direct only where a − 1 > 1
        safe = np.where(np.abs(exponent) < 1e-12, 1.0, exponent)
        first = np.where(np.abs(exponent) < 1e-12, -log_keep, -np.expm1(exponent * log_keep) / safe) * ratio
        rest, unreliable = hyp2f1_excess(upper, exponent, c, z, exponent * log_keep)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN or ∞ only in rows found unreliable here
            bracket = c * first - ratio * rest
            unreliable |= ~(np.abs(c * first) <= 1e6 * bracket)  # the difference lost 6 of 16 digits
        if unreliable.any():
            bracket[unreliable] = self._bracket_by_quadrature(t[unreliable], x[unreliable], T[unreliable])
        return bracket.reshape(shape)

    def _bracket_by_quadrature(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """The bracket of :meth:`_bracket` as an expectation over the drop-out probability, for the rows whose
        ₂F₁ series does not converge within its budget (horizons far beyond α+T, parameters in the
        thousands)::

            E[Y(t) | alive] = E_p[(1 − (1 + p t/(α+T))^−(r+x)) / p],   p ~ Beta(a, b+x)  (MBG: b+x+1)

        (given λ and p, a customer alive now makes (1 − e^(−λpt))/p purchases on average; λ's posterior is
        Gamma(r+x, α+T)). Taken over the log-odds of p, where the beta density is log-concave, by
        :func:`~ltvkit.models._special.concave_quadrature`: a fixed cost per row."""
        r, alpha, a, b = self._p
        big_b = b + x + self._shift
        k, w = r + x, t / (alpha + T)
        # the ends, where g(p) = (1 − (1+pw)^−k)/p is a Taylor polynomial to 1e-12: p < p0 and p > p1
        p0, p1 = 1e-6 / (1 + (k + 2) * w), 1 - 1e-6
        g1 = -np.expm1(-k * np.log1p(w))
        slope1 = np.exp(np.log(k * w) - (k + 1) * np.log1p(w)) - g1  # g'(1)
        mean = a / (a + big_b)
        ends = (
            k * w * betainc(a, big_b, p0)
            - k * (k + 1) * w**2 / 2 * mean * betainc(a + 1, big_b, p0)
            + g1 * betaincc(a, big_b, p1)
            - slope1 * (1 - mean) * betaincc(a, big_b + 1, p1)
        )
        bb, kk, ww = big_b[:, None], k[:, None], w[:, None]

        def log_f(y: np.ndarray) -> np.ndarray:
            return a * log_expit(y) + bb * log_expit(-y)

        def slope(y: np.ndarray) -> np.ndarray:
            return a - (a + bb) * expit(y)

        y, log_w = concave_quadrature(
            log_f, slope, logit(p0), np.full_like(p0, logit(p1)), 50 + np.log1p(k * w)
        )
        p = expit(y)
        gain = -np.expm1(-kk * np.log1p(p * ww)) / p
        # the middle's weights normalised by their own sum, times its mass from the incomplete beta: the beta
        # density's log is a difference of numbers near a·log 2 (1e8 at a = e^18), good to 1e-8 at best
        weight = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        middle = betainc(a, big_b, p1) - betainc(a, big_b, p0)
        return ends + middle * np.sum(weight * gain, axis=1) / np.sum(weight, axis=1)

    def _expected(self, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        x, t_x, T = np.broadcast_arrays(x, t_x, T)
        shared_t = x.ndim == 1 and (t.ndim == 0 or (t.ndim == 2 and t.shape[1] == 1))
        if shared_t:
            # the same horizon(s) for every customer: the bracket depends on (x, T) only, so it is evaluated
            # once per distinct pair and gathered (t_x enters through P(alive) alone)
            pairs, where = np.unique(np.stack([x, T]), axis=1, return_inverse=True)
            bracket = self._bracket(t, pairs[0], pairs[1])[..., where.ravel()]
        else:
            bracket = self._bracket(t, x, T)
        return bracket * expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases by time ``t`` of a new customer (eq. 9)."""
        t = np.asarray(t, dtype=float)
        zero = np.zeros_like(t)
        return self._expected(t, zero, zero, zero)

    def probability_of_n_purchases(self, t: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
        """P(X(t) = n) (Fader, Hardie & Lee 2005, eq. 8; MBG/NBD with x+1 in the beta terms)::

            B(a, b+n)/B(a, b) · NB(n; t) + 1{n>0} · B(a+1, b+n−1)/B(a, b) · P(NB(t) ≥ n)

        — still active with n purchases, or dropped out right after the n-th; NB(·; t) is the negative
        binomial count with P(NB(t) ≥ n) = I_{t/(α+t)}(n, r)."""
        r, alpha, a, b = self._p
        shape = np.broadcast_shapes(np.shape(t), np.shape(n))
        t, n = (v.ravel() for v in np.broadcast_arrays(np.asarray(t, float), np.asarray(n, float)))
        nb = n + self._shift
        log_nb = (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * (np.log(alpha) - np.log(alpha + t))
            + np.where(n > 0, n * (np.log(np.where(t > 0, t, 1.0)) - np.log(alpha + t)), 0.0)
        )
        active = np.exp(betaln(a, b + nb) - betaln(a, b) + np.where((t == 0) & (n > 0), -np.inf, log_nb))
        reached = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
        gone = np.where(nb > 0, np.exp(betaln(a + 1, b + np.maximum(nb, 1.0) - 1) - betaln(a, b)), 0.0)
        return (active + gone * reached).reshape(shape)

    # --- simulation -------------------------------------------------------------------------------------

    def simulate(
        self,
        T: float | np.ndarray,
        size: int | None = None,
        random_state: int | np.random.Generator | None = None,
        *,
        future: float = 0.0,
    ) -> pd.DataFrame:
        """Simulate customers observed for ``T`` after their first purchase: frequency, recency, T, the
        purchases they go on to make in (T, T + ``future``], and the latent ``lambda``, ``p`` and ``alive``
        (at T)."""
        r, alpha, a, b = self._p
        rng = np.random.default_rng(random_state)
        T = np.broadcast_to(np.asarray(T, dtype=float), (size,) if size else np.shape(T)).copy()
        n = len(T)
        lam = rng.gamma(r, 1 / alpha, n)
        p = rng.beta(a, b, n)
        x, t_x, later, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        active = np.ones(n, dtype=bool)
        if self._shift:
            active &= rng.random(n) >= p  # MBG/NBD: may drop out right after the first purchase
        alive_at_T = active.copy()
        while active.any():
            idx = np.flatnonzero(active)
            now[idx] += rng.exponential(1 / lam[idx])
            within = now[idx] <= T[idx] + future
            active[idx[~within]] = False
            buy = idx[within]
            observed = now[buy] <= T[buy]
            x[buy[observed]] += 1
            t_x[buy[observed]] = now[buy[observed]]
            later[buy[~observed]] += 1
            dies = buy[rng.random(len(buy)) < p[buy]]
            active[dies] = False
            alive_at_T[dies[now[dies] <= T[dies]]] = False
        return pd.DataFrame(
            {
                "frequency": x,
                "recency": t_x,
                "T": T,
                "future_purchases": later,
                "lambda": lam,
                "p": p,
                "alive": alive_at_T,
            }
        )
