"""Special functions the models need, evaluated where the library versions fail.

``scipy.special.hyp2f1`` returns ``inf`` for some ordinary arguments with integer parameters (for example
₂F₁(2, 1; 101; 0.903) ≈ 1.018), exactly what BG/NBD-family predictions produce for whole-number histories.
The models only need ₂F₁(a, b; c; z) with 0 ≤ z < 1 and c > 0, where the power series converges; it is
summed here directly, all rows at once, with a bound on the tail. Rows where the series cancels (alternating
terms far larger than their sum, e.g. a large negative ``a``) or converges too slowly (z very close to 1) are
evaluated by mpmath at raised precision.
"""

from __future__ import annotations

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


def hyp2f1_unit_a(
    b: np.ndarray, c: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """H = ₂F₁(1, b; c; z) = Σ_k (b)_k / (c)_k z^k and its derivatives ∂H/∂b, ∂H/∂c, ∂H/∂z, summed together:
    with t_k the k-th term, ∂t_k/∂b = t_k Σ_{j<k} 1/(b+j), ∂t_k/∂c = −t_k Σ_{j<k} 1/(c+j),
    ∂t_k/∂z = k t_k / z.
    For 0 ≤ z < 1 and c > b > 0 (all terms positive); rows that do not converge go to mpmath."""
    shape, (b, c, z) = _flat(b, c, z)
    h, hb, hc, hz = np.ones_like(z), np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    idx = np.flatnonzero(z > 0)
    wb, wc, wz = b[idx], c[idx], z[idx]
    term, sb, sc = np.ones(len(idx)), np.zeros(len(idx)), np.zeros(len(idx))
    acc = [np.ones(len(idx)), np.zeros(len(idx)), np.zeros(len(idx)), np.zeros(len(idx))]
    odds = wz / (1 - wz)
    k = 0
    while idx.size and k < _MAX_TERMS:
        sb += 1 / (wb + k)
        sc += 1 / (wc + k)
        term *= (wb + k) / (wc + k) * wz
        k += 1
        acc[0] += term
        acc[1] += term * sb
        acc[2] -= term * sc
        acc[3] += term * k
        done = (term * odds * (1 + k * sb) <= _TOLERANCE * acc[0]) | (term == 0)
        if done.any():
            finished = idx[done]
            h[finished], hb[finished], hc[finished], hz[finished] = (a[done] for a in acc)
            keep = ~done
            idx, wb, wc, wz, odds, term, sb, sc = (
                idx[keep],
                wb[keep],
                wc[keep],
                wz[keep],
                odds[keep],
                term[keep],
                sb[keep],
                sc[keep],
            )
            acc = [a[keep] for a in acc]
    for i in idx:  # rare: z within about 1e-3 of 1
        h[i], hb[i], hc[i], hz[i] = _precise_unit_a(b[i], c[i], z[i])
    positive = z > 0
    hz[positive] /= z[positive]
    hz[~positive] = b[~positive] / c[~positive]  # the k = 1 term's derivative at z = 0
    return h.reshape(shape), hb.reshape(shape), hc.reshape(shape), hz.reshape(shape)


def _precise_unit_a(b: float, c: float, z: float) -> tuple[float, float, float, float]:
    """H and z·∂H/∂z (the caller divides by z), ∂H/∂b, ∂H/∂c by mpmath at 60 digits."""
    import mpmath

    with mpmath.workdps(60):
        h = mpmath.hyp2f1(1, b, c, z)
        hb = mpmath.diff(lambda v: mpmath.hyp2f1(1, v, c, z), b)
        hc = mpmath.diff(lambda v: mpmath.hyp2f1(1, b, v, z), c)
        hz = z * mpmath.diff(lambda v: mpmath.hyp2f1(1, b, c, v), z)
        return float(h), float(hb), float(hc), float(hz)
