"""Holdout evaluation: fit on a calibration period, predict the holdout, compare with what happened.

- per customer: predicted vs actual purchases in the holdout — mean absolute error and root mean squared
  error, and the bias of the total;
- in aggregate by period: expected vs actual cumulative repeat purchases of the whole base ("tracking"),
  the check of Fader, Hardie & Lee (2005, fig. 3): each customer contributes E[X(t − s)] from their first
  purchase s on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvkit.clv import PURCHASE_MODELS
from ltvkit.errors import ParameterError
from ltvkit.models.base import PurchaseModel, compress


@dataclass(frozen=True)
class HoldoutResult:
    """The outcome of one model on one calibration/holdout split."""

    model: str
    fitted: PurchaseModel
    mae: float
    rmse: float
    predicted_total: float
    actual_total: float
    log_likelihood: float

    @property
    def total_error(self) -> float:
        """Relative error of the predicted total holdout purchases."""
        return (
            (self.predicted_total - self.actual_total) / self.actual_total
            if self.actual_total
            else float("nan")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "params": self.fitted.params_.to_dict(),
            "log_likelihood": self.log_likelihood,
            "mae": self.mae,
            "rmse": self.rmse,
            "predicted_total": self.predicted_total,
            "actual_total": self.actual_total,
            "total_error": self.total_error,
        }


def evaluate_holdout(split: pd.DataFrame, model: str = "bgnbd") -> HoldoutResult:
    """Fit ``model`` on the calibration columns of ``split`` (see
    :func:`~ltvkit.summaries.calibration_holdout_summary`) and score its holdout predictions."""
    if model not in PURCHASE_MODELS:
        raise ParameterError(f"unknown model {model!r}; choose from {', '.join(PURCHASE_MODELS)}")
    fitted = PURCHASE_MODELS[model]().fit(compress(split, ("frequency", "recency", "T")))
    predicted = fitted.expected_purchases(split["duration_holdout"].to_numpy(), split)  # type: ignore[attr-defined]
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    error = predicted - actual
    return HoldoutResult(
        model=model,
        fitted=fitted,
        mae=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error**2))),
        predicted_total=float(predicted.sum()),
        actual_total=float(actual.sum()),
        log_likelihood=fitted.log_likelihood_,
    )


def compare_models(split: pd.DataFrame, models: tuple[str, ...] = tuple(PURCHASE_MODELS)) -> pd.DataFrame:
    """Each model's holdout errors, best (lowest RMSE) first."""
    rows = [evaluate_holdout(split, m).to_dict() for m in models]
    table = pd.DataFrame(rows).sort_values("rmse", kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def tracking(model: PurchaseModel, birth: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Expected cumulative repeat purchases of the base at each of ``periods`` (times since the common
    origin), for customers whose first purchase was at ``birth`` (same unit)."""
    births, counts = np.unique(np.asarray(birth, dtype=float), return_counts=True)
    out = np.zeros(len(periods))
    for i, t in enumerate(np.asarray(periods, dtype=float)):
        age = np.clip(t - births, 0, None)
        out[i] = counts @ np.where(
            age > 0, model.expected_purchases_new_customer(np.maximum(age, 1e-12)), 0.0
        )  # type: ignore[attr-defined]
    return out
