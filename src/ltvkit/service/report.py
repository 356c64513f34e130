"""The report's figures, composed once from the analytics and rendered in as many languages as asked."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltvkit import i18n
from ltvkit.analytics.channels import chained_curves
from ltvkit.analytics.cohorts import cohort_matrix
from ltvkit.data.sources import Tables
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError
from ltvkit.progress import step
from ltvkit.report.build import CURVE_COHORTS, MAX_AGE, MAX_COHORTS, TARGET_RATIO, render, write_report
from ltvkit.serialize import jsonable
from ltvkit.service.actions import actions_of
from ltvkit.service.analysis import Analysis
from ltvkit.service.comparison import Comparison, compare
from ltvkit.service.descriptive import predicted_ltv
from ltvkit.service.retainer import client_book
from ltvkit.service.summary import headline_ltv
from ltvkit.service.whatif import scenarios as plan
from ltvkit.whatif.scenarios import Scenario


def report_data(
    ws: Tables,
    *,
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
    predictions: bool = True,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Every figure the report shows, for one currency (the largest by revenue unless given); with
    ``scenarios``, their what-if table too; with ``predictions``, the predicted LTV and the CAC each
    channel can bear, and the models' LTV as the one to use for CAC when the data support them (the models
    read their own statistics: a few more engine queries). The descriptive figures come from one
    :class:`Analysis`, so the shared tables are read from the engine once (a source's mapped orders too);
    the comparison of two groups adds one query. A workspace with retainer clients adds its client book as
    of ``as_of`` (today); a workspace with clients and no orders gives the client book alone (``summary``
    None)."""
    if isinstance(ws, Workspace) and not ws.count("orders") and ws.count("clients"):
        return jsonable({"summary": None, "retainers": _retainers(ws, as_of)})  # a book of retainers alone
    with Analysis(ws, currency=currency, keep=True) as data:
        return _figures(data, ws, margin=margin, scenarios=scenarios, predictions=predictions, as_of=as_of)


def _figures(
    data: Analysis,
    ws: Tables,
    *,
    margin: float | None,
    scenarios: list[Scenario] | None,
    predictions: bool,
    as_of: dt.date | None,
) -> dict[str, Any]:
    code = data.currency
    summary = data.ltv(margin=margin)
    comparison = compare(data.tables, analysis=data)
    cohorts = data.cohort_table()
    recent = sorted(cohorts["cohort"].unique())[-MAX_COHORTS:]
    recent_table = cohorts[cohorts["cohort"].isin(recent) & (cohorts["age"] <= MAX_AGE)]
    heat = {m: cohort_matrix(recent_table, m) for m in ("retention", "ltv")}
    by_channel = data.cohort_table(split="channel")
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
    lorenz, gini = data.lorenz()
    cac = data.cac(margin=margin, target_ratio=TARGET_RATIO)[0] if not data.spend_by_month.empty else None
    first = actions_of(data, summary, margin=margin, target=TARGET_RATIO)  # no engine query: shared tables
    predicted, model_notes, everyone = (
        _predicted_by_channel(data, margin) if predictions else (None, [], None)
    )
    headline = headline_ltv(
        data.tables, margin=margin, models=predictions, analysis=data, ltv=summary, fitted=everyone, fit=False
    )
    what_if = None
    if scenarios:
        planned = plan(
            data.tables,
            scenarios,
            margin=1.0 if margin is None else margin,
            target=TARGET_RATIO,
            currency=code,
        )
        what_if = planned.table.to_dict(orient="records")
        model_notes += planned.notes
    return jsonable(
        {
            "scenarios": what_if,
            "model_notes": model_notes,
            "currency": code,
            "other_currencies": data.other_currencies,
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
            "pareto": data.pareto().to_dict(orient="records"),
            "lorenz": {
                "customer_share": lorenz["customer_share"].tolist(),
                "revenue_share": lorenz["revenue_share"].tolist(),
                "gini": gini,
            },
            "products": data.quality_by("first_product").to_dict(orient="records"),
            "cac": cac.to_dict(orient="records") if cac is not None else None,
            "predicted": predicted,
            "actions": first.views(),
            "headline": headline.to_dict() | {"texts": {lang: headline.texts(lang) for lang in i18n.LOCALES}},
            "comparison": None
            if comparison is None
            else comparison.to_dict()
            | {"texts": {lang: _comparison_texts(comparison, lang) for lang in i18n.LOCALES}},
            "retainers": _retainers(ws, as_of),
        }
    )


def _comparison_texts(comparison: Comparison, lang: str) -> dict[str, Any]:
    """What the comparison section says in ``lang``: the groups' names, how they were chosen, the verdict."""
    return {
        "names": list(comparison.names(lang)),
        "how_chosen": comparison.how_chosen(lang),
        "sentences": comparison.sentences(lang),
    }


def _retainers(ws: Tables, as_of: dt.date | None) -> dict[str, Any] | None:
    """The client book of a workspace with retainer clients (None for a source, or no clients), its notes
    in every language."""
    if not isinstance(ws, Workspace) or not ws.count("clients"):
        return None
    book = client_book(ws, as_of=as_of)

    def shown(lang: str) -> dict[str, Any]:
        tables = [*book.month_tables(lang), book.client_table(lang)]
        if len(book.acquisition):
            tables.append(book.acquisition_table(lang))
        return book.sentences(lang) | {"tables": [asdict(table) for table in tables]}

    return book.to_dict() | {"texts": {lang: shown(lang) for lang in i18n.LOCALES}}


def _predicted_by_channel(
    data: Analysis, margin: float | None
) -> tuple[list[dict[str, Any]] | None, list[str], dict[str, Any] | None]:
    """Predicted 12-month LTV and max CAC per channel with intervals, and of every customer (the LTV to use
    for CAC); or None with the reason as a note when the data cannot support a model (no repeat purchase
    yet, too little history)."""
    try:
        found = predicted_ltv(
            data.tables,
            by="channel",
            margin=1.0 if margin is None else margin,
            target=TARGET_RATIO,
            currency=data.currency,
            analysis=data,
            overall=True,
        )
    except ParameterError as exc:
        return None, [i18n.message_of(exc)], None
    return found.table.to_dict(orient="records"), found.notes, found.overall


def build_reports(
    tables: Tables,
    outputs: dict[str, str | Path],
    *,
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
    predictions: bool = True,
) -> list[Path]:
    """The report in each language of ``outputs`` (language → file), its figures computed once."""
    step("figures")
    data = report_data(tables, currency=currency, margin=margin, scenarios=scenarios, predictions=predictions)
    written = []
    for done, (lang, out) in enumerate(outputs.items()):
        step(f"render:{lang}", done, len(outputs))
        written.append(write_report(render(data, lang), out))
    return written


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
