"""Predicted LTV of a group of customers (a cohort, a channel, a first product) over a horizon from each
customer's first purchase, with an interval, and the maximum CAC it bears.

A customer observed for T (since the first purchase) of a horizon H contributes what they have paid in the
first min(T, H) — observed — plus, when T < H, what the fitted models expect in the H − T still to come::

    LTV_i(H) = observed revenue_i(first min(T_i, H)) + E[spend_i] · E[Y_i(H − T_i) | x_i, t_x,i, T_i]

so a cohort two months old is extrapolated by the models for ten months of a 12-month LTV, and an old one
is all observed: every group is valued at the same age, whatever its age today. The group's LTV is the mean
over its customers. Its interval draws together what is uncertain about it: the models' parameters (draws
from their asymptotic normals — the posterior, for a regularised fit) and which customers the group happened
to get (Poisson bootstrap weights over customers), each draw giving one group mean; the bounds are their
quantiles.

The maximum CAC a group bears at a target LTV:CAC ratio is LTV × margin / ratio, with the interval carried
over (it is monotone in LTV).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltvkit.errors import ParameterError
from ltvkit.models import GammaGammaModel
from ltvkit.models.base import PurchaseModel
from ltvkit.predict.clv import HISTORY, distinct_pairs

SMALL_GROUP = 30  # below this many customers a group's mean rests on too few to compare groups by
MOSTLY_PREDICTED = 0.5  # above this share of the horizon's customer-time predicted, the value is mostly model


def predicted_group_ltv(
    purchase: PurchaseModel,
    spend: GammaGammaModel,
    customers: pd.DataFrame,
    by: str,
    *,
    horizon: float,
    interval: float = 0.9,
    draws: int = 200,
    random_state: int = 0,
) -> pd.DataFrame:
    """Per value of ``by``: ``customers``, ``observed`` (mean revenue already paid within the horizon),
    ``predicted`` (mean revenue the models expect in the rest of it), ``ltv`` (their sum), ``ltv_low`` /
    ``ltv_high`` (the ``interval``), ``share_predicted`` (of the horizon's customer-time, the share still to
    come), and the caveats ``small_group`` (fewer than :data:`SMALL_GROUP` customers) and
    ``mostly_predicted`` (over :data:`MOSTLY_PREDICTED` to come).

    ``customers`` has one row per customer: ``frequency``, ``recency``, ``T`` and ``monetary_value`` in the
    purchase model's time unit, ``revenue_in_horizon`` (net revenue paid within ``horizon`` of the first
    purchase) and the ``by`` column; ``horizon`` is in the purchase model's unit."""
    return grouped_ltv(
        purchase,
        spend,
        customers,
        [by],
        horizon=horizon,
        interval=interval,
        draws=draws,
        random_state=random_state,
    )[0]


