"""Independent references for the model tests: the published closed forms at high precision (mpmath) and
direct sums, none of them sharing code with ltvkit's evaluation."""

from __future__ import annotations

import mpmath


def pareto_alive(r: float, alpha: float, s: float, beta: float, x: float, t_x: float, T: float) -> float:
    """P(alive) by the closed form of Fader & Hardie's note 009 (the ₂F₁ form) at 50 digits."""
    with mpmath.workdps(50):
        r, alpha, s, beta, x, t_x, T = (mpmath.mpf(v) for v in (r, alpha, s, beta, x, t_x, T))
        c = r + s + x

        def f(t: mpmath.mpf) -> mpmath.mpf:
            if alpha >= beta:
                return mpmath.hyp2f1(c, s + 1, c + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** c
            return mpmath.hyp2f1(c, r + x, c + 1, (beta - alpha) / (beta + t)) / (beta + t) ** c

        a0 = f(t_x) - f(T)
        return float(1 / (1 + s / c * (alpha + T) ** (r + x) * (beta + T) ** s * a0))


def bgbb_expected(params: tuple[float, ...], x: int, t_x: int, n: int, n_star: int) -> float:
    """BG/BB expected transactions in the next n* opportunities by the sums behind eq. 13, at 40 digits."""
    with mpmath.workdps(40):
        a, b, g, d = (mpmath.mpf(v) for v in params)
        beta = mpmath.beta
        likelihood = beta(a + x, b + n - x) / beta(a, b) * beta(g, d + n) / beta(g, d) + mpmath.fsum(
            beta(a + x, b + t_x - x + i) / beta(a, b) * beta(g + 1, d + t_x + i) / beta(g, d)
            for i in range(n - t_x)
        )
        stays = mpmath.fsum(beta(g, d + n + j) / beta(g, d + n) for j in range(1, n_star + 1))
        lead = beta(a + x + 1, b + n - x) / beta(a, b) * beta(g, d + n) / beta(g, d)
        return float(lead / likelihood * stays)


def hyp2f1_by_summation(a: object, b: object, c: object, z: object) -> object:
    """₂F₁ summed term by term in mpmath's current precision."""
    term = total = mpmath.mpf(1)
    k = 0
    while True:
        ratio = (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        term *= ratio
        total += term
        k += 1
        if ratio < 1 and abs(term) < mpmath.mpf(10) ** (-mpmath.mp.dps) * abs(total):
            return total


def bg_expected(r: float, alpha: float, a: float, b: float, x: int, T: float, t: float, shift: int) -> float:
    """The bracket of eq. 10 (MBG: shifted), E[Y(t) | alive, x, T], its ₂F₁ summed at 40 digits; a ≠ 1."""
    with mpmath.workdps(40):
        r_, al, a_, b_, T_, t_ = (mpmath.mpf(v) for v in (r, alpha, a, b, T, t))
        keep = (al + T_) / (al + T_ + t_)
        series = hyp2f1_by_summation(r_ + x, b_ + x + shift, a_ + b_ + x + shift - 1, 1 - keep)
        return float((a_ + b_ + x + shift - 1) / (a_ - 1) * (1 - keep ** (r_ + x) * series))
