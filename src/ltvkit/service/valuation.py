"""Use cases of predictive customer value on a workspace's orders: fit a model, score customers, compare
models on a holdout. The CLI and the web API call these; they compute nothing of their own."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.cohorts import customer_values, customers_of
from ltvkit.choices import MODELS, SPLITS
from ltvkit.data.sources import Source, write_result
from ltvkit.errors import MissingDataError, ParameterError, StatisticalWarning, collect_notes
from ltvkit.i18n import Note
from ltvkit.io.writers import write_table
from ltvkit.models import BetaGeoBetaBinomModel, GammaGammaModel, ShiftedBetaGeometricModel
from ltvkit.models.base import BaseModel, PurchaseModel
from ltvkit.models.priors import Regularization as Applied
from ltvkit.models.priors import RegularizationSetting
from ltvkit.predict.clv import HISTORY, PURCHASE_MODELS, customer_value, customer_value_table
from ltvkit.predict.groups import grouped_ltv, max_cac
from ltvkit.predict.holdout import compare_models, tracking
from ltvkit.predict.summaries import (
    UNIT_DAYS,
    TimeUnit,
    calibration_holdout_summary,
    compressed,
    customer_summary,
    discrete_summary,
    last_purchase_day,
    purchase_days,
    repeat_purchases_by_period,
    subscription_durations,
)
from ltvkit.predict.timing import probability_of_purchase, purchase_wait
from ltvkit.progress import step
from ltvkit.service.analysis import choose_currency

REGULARIZATIONS = ("auto", "none", "map")  # the choices of the CLI's --regularization and the API's
Regularization = str | float


def regularization_setting(choice: Regularization) -> RegularizationSetting:
    """The fitters' ``regularization`` for a user's choice: "auto" (the priors when the data are thin,
    :mod:`ltvkit.models.priors`), "none" (the plain maximum likelihood), "map" (the priors at weight 1,
    always); a number is a weight as the fitters take it."""
    if isinstance(choice, str):
        if choice not in REGULARIZATIONS:
            raise ParameterError(
                f"regularization is one of {', '.join(REGULARIZATIONS)}, not {choice!r}",
                parameter="regularization",
            )
        return 1.0 if choice == "map" else choice  # type: ignore[return-value]
    return choice


def regularization_sentence(fitted: dict[str, Any], lang: str) -> str:
    """What a fit's regularisation was (its ``to_dict()``), in plain words in ``lang``."""
    return Applied(
        weight=fitted["weight"],
        reason=fitted["reason"],
        customers=fitted["customers"],
        informative=fitted["informative"],
    ).sentence(lang)


SPEND = ("frequency", "monetary_value")  # the columns Gamma-Gamma is fitted on


@dataclass
class FitResult:
    """A fitted model with what it was fitted on."""

    name: str
    model: BaseModel
    unit: str
    observation_end: str
    currency: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        summary = self.model.summary()
        return {
            "model": self.name,
            "unit": self.unit,
            "observation_end": self.observation_end,
            "currency": self.currency,
            "customers": int(self.model.n_customers_),
            "distinct_rows": int(self.model.n_distinct_),
            "log_likelihood": self.model.log_likelihood_,
            **{name: float(value) for name, value in self.model.params_.items()},
            "standard_errors": {k: _finite(v) for k, v in summary["standard_error"].items()},
            "intervals_95": {
                k: [_finite(summary.loc[k, "lower_95"]), _finite(summary.loc[k, "upper_95"])]
                for k in summary.index
            },
            "weakly_identified": list(self.model.identification_.weak),
            "regularization": self.model.regularization_.to_dict(),
            "notes": [*self.notes, *_unbounded(summary)],
        }


def _unbounded(summary: pd.DataFrame) -> list[str]:
    """The note on the parameters whose standard error or interval is not finite (null in JSON), if any."""
    spread = summary[["standard_error", "lower_95", "upper_95"]].to_numpy(float)
    names = [str(name) for name, row in zip(summary.index, spread, strict=True) if not np.isfinite(row).all()]
    return [Note("note_not_finite", names=names)] if names else []


def _finite(value: float) -> float | None:
    """A number for JSON: None where it is unknown (NaN) or not finite."""
    return float(value) if np.isfinite(value) else None


def _end(orders: ir.Table, observation_end: str | dt.date | None, currency: str | None) -> dt.date:
    return last_purchase_day(orders, observation_end, currency=currency)