def grouped_ltv(
    purchase: PurchaseModel,
    spend: GammaGammaModel,
    customers: pd.DataFrame,
    keys: list[str],
    *,
    horizon: float,
    interval: float = 0.9,
    draws: int = 200,
    random_state: int = 0,
) -> list[pd.DataFrame]:
    """:func:`predicted_group_ltv` by each of ``keys`` (columns of ``customers``), from the same draws: the
    models are evaluated once a draw for every grouping (each table is the one a call by its key alone
    gives)."""
    if not horizon > 0:
        raise ParameterError(f"the horizon must be positive, not {horizon}")
    if not 0 < interval < 1:
        raise ParameterError(f"the interval is a probability in (0, 1), not {interval}")
    if customers.empty:
        raise ParameterError("there are no customers to value")
    history = customers[list(HISTORY)].astype(float)
    remaining = np.clip(horizon - history["T"].to_numpy(), 0.0, None)
    per_history = history.groupby(HISTORY, sort=False).ngroup().to_numpy()
    distinct = history.drop_duplicates()  # in order of first appearance, as ngroup
    hx, htx, hT = (distinct[c].to_numpy() for c in HISTORY)
    # what remains of the horizon depends on T alone, so E[Y | active] once per distinct (x, T) still young
    pair, pair_x, pair_T = distinct_pairs(hx, hT)
    pair_remaining = np.clip(horizon - pair_T, 0.0, None)
    young, young_history = pair_remaining > 0, hT < horizon
    x = history["frequency"].to_numpy()
    levels, per_x = np.unique(x, return_inverse=True)
    mean_spend = np.where(x > 0, customers["monetary_value"].to_numpy(dtype=float), 0.0)
    observed = customers["revenue_in_horizon"].to_numpy(dtype=float)
    grouping = [np.unique(customers[by].astype(str).to_numpy(), return_inverse=True) for by in keys]

    def future_value(p_model: PurchaseModel, s_model: GammaGammaModel) -> np.ndarray:
        """E[spend_i] · E[Y_i(H − T_i) | x_i, t_x,i, T_i] per customer: P(alive) per distinct history still
        young (T < H), E[Y | active] per distinct young (x, T), the spend weights per distinct x."""
        if_active = np.zeros(len(pair_x))
        if young.any():
            if_active[young] = p_model._expected_if_alive(pair_remaining[young], pair_x[young], pair_T[young])
        alive = np.zeros(len(hx))
        if young_history.any():
            alive[young_history] = p_model.probability_alive(
                frequency=hx[young_history], recency=htx[young_history], T=hT[young_history]
            )
        purchases = (alive * if_active[pair])[per_history]
        intercept, slope = s_model.spend_weights(levels)
        return purchases * (intercept[per_x] + slope[per_x] * mean_spend)

    def group_means(member: np.ndarray, size: int, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        totals = np.bincount(member, weights=values * weights, minlength=size)
        sizes = np.bincount(member, weights=weights, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals / sizes

    predicted = future_value(purchase, spend)
    everyone = np.ones(len(customers))
    rng = np.random.default_rng(random_state)
    purchase_draws = purchase.sample_params(draws, rng)
    spend_draws = spend.sample_params(draws, rng)
    if getattr(spend, "q_constraint", False):  # fitted with q > 1: draw from that region only
        finite = spend_draws[:, spend._param_names.index("q")] > 1
        purchase_draws, spend_draws = purchase_draws[finite], spend_draws[finite]
    sampled = [np.empty((len(spend_draws), len(groups))) for groups, _ in grouping]
    for k in range(len(spend_draws)):
        p_k = type(purchase).from_params(**dict(zip(purchase._param_names, purchase_draws[k], strict=True)))
        s_k = GammaGammaModel.from_params(**dict(zip(spend._param_names, spend_draws[k], strict=True)))
        weights = rng.poisson(1.0, len(customers)).astype(float)
        values = observed + future_value(p_k, s_k)
        for (groups, member), drawn in zip(grouping, sampled, strict=True):
            drawn[k] = group_means(member, len(groups), values, weights)
    tail = (1 - interval) / 2 * 100
    tables = []
    for by, (groups, member), drawn in zip(keys, grouping, sampled, strict=True):
        low, high = np.nanpercentile(drawn, [tail, 100 - tail], axis=0)
        counts = np.bincount(member, minlength=len(groups)).astype(float)
        share = np.bincount(member, weights=remaining, minlength=len(groups)) / (counts * horizon)
        out = pd.DataFrame(
            {
                by: groups,
                "customers": counts.astype(int),
                "observed": group_means(member, len(groups), observed, everyone),
                "predicted": group_means(member, len(groups), predicted, everyone),
            }
        )
        out["ltv"] = out["observed"] + out["predicted"]
        out["ltv_low"], out["ltv_high"] = np.minimum(low, out["ltv"]), np.maximum(high, out["ltv"])
        out["share_predicted"] = share
        out["small_group"] = out["customers"] < SMALL_GROUP
        out["mostly_predicted"] = out["share_predicted"] > MOSTLY_PREDICTED
        tables.append(out.sort_values(["customers", by], ascending=[False, True]).reset_index(drop=True))
    return tables


def max_cac(table: pd.DataFrame, *, margin: float = 1.0, target_ratio: float = 3.0) -> pd.DataFrame:
    """``table`` of :func:`predicted_group_ltv` with ``max_cac``, ``max_cac_low``, ``max_cac_high``: the
    acquisition cost per customer the group bears at LTV:CAC = ``target_ratio`` on gross profit (LTV ×
    ``margin``)."""
    if not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of revenue in (0, 1], not {margin}")
    if not target_ratio > 0:
        raise ParameterError(f"the target LTV:CAC must be positive, not {target_ratio}")
    out = table.copy()
    for suffix in ("", "_low", "_high"):
        out[f"max_cac{suffix}"] = out[f"ltv{suffix}"] * margin / target_ratio
    return out
