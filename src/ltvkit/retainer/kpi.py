"""KPI-linked fees: a base fee plus a bonus by KPI attainment, month by month.

Attainment compares the month's KPI with its target: ``actual / target`` when higher is better (leads,
revenue), ``target / actual`` when lower is better (cost per lead). The bonus is the share of the base fee of
the highest tier whose attainment threshold was reached (tiers such as 1.0 → 10%, 1.2 → 20%).

Settings (TOML)::

    base_fee = 1500
    currency = "USD"
    kpi = "cost per lead"
    target = 12.0
    better = "lower"            # or "higher"
    tiers = [[1.0, 0.10], [1.2, 0.20]]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ltvkit.errors import InputError, ParameterError
from ltvkit.io.parsing import parse_amount_column
from ltvkit.io.readers import read_table
from ltvkit.retainer.invoice import round_money


@dataclass(frozen=True)
class KpiTerms:
    base_fee: Decimal
    currency: str
    kpi: str
    target: float
    better: str
    tiers: tuple[tuple[float, float], ...]

    @classmethod
    def load(cls, path: str | Path) -> KpiTerms:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            terms = cls(
                base_fee=Decimal(str(data["base_fee"])),
                currency=str(data["currency"]).upper(),
                kpi=str(data.get("kpi", "KPI")),
                target=float(data["target"]),
                better=str(data.get("better", "higher")),
                tiers=tuple(sorted((float(a), float(b)) for a, b in data.get("tiers", []))),
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"cannot read the KPI terms ({exc!r})",
                file=path,
                hint="it needs base_fee, currency, target, better and tiers",
            ) from exc
        terms.validate()
        return terms

    def validate(self) -> None:
        if self.base_fee <= 0 or self.target <= 0:
            raise ParameterError("the base fee and the KPI target must be positive")
        if self.better not in ("higher", "lower"):
            raise ParameterError("better must be 'higher' or 'lower'")
        if any(share < 0 for _, share in self.tiers):
            raise ParameterError("bonus shares cannot be negative")

    def attainment(self, actual: float) -> float:
        if actual <= 0:
            return float("inf") if self.better == "lower" else 0.0
        return actual / self.target if self.better == "higher" else self.target / actual

    def bonus_share(self, attainment: float) -> float:
        reached = [share for threshold, share in self.tiers if attainment >= threshold]
        return reached[-1] if reached else 0.0


def monthly_fees(terms: KpiTerms, figures: pd.DataFrame) -> pd.DataFrame:
    """Per month of ``figures`` (columns ``month`` and ``value``): attainment, bonus share, bonus and fee."""
    rows = []
    for month, value in zip(figures["month"], figures["value"], strict=False):
        attained = terms.attainment(float(value))
        share = terms.bonus_share(attained)
        bonus = round_money(terms.base_fee * Decimal(str(share)), terms.currency)
        rows.append(
            {
                "month": month,
                terms.kpi: float(value),
                "attainment": attained,
                "bonus_share": share,
                "base_fee": float(terms.base_fee),
                "bonus": float(bonus),
                "fee": float(terms.base_fee + bonus),
            }
        )
    return pd.DataFrame(rows)


def read_figures(path: str | Path) -> pd.DataFrame:
    """KPI figures from a table with a month column and a value column (the first two columns)."""
    table = read_table(path)
    if table.frame.shape[1] < 2:
        raise InputError("the KPI figures need a month column and a value column", file=path)
    month, value = table.frame.columns[:2]
    parsed = parse_amount_column(table.frame[value])
    bad = parsed.errors.notna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(str(parsed.errors.iloc[i]), file=path, row=table.row_numbers[i], column=str(value))
    return pd.DataFrame({"month": table.frame[month].str.strip(), "value": parsed.values})