def fit_model(
    orders: ir.Table,
    name: str = "bgnbd",
    *,
    unit: TimeUnit = "week",
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    product: str | None = None,
    regularization: Regularization = "auto",
) -> FitResult:
    """Fit one of :data:`MODELS` on the orders observed up to ``observation_end`` (default: the last
    purchase), regularised as ``regularization`` says (:func:`regularization_setting`; what was done is the
    fit's ``regularization`` in :meth:`FitResult.to_dict`). ``bgbb`` uses whole ``unit`` periods as
    opportunities; ``sbg`` needs the subscription ``product`` and counts paid ``unit`` periods."""
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    setting = regularization_setting(regularization)
    with collect_notes() as notes:
        result = _fit(
            orders,
            name,
            unit=unit,
            observation_end=observation_end,
            currency=currency,
            product=product,
            regularization=setting,
        )
    result.notes += notes
    return result


def _fit(
    orders: ir.Table,
    name: str,
    *,
    unit: TimeUnit,
    observation_end: str | dt.date | None,
    currency: str | None,
    product: str | None,
    regularization: RegularizationSetting,
) -> FitResult:
    currency = choose_currency(orders, currency)[0]
    end = _end(orders, observation_end, currency)
    notes: list[str] = []
    model: BaseModel
    step(f"fit:{name}")
    if name in PURCHASE_MODELS:
        summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency)
        counts = compressed(summary).execute()
        _refuse_one_day(counts["T"], end, "error_one_day_fit")
        model = PURCHASE_MODELS[name](unit=unit, regularization=regularization).fit(counts)
    elif name == "gammagamma":
        summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency)
        model, left_out = _fit_spend(summary, regularization=regularization)
        if left_out:
            notes.append(Note("note_spend_left_out", count=left_out))
    elif name == "bgbb":
        data = discrete_summary(orders, unit=unit, observation_end=end, currency=currency)
        counts = compressed(data, ("frequency", "recency", "n_periods")).execute()
        _refuse_one_day(counts["n_periods"], end, "error_one_day_fit")
        model = BetaGeoBetaBinomModel(regularization=regularization).fit(counts)
    else:
        if not product:
            raise ParameterError("the sbg model needs the subscription product", parameter="product")
        data = subscription_durations(orders, product=product, unit=unit, observation_end=end)
        counts = compressed(data, ("periods", "churned")).execute()
        if counts.empty:
            raise ParameterError(f"no purchases of the product {product!r}")
        model = ShiftedBetaGeometricModel(regularization=regularization).fit(counts)
    return FitResult(name, model, unit, end.isoformat(), currency, notes)


def _refuse_one_day(watched: pd.Series, end: dt.date, key: str) -> None:
    """Refuse in one sentence (``key``, docs/models.md "Degenerate data") when no customer was watched for
    any time after their first purchase (``watched``: each row's T or opportunities): every purchase falls
    on one day, so the likelihood is flat and a model's parameters or forecasts would be its priors'."""
    if not (watched > 0).any():
        raise MissingDataError(Note(key, day=end.isoformat()))


def _fit_spend(
    summary: ir.Table, *, for_value: bool = False, regularization: RegularizationSetting = "auto"
) -> tuple[GammaGammaModel, int]:
    """Gamma-Gamma fitted on the repeat customers with positive mean spend, read from the engine as distinct
    (x, m) pairs with counts; and how many repeat customers were left out for spend ≤ 0. ``for_value``:
    fitted with q > 1 (``q_constraint``), since a customer value needs a finite mean spend per order.

    With no repeat purchase paid for, a customer value still needs a spend per future order: then it is fitted
    on the first purchases, one observation a customer (x = 1, m = the first purchase's value), with a note,
    so that every future order is expected to cost what an average first one did (docs/models.md,
    "Degenerate data"). Nothing to fit on at all (no purchase paid for) stays an error."""
    repeat = summary.filter(summary.frequency > 0)
    pairs = compressed(repeat, SPEND).execute()  # one pass for both answers
    positive = pairs["monetary_value"] > 0
    left_out = int(pairs.loc[~positive, "weight"].sum())
    if positive.any():
        model = GammaGammaModel(q_constraint=for_value, regularization=regularization).fit(pairs[positive])
        return model, left_out
    first = summary.filter((summary.frequency == 0) & (summary.revenue > 0))
    firsts = compressed(
        first.mutate(frequency=ibis.literal(1.0), monetary_value=first.revenue), SPEND
    ).execute()
    if not for_value or firsts.empty:
        raise MissingDataError(Note("error_no_repeat_spend"))
    warnings.warn(Note("note_spend_first_purchases"), StatisticalWarning, stacklevel=2)
    model = GammaGammaModel(q_constraint=True, regularization=regularization).fit(firsts)
    model.regularization_ = replace(model.regularization_, informative=0.0)  # nobody bought again
    return model, left_out


