"""Special functions the models need, evaluated where the library versions fail.

``scipy.special.hyp2f1`` returns ``inf`` for some ordinary arguments with integer parameters (for example
₂F₁(2, 1; 101; 0.903) ≈ 1.018), exactly what BG/NBD-family predictions produce for whole-number histories.
The models only need ₂F₁(a, b; c; z) with 0 ≤ z < 1 and c > 0, where the power series converges; it is
summed here directly, all rows at once, with a bound on the tail. Rows where the series cancels (alternating
terms far larger than their sum, e.g. a large negative ``a``) or converges too slowly (z very close to 1) are
evaluated by mpmath at raised precision.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_MAX_TERMS = 100_000
_TOLERANCE = 1e-14  # the tail bound, relative to the sum of |terms|
_CANCELLATION = 1e6  # Σ|terms| / |Σ terms| above this loses more than 6 of the 16 digits


def _series(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray, first: np.ndarray, k0: int
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_{k≥k0} t_k with t_{k0} = ``first`` and t_{k+1}/t_k = (a+k)(b+k)/((c+k)(k+1)) z; and the rows whose
    sum is unreliable (not converged, or cancelling). Rows that finish leave the working arrays."""
    total = first.copy()
    magnitude = np.abs(first)
    idx = np.flatnonzero((z > 0) & (first != 0))
    wa, wb, wc, wz = a[idx], b[idx], c[idx], z[idx]
    term, run, size = first[idx].copy(), total[idx].copy(), magnitude[idx].copy()
    odds = wz / (1 - wz)
    k = k0
    while idx.size and k < _MAX_TERMS:
        with np.errstate(over="ignore", invalid="ignore"):
            term *= (wa + k) * (wb + k) / ((wc + k) * (k + 1)) * wz
            run += term
            size += np.abs(term)
            k += 1
            done = (np.abs(term) * odds <= _TOLERANCE * size) | (term == 0) | ~np.isfinite(term)
        if done.any():
            total[idx[done]], magnitude[idx[done]] = run[done], size[done]
            keep = ~done
            idx, wa, wb, wc, wz, odds = idx[keep], wa[keep], wb[keep], wc[keep], wz[keep], odds[keep]
            term, run, size = term[keep], run[keep], size[keep]
    unreliable = ~np.isfinite(total)  # terms that overflowed before the series turned
    unreliable[idx] = True
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        unreliable |= magnitude > _CANCELLATION * np.abs(total)
    return total, unreliable


def _flat(*values: np.ndarray | float) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))
    return arrays[0].shape, [np.ascontiguousarray(v).ravel() for v in arrays]


def hyp2f1(
    a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float, z: np.ndarray | float
) -> np.ndarray:
    """Gauss's ₂F₁(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k for 0 ≤ z < 1, c > 0."""
    shape, (a, b, c, z) = _flat(a, b, c, z)
    total, unreliable = _series(a, b, c, z, np.ones_like(z), 0)
    for i in np.flatnonzero(unreliable):
        total[i] = _precise(a[i], b[i], c[i], z[i], excess=False)
    return total.reshape(shape)


def hyp2f1_excess(
    a: np.ndarray | float,
    b: np.ndarray | float,
    c: np.ndarray | float,
    z: np.ndarray | float,
    log_scale: np.ndarray | float = 0.0,
) -> np.ndarray:
    """e^log_scale · (₂F₁(a, b; c; z) − 1) / b = e^log_scale · Σ_{k≥1} (a)_k (b+1)_{k−1} / ((c)_k k!) z^k,
    without dividing by b (so it is exact as b → 0, where it becomes Σ (a)_k / ((c)_k k) z^k). The scale
    (≤ 0 in use) is applied at high precision where the series itself overflows a float."""
    shape, (a, b, c, z, log_scale) = _flat(a, b, c, z, log_scale)
    total, unreliable = _series(a, b, c, z, a * z / c, 1)
    with np.errstate(invalid="ignore"):  # inf · 0 in rows about to be recomputed
        total *= np.exp(log_scale)
    for i in np.flatnonzero(unreliable):
        total[i] = _precise(a[i], b[i], c[i], z[i], excess=True, log_scale=log_scale[i])
    return total.reshape(shape)


