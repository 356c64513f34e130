"""When a customer will buy next: the probability of at least one purchase in the next t, and the wait by
which an active customer has bought with a given probability (for timing a follow-up).

BG/NBD and MBG/NBD (Fader, Hardie & Lee 2005): given the history (x, t_x, T), an active customer's purchase
rate is Gamma(r + x, α + T), and customers drop out only right after a purchase, so an active customer
makes no purchase in the next t with probability E[e^(−λt)] = ((α+T)/(α+T+t))^(r+x). Hence::

    P(Y(t) ≥ 1 | x, t_x, T) = P(alive) · (1 − ((α+T)/(α+T+t))^(r+x))

and the wait w_q by which an active customer has bought with probability q solves
((α+T)/(α+T+w))^(r+x) = 1 − q::

    w_q = (α+T) · ((1 − q)^(−1/(r+x)) − 1)

Pareto/NBD lets a customer drop out between purchases, so its "no purchase in t" has no such closed form;
it is not offered here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltvkit.errors import ParameterError
from ltvkit.models import BetaGeoModel
from ltvkit.models.base import PurchaseModel
from ltvkit.models.data import Columns, as_arrays

HISTORY = ("frequency", "recency", "T")


def _bg(model: PurchaseModel) -> BetaGeoModel:
    if not isinstance(model, BetaGeoModel):
        raise ParameterError(
            f"purchase timing is available for BG/NBD and MBG/NBD, not {type(model).__name__}"
        )
    return model


def probability_of_purchase(
    model: PurchaseModel, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
) -> np.ndarray:
    """P(at least one purchase in the next ``t`` | x, t_x, T) (see the module docstring)."""
    bg = _bg(model)
    x, t_x, T = as_arrays(data, columns, HISTORY)
    r, alpha, _, _ = bg._p
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ParameterError("the time ahead cannot be negative")
    quiet = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    return bg.probability_alive(frequency=x, recency=t_x, T=T) * -np.expm1(quiet)


def purchase_wait(
    model: PurchaseModel, data: pd.DataFrame | None = None, *, probability: float = 0.5, **columns: Columns
) -> np.ndarray:
    """The wait from T by which an active customer has bought with ``probability`` (0.5: the median wait
    to the next purchase), in the model's time unit."""
    bg = _bg(model)
    if not 0 < probability < 1:
        raise ParameterError(f"the probability is in (0, 1), not {probability}")
    x, _, T = as_arrays(data, columns, HISTORY)
    r, alpha, _, _ = bg._p
    return (alpha + T) * np.expm1(-np.log1p(-probability) / (r + x))
