"""Use cases of predictive customer value on a workspace's orders: fit a model, score customers, compare
models on a holdout. The CLI and the web API call these; they compute nothing of their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.clv import PURCHASE_MODELS, customer_value
from ltvkit.errors import ParameterError, collect_notes
from ltvkit.evaluation import compare_models, tracking
from ltvkit.models import BetaGeoBetaBinomModel, GammaGammaModel, ShiftedBetaGeometricModel
from ltvkit.models.base import BaseModel, compress
from ltvkit.summaries import (
    UNIT_DAYS,
    TimeUnit,
    calibration_holdout_summary,
    customer_summary,
    discrete_summary,
    observation_end_of,
    purchase_days,
    repeat_purchases_by_period,
    subscription_durations,
)

MODELS = (*PURCHASE_MODELS, "bgbb", "gammagamma", "sbg")


@dataclass
class FitResult:
    """A fitted model with what it was fitted on."""

    name: str
    model: BaseModel
    unit: str
    observation_end: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        summary = self.model.summary()
        return {
            "model": self.name,
            "unit": self.unit,
            "observation_end": self.observation_end,
            "customers": int(self.model.n_customers_),
            "distinct_rows": int(self.model.n_distinct_),
            "log_likelihood": self.model.log_likelihood_,
            **{name: float(value) for name, value in self.model.params_.items()},
            "standard_errors": {k: float(v) for k, v in summary["standard_error"].items()},
            "intervals_95": {k: [float(summary.loc[k, "lower_95"]), float(summary.loc[k, "upper_95"])]
                             for k in summary.index},  # fmt: skip
            "notes": self.notes,
        }


def _end(orders: ir.Table, observation_end: str | dt.date | None, currency: str | None) -> dt.date:
    return observation_end_of(purchase_days(orders, currency=currency), observation_end)


def fit_model(
    orders: ir.Table,
    name: str = "bgnbd",
    *,
    unit: TimeUnit = "week",
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    product: str | None = None,
) -> FitResult:
    """Fit one of :data:`MODELS` on the orders observed up to ``observation_end`` (default: the last
    purchase). ``bgbb`` uses whole ``unit`` periods as opportunities; ``sbg`` needs the subscription
    ``product`` and counts paid ``unit`` periods."""
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    with collect_notes() as notes:
        result = _fit(orders, name, unit=unit, observation_end=observation_end, currency=currency, product=product)
    result.notes += notes
    return result


def _fit(
    orders: ir.Table, name: str, *, unit: TimeUnit, observation_end: str | dt.date | None, currency: str | None,
    product: str | None,
) -> FitResult:
    end = _end(orders, observation_end, currency)
    notes: list[str] = []
    model: BaseModel
    if name in PURCHASE_MODELS:
        summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency)
        model = PURCHASE_MODELS[name]().fit(compress(summary.execute(), ("frequency", "recency", "T")))
    elif name == "gammagamma":
        summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency).execute()
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        if len(repeat) < len(summary[summary["frequency"] > 0]):
            notes.append("repeat customers whose repeat purchases net to zero or less are left out")
        model = GammaGammaModel().fit(repeat)
    elif name == "bgbb":
        data = discrete_summary(orders, unit=unit, observation_end=end, currency=currency).execute()
        model = BetaGeoBetaBinomModel().fit(compress(data, ("frequency", "recency", "n_periods")))
    else:
        if not product:
            raise ParameterError("the sbg model needs the subscription product (--product NAME)")
        data = subscription_durations(orders, product=product, unit=unit, observation_end=end).execute()
        if data.empty:
            raise ParameterError(f"no purchases of the product {product!r}")
        model = ShiftedBetaGeometricModel().fit(compress(data, ("periods", "churned")))
    return FitResult(name, model, unit, end.isoformat(), notes)


def predict_customers(
    orders: ir.Table,
    *,
    model: str = "bgnbd",
    horizon: float = 12,
    unit: TimeUnit = "month",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    intervals: bool = True,
    random_state: int | None = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-customer predictions over ``horizon`` units (P(alive), expected purchases and spend, CLV with a
    90% interval) and a summary of the two fitted models."""
    if model not in PURCHASE_MODELS:
        raise ParameterError(f"predictions use a purchase model: {', '.join(PURCHASE_MODELS)}")
    end = _end(orders, observation_end, currency)
    summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency).execute()
    purchase = PURCHASE_MODELS[model]().fit(compress(summary, ("frequency", "recency", "T")))
    spend = GammaGammaModel().fit(summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)])
    scored = customer_value(
        purchase, spend, summary, horizon=horizon, unit=unit, discount_rate=discount_rate, margin=margin,
        interval=0.9 if intervals else None, random_state=random_state,
    )  # fmt: skip
    info = {
        "model": model,
        "unit": unit,
        "horizon": horizon,
        "observation_end": end.isoformat(),
        "discount_rate": discount_rate,
        "margin": margin,
        "customers": len(scored),
        "purchase_params": purchase.params_.to_dict(),
        "spend_params": spend.params_.to_dict(),
        "frequency_spend_correlation": spend.frequency_spend_correlation_,
        "total_clv": float(scored["clv"].sum()),
        "expected_purchases": float(scored["expected_purchases"].sum()),
    }
    return scored, info


def compare_on_holdout(
    orders: ir.Table,
    *,
    calibration_end: str | dt.date | None = None,
    observation_end: str | dt.date | None = None,
    unit: TimeUnit = "week",
    currency: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank the purchase models by holdout error. Without ``calibration_end`` the last third of the
    observed span is held out."""
    end = _end(orders, observation_end, currency)
    if calibration_end is None:
        first = purchase_days(orders, currency=currency).day.min().execute()
        start = pd.Timestamp(first).date()
        calibration_end = start + (end - start) * 2 / 3
    split = calibration_holdout_summary(
        orders, calibration_end=calibration_end, observation_end=end, unit=unit, currency=currency
    ).execute()
    table = compare_models(split)
    info = {
        "tracking": _tracking(orders, split, table, calibration_end, end, unit, currency).to_dict(orient="records"),
        "calibration_end": pd.Timestamp(calibration_end).date().isoformat(),
        "observation_end": end.isoformat(),
        "unit": unit,
        "customers": len(split),
        "holdout_length": float(split["duration_holdout"].iloc[0]) if len(split) else 0.0,
    }
    return table, info


def _tracking(
    orders: ir.Table, split: pd.DataFrame, table: pd.DataFrame, calibration_end: Any, end: dt.date, unit: TimeUnit,
    currency: str | None,
) -> pd.DataFrame:
    """Cumulative repeat purchases per period since the first acquisition: actual, and expected by each
    model fitted on the calibration period (Fader, Hardie & Lee 2005, fig. 3)."""
    origin = pd.Timestamp(split["first_purchase"].min())
    actual = repeat_purchases_by_period(
        orders, origin=origin.date(), acquired_by=calibration_end, observation_end=end, unit=unit, currency=currency
    ).execute()
    scale = UNIT_DAYS[unit]
    periods = np.arange(1, int((pd.Timestamp(end) - origin).days // scale) + 2, dtype=float)
    counts = actual.set_index("period")["repeat_purchases"].reindex(periods - 1, fill_value=0).to_numpy()
    births = ((pd.to_datetime(split["first_purchase"]) - origin).dt.days / scale).to_numpy()
    out = pd.DataFrame({"period": periods, "actual": np.cumsum(counts)})
    for row in table.itertuples():
        model = PURCHASE_MODELS[row.model].from_params(**row.params)
        out[row.model] = tracking(model, births, periods)
    return out