def _precise(a: float, b: float, c: float, z: float, *, excess: bool, log_scale: float = 0.0) -> float:
    import mpmath

    with mpmath.workdps(60):
        if not excess:
            return float(mpmath.hyp2f1(a, b, c, z))
        step = b if abs(b) > 1e-20 else mpmath.mpf("1e-40")
        return float(mpmath.exp(log_scale) * (mpmath.hyp2f1(a, step, c, z) - 1) / step)


# --- quadrature of log-concave integrands -----------------------------------------------------------------

_PANELS, _NODES = 8, 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)
_DROP = 50.0  # the integrand is cut where it falls e^50 below its peak
_BISECTIONS = 24

LogDensity = Callable[[np.ndarray], np.ndarray]


def concave_quadrature(
    log_f: LogDensity, slope: LogDensity, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``v`` and log-weights for ∫_lo^hi e^ℓ(v) g(v) dv ≈ Σ_i e^(logw_i) g(v_i), one row per interval,
    where ℓ = ``log_f`` is concave in ``v`` (``slope`` its derivative; both take an array of shape
    (rows, k) of points) and ``g`` is smooth and of moderate range.

    The integrand is log-concave, so it has one peak and falls at least exponentially on either side: the
    peak is found by bisection on the sign of the slope, the interval is cut where ℓ falls :data:`_DROP`
    below the peak (the part cut off is below e^−50 of the integral), and what is left is split into
    :data:`_PANELS` panels of :data:`_NODES`-point Gauss–Legendre. The cost is fixed — rows × 128 points,
    whatever the parameters — and the value is smooth in the parameters, so derivatives may be taken under
    the integral sign on the same nodes.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.ravel(), hi.ravel()

    def at(v: np.ndarray, f: LogDensity) -> np.ndarray:
        return f(v[:, None])[:, 0]

    # the peak: where the slope changes sign (an end of the interval if it does not)
    a, b = lo.copy(), hi.copy()
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        rising = at(mid, slope) > 0
        a, b = np.where(rising, mid, a), np.where(rising, b, mid)
    peak = np.where(at(lo, slope) <= 0, lo, np.where(at(hi, slope) >= 0, hi, 0.5 * (a + b)))
    floor = at(peak, log_f) - _DROP
    # the cuts: where ℓ crosses floor on either side of the peak, kept on the safe (outer) side
    left, right = lo.copy(), hi.copy()
    for side, end in ((left, lo), (right, hi)):
        inside, outside = peak.copy(), end.copy()
        for _ in range(_BISECTIONS):
            mid = 0.5 * (inside + outside)
            above = at(mid, log_f) > floor
            inside, outside = np.where(above, mid, inside), np.where(above, outside, mid)
        side[:] = np.where(at(end, log_f) > floor, end, outside)
    width = (right - left) / _PANELS
    start = left[:, None] + width[:, None] * np.arange(_PANELS)[None, :]
    v = (start[:, :, None] + width[:, None, None] * (_GL_X + 1) / 2).reshape(len(lo), -1)
    with np.errstate(divide="ignore"):
        log_w = np.log(np.tile(_GL_W / 2, _PANELS))[None, :] + np.log(width)[:, None]
    return v, log_w + log_f(v)


def expm1_ratio(w: np.ndarray | float) -> np.ndarray:
    """(e^w − 1)/w, 1 at w = 0, without cancellation for small |w|."""
    w = np.asarray(w, dtype=float)
    safe = np.where(w == 0, 1.0, w)
    return np.where(w == 0, 1.0, np.expm1(safe) / safe)