def _fitted(
    orders: ir.Table,
    model: str,
    *,
    unit: TimeUnit,
    observation_end: str | dt.date | None,
    currency: str | None,
    regularization: Regularization = "auto",
    **settings: Any,
) -> tuple[ir.Table, PurchaseModel, GammaGammaModel, dict[str, Any]]:
    """The customer summary (an expression), a purchase model and Gamma-Gamma fitted on compressed statistics
    read from the engine (both regularised as ``regularization`` says, :func:`regularization_setting`), and
    what to report of them."""
    if model not in PURCHASE_MODELS:
        raise ParameterError(f"predictions use a purchase model: {', '.join(PURCHASE_MODELS)}")
    currency = choose_currency(orders, currency)[0]
    end = _end(orders, observation_end, currency)
    summary = customer_summary(orders, unit=unit, observation_end=end, currency=currency)
    counts = compressed(summary).execute()
    _refuse_one_day(counts["T"], end, "error_one_day_predict")
    setting = regularization_setting(regularization)
    with collect_notes() as notes:
        step(f"fit:{model}", 0, 2)
        purchase = PURCHASE_MODELS[model](unit=unit, regularization=setting).fit(counts)
        step("fit:gammagamma", 1, 2)
        spend = _fit_spend(summary, for_value=True, regularization=setting)[0]
    info = {
        "model": model,
        "unit": unit,
        "observation_end": end.isoformat(),
        "currency": currency,
        **settings,
        "purchase_params": purchase.params_.to_dict(),
        "spend_params": spend.params_.to_dict(),
        "purchase_regularization": purchase.regularization_.to_dict(),
        "spend_regularization": spend.regularization_.to_dict(),
        "frequency_spend_correlation": spend.frequency_spend_correlation_,
        "notes": notes,
    }
    return summary, purchase, spend, info


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
    regularization: Regularization = "auto",
    intervals: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-customer predictions over ``horizon`` units (P(alive), expected purchases and spend, CLV with a
    90% interval) as a DataFrame, and a summary of the two fitted models. For customers too many to bring
    back, :func:`score_customers` leaves the result in the engine."""
    summary, purchase, spend, info = _fitted(
        orders,
        model,
        unit=unit,
        observation_end=observation_end,
        currency=currency,
        regularization=regularization,
        horizon=horizon,
        discount_rate=discount_rate,
        margin=margin,
    )
    step("score_intervals" if intervals else "score")
    scored = customer_value(
        purchase,
        spend,
        summary.execute(),
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        interval=0.9 if intervals else None,
    )
    scored = scored.sort_values("customer_id", kind="stable", ignore_index=True)  # files the same every run
    return scored, info | score_totals(scored)


def score_customers(
    orders: ir.Table,
    *,
    model: str = "bgnbd",
    horizon: float = 12,
    unit: TimeUnit = "month",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    regularization: Regularization = "auto",
) -> tuple[ir.Table, dict[str, Any]]:
    """:func:`predict_customers` (without intervals) for data that stays where it lives: the models are fitted
    on compressed statistics and the per-customer predictions are an Ibis expression of the orders' engine
    (:func:`ltvkit.predict.clv.customer_value_table`), to write there with
    :func:`ltvkit.data.sources.write_result`."""
    summary, purchase, spend, info = _fitted(
        orders,
        model,
        unit=unit,
        observation_end=observation_end,
        currency=currency,
        regularization=regularization,
        horizon=horizon,
        discount_rate=discount_rate,
        margin=margin,
    )
    scored = customer_value_table(
        purchase, spend, summary, horizon=horizon, unit=unit, discount_rate=discount_rate, margin=margin
    )
    return scored, info


def score_totals(scored: ir.Table | pd.DataFrame) -> dict[str, Any]:
    """Customers, expected purchases and CLV summed over scored customers: a DataFrame here, or an Ibis table
    in its engine (one pass there)."""
    if isinstance(scored, pd.DataFrame):
        customers, purchases, clv = len(scored), scored["expected_purchases"].sum(), scored["clv"].sum()
    else:
        row = (
            scored.aggregate(
                customers=scored.count(),
                expected_purchases=scored.expected_purchases.sum(),
                total_clv=scored.clv.sum(),
            )
            .execute()
            .iloc[0]
        )
        customers, purchases, clv = row["customers"], row["expected_purchases"], row["total_clv"]
    return {
        "customers": int(customers),
        "expected_purchases": float(purchases or 0),
        "total_clv": float(clv or 0),
    }


@dataclass(frozen=True)
class Written:
    """Predictions written somewhere: what they add up to, the most valuable customers, and where they are."""

    info: dict[str, Any]
    top: pd.DataFrame
    path: Path | str


def predict_to_file(orders: ir.Table, out: str | Path, *, intervals: bool = True, **settings: Any) -> Written:
    """:func:`predict_customers` written to ``out`` (CSV, XLSX, Parquet, JSON by its extension)."""
    scored, info = predict_customers(orders, intervals=intervals, **settings)
    step("write")
    path = write_table(scored, out)
    return Written(info | {"out": str(path)}, scored.nlargest(10, "clv"), path)


def predict_in_source(
    source: Source, *, out_table: str | None = None, out_file: str | Path, **settings: Any
) -> Written:
    """:func:`score_customers` on a source's engine (no intervals), written there to ``out_table`` or to a
    Parquet ``out_file`` by the engine, or else fetched and written to ``out_file``."""
    expr, info = score_customers(source.table("orders"), **settings)
    if out_table is not None or Path(out_file).suffix.lower() == ".parquet":
        written = write_result(source.backend, expr, out_table or out_file)
        path: Path | str = out_table or out_file
        info |= score_totals(written)
        top = written.order_by(written.clv.desc()).limit(10).execute()
    else:
        scored = expr.execute()
        path = write_table(scored, out_file)
        info |= score_totals(scored)
        top = scored.nlargest(10, "clv")
    return Written(info | {"out": str(path)}, top, path)


def compare_on_holdout(
    orders: ir.Table,
    *,
    calibration_end: str | dt.date | None = None,
    observation_end: str | dt.date | None = None,
    unit: TimeUnit = "week",
    currency: str | None = None,
    regularization: Regularization = "auto",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank the purchase models by holdout error, with paired-bootstrap intervals of the differences, the
    by-frequency table and a verdict that says when the ranking is within chance
    (:func:`ltvkit.predict.holdout.compare_models`). Without ``calibration_end`` the last third of the
    observed span is held out."""
    currency = choose_currency(orders, currency)[0]
    end = _end(orders, observation_end, currency)
    if calibration_end is None:
        first = purchase_days(orders, currency=currency).day.min().execute()
        start = pd.Timestamp(first).date()
        if start >= end:
            raise MissingDataError(Note("error_one_day_compare", day=end.isoformat()))
        calibration_end = start + (end - start) * 2 / 3
    step("summaries")
    split = calibration_holdout_summary(
        orders, calibration_end=calibration_end, observation_end=end, unit=unit, currency=currency
    ).execute()
    comparison = compare_models(split, regularization=regularization_setting(regularization))
    table = comparison.table
    step("tracking")
    info = {
        "verdict": comparison.verdict,
        "tied_with_best": comparison.tied,
        "by_frequency": comparison.by_frequency.to_dict(orient="records"),
        "tracking": _tracking(orders, split, table, calibration_end, end, unit, currency).to_dict(
            orient="records"
        ),
        "currency": currency,
        "calibration_end": pd.Timestamp(calibration_end).date().isoformat(),
        "observation_end": end.isoformat(),
        "unit": unit,
        "customers": len(split),
        "holdout_length": float(split["duration_holdout"].iloc[0]) if len(split) else 0.0,
    }
    return table, info


