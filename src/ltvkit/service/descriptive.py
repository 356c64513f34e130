"""Use cases of the descriptive figures: cohorts, customer quality by channel or first product, product paths,
CAC and payback, the Pareto table. Each takes the orders' tables and the user's settings and returns what
the CLI prints and the API serves; both call these and compose nothing themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ltvkit.analytics.channels import product_paths
from ltvkit.analytics.cohorts import Period, cohort_matrix
from ltvkit.choices import METRICS, SPLITS
from ltvkit.data.sources import Tables
from ltvkit.errors import MissingDataError, ParameterError, collect_notes
from ltvkit.service.analysis import Analysis
from ltvkit.service.valuation import group_ltv


@dataclass(frozen=True)
class Cohorts:
    """The long cohort table of one currency, with the values of its split by size."""

    currency: str
    other_currencies: list[str]
    period: Period
    metric: str
    split: str | None
    table: pd.DataFrame

    @property
    def split_values(self) -> list[str]:
        """The split's values, the most common first (none without a split)."""
        if self.split is None:
            return []
        return [str(v) for v in self.table[self.split].value_counts().index]

    def matrix(self, value: str | None = None) -> pd.DataFrame:
        """Cohort × age matrix of the metric (of one split ``value``; the largest when not given)."""
        if self.split is not None:
            values = self.split_values
            value = value if value is not None else (values[0] if values else None)
            if value not in values:
                raise MissingDataError(f"no cohort has {self.split} = {value!r}", parameter="value")
        return cohort_matrix(self.table, self.metric, value)

    def sizes(self) -> pd.Series:
        """Customers per cohort (over every split value)."""
        return self.table[self.table["age"] == 0].groupby("cohort")["size"].sum()


def cohorts(
    tables: Tables,
    *,
    period: Period = "month",
    metric: str = "retention",
    split: str | None = None,
    currency: str | None = None,
) -> Cohorts:
    """Cohorts by ``period`` of first purchase followed by age, optionally split by a first-purchase field."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    if split is not None and split not in SPLITS:
        raise ParameterError(f"cannot split by {split!r}; use one of {', '.join(SPLITS)}")
    data = Analysis(tables, currency=currency)
    table = data.cohort_table(period, split)
    return Cohorts(data.currency, data.other_currencies, period, metric, split, table)


@dataclass(frozen=True)
class Channels:
    """Customer quality by a first-purchase field (or the product paths), in one currency."""

    currency: str
    other_currencies: list[str]
    table: pd.DataFrame


def channels(
    tables: Tables,
    *,
    by: str = "channel",
    currency: str | None = None,
    margin: float | None = None,
    paths: bool = False,
) -> Channels:
    """Customer quality by channel or first product (LTV, retention, repeat rate, AOV); with ``paths``, the
    product paths (first product → next product) instead."""
    data = Analysis(tables, currency=currency)
    table = (
        product_paths(data.orders, currency=data.currency) if paths else data.quality_by(by, margin=margin)
    )
    return Channels(data.currency, data.other_currencies, table)


@dataclass(frozen=True)
class Cac:
    """CAC, LTV:CAC, payback and the maximum bearable CAC, by channel and by channel and month."""

    currency: str
    target: float
    by_channel: pd.DataFrame
    by_month: pd.DataFrame

    @property
    def ltv_age(self) -> int:
        """The age in months at which the LTV was read (the horizon, or the oldest age observed)."""
        return int(self.by_channel["ltv_age"].max()) if len(self.by_channel) else 0


def cac(
    tables: Tables,
    *,
    horizon: int = 12,
    target: float = 3.0,
    margin: float | None = None,
    currency: str | None = None,
) -> Cac:
    """Does advertising pay off? (:func:`~ltvkit.analytics.channels.cac_table`)."""
    data = Analysis(tables, currency=currency)
    by_channel, by_month = data.cac(margin=margin, horizon=horizon, target_ratio=target)
    return Cac(data.currency, target, by_channel, by_month)


@dataclass(frozen=True)
class Pareto:
    """Revenue of the top customers, the Pareto (Lorenz) curve and the Gini coefficient."""

    currency: str
    table: pd.DataFrame
    curve: pd.DataFrame
    gini: float


def pareto(tables: Tables, *, currency: str | None = None) -> Pareto:
    """Do 20% of customers bring 80% of revenue?"""
    data = Analysis(tables, currency=currency)
    curve, gini = data.lorenz()
    return Pareto(data.currency, data.pareto(), curve, gini)


@dataclass(frozen=True)
class Predicted:
    """Predicted LTV per group with its 90% interval and the maximum CAC it bears; by channel, the CAC paid
    so far beside it (where there is spend)."""

    currency: str
    by: str
    horizon_months: float
    table: pd.DataFrame
    notes: list[str]
    overall: dict[str, Any] | None = None


def predicted_ltv(
    tables: Tables,
    *,
    by: str = "channel",
    horizon_months: float = 12,
    margin: float = 1.0,
    target: float = 3.0,
    currency: str | None = None,
    analysis: Analysis | None = None,
    regularization: str = "auto",
    overall: bool = False,
) -> Predicted:
    """What a customer of each group is worth over ``horizon_months`` from the first purchase, young groups
    extrapolated by the fitted models (:func:`~ltvkit.service.valuation.group_ltv`), and so what CAC each can
    bear at LTV:CAC = ``target``; by channel, with the CAC actually paid and how far above or below the
    maximum it is. A caller with an :class:`Analysis` of the same orders passes it (``analysis``), so the
    CAC reuses its tables. ``regularization``: how the models are fitted (auto, none or map, see
    :func:`~ltvkit.service.valuation.regularization_setting`). With ``overall``, every customer as one group
    too (``Predicted.overall``, from the same fit)."""
    data = analysis or Analysis(tables, currency=currency)
    with collect_notes() as notes:
        table, info = group_ltv(
            data.orders,
            by=by,
            horizon_months=horizon_months,
            margin=margin,
            target_ratio=target,
            currency=data.currency,
            regularization=regularization,
            overall=overall,
            values=data.values,
        )
    notes += info.get("notes", [])
    if by == "channel" and not data.spend_by_month.empty:
        paid = data.cac(horizon=int(horizon_months), target_ratio=target)[0][["channel", "cac"]]
        table = table.merge(paid, on="channel", how="left")
        table["over_max_cac"] = table["cac"] - table["max_cac"]
    return Predicted(data.currency, by, horizon_months, table, notes, info.get("overall"))
