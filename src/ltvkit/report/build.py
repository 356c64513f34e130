"""The offline HTML report: one self-contained file (chart library, styles and data inlined; no network).

:func:`report_data` gathers the figures from the core analytics; :func:`render` turns them into HTML in one
language; :func:`build_report` does both and writes the file.

The file is sent around, and the names in it (products, channels, campaigns, scenarios) come from the
user's data, so: every value is escaped by the template (autoescape is on), the charts' data is JSON that
cannot leave its script element (:func:`~ltvkit.report.security.json_script`), and a Content-Security-Policy
in the file lets only its two inline scripts (the chart library and ``static/report.js``, by hash) run.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader

from ltvkit import i18n
from ltvkit.acquisition import cac_table, mean_at_age, quality_by
from ltvkit.cohorts import cohort_matrix, cohort_table
from ltvkit.errors import ParameterError, collect_notes
from ltvkit.metrics import lorenz_curve, ltv_summary, pareto_table
from ltvkit.overview import overview
from ltvkit.report.security import inline_script, json_script, report_policy
from ltvkit.scenarios import Scenario, baseline_from, evaluate
from ltvkit.serialize import jsonable
from ltvkit.sources import Tables

MAX_COHORTS = 24  # rows of the heatmaps: the most recent cohorts
MAX_AGE = 24
CURVE_COHORTS = 8
TARGET_RATIO = 3.0


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
    channel_ages = list(range(0, min(12, int(by_channel["age"].max())) + 1))
    channel_curves = {
        str(ch): [mean_at_age(by_channel, "channel", "ltv", age).get(ch, np.nan) for age in channel_ages]
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


def _environment() -> Environment:
    """The report's templates, every one autoescaped (whatever its name ends with)."""
    env = Environment(loader=PackageLoader("ltvkit.report", "templates"), autoescape=True)
    env.filters["json_script"] = json_script
    return env


def _static(name: str) -> str:
    """The text of ``static/name`` (newlines as LF, as the browser sees it in the page)."""
    return resources.files("ltvkit.report").joinpath(f"static/{name}").read_text(encoding="utf-8")


def render(data: dict[str, Any], lang: str = "en", *, today: dt.date | None = None) -> str:
    """The report as one HTML document in ``lang`` (en, ru, uk)."""
    lang = i18n.check_lang(lang)
    s = data["summary"]
    cur = data["currency"]
    today = today or dt.date.today()

    def t(key: str, **values: object) -> str:
        return i18n.text(key, lang, **values)

    def money(value: float | None, digits: int = 0) -> str:
        return "" if value is None else i18n.money(value, cur, lang, digits=digits)

    tiles = [
        (t("customers"), i18n.number(s["customers"], lang), ""),
        (t("net_revenue"), i18n.money_short(s["net_revenue"], cur, lang), money(s["net_revenue"])),
        (t("aov"), money(s["aov"]), ""),
        (t("ltv"), money(s["ltv_mean"]), t("ltv_median", value=money(s["ltv_median"]))),
        (t("purchases_per_customer"), i18n.number(s["purchases_per_customer"], lang, digits=2), ""),
        (t("repeat_rate"), i18n.percent(s["repeat_rate"], lang), ""),
        (t("active_share", days=s["inactive_after_days"]), i18n.percent(s["active_share"], lang), ""),
    ]
    top20 = next((row for row in data["pareto"] if abs(row["top_share"] - 0.2) < 1e-9), data["pareto"][-1])
    cac_rows = []
    for row in data["cac"] or []:
        payback = row["payback_months"]
        cac_rows.append(
            [
                row["channel"],
                money(row["spend"]),
                i18n.number(row["new_customers"], lang),
                money(row["cac"]),
                money(row["gross_profit_ltv"]),
                i18n.number(row["ltv_to_cac"], lang, digits=2) if row["ltv_to_cac"] is not None else "",
                money(row["max_cac"]),
                t("not_yet") if payback is None else i18n.number(payback, lang),
            ]
        )
    product_rows = [
        [
            row["first_product"],
            i18n.number(row["customers"], lang),
            i18n.percent(row["repeat_rate"], lang),
            i18n.percent(row["retention_3"], lang) if row["retention_3"] is not None else "",
            money(row["ltv_12"]) if row["ltv_12"] is not None else "",
        ]
        for row in data["products"]
    ]

    def cell(value: float | None, fmt: Any) -> str:
        return "—" if value is None else fmt(value)

    def share(value: float) -> str:
        return i18n.percent(value, lang)

    scenario_rows = [
        [
            row["scenario"],
            cell(row["formula_ltv"], money),
            cell(row["formula_ltv_change"], share),
            cell(row["formula_max_cac"], money),
            cell(row.get("model_ltv"), money),
            cell(row.get("model_ltv_change"), share),
            cell(row.get("model_max_cac"), money),
        ]
        for row in data.get("scenarios") or []
    ]
    labels = {
        key: t(key)
        for key in (
            "age_months",
            "cohort",
            "customer_share",
            "revenue_share",
            "ltv",
            "cac",
            "max_cac",
            "gross_profit_ltv",
        )
    }
    chart_payload = {
        "locale": i18n.LOCALES[lang].replace("_", "-"),
        "currency": cur,
        "labels": labels,
        "months": {c: i18n.month(dt.date.fromisoformat(c), lang) for c in data["heatmaps"]["ltv"]["cohorts"]},
        **{k: data[k] for k in ("heatmaps", "cohort_curves", "channel_curves", "lorenz", "cac")},
    }
    scripts = [_static("echarts.min.js"), _static("report.js")]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            lang=lang,
            t=t,
            title=t("title"),
            period=t(
                "period",
                start=i18n.day(dt.date.fromisoformat(s["first_purchase"]), lang),
                end=i18n.day(dt.date.fromisoformat(s["last_day"]), lang),
                last=i18n.day(dt.date.fromisoformat(s["last_day"]), lang),
            ),
            generated=t("generated", date=i18n.day(today, lang)),
            others=t("other_currencies", codes=", ".join(data["other_currencies"]))
            if data["other_currencies"]
            else "",
            tiles=tiles,
            breakdown=t(
                "breakdown",
                aov=money(s["aov"]),
                freq=i18n.number(s["frequency_per_year"], lang, digits=2),
                life=i18n.number(s["lifetime_years"], lang, digits=2),
                ltv=money(s["ltv_mean"]),
            ),
            pareto_note=t(
                "pareto_note",
                share=i18n.percent(top20["top_share"], lang, digits=0),
                revenue=i18n.percent(top20["revenue_share"], lang),
                gini=i18n.number(data["lorenz"]["gini"], lang, digits=2),
            ),
            cac_rows=cac_rows,
            product_rows=product_rows,
            scenario_rows=scenario_rows,
            model_notes=data.get("model_notes") or [],
            target=i18n.number(TARGET_RATIO, lang),
            policy=report_policy(scripts),
            chart_script=inline_script(scripts[0]),
            report_script=inline_script(scripts[1]),
            chart_data=chart_payload,
        )
    )


def build_report(
    workspace: Tables,
    out: str | Path = "report.html",
    *,
    lang: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    scenarios: list[Scenario] | None = None,
) -> Path:
    """Write the report for ``workspace`` to ``out`` and return the path."""
    path = Path(out)
    html = render(report_data(workspace, currency=currency, margin=margin, scenarios=scenarios), lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
