"""The report's figures, composed once from the analytics and rendered in as many languages as asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltvkit.analytics.channels import cac_table, chained_curves, quality_by
from ltvkit.analytics.cohorts import cohort_matrix, cohort_table
from ltvkit.analytics.historical import lorenz_curve, ltv_summary, pareto_table
from ltvkit.analytics.overview import overview
from ltvkit.data.sources import Tables
from ltvkit.errors import ParameterError, collect_notes
from ltvkit.report.build import CURVE_COHORTS, MAX_AGE, MAX_COHORTS, TARGET_RATIO, render, write_report
from ltvkit.serialize import jsonable
from ltvkit.whatif.scenarios import Scenario, baseline_from, evaluate


def _main_currency(ws: Tables, currency: str | None) -> tuple[str, list[str]]:
    by_currency = overview(ws.table("orders")).by_currency
    if by_currency.empty:
        raise ParameterError("the workspace has no purchases; import orders first")
    codes = list(by_currency.sort_values("net_revenue", ascending=False)["currency"])
    chosen = currency.upper() if currency else codes[0]
    if chosen not in codes:
        raise ParameterError(f"no purchases in {chosen}; the data has {', '.join(codes)}")
    return chosen, [c for c in codes if c != chosen]


def report_data(
    ws: Tables,
    *,
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
) -> dict[str, Any]:
    """Every figure the report shows, for one currency (the largest by revenue unless given); with
    ``scenarios``, their what-if table too."""
    orders = ws.table("orders")
    code, others = _main_currency(ws, currency)
    summary = ltv_summary(orders, currency=code, margin=margin)
    cohorts = cohort_table(orders, currency=code)
    recent = sorted(cohorts["cohort"].unique())[-MAX_COHORTS:]
    recent_table = cohorts[cohorts["cohort"].isin(recent) & (cohorts["age"] <= MAX_AGE)]
    heat = {m: cohort_matrix(recent_table, m) for m in ("retention", "ltv")}
    by_channel = cohort_table(orders, currency=code, split="channel")
    oldest = 0 if by_channel.empty else int(by_channel["age"].max())  # no channel column: no curves
    channel_ages = list(range(0, min(12, oldest) + 1)) if not by_channel.empty else []
    chained = chained_curves(by_channel, "channel", "ltv", channel_ages[-1]) if channel_ages else None
    channel_curves = {
        str(ch): chained.loc[ch].tolist()
        if chained is not None and ch in chained.index
        else [np.nan] * len(channel_ages)
        for ch in by_channel["channel"].unique()
    }
    curve_cohorts = heat["ltv"].iloc[-CURVE_COHORTS:].dropna(axis=1, how="all")
    pareto = pareto_table(orders, currency=code)
    lorenz, gini = lorenz_curve(orders, currency=code)
    products = quality_by(orders, "first_product", currency=code)
    has_spend = bool(ws.table("spend").filter(lambda t: t.currency == code).count().execute())
    cac = (
        cac_table(orders, ws.table("spend"), currency=code, margin=margin, target_ratio=TARGET_RATIO)[0]
        if has_spend
        else None
    )
    what_if, model_notes = None, []
    if scenarios:
        with collect_notes() as model_notes:
            base = baseline_from(orders, margin=margin if margin is not None else 1.0, currency=code)
            what_if = evaluate(base, scenarios, target_ratio=TARGET_RATIO).to_dict(orient="records")
    return jsonable(
        {
            "scenarios": what_if,
            "model_notes": model_notes,
            "currency": code,
            "other_currencies": others,
            "summary": summary.to_dict(),
            "heatmaps": {
                m: {
                    "cohorts": [pd.Timestamp(c).date().isoformat() for c in matrix.index],
                    "ages": [int(a) for a in matrix.columns],
                    "values": matrix.to_numpy().tolist(),
                }
                for m, matrix in heat.items()
            },
            "cohort_curves": {
                "ages": [int(a) for a in curve_cohorts.columns],
                "series": {
                    pd.Timestamp(c).date().isoformat(): row.tolist() for c, row in curve_cohorts.iterrows()
                },
            },
            "channel_curves": {"ages": channel_ages, "series": channel_curves},
            "pareto": pareto.to_dict(orient="records"),
            "lorenz": {
                "customer_share": lorenz["customer_share"].tolist(),
                "revenue_share": lorenz["revenue_share"].tolist(),
                "gini": gini,
            },
            "products": products.to_dict(orient="records"),
            "cac": cac.to_dict(orient="records") if cac is not None else None,
        }
    )


def build_reports(
    tables: Tables,
    outputs: dict[str, str | Path],
    *,
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
) -> list[Path]:
    """The report in each language of ``outputs`` (language → file), its figures computed once."""
    data = report_data(tables, currency=currency, margin=margin, scenarios=scenarios)
    return [write_report(render(data, lang), out) for lang, out in outputs.items()]


def build_report(
    tables: Tables,
    out: str | Path = "report.html",
    *,
    lang: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
) -> Path:
    """Write the report for ``tables`` in ``lang`` to ``out`` and return the path."""
    return build_reports(tables, {lang: out}, currency=currency, margin=margin, scenarios=scenarios)[0]
