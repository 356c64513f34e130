"""The report's sections on the LTV to use for CAC (the headline), the comparison of two groups and the
retainer clients: what each shows in one language, from the figures of
:func:`ltvkit.service.report.report_data` (their sentences composed there, by the service, in every
language; here only the table cells are formatted). Each section has its own template,
``templates/sections/<name>.html.j2``, included by the report."""

from __future__ import annotations

from typing import Any

from ltvkit import i18n
from ltvkit.service.comparison import points


def headline(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """The LTV to use for CAC: its texts in ``lang`` and whether the models or the formula gave it."""
    found = data["headline"]
    return found["texts"][lang] | {"basis": found["basis"], "grade_key": found["grade"]["grade"]}


def comparison(data: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """Two groups by age up to the verdict age: customers, retention and LTV of each, and the differences
    with their 90% intervals (None when the data has no two groups to compare)."""
    found = data.get("comparison")
    if not found:
        return None
    cur = data["currency"]

    def share(value: float | None) -> str:
        return "—" if value is None else i18n.percent(value, lang)

    def money(value: float | None) -> str:
        return "—" if value is None else i18n.money(value, cur, lang)

    def diff(value: float | None) -> str:
        return "—" if value is None else points(value, lang)

    rows = [
        {
            "verdict": row["age"] == found["age"],
            "cells": [
                i18n.number(row["age"], lang),
                f"{i18n.number(row['customers_a'], lang)} / {i18n.number(row['customers_b'], lang)}",
                share(row["retention_a"]),
                share(row["retention_b"]),
                diff(row["retention_diff"]),
                f"{diff(row['retention_low'])} … {diff(row['retention_high'])}",
                money(row["ltv_a"]),
                money(row["ltv_b"]),
                money(row["ltv_diff"]),
                f"{money(row['ltv_low'])} … {money(row['ltv_high'])}",
            ],
        }
        for row in found["by_age"]
        if row["age"] <= found["age"]
    ]
    texts = found["texts"][lang]
    return {
        "names": texts["names"],
        "how_chosen": texts["how_chosen"],
        "sentences": texts["sentences"],
        "rows": rows,
    }


def retainers(data: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """The client book's sentences and tables in ``lang`` (None without retainer clients)."""
    found = data.get("retainers")
    if not found:
        return None
    return found["texts"][lang]
