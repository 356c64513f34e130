"""Special functions the models need, evaluated where the library versions fail, each with a bounded cost.

``scipy.special.hyp2f1`` returns ``inf`` for some ordinary arguments with integer parameters (for example
₂F₁(2, 1; 101; 0.903) ≈ 1.018), exactly what BG/NBD-family predictions produce for whole-number histories.
The models only need ₂F₁(a, b; c; z) with 0 ≤ z < 1 and c > 0, where the power series converges; it is
summed here directly, all rows at once, with a bound on the tail and a budget of terms. Rows where the
series cancels (alternating terms far larger than their sum) or does not converge within the budget (z close
to 1, parameters in the thousands) are reported, and the caller evaluates them another way — the BG/NBD
expectation by :func:`concave_quadrature`; :func:`hyp2f1` by mpmath under a term budget that ends in
:class:`~ltvkit.errors.ConvergenceError`, never in a hang.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ltvkit.errors import ConvergenceError

_MAX_TERMS = 5_000  # the float series of hyp2f1; mpmath's transformations serve z near 1 faster
_EXCESS_TERMS = 500  # the float series of hyp2f1_excess, whose callers have a quadrature to fall back on
_PRECISE_TERMS = 20_000  # mpmath's budget: terms of a series,
_PRECISE_BITS = 400  # and the working precision it may raise itself to
_TOLERANCE = 1e-14  # the tail bound, relative to the sum of |terms|
_CANCELLATION = 1e6  # Σ|terms| / |Σ terms| above this loses more than 6 of the 16 digits


def _series(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    z: np.ndarray,
    first: np.ndarray,
    k0: int,
    max_terms: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_{k≥k0} t_k with t_{k0} = ``first`` and t_{k+1}/t_k = (a+k)(b+k)/((c+k)(k+1)) z; and the rows whose
    sum is unreliable (not converged within ``max_terms``, or cancelling). Rows that finish leave the working
    arrays."""
    total = first.copy()
    magnitude = np.abs(first)
    idx = np.flatnonzero((z > 0) & (first != 0))
    wa, wb, wc, wz = a[idx], b[idx], c[idx], z[idx]
    term, run, size = first[idx].copy(), total[idx].copy(), magnitude[idx].copy()
    odds = wz / (1 - wz)
    k = k0
    while idx.size and k < max_terms:
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
    total, unreliable = _series(a, b, c, z, np.ones_like(z), 0, _MAX_TERMS)
    for i in np.flatnonzero(unreliable):
        total[i] = _precise(a[i], b[i], c[i], z[i])
    return total.reshape(shape)


def hyp2f1_excess(
    a: np.ndarray | float,
    b: np.ndarray | float,
    c: np.ndarray | float,
    z: np.ndarray | float,
    log_scale: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """e^log_scale · c · (₂F₁(a, b; c; z) − 1) / b
    = e^log_scale · Σ_{k≥1} (a)_k (b+1)_{k−1} / ((c+1)_{k−1} k!) z^k, without dividing by b or c (so it
    is exact as b → 0, and finite at c = 0, where the ₂F₁ is not); and the rows whose series was unreliable
    (NaN there: the caller evaluates them another way)."""
    shape, (a, b, c, z, log_scale) = _flat(a, b, c, z, log_scale)
    total, unreliable = _series(a, b, c, z, a * z, 1, _EXCESS_TERMS)
    with np.errstate(invalid="ignore", over="ignore"):
        total *= np.exp(log_scale)
    unreliable |= ~np.isfinite(total)
    total[unreliable] = np.nan
    return total.reshape(shape), unreliable.reshape(shape)


def _precise(a: float, b: float, c: float, z: float) -> float:
    import mpmath

    try:
        with mpmath.workdps(40):
            return float(mpmath.hyp2f1(a, b, c, z, maxterms=_PRECISE_TERMS, maxprec=_PRECISE_BITS))
    except (mpmath.libmp.NoConvergence, ValueError) as error:  # ValueError: its precision budget ran out
        raise ConvergenceError(
            f"₂F₁({a:.6g}, {b:.6g}; {c:.6g}; {z:.6g}) did not converge within {_PRECISE_TERMS} terms "
            "(parameters or a discount rate this extreme are outside what the model can evaluate)"
        ) from error


# --- quadrature of log-concave integrands -----------------------------------------------------------------

_NODES = 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)
_DROP = 50.0  # the integrand is cut where it falls e^50 below its peak
_LEVELS = (1.0, 4.0, 12.0, 25.0)  # panel ends on either side of the peak: where ℓ has fallen by these
_PEAK_BISECTIONS = 30
_LEVEL_BISECTIONS = 18  # a panel's end need not be exact: any split is a valid rule
_LOG_SPAN = 40.0  # panel ends are sought between e^−40 and 1 times the distance from the peak to the end

