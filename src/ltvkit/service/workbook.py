"""The spreadsheet workbook (issue #18): the figures online schools redo by hand in Google Sheets, composed
once from one :class:`~ltvkit.service.analysis.Analysis` and written by :mod:`ltvkit.report.workbook`.

- the cohort triangle: per monthly cohort its size, the retention and the cumulative net revenue per
  customer at each age in months (the cells of ``ltv cohorts``);
- the LTV calculator's inputs, each the orders' own figure: the average check, purchases a year while
  active and the expected lifetime (the factors of ``ltv summary``'s expected LTV, so the sheet's
  ``check × frequency × lifetime`` is that figure), the margin (gross profit / net revenue where the orders
  carry costs, else the one given, else 100 %) and the target LTV:CAC;
- the channel table: customers, net revenue and LTV at ``horizon`` months (chained over matched cohorts, as
  ``ltv cac`` reads it), and with marketing spend the CAC, LTV:CAC, max CAC and payback of ``ltv cac``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltvkit.analytics.channels import chained_at_age
from ltvkit.analytics.lifetime import expected_ltv
from ltvkit.data.sources import Tables
from ltvkit.errors import ParameterError
from ltvkit.i18n import check_lang
from ltvkit.service.analysis import Analysis

#: The columns of ``ltv cac`` the channel table adds when there is marketing spend.
CAC_COLUMNS = ("spend", "cac", "gross_profit_ltv", "ltv_to_cac", "max_cac", "payback_months")


@dataclass(frozen=True)
class Calculator:
    """The LTV calculator's inputs: ``ltv = aov × purchases_per_year × lifetime_years`` (the expected LTV),
    profit = ltv × ``margin``, max CAC = profit / ``target``. ``margin_source`` says where the margin came
    from: ``costs`` (the orders' costs and fees), ``given`` (the user's) or ``none`` (100 %: revenue)."""

    aov: float
    purchases_per_year: float
    lifetime_years: float
    lifetime_is_lower_bound: bool
    margin: float
    margin_source: str
    target: float


@dataclass(frozen=True)
class WorkbookData:
    """Everything the workbook shows, in one currency."""

    currency: str
    other_currencies: list[str]
    last_day: dt.date
    cohorts: pd.DataFrame  # cohort, age, size, retention, ltv (monthly; every observed cell)
    calculator: Calculator
    channels: pd.DataFrame  # channel, customers, net_revenue, ltv (+ CAC_COLUMNS with spend)
    ltv_age: int
    has_spend: bool


def workbook_data(
    tables: Tables,
    *,
    currency: str | None = None,
    margin: float | None = None,
    target: float = 3.0,
    horizon: int = 12,
    inactive_after_days: int = 180,
) -> WorkbookData:
    """The workbook's figures for one currency (the largest by revenue unless given)."""
    if margin is not None and not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of revenue in (0, 1], not {margin}", parameter="margin")
    if target <= 0:
        raise ParameterError(f"the target LTV:CAC must be positive, not {target}", parameter="target")
    if horizon < 1:
        raise ParameterError(f"the horizon is a number of months from 1, not {horizon}", parameter="horizon")
    data = Analysis(tables, currency=currency)
    values = data.customer_values
    # the point estimate alone: the same figures as the summary's, without its bootstrap interval
    expected = expected_ltv(values, pd.Timestamp(data.end), inactive_after_days=inactive_after_days, draws=1)
    if data.has_costs:
        chosen_margin, source = values["gross_profit"].sum() / values["net_revenue"].sum(), "costs"
    elif margin is not None:
        chosen_margin, source = margin, "given"
    else:
        chosen_margin, source = 1.0, "none"
    calculator = Calculator(
        aov=expected.aov,
        purchases_per_year=expected.purchases_per_year,
        lifetime_years=expected.lifetime.years,
        lifetime_is_lower_bound=expected.lifetime.is_lower_bound,
        margin=chosen_margin,
        margin_source=source,
        target=target,
    )
    cohorts = data.cohort_table()[["cohort", "age", "size", "retention", "ltv"]]
    by_channel = data.cohort_table(split="channel")
    ltv_age = min(horizon, int(by_channel["age"].max()))
    first = by_channel[by_channel["age"] == 0].groupby("channel")["size"].sum()
    channels = pd.DataFrame(
        {
            "customers": first,
            "net_revenue": by_channel.groupby("channel")["revenue"].sum(),
            "ltv": chained_at_age(by_channel, "channel", "ltv", ltv_age),
        }
    ).rename_axis("channel")
    has_spend = not data.spend_by_month.empty
    if has_spend:
        cac = data.cac(margin=margin, horizon=horizon, target_ratio=target)[0].set_index("channel")
        channels = channels.join(cac[list(CAC_COLUMNS)], how="outer")
    channels = channels.reset_index().sort_values(["customers", "channel"], ascending=[False, True])
    channels["customers"] = channels["customers"].fillna(0).astype(int)
    return WorkbookData(
        currency=data.currency,
        other_currencies=data.other_currencies,
        last_day=data.end,
        cohorts=cohorts.reset_index(drop=True),
        calculator=calculator,
        channels=channels.reset_index(drop=True),
        ltv_age=ltv_age,
        has_spend=has_spend,
    )


def workbook_bytes(
    tables: Tables,
    *,
    lang: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    target: float = 3.0,
    horizon: int = 12,
) -> bytes:
    """The workbook (XLSX) of :func:`workbook_data` in ``lang``: for a download."""
    from ltvkit.report.workbook import workbook_file

    check_lang(lang)
    data = workbook_data(tables, currency=currency, margin=margin, target=target, horizon=horizon)
    return workbook_file(data, lang)


def write_workbook(
    tables: Tables,
    path: str | Path,
    *,
    lang: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    target: float = 3.0,
    horizon: int = 12,
) -> Path:
    """:func:`workbook_bytes` written to ``path`` (its folder made if missing); returns the path."""
    path = Path(path)
    content = workbook_bytes(
        tables, lang=lang, currency=currency, margin=margin, target=target, horizon=horizon
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