def _tracking(
    orders: ir.Table,
    split: pd.DataFrame,
    table: pd.DataFrame,
    calibration_end: Any,
    end: dt.date,
    unit: TimeUnit,
    currency: str | None,
) -> pd.DataFrame:
    """Cumulative repeat purchases per period since the first acquisition: actual, and expected by each
    model fitted on the calibration period (Fader, Hardie & Lee 2005, fig. 3)."""
    origin = pd.Timestamp(split["first_purchase"].min())
    actual = repeat_purchases_by_period(
        orders,
        origin=origin.date(),
        acquired_by=calibration_end,
        observation_end=end,
        unit=unit,
        currency=currency,
    ).execute()
    scale = UNIT_DAYS[unit]
    periods = np.arange(1, int((pd.Timestamp(end) - origin).days // scale) + 2, dtype=float)
    counts = actual.set_index("period")["repeat_purchases"].reindex(periods - 1, fill_value=0).to_numpy()
    births = ((pd.to_datetime(split["first_purchase"]) - origin).dt.days / scale).to_numpy()
    out = pd.DataFrame({"period": periods, "actual": np.cumsum(counts)})
    for row in table.itertuples():
        model = PURCHASE_MODELS[row.model].from_params(unit=unit, **row.params)
        out[row.model] = tracking(model, births, periods)
    return out


def group_ltv(
    orders: ir.Table,
    *,
    by: str | None = "channel",
    model: str = "bgnbd",
    horizon_months: float = 12.0,
    unit: TimeUnit = "month",
    margin: float = 1.0,
    target_ratio: float = 3.0,
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    regularization: Regularization = "auto",
    overall: bool = False,
    values: ir.Table | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Predicted LTV over ``horizon_months`` from the first purchase per cohort (``by="cohort"``), channel,
    first product or UTM field, young groups extrapolated by the fitted models, with 90% intervals and the
    maximum CAC each bears at ``target_ratio`` (:mod:`ltvkit.predict.groups`); and what the models were.
    ``by=None`` values every customer as one group (``all``); with ``overall``, the row of every customer
    as one group is ``info["overall"]`` too (from the same fit and draws). ``values``: the
    :func:`~ltvkit.analytics.cohorts.customer_values` of these orders, when the caller has them as a
    table."""
    if by is not None and by != "cohort" and by not in SPLITS:
        raise ParameterError(f"cannot group by {by!r}; use cohort or one of {', '.join(SPLITS)}")
    summary, purchase, spend, info = _fitted(
        orders,
        model,
        unit=unit,
        observation_end=observation_end,
        currency=currency,
        regularization=regularization,
        horizon_months=horizon_months,
        margin=margin,
        target_ratio=target_ratio,
    )
    end, currency = dt.date.fromisoformat(info["observation_end"]), info["currency"]
    horizon_days = horizon_months * UNIT_DAYS["month"]
    step(f"groups:{by}")
    days = purchase_days(orders, currency=currency)
    days = days.filter(days.day <= end)
    firsts = days.group_by("customer_id").aggregate(first_day=days.day.min())
    joined = days.inner_join(firsts, "customer_id")
    within = joined.filter(joined.day.delta(joined.first_day, unit="day") < horizon_days)
    paid = within.group_by("customer_id").aggregate(revenue_in_horizon=within.value.sum())
    people = customers_of(customer_values(orders, currency=currency) if values is None else values)
    key = by or "all"
    group = people.cohort.strftime("%Y-%m") if by == "cohort" else people[by] if by else ibis.literal("all")
    people = people.select("customer_id", **{key: group})
    # one query, one row a customer without its id: the history, the spend, what was paid, the group
    joined_up = summary.left_join(paid, "customer_id").inner_join(people, "customer_id")
    table = (
        joined_up.order_by("customer_id")
        .select(  # the same weight to each customer on any engine
            *HISTORY,
            "monetary_value",
            key,
            revenue_in_horizon=joined_up.revenue_in_horizon.fill_null(0.0),
        )
        .execute()
    )
    horizon = horizon_days / UNIT_DAYS[unit]
    keys = list(dict.fromkeys([key, "all"] if overall else [key]))
    if "all" not in table:
        table["all"] = "all"
    tables = grouped_ltv(purchase, spend, table, keys, horizon=horizon)
    if overall:
        info["overall"] = max_cac(tables[-1], margin=margin, target_ratio=target_ratio).iloc[0].to_dict()
    return max_cac(tables[0], margin=margin, target_ratio=target_ratio), info


def follow_up(
    orders: ir.Table,
    *,
    model: str = "bgnbd",
    within: float = 1.0,
    unit: TimeUnit = "month",
    observation_end: str | dt.date | None = None,
    currency: str | None = None,
    regularization: Regularization = "auto",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per customer, for timing a follow-up (:mod:`ltvkit.predict.timing`, any purchase model):
    ``probability_alive``, ``probability_purchase`` (at least one purchase in the next ``within`` units),
    and ``next_purchase_date``: the day by which, if still active and buying again, the customer has bought
    again with probability 1/2 (the median wait from the end of the data)."""
    summary, purchase, _, info = _fitted(
        orders,
        model,
        unit=unit,
        observation_end=observation_end,
        currency=currency,
        regularization=regularization,
        within=within,
    )
    people = summary.select("customer_id", "frequency", "recency", "T").execute()
    wait_days = purchase_wait(purchase, people) * UNIT_DAYS[unit]
    end = pd.Timestamp(info["observation_end"])
    out = people[["customer_id"]].assign(
        probability_alive=purchase.probability_alive(people),
        probability_purchase=probability_of_purchase(purchase, within, people),
        next_purchase_date=(end + pd.to_timedelta(np.ceil(wait_days), unit="D")).date,
    )
    return out, info
