"""The offline HTML report: one self-contained file (chart library, styles and data inlined; no network).

:func:`ltvkit.service.report.report_data` gathers the figures (the use-case layer composes them);
:func:`render` turns them into HTML in one language and :func:`write_report` writes the file.

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

from jinja2 import Environment, PackageLoader

from ltvkit import formatting, i18n
from ltvkit.report import sections
from ltvkit.report.security import inline_script, json_script, report_policy

MAX_COHORTS = 24  # rows of the heatmaps: the most recent cohorts
MAX_AGE = 24
CURVE_COHORTS = 8
TARGET_RATIO = 3.0


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
    today = today or dt.date.today()
    if data["summary"] is None:
        return _render_book(data, lang, today)
    s = data["summary"]
    cur = data["currency"]

    def t(key: str, **values: object) -> str:
        return i18n.text(key, lang, **values)

    def money(value: float | None, digits: int = 0) -> str:
        return "" if value is None else i18n.money(value, cur, lang, digits=digits)

    expected, grade = s["expected"], s["grade"]
    shown = money(expected["value"])
    short_revenue = i18n.money_short(s["net_revenue"], cur, lang)  # the exact sum beneath when shortened
    tiles = [
        (
            t("expected_ltv"),
            t("at_least", value=shown) if expected["lifetime"]["is_lower_bound"] else shown,
            t("interval_90", low=money(expected["low"]), high=money(expected["high"])),
        ),
        (
            t("data_grade"),
            t(f"grade_{grade['grade']}"),
            t(
                "grade_counts",
                customers=i18n.number(grade["customers"], lang),
                repeat=i18n.number(grade["repeat_buyers"], lang),
                days=i18n.number(grade["days_observed"], lang),
            ),
        ),
        (t("customers"), i18n.number(s["customers"], lang), ""),
        (
            t("net_revenue"),
            short_revenue,
            "" if short_revenue == money(s["net_revenue"]) else money(s["net_revenue"]),
        ),
        (t("aov"), money(s["aov"]), ""),
        (t("ltv"), money(s["ltv_mean"]), t("ltv_median", value=money(s["ltv_median"]))),
        (t("purchases_per_customer"), i18n.number(s["purchases_per_customer"], lang, digits=2), ""),
        (t("repeat_rate"), i18n.percent(s["repeat_rate"], lang), ""),
        (t("active_share", days=s["inactive_after_days"]), i18n.percent(s["active_share"], lang), ""),
    ]
    top20 = next((row for row in data["pareto"] if abs(row["top_share"] - 0.2) < 1e-9), data["pareto"][-1])
    cac_rows, over = [], []
    for row in data["cac"] or []:
        payback = row["payback_months"]
        beyond = row["max_cac"] is not None and row["cac"] > row["max_cac"]
        if beyond:
            over.append(row["channel"])
        verdict = t(
            "over_max_cac" if beyond else "within_max_cac",
            cac=money(row["cac"]),
            max=money(row["max_cac"]),
            over=money(row["cac"] - row["max_cac"]) if beyond else "",
        )
        cac_rows.append(
            {
                "over": beyond,
                "verdict": verdict,
                "cells": [
                    row["channel"],
                    money(row["spend"]),
                    i18n.number(row["new_customers"], lang),
                    money(row["cac"]),
                    money(row["gross_profit_ltv"]),
                    formatting.ratio(row["ltv_to_cac"], lang) if row["ltv_to_cac"] is not None else "",
                    money(row["max_cac"]),
                    _payback(payback, lang),
                ],
            }
        )
    target = i18n.number(TARGET_RATIO, lang)
    cac_verdict = (
        t("channels_over", count=len(over), total=len(cac_rows), target=target)
        if over
        else t("channels_all_within", target=target)
    )
    predicted_rows = [
        {
            "cells": [
                row["channel"],
                i18n.number(row["customers"], lang),
                money(row["ltv"]),
                f"{money(row['ltv_low'])} – {money(row['ltv_high'])}",
                money(row["max_cac"]),
                f"{money(row['max_cac_low'])} – {money(row['max_cac_high'])}",
                money(row["cac"]) if row.get("cac") is not None else "",
            ],
            "over": (row.get("cac") or 0) > row["max_cac_high"],
            "caveat": "; ".join(
                t(key)
                for key in ("caveat_small_group", "caveat_mostly_predicted")
                if row[key.split("_", 1)[1]]
            ),
        }
        for row in data.get("predicted") or []
    ]
    product_rows = [
        [
            row["first_product"],
            i18n.number(row["customers"], lang),
            i18n.percent(row["repeat_rate"], lang),
            i18n.percent(row["retention_3"], lang) if row["retention_3"] is not None else "—",
            money(row["ltv_12"]) if row["ltv_12"] is not None else "—",
        ]
        for row in data["products"]
    ]

    def cell(value: float | None, fmt: Any) -> str:
        return "—" if value is None else fmt(value)

    def share(value: float) -> str:
        return i18n.percent(value, lang)

    scenario_rows = [
        [
            t("scenario_baseline") if row["scenario"] == "baseline" else row["scenario"],
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
        "format": formatting.rules(lang),
        "currency": cur,
        "labels": labels,
        "months": {c: i18n.month(dt.date.fromisoformat(c), lang) for c in data["heatmaps"]["ltv"]["cohorts"]},
        **{k: data[k] for k in ("heatmaps", "cohort_curves", "channel_curves", "lorenz", "cac")},
    }
    scripts = [_static("echarts.min.js"), _static("format.js"), _static("report.js")]
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
            headline=sections.headline(data, lang),
            comparison=sections.comparison(data, lang),
            retainers=sections.retainers(data, lang),
            expected_breakdown=t(
                "expected_breakdown",
                aov=money(expected["aov"]),
                freq=i18n.number(expected["purchases_per_year"], lang, digits=2),
                life=i18n.number(expected["lifetime"]["years"], lang, digits=2),
                ltv=tiles[0][1],
            ),
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
            cac_verdict=cac_verdict if cac_rows else "",
            channels_over=over,
            product_rows=product_rows,
            predicted_rows=predicted_rows,
            scenario_rows=scenario_rows,
            model_notes=[i18n.localized(note, lang) for note in data.get("model_notes") or []],
            target=target,
            policy=report_policy(scripts),
            chart_script=inline_script(scripts[0]),
            format_script=inline_script(scripts[1]),
            report_script=inline_script(scripts[2]),
            chart_data=chart_payload,
            actions=(data.get("actions") or {}).get(lang),
        )
    )


def _render_book(data: dict[str, Any], lang: str, today: dt.date) -> str:
    """The report of a service business without orders: its client book alone."""
    book = sections.retainers(data, lang)
    return (
        _environment()
        .get_template("book.html.j2")
        .render(
            lang=lang,
            t=lambda key, **values: i18n.text(key, lang, **values),
            title=i18n.text("book_report_title", lang),
            period=i18n.text("book_report_period", lang, date=i18n.day(today, lang)),
            generated=i18n.text("generated", lang, date=i18n.day(today, lang)),
            others="",
            retainers=book,
            policy=report_policy([]),
        )
    )


def _payback(months: float | None, lang: str) -> str:
    """``within the first month`` for 0 (the first month's profit covers the CAC), else the months; ``not
    yet`` when the cohorts have not paid back."""
    if months is None:
        return i18n.text("not_yet", lang)
    if months == 0:
        return i18n.text("payback_first_month", lang)
    return i18n.text("payback_months_n", lang, months=i18n.number(months, lang))


def write_report(html: str, out: str | Path) -> Path:
    """Write a rendered report to ``out`` and return the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
