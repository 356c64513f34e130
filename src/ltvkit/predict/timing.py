"""When a customer will buy next: the probability of at least one purchase in the next t, and the wait by
which an active customer who buys again has done so with a given probability (for timing a follow-up).

Given the history (x, t_x, T), a customer is active with P(alive), and an active customer's next purchase
comes after a wait whose distribution F depends on (x, T) only::

    P(Y(t) ≥ 1 | x, t_x, T) = P(alive) · F(t | x, T)

and the wait w_q solves F(w_q) = q · F(∞), F(∞) being the probability that an active customer buys again
at all.

- BG/NBD and MBG/NBD (Fader, Hardie & Lee 2005): the rate is Gamma(r + x, α + T) and customers drop out only
  right after a purchase, so F(∞) = 1, F(t) = 1 − ((α+T)/(α+T+t))^(r+x) and
  w_q = (α+T)·((1 − q)^(−1/(r+x)) − 1).
- Pareto/NBD: a customer may drop out before buying again; active at T, λ ~ Gamma(r+x, α+T) and
  μ ~ Gamma(s, β+T) are independent and F(t) = ∫_0^t E[λe^(−λu)] E[e^(−μu)] du, a quadrature; w_q by
  Newton's method (:meth:`ltvkit.models.ParetoNBDModel._next_purchase_log_cdf`).

Both are evaluated once per distinct (x, T) and mapped back to the customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltvkit.errors import ParameterError
from ltvkit.models.base import PurchaseModel
from ltvkit.models.data import Columns, as_arrays
from ltvkit.predict.clv import distinct_pairs

HISTORY = ("frequency", "recency", "T")


def probability_of_purchase(
    model: PurchaseModel, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
) -> np.ndarray:
    """P(at least one purchase in the next ``t`` | x, t_x, T) (see the module docstring)."""
    x, t_x, T = as_arrays(data, columns, HISTORY)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ParameterError("the time ahead cannot be negative")
    shape = np.broadcast_shapes(t.shape, x.shape)
    if t.ndim == 0 and x.ndim == 1:
        pair, pair_x, pair_T = distinct_pairs(x, T)
        within = model._purchase_within_if_alive(np.full(len(pair_x), float(t)), pair_x, pair_T)[pair]
    else:
        within = model._purchase_within_if_alive(t, x, T).reshape(shape)
    return model.probability_alive(frequency=x, recency=t_x, T=T) * within


def purchase_wait(
    model: PurchaseModel, data: pd.DataFrame | None = None, *, probability: float = 0.5, **columns: Columns
) -> np.ndarray:
    """The wait from T by which an active customer who buys again has bought with ``probability`` (0.5: the
    median wait to the next purchase), in the model's time unit."""
    if not 0 < probability < 1:
        raise ParameterError(f"the probability is in (0, 1), not {probability}")
    x, _, T = as_arrays(data, columns, HISTORY)
    shape = x.shape
    pair, pair_x, pair_T = distinct_pairs(x.ravel(), T.ravel())
    return model._wait_if_alive(probability, pair_x, pair_T)[pair].reshape(shape)
