"""KPI-linked fees: a base fee plus bonuses by KPI attainment and by funnel stages reached, month by month.

Each KPI's attainment compares the month's figure with its target: ``actual / target`` when higher is better
(leads, revenue), ``target / actual`` when lower is better (cost per lead). A KPI's bonus is the share of
the base fee of its highest tier whose attainment threshold was reached (tiers such as 1.0 → 10%,
1.2 → 20%). Each funnel stage reached in the month (its figure at or above its threshold) adds
``stage_bonus`` of the base fee. The month's bonus share is the sum, capped at ``cap`` when one is agreed::

    fee = base fee × (1 + min(Σ_kpi tier share + stage_bonus × stages reached, cap))

Settings (TOML); a single KPI can also be written with ``kpi``, ``target``, ``better``, ``tiers`` at the
top level::

    base_fee = 1500
    currency = "USD"
    cap = 0.4                   # optional
    stage_bonus = 0.05          # +5% for each stage reached in a month

    [[kpis]]
    name = "cost per lead"
    target = 12.0
    better = "lower"            # or "higher"
    tiers = [[1.0, 0.10], [1.2, 0.20]]

    [[kpis]]
    name = "leads"
    target = 100
    tiers = [[1.0, 0.05]]

    [[stages]]
    name = "applications"
    threshold = 1               # reached at 1 or more (the default)

The figures have a ``month`` column and a column per KPI and per stage, named as in the terms (a single
KPI's figures may be any two columns: month, value).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ltvkit.errors import InputError, ParameterError
from ltvkit.io.parsing import parse_amount_column
from ltvkit.io.presets import normalize_header
from ltvkit.io.readers import read_table
from ltvkit.retainer.invoice import round_money


@dataclass(frozen=True)
class Kpi:
    """One KPI with its target, its direction and its bonus tiers (attainment threshold, share of fee)."""

    name: str
    target: float
    better: str = "higher"
    tiers: tuple[tuple[float, float], ...] = ()

    def validate(self) -> None:
        if self.target <= 0:
            raise ParameterError(f"the target of {self.name!r} must be positive")
        if self.better not in ("higher", "lower"):
            raise ParameterError(f"{self.name!r}: better must be 'higher' or 'lower'")
        if any(share < 0 for _, share in self.tiers):
            raise ParameterError(f"{self.name!r}: bonus shares cannot be negative")

    def attainment(self, actual: float) -> float:
        if actual <= 0:
            return float("inf") if self.better == "lower" else 0.0
        return actual / self.target if self.better == "higher" else self.target / actual

    def bonus_share(self, attainment: float) -> float:
        reached = [share for threshold, share in self.tiers if attainment >= threshold]
        return reached[-1] if reached else 0.0


@dataclass(frozen=True)
class Stage:
    """A funnel stage: reached in a month when its figure is at least ``threshold``."""

    name: str
    threshold: float = 1.0


@dataclass(frozen=True)
class KpiTerms:
    """What was agreed: the base fee, the KPIs, the stages and their bonus, and an optional cap."""

    base_fee: Decimal
    currency: str
    kpis: tuple[Kpi, ...]
    stages: tuple[Stage, ...] = ()
    stage_bonus: float = 0.0
    cap: float | None = None
    single: bool = field(default=False, compare=False)  # written with one top-level KPI

    @classmethod
    def load(cls, path: str | Path) -> KpiTerms:
        path = Path(path)
        try:
            terms = cls.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"cannot read the KPI terms ({exc!r})",
                file=path,
                hint="it needs base_fee, currency and [[kpis]] with name, target, better and tiers",
            ) from exc
        terms.validate()
        return terms

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KpiTerms:
        single = "kpis" not in data
        kpis = [data | {"name": data.get("kpi", "KPI")}] if single else data["kpis"]
        return cls(
            base_fee=Decimal(str(data["base_fee"])),
            currency=str(data["currency"]).upper(),
            kpis=tuple(
                Kpi(
                    name=str(k["name"]),
                    target=float(k["target"]),
                    better=str(k.get("better", "higher")),
                    tiers=tuple(sorted((float(a), float(b)) for a, b in k.get("tiers", []))),
                )
                for k in kpis
            ),
            stages=tuple(Stage(str(s["name"]), float(s.get("threshold", 1))) for s in data.get("stages", [])),
            stage_bonus=float(data.get("stage_bonus", 0.0)),
            cap=float(data["cap"]) if "cap" in data else None,
            single=single,
        )

    def validate(self) -> None:
        if self.base_fee <= 0:
            raise ParameterError("the base fee must be positive")
        if not self.kpis and not self.stages:
            raise ParameterError("the terms name no KPI and no stage")
        for kpi in self.kpis:
            kpi.validate()
        names = [k.name for k in self.kpis] + [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ParameterError("every KPI and stage needs its own name")
        if self.stage_bonus < 0 or (self.cap is not None and self.cap < 0):
            raise ParameterError("the stage bonus and the cap cannot be negative")

    def describe(self) -> str:
        """The terms in one line, for a table title."""
        parts = [f"{k.name} (target {k.target:g}, {k.better} is better)" for k in self.kpis]
        if self.stages:
            parts.append(
                f"+{self.stage_bonus:.0%} per stage reached ({', '.join(s.name for s in self.stages)})"
            )
        if self.cap is not None:
            parts.append(f"bonus capped at {self.cap:.0%}")
        return "; ".join(parts)


def monthly_fees(terms: KpiTerms, figures: pd.DataFrame) -> pd.DataFrame:
    """Per month of ``figures`` (a ``month`` column and one per KPI and stage): each KPI's figure and
    attainment, the stages reached, the bonus share (see the module docstring), the bonus and the fee."""
    missing = [n for n in [k.name for k in terms.kpis] + [s.name for s in terms.stages] if n not in figures]
    if missing:
        raise InputError(
            f"the figures have no column for {', '.join(repr(m) for m in missing)}",
            hint=f"their columns are: {', '.join(map(str, figures.columns))}",
        )
    rows = []
    for _, month in figures.iterrows():
        row: dict[str, Any] = {"month": month["month"]}
        share = 0.0
        for kpi in terms.kpis:
            attained = kpi.attainment(float(month[kpi.name]))
            row[kpi.name] = float(month[kpi.name])
            row["attainment" if terms.single else f"{kpi.name} attainment"] = attained
            share += kpi.bonus_share(attained)
        if terms.stages:
            reached = [s.name for s in terms.stages if float(month[s.name]) >= s.threshold]
            row["stages_reached"] = len(reached)
            share += terms.stage_bonus * len(reached)
        if terms.cap is not None:
            share = min(share, terms.cap)
        bonus = round_money(terms.base_fee * Decimal(str(share)), terms.currency)
        row |= {
            "bonus_share": share,
            "base_fee": float(terms.base_fee),
            "bonus": float(bonus),
            "fee": float(terms.base_fee + bonus),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def read_figures(path: str | Path, terms: KpiTerms) -> pd.DataFrame:
    """Monthly KPI figures: a month column and a column per KPI and stage of ``terms`` (matched by name,
    case and spacing ignored); for terms with a single top-level KPI, the first two columns are month and
    that KPI's value, whatever their names."""
    table = read_table(path)
    frame = table.frame
    if frame.shape[1] < 2:
        raise InputError("the KPI figures need a month column and a value column", file=path)
    month_column = frame.columns[0]
    if terms.single:
        wanted = {terms.kpis[0].name: frame.columns[1]}
    else:
        by_header = {normalize_header(str(c)): c for c in frame.columns}
        names = [k.name for k in terms.kpis] + [s.name for s in terms.stages]
        absent = [n for n in names if normalize_header(n) not in by_header]
        if absent:
            raise InputError(
                f"no column for {', '.join(repr(n) for n in absent)}",
                file=path,
                hint=f"its columns are: {', '.join(map(str, frame.columns))}",
            )
        wanted = {n: by_header[normalize_header(n)] for n in names}
    out = pd.DataFrame({"month": frame[month_column].str.strip()})
    for name, column in wanted.items():
        parsed = parse_amount_column(frame[column])
        bad = parsed.errors.notna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                str(parsed.errors.iloc[i]), file=path, row=table.row_numbers[i], column=str(column)
            )
        out[name] = parsed.values
    return out