LogDensity = Callable[[np.ndarray], np.ndarray]


def concave_quadrature(
    log_f: LogDensity,
    slope: LogDensity,
    lo: np.ndarray,
    hi: np.ndarray,
    drop: np.ndarray | float = _DROP,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``v`` and log-weights for ∫_lo^hi e^ℓ(v) g(v) dv ≈ Σ_i e^(logw_i) g(v_i), one row per interval,
    where ℓ = ``log_f`` is concave in ``v`` (``slope`` its derivative; both take an array of shape
    (rows, k) of points) and ``g`` is smooth and of moderate range.

    The integrand is log-concave, so it has one peak and falls at least exponentially on either side. The
    peak is found by bisection on the sign of the slope; on each side, panels end where ℓ has fallen by
    1, 4, 12 and 25 (:data:`_LEVELS`) and, last, by ``drop`` (by default :data:`_DROP`, the part cut off
    being below e^−50 of the integral; a caller whose g spans a range G adds log G). Each panel, where ℓ
    falls by at most 25 whatever the parameters, gets 16-point Gauss–Legendre (exact to ~1e-13 for such a
    fall): a fixed cost of rows × 160 points, and a value smooth in the parameters, so derivatives may be
    taken under the integral sign on the same nodes.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.ravel(), hi.ravel()

    def at(v: np.ndarray, f: LogDensity) -> np.ndarray:
        return f(v[:, None])[:, 0]

    a, b = lo.copy(), hi.copy()
    for _ in range(_PEAK_BISECTIONS):
        mid = 0.5 * (a + b)
        rising = at(mid, slope) > 0
        a, b = np.where(rising, mid, a), np.where(rising, b, mid)
    peak = np.where(at(lo, slope) <= 0, lo, np.where(at(hi, slope) >= 0, hi, 0.5 * (a + b)))
    top = at(peak, log_f)
    ends = []
    for end in (lo, hi):
        # bisect on the log of the distance from the peak: the peak may be 1e-5 wide in a range of 50
        sign, reach = np.sign(end - peak), np.log(np.maximum(np.abs(end - peak), 1e-300))
        side = [peak]
        for level in (*_LEVELS, drop):
            floor = top - level
            inside, outside = reach - _LOG_SPAN, reach.copy()
            for _ in range(_LEVEL_BISECTIONS):
                mid = 0.5 * (inside + outside)
                above = at(peak + sign * np.exp(mid), log_f) > floor
                inside, outside = np.where(above, mid, inside), np.where(above, outside, mid)
            side.append(np.where(at(end, log_f) > floor, end, peak + sign * np.exp(outside)))
        ends.append(side)
    # panels in increasing v: the left side's ends reversed, then the right side's
    bounds = np.stack([*ends[0][::-1], *ends[1][1:]], axis=1)
    bounds = np.maximum.accumulate(bounds, axis=1)  # where ℓ is flat to rounding, ends may cross
    start, width = bounds[:, :-1], np.diff(bounds, axis=1)
    v = (start[:, :, None] + width[:, :, None] * (_GL_X + 1) / 2).reshape(len(lo), -1)
    with np.errstate(divide="ignore"):
        log_w = np.log(width[:, :, None] * _GL_W / 2).reshape(len(lo), -1)
    return v, log_w + log_f(v)


def expm1_ratio(w: np.ndarray | float) -> np.ndarray:
    """(e^w − 1)/w, 1 at w = 0, without cancellation for small |w|."""
    w = np.asarray(w, dtype=float)
    safe = np.where(w == 0, 1.0, w)
    return np.where(w == 0, 1.0, np.expm1(safe) / safe)


# --- differences of log-gamma ratios ------------------------------------------------------------------------

_SUMMED = 32  # n up to this: the sum of log1p terms itself
_STIRLING_FROM = 20.0  # below, the recurrence Γ(z+1) = zΓ(z) lifts z to here first
_STIRLING = ((1, 1 / 12), (3, -1 / 360), (5, 1 / 1260), (7, -1 / 1680))  # c(z) = Σ coef · z^−power


def _log1p_ratio(u: np.ndarray) -> np.ndarray:
    """log(1+u)/u, 1 at u = 0."""
    safe = np.where(u == 0, 1.0, u)
    return np.where(u == 0, 1.0, np.log1p(safe) / safe)


def _lgr_parts(z: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, z') with (lnΓ(z+e) − lnΓ(z))/e = S + log(z'+e), S of order one, for z > 0, z + e > 0.

    z is lifted to z' = z + m ≥ 20 by the recurrence, then Stirling's series:
    (lnΓ(z'+e) − lnΓ(z'))/e = (z'−½)·log(1+e/z')/e + log(z'+e) − 1 + (c(z'+e) − c(z'))/e, each divided
    difference of a power taken exactly, so nothing cancels as e → 0 (where the ratio tends to ψ(z))."""
    m = np.maximum(np.ceil(_STIRLING_FROM - z), 0.0)
    lifted = z + m
    total = (lifted - 0.5) / lifted * _log1p_ratio(e / lifted) - 1.0
    a, b = lifted + e, lifted
    for power, coef in _STIRLING:
        # (a^−p − b^−p)/e = −Σ_{j<p} a^j b^(p−1−j) / (a b)^p, with a − b = e
        spread = sum(a**j * b ** (power - 1 - j) for j in range(power))
        total -= coef * spread / (a * b) ** power
    for k in range(int(m.max()) if m.size else 0):
        step = k < m
        shifted = z + k
        total -= np.where(step, _log1p_ratio(e / shifted) / shifted, 0.0)
    return total, lifted


def log_gamma_ratio_change(y: np.ndarray, n: np.ndarray, e: np.ndarray) -> np.ndarray:
    """q = ([lnΓ(y+n+e) − lnΓ(y+n)] − [lnΓ(y+e) − lnΓ(y)]) / e = Σ_{j<n} log(1 + e/(y+j))/e (n whole),
    tending to ψ(y+n) − ψ(y) as e → 0; for y > 0, y + e > 0, n ≥ 0.

    The two log-gamma ratios are close when n ≪ y (y up to e^18 in the BG/BB fits): each is split as
    :func:`_lgr_parts` does, so the large logarithms meet only in ``log1p``; the relative error stays near
    1e-16 · y/n, and for n ≤ :data:`_SUMMED` the sum is taken term by term instead."""
    y, n, e = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, n, e)))
    s_low, low = _lgr_parts(y, e)
    s_high, high = _lgr_parts(y + n, e)
    value = s_high - s_low + np.log1p((high - low) / (low + e))
    short = n <= _SUMMED
    if short.any():
        summed = sum(
            np.where(j < n, _log1p_ratio(e / (y + j)) / (y + j), 0.0) for j in range(int(n[short].max()))
        )
        value = np.where(short, summed, value)
    return value
