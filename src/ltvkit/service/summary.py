"""What is my LTV? Customers, orders and revenue, the LTV of each currency's customers, and the one LTV to
use for CAC (:func:`headline_ltv`), which the CLI summary, the report's headline and the dashboard's overview
all show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ltvkit import i18n
from ltvkit.analytics.grade import DataGrade
from ltvkit.analytics.historical import LtvSummary, ltv_summary
from ltvkit.analytics.overview import Overview, overview
from ltvkit.data.sources import Tables
from ltvkit.errors import LtvError, ParameterError, collect_notes
from ltvkit.service.analysis import Analysis

HEADLINE_HORIZON = 12  # months from the first purchase: the horizon the CAC tables use too
TARGET_RATIO = 3.0
Basis = Literal["model", "formula"]
Why = Literal["model", "thin", "failed", "off"]


@dataclass(frozen=True)
class Summary:
    """The overview of the orders, one :class:`~ltvkit.analytics.historical.LtvSummary` per currency and,
    when asked for, the :class:`HeadlineLtv` (the LTV to use for CAC) of each."""

    overview: Overview
    ltv: list[LtvSummary]
    headlines: list[HeadlineLtv] | None = None

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        found = {**self.overview.to_dict(), "ltv": [item.to_dict() for item in self.ltv]}
        if self.headlines is not None:
            found["headlines"] = [item.to_dict(lang) for item in self.headlines]
        return found


def summary(
    tables: Tables, *, margin: float | None = None, inactive_after_days: int = 180, headlines: bool = False
) -> Summary:
    """The overview and, for every currency with purchases, its historical and expected LTV; with
    ``headlines``, the LTV to use for CAC of each (:func:`headline_ltv`: the models are fitted)."""
    orders = tables.table("orders")
    result = overview(orders)
    ltv = [
        ltv_summary(orders, currency=c, margin=margin, inactive_after_days=inactive_after_days)
        for c in result.by_currency["currency"]
    ]
    chosen = (
        [headline_ltv(tables, currency=item.currency, margin=margin, ltv=item) for item in ltv]
        if headlines
        else None
    )
    return Summary(result, ltv, chosen)


@dataclass(frozen=True)
class HeadlineLtv:
    """The LTV to use for CAC: ``value`` (× ``margin``) with its 90% interval, over ``horizon_months``
    from the first purchase (the models) or over the expected lifetime (the formula, ``horizon_months``
    None), the maximum CAC it bears at LTV:CAC = ``target``, the data's grade, and why this one (``why``:
    the models, or the formula because the data are thin, the models failed or were not run)."""

    currency: str
    basis: Basis
    why: Why
    value: float
    low: float
    high: float
    margin: float
    margin_given: bool
    horizon_months: int | None
    lifetime_years: float
    lower_bound: bool
    target: float
    grade: DataGrade
    notes: list[str]

    @property
    def max_cac(self) -> float:
        return self.value / self.target

    def texts(self, lang: str = "en") -> dict[str, str]:
        """The headline in ``lang``: ``title``, ``value``, ``interval``, ``terms`` (horizon, margin, max
        CAC), ``why`` (how it was chosen, with its caveat) and ``grade`` (the data grade beside it)."""

        def money(value: float) -> str:
            return i18n.money(value, self.currency, lang)

        shown = money(self.value)
        years = i18n.number(self.lifetime_years, lang, digits=1)
        horizon = (
            i18n.text("headline_horizon_months", lang, months=self.horizon_months)
            if self.horizon_months is not None
            else i18n.text(
                "headline_horizon_lifetime",
                lang,
                years=i18n.text("at_least", lang, value=years) if self.lower_bound else years,
            )
        )
        margin = (
            i18n.text("headline_margin", lang, margin=i18n.percent(self.margin, lang, digits=0))
            if self.margin_given
            else i18n.text("headline_no_margin", lang)
        )
        caveat = (
            [i18n.text("headline_formula_caveat", lang)]
            if self.basis == "formula"
            else [i18n.text("headline_fair", lang)]
            if self.grade.grade == "fair"
            else []
        )
        return {
            "title": i18n.text("headline_title", lang),
            "value": i18n.text("at_least", lang, value=shown) if self.lower_bound else shown,
            "interval": i18n.text("interval_90", lang, low=money(self.low), high=money(self.high)),
            "terms": i18n.text(
                "headline_terms",
                lang,
                horizon=horizon,
                margin=margin,
                max_cac=money(self.max_cac),
                target=i18n.number(self.target, lang),
            ),
            "why": " ".join(
                [i18n.text(f"headline_why_{self.why}", lang, months=self.horizon_months), *caveat]
            ),
            "grade": f"{i18n.text('data_grade', lang)}: {i18n.text(f'grade_{self.grade.grade}', lang)}",
            "grade_sentence": self.grade.sentence(lang),
        }

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "currency": self.currency,
            "basis": self.basis,
            "why": self.why,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "margin": self.margin,
            "margin_given": self.margin_given,
            "horizon_months": self.horizon_months,
            "lifetime_years": self.lifetime_years,
            "lower_bound": self.lower_bound,
            "target": self.target,
            "max_cac": self.max_cac,
            "grade": self.grade.to_dict(),
            "notes": self.notes,
            "texts": self.texts(lang),
        }


def headline_ltv(
    tables: Tables,
    *,
    currency: str | None = None,
    margin: float | None = None,
    models: bool = True,
    horizon_months: int = HEADLINE_HORIZON,
    target: float = TARGET_RATIO,
    analysis: Analysis | None = None,
    ltv: LtvSummary | None = None,
    fitted: dict[str, Any] | None = None,
    fit: bool = True,
) -> HeadlineLtv:
    """The one LTV to use for CAC, chosen by what the data can support (its grade): when the grade allows
    the models (good or fair), their predicted LTV over ``horizon_months`` from the first purchase with its
    90% interval (BG/NBD and Gamma-Gamma; young customers' months to come predicted,
    :func:`~ltvkit.service.valuation.group_ltv`); else — or when the models fail, or with ``models`` False
    — the formula's expected LTV (average check × purchases a year × the Kaplan–Meier expected lifetime)
    with its bootstrap interval. Both times × ``margin`` (100% of revenue when not given).

    A caller with an :class:`Analysis` (and its :class:`LtvSummary`) of the same orders passes them, so
    nothing is read twice; one that has fitted the models already (the report, for its channels) passes
    their row of every customer (``fitted``: ``Predicted.overall``; None when that fit failed) and
    ``fit`` False, so they are not fitted again."""
    if margin is not None and not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of revenue in (0, 1], not {margin}")
    data = analysis or Analysis(tables, currency=currency)
    found = ltv or data.ltv()
    rate = 1.0 if margin is None else margin
    expected, grade = found.expected, found.grade
    why: Why = "thin" if not grade.models_usable else "off" if not models else "model"
    notes: list[str] = []
    if why == "model":
        row = fitted
        if row is None and fit:
            row, notes = _fit_everyone(data, horizon_months, rate)
        if row is not None:
            return HeadlineLtv(
                data.currency,
                "model",
                "model",
                float(row["ltv"]) * rate,
                float(row["ltv_low"]) * rate,
                float(row["ltv_high"]) * rate,
                rate,
                margin is not None,
                horizon_months,
                expected.lifetime.years,
                False,
                target,
                grade,
                notes,
            )
        why = "failed"
    return HeadlineLtv(
        data.currency,
        "formula",
        why,
        expected.value * rate,
        expected.low * rate,
        expected.high * rate,
        rate,
        margin is not None,
        None,
        expected.lifetime.years,
        expected.lifetime.is_lower_bound,
        target,
        grade,
        notes,
    )


def _fit_everyone(
    data: Analysis, horizon_months: int, margin: float
) -> tuple[dict[str, Any] | None, list[str]]:
    """The models' predicted LTV of every customer as one group, with their notes; None with the reason
    when the data cannot support a fit."""
    from ltvkit.service.valuation import group_ltv  # the models load only when asked for

    try:
        with collect_notes() as notes:
            table, _ = group_ltv(
                data.orders, by=None, horizon_months=horizon_months, margin=margin, currency=data.currency
            )
    except LtvError as exc:
        return None, [*notes, str(exc)]
    return table.iloc[0].to_dict(), notes
