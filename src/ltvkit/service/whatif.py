"""Use cases of what-if questions: scenarios of the average check, frequency, retention and margin, and the
tripwire's price. The CLI, the API and the report call these."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ltvkit.data.sources import Tables
from ltvkit.errors import collect_notes
from ltvkit.service.analysis import choose_currency
from ltvkit.whatif.scenarios import Baseline, Scenario, baseline_from, evaluate, read_scenarios
from ltvkit.whatif.tripwire import (
    TripwireBaseline,
    TripwireScenario,
    evaluate_tripwire,
    tripwire_baseline,
)

__all__ = ["Scenario", "Tripwire", "TripwireScenario", "WhatIf", "read_scenarios", "scenarios", "tripwire"]


@dataclass(frozen=True)
class WhatIf:
    """Today's baseline and one row per scenario (formula and model figures), with the models' notes."""

    baseline: Baseline
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def scenarios(
    tables: Tables,
    planned: list[Scenario],
    *,
    margin: float = 1.0,
    horizon: float = 36,
    target: float = 3.0,
    currency: str | None = None,
) -> WhatIf:
    """LTV and the affordable CAC today and under each planned scenario, by formula and by model."""
    orders = tables.table("orders")
    with collect_notes() as notes:
        base = baseline_from(orders, margin=margin, currency=choose_currency(orders, currency)[0])
        table = evaluate(base, planned, horizon_months=horizon, target_ratio=target)
    return WhatIf(base, table, notes)


@dataclass(frozen=True)
class Tripwire:
    """Today's tripwire buyers and one row per price scenario."""

    baseline: TripwireBaseline
    table: pd.DataFrame


def tripwire(
    tables: Tables,
    product: str,
    core: str,
    planned: list[TripwireScenario],
    *,
    target: float = 3.0,
    currency: str | None = None,
) -> Tripwire:
    """LTV and profit of a tripwire buyer, and the CAC one can afford, at each planned price."""
    orders = tables.table("orders")
    base = tripwire_baseline(orders, product, core, currency=choose_currency(orders, currency)[0])
    return Tripwire(base, evaluate_tripwire(base, planned, target_ratio=target))
