"""Holdout evaluation: fit on a calibration period, predict the holdout, compare with what happened.

- per customer: predicted vs actual purchases in the holdout — mean absolute error and root mean squared
  error, and the bias of the total;
- by calibration frequency: mean actual and predicted holdout purchases of the customers who made x repeat
  purchases in the calibration period (Fader, Hardie & Lee 2005, fig. 4, "conditional expectations");
- between models: paired bootstrap intervals of the difference in each error metric, resampling customers,
  so that a ranking inside the noise is said to be one;
- in aggregate by period: expected vs actual cumulative repeat purchases of the whole base ("tracking"),
  the check of Fader, Hardie & Lee (2005, fig. 3): each customer contributes E[X(t − s)] from their first
  purchase s on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvkit import i18n
from ltvkit.errors import ParameterError
from ltvkit.models.base import PurchaseModel, compress
from ltvkit.predict.clv import PURCHASE_MODELS
from ltvkit.progress import step


@dataclass(frozen=True)
class HoldoutResult:
    """The outcome of one model on one calibration/holdout split."""

    model: str
    fitted: PurchaseModel
    predicted: np.ndarray  # per customer, in the split's order
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
    :func:`~ltvkit.predict.summaries.calibration_holdout_summary`) and score its holdout predictions."""
    if model not in PURCHASE_MODELS:
        raise ParameterError(f"unknown model {model!r}; choose from {', '.join(PURCHASE_MODELS)}")
    fitted = PURCHASE_MODELS[model]().fit(compress(split, ("frequency", "recency", "T")))
    predicted = fitted.expected_purchases(split["duration_holdout"].to_numpy(), split)  # type: ignore[attr-defined]
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    error = predicted - actual
    return HoldoutResult(
        model=model,
        fitted=fitted,
        predicted=predicted,
        mae=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error**2))),
        predicted_total=float(predicted.sum()),
        actual_total=float(actual.sum()),
        log_likelihood=fitted.log_likelihood_,
    )


BOOTSTRAP_DRAWS = 1000
FREQUENCY_BINS = 7  # x = 0 … 6 and "7 or more", as in the BG/NBD paper's figure 4


def compare_models(split: pd.DataFrame, models: tuple[str, ...] = tuple(PURCHASE_MODELS)) -> Comparison:
    """Each model fitted on the calibration columns of ``split`` and scored on its holdout: the error
    metrics side by side, best (lowest RMSE) first, each with the paired-bootstrap 95% interval of its
    RMSE and MAE difference from the best; the by-frequency table; and whether the ranking is decided."""
    results = []
    for done, model in enumerate(models):
        step(f"fit:{model}", done, len(models))
        results.append(evaluate_holdout(split, model))
    step("bootstrap", len(models), len(models))
    table = pd.DataFrame([r.to_dict() for r in results]).sort_values("rmse", kind="stable")
    table = table.reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    predicted = {r.model: r.predicted for r in results}
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    best = table["model"].iloc[0]
    for metric in ("rmse", "mae"):
        bounds = [
            paired_bootstrap(predicted[best] - actual, predicted[m] - actual, metric) for m in table["model"]
        ]
        table[f"{metric}_difference_low"] = [b[0] for b in bounds]
        table[f"{metric}_difference_high"] = [b[1] for b in bounds]
    others = table.iloc[1:]
    tied = others.loc[others["rmse_difference_low"] <= 0, "model"].tolist()
    return Comparison(table, by_frequency(split, predicted), tied)


@dataclass(frozen=True)
class Comparison:
    """The models' holdout errors (``table``), the by-frequency table, and the models whose RMSE cannot be
    told from the best one's (``tied``: the 95% interval of the difference includes zero)."""

    table: pd.DataFrame
    by_frequency: pd.DataFrame
    tied: list[str]

    @property
    def verdict(self) -> str:
        best = self.table["model"].iloc[0]
        if not self.tied:
            return i18n.text("holdout_best", "en", best=best)
        return i18n.text("holdout_tied", "en", best=best, tied=", ".join(self.tied))


def paired_bootstrap(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    metric: str,
    *,
    draws: int = BOOTSTRAP_DRAWS,
    level: float = 0.95,
    random_state: int = 0,
) -> tuple[float, float]:
    """Percentile interval of metric(b) − metric(a) (``rmse`` or ``mae`` of per-customer errors) over
    ``draws`` resamples of the customers, the same resample for both (paired). Resamples are drawn in
    blocks of about 5·10^6 indices so memory stays bounded for large bases."""
    a, b = np.asarray(errors_a, dtype=float), np.asarray(errors_b, dtype=float)
    if metric not in ("rmse", "mae"):
        raise ParameterError(f"unknown metric {metric!r}; use rmse or mae")
    if np.array_equal(a, b):
        return 0.0, 0.0
    rng = np.random.default_rng(random_state)
    n = len(a)
    block = max(1, 5_000_000 // max(n, 1))
    differences = []
    for start in range(0, draws, block):
        rows = rng.integers(0, n, size=(min(block, draws - start), n))
        if metric == "rmse":
            difference = np.sqrt((b[rows] ** 2).mean(axis=1)) - np.sqrt((a[rows] ** 2).mean(axis=1))
        else:
            difference = np.abs(b[rows]).mean(axis=1) - np.abs(a[rows]).mean(axis=1)
        differences.append(difference)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.concatenate(differences), [tail, 100 - tail])
    return float(low), float(high)


def by_frequency(split: pd.DataFrame, predicted: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per number of calibration repeat purchases x (0 … 6, and 7 or more together): customers, their mean
    actual holdout purchases and each model's mean prediction (Fader, Hardie & Lee 2005, fig. 4)."""
    x = split["frequency"].to_numpy(dtype=float)
    bins = np.minimum(x, FREQUENCY_BINS).astype(int)
    frame = pd.DataFrame({"x": bins, "actual": split["frequency_holdout"].to_numpy(dtype=float)})
    for name, values in predicted.items():
        frame[name] = values
    table = frame.groupby("x").agg(
        customers=("actual", "size"), **{c: (c, "mean") for c in frame.columns[1:]}
    )
    table = table.reset_index()
    table["x"] = [f"{v}+" if v == FREQUENCY_BINS else str(v) for v in table["x"]]
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
