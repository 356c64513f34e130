"""Predicted customer lifetime value: a purchase model's expected purchases, a spend model's expected spend,
a margin and a discount rate.

For horizon H (in the summary's time unit) split into steps t_1 < … < t_k = H (one per unit, at most
24 evenly spaced)::

    CLV = margin · E[spend] · Σ_i (E[Y(t_i)] − E[Y(t_{i−1})]) / (1 + d)^(t_i in years)

with ``d`` the annual discount rate. E[spend] is linear in the customer's mean spend m (Gamma-Gamma:
``intercept(x) + slope(x)·m``), so :func:`customer_value_table` computes the purchase outlook once per
distinct (x, t_x, T) and the spend weights once per distinct x, and lets the engine holding the customers
finish every row with one join. Intervals reflect parameter uncertainty: the value is recomputed for
parameter vectors drawn from both models' asymptotic normals and the quantiles reported (they are intervals
for each customer's *expected* value, not for the purchases the customer will make). Everything is computed
once per distinct history and mapped back to customers.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit import choices
from ltvkit.errors import ParameterError
from ltvkit.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from ltvkit.models.base import BaseModel, PurchaseModel
from ltvkit.summaries import compressed, unit_days

PURCHASE_MODELS: dict[str, type[PurchaseModel]] = dict(
    zip(choices.PURCHASE_MODELS, (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel), strict=True)
)
HISTORY = ["frequency", "recency", "T", "monetary_value"]


MAX_STEPS = 24  # discounting at finer steps changes CLV by far less than the parameters' uncertainty
CHUNK = 100_000  # distinct histories scored at a time, to bound memory


def _steps(horizon: float) -> np.ndarray:
    if not horizon > 0:
        raise ParameterError(f"the horizon must be positive, not {horizon}")
    n = int(min(np.ceil(horizon), MAX_STEPS))
    return np.linspace(horizon / n, horizon, n)


def _outlook(
    purchase: BaseModel, rows: pd.DataFrame, steps: np.ndarray, discount: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon and their discounted sum
    Σ (E[Y(t_i)] − E[Y(t_{i−1})]) / (1+d)^t_i."""
    cumulative = purchase.expected_purchases(steps[:, None], rows).T  # type: ignore[attr-defined]  # (rows, steps)
    increments = np.diff(cumulative, axis=1, prepend=0.0)
    return cumulative[:, -1], increments @ discount


def _value(
    purchase: BaseModel, spend: GammaGammaModel, rows: pd.DataFrame, steps: np.ndarray, discount: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, expected spend and margin-free CLV per row."""
    purchases, discounted = _outlook(purchase, rows, steps, discount)
    expected_spend = spend.expected_spend(rows)
    return purchases, expected_spend, expected_spend * discounted


def _checked_steps(
    horizon: float, unit: str, discount_rate: float, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Step ends and their discount factors, after checking the settings."""
    if not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of revenue in (0, 1], not {margin}")
    if discount_rate < 0:
        raise ParameterError(f"the discount rate cannot be negative ({discount_rate})")
    steps = _steps(horizon)
    return steps, (1 + discount_rate) ** -(steps * unit_days(unit) / 365.25)


def customer_value(
    purchase_model: BaseModel,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon: float,
    unit: str = "week",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    interval: float | None = 0.9,
    n_draws: int = 100,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Per customer of ``summary``: ``probability_alive``, ``expected_purchases`` (over the horizon),
    ``expected_spend`` (per purchase), ``clv`` and, with ``interval``, ``clv_low``/``clv_high``.

    ``horizon`` is in ``unit`` (the unit the models were fitted in); ``discount_rate`` is annual; ``margin``
    is the share of revenue kept (1 = revenue).
    """
    steps, discount = _checked_steps(horizon, unit, discount_rate, margin)
    if interval is not None and not 0 < interval < 1:
        raise ParameterError(f"the interval is a probability in (0, 1), not {interval}")
    history = summary[HISTORY].astype(float)
    codes = history.groupby(HISTORY, sort=False).ngroup().to_numpy()
    rows = history.drop_duplicates().reset_index(drop=True)  # in order of first appearance, as ngroup
    if interval is not None:
        rng = np.random.default_rng(random_state)
        draws = [
            (
                type(purchase_model).from_params(**dict(zip(purchase_model._param_names, p, strict=False))),
                GammaGammaModel.from_params(**dict(zip(GammaGammaModel._param_names, s, strict=False))),
            )
            for p, s in zip(
                purchase_model.sample_params(n_draws, rng),
                spend_model.sample_params(n_draws, rng),
                strict=False,
            )
        ]
    parts = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows.iloc[start : start + CHUNK]
        purchases, spend, value = _value(purchase_model, spend_model, chunk, steps, discount)
        part = pd.DataFrame(
            {
                "probability_alive": purchase_model.probability_alive(chunk),  # type: ignore[attr-defined]
                "expected_purchases": purchases,
                "expected_spend": spend,
                "clv": margin * value,
            }
        )
        if interval is not None:
            values = np.array([margin * _value(p, s, chunk, steps, discount)[2] for p, s in draws])
            tail = (1 - interval) / 2
            part["clv_low"], part["clv_high"] = np.quantile(values, [tail, 1 - tail], axis=0)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    result = out.iloc[codes].reset_index(drop=True)
    result.index = summary.index
    return pd.concat([summary, result], axis=1)


def customer_value_table(
    purchase_model: BaseModel,
    spend_model: GammaGammaModel,
    summary: ir.Table,
    *,
    horizon: float,
    unit: str = "week",
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> ir.Table:
    """:func:`customer_value` without intervals, computed where ``summary`` (an Ibis table of
    :func:`~ltvkit.summaries.customer_summary`) lives: the distinct (x, t_x, T) come out, their outlook and
    the spend weights of each distinct x go back in, and the engine joins them to every customer. What
    crosses the network grows with distinct histories, not customers; nothing is computed until the result
    is executed or written."""
    steps, discount = _checked_steps(horizon, unit, discount_rate, margin)
    histories = compressed(summary).execute().drop(columns="weight")
    outlook = histories.copy()
    for start in range(0, len(histories), CHUNK):
        chunk = histories.iloc[start : start + CHUNK]
        alive = purchase_model.probability_alive(chunk)  # type: ignore[attr-defined]
        purchases, discounted = _outlook(purchase_model, chunk, steps, discount)
        outlook.loc[chunk.index, ["probability_alive", "expected_purchases", "discounted_purchases"]] = (
            np.column_stack([alive, purchases, discounted])
        )
    weights = pd.DataFrame({"frequency": np.unique(histories["frequency"].to_numpy(float))})
    weights["spend_intercept"], weights["spend_slope"] = spend_model.spend_weights(weights["frequency"])
    keys = ["frequency", "recency", "T"]
    joined = summary.inner_join(ibis.memtable(outlook), keys).inner_join(ibis.memtable(weights), "frequency")
    expected_spend = joined.spend_intercept + joined.spend_slope * joined.monetary_value
    return joined.select(
        *summary.columns,
        probability_alive=joined.probability_alive,
        expected_purchases=joined.expected_purchases,
        expected_spend=expected_spend,
        clv=margin * expected_spend * joined.discounted_purchases,
    )
