"""What-if scenarios: what happens to LTV, and to the CAC one can afford, if…

Two computations side by side, both starting from the user's own data:

**Formula** (the breakdown of :mod:`ltvkit.analytics.historical`): LTV = AOV × purchases per customer,
where purchases per customer = 1 + repeat purchases, and lifetime L (months) is turned into a monthly
churn 1/L.

- the average check: AOV' = AOV × (1 + ``aov_change``) + ``upsell_rate`` × ``upsell_price`` (an upsell
  taken with that share of purchases);
- purchase frequency: repeat purchases × (1 + ``frequency_change``) (e.g. a follow-up sequence);
- retention: monthly churn + ``churn_change`` (in points: −0.02 is two points better); repeat purchases
  scale with the lifetime 1/churn', as customers have longer to buy;
- margin: LTV × margin; the CAC one can afford = margin LTV / target LTV:CAC.

**Model** (BG/NBD + Gamma-Gamma fitted on the data): a new customer's value over ``horizon`` months is
(1 + E[X(horizon)]) × E[spend] × margin, with the parameters moved as the scenario says: the spend scale γ
by the AOV factor, the purchase rate (α divided by 1 + ``frequency_change``), and the mean drop-out
probability a/(a+b) by the ratio of new to old churn (b adjusted, a kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import ibis.expr.types as ir
import pandas as pd

from ltvkit.analytics.historical import LtvSummary, ltv_summary
from ltvkit.errors import InputError, ParameterError
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.models.base import compress

if TYPE_CHECKING:
    from ltvkit.whatif.tripwire import TripwireScenario
from ltvkit.predict.summaries import customer_summary

MONTH_WEEKS = 365.25 / 12 / 7
S = TypeVar("S", bound="Scenario | TripwireScenario")  # a scenario dataclass with a name


@dataclass(frozen=True)
class Scenario:
    """A change to the business; all fields default to "no change"."""

    name: str = "scenario"
    aov_change: float = 0.0
    upsell_rate: float = 0.0
    upsell_price: float = 0.0
    frequency_change: float = 0.0
    churn_change: float = 0.0
    margin: float | None = None

    def validate(self) -> None:
        if not 0 <= self.upsell_rate <= 1:
            raise ParameterError(f"{self.name}: the upsell rate is a share of purchases in [0, 1]")
        if self.upsell_price < 0 or self.aov_change <= -1 or self.frequency_change <= -1:
            raise ParameterError(f"{self.name}: the check and the frequency cannot fall by 100% or more")
        if self.margin is not None and not 0 < self.margin <= 1:
            raise ParameterError(f"{self.name}: the margin is a share of revenue in (0, 1]")


@dataclass(frozen=True)
class Baseline:
    """The user's business now."""

    currency: str
    aov: float
    purchases_per_customer: float
    lifetime_months: float
    margin: float
    model: tuple[BetaGeoModel, GammaGammaModel] | None = field(default=None, repr=False)

    @property
    def monthly_churn(self) -> float:
        return 1 / self.lifetime_months


def baseline_from(
    orders: ir.Table, *, margin: float = 1.0, currency: str | None = None, with_model: bool = True
) -> Baseline:
    """The baseline of :func:`evaluate` from the orders (and fitted BG/NBD + Gamma-Gamma models)."""
    summary = ltv_summary(orders, currency=currency)
    model = None
    if with_model:
        rfm = customer_summary(orders, unit="week", currency=currency).execute()
        model = (
            BetaGeoModel().fit(compress(rfm, ("frequency", "recency", "T"))),
            GammaGammaModel(q_constraint=True).fit(rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]),
        )
    return baseline_of(summary, margin=margin, model=model)


def baseline_of(
    summary: LtvSummary, *, margin: float = 1.0, model: tuple[BetaGeoModel, GammaGammaModel] | None = None
) -> Baseline:
    """The baseline of an LTV summary the caller has already (the formula's figures; ``model`` for the
    model version)."""
    return Baseline(
        summary.currency,
        summary.aov,
        summary.purchases_per_customer,
        summary.lifetime_years * 12,
        margin,
        model,
    )


def formula(base: Baseline, s: Scenario) -> dict[str, float]:
    """The formula version (see the module docstring)."""
    s.validate()
    aov = base.aov * (1 + s.aov_change) + s.upsell_rate * s.upsell_price
    churn = base.monthly_churn + s.churn_change
    if churn <= 0:
        raise ParameterError(
            f"{s.name}: monthly churn {base.monthly_churn:.3f} {s.churn_change:+.3f} is not positive"
        )
    lifetime = 1 / churn
    repeats = (base.purchases_per_customer - 1) * (1 + s.frequency_change) * lifetime / base.lifetime_months
    margin = s.margin if s.margin is not None else base.margin
    ltv = aov * (1 + repeats)
    return {
        "aov": aov,
        "purchases_per_customer": 1 + repeats,
        "lifetime_months": lifetime,
        "monthly_churn": churn,
        "ltv": ltv,
        "margin_ltv": ltv * margin,
    }


def adjusted_models(base: Baseline, s: Scenario) -> tuple[BetaGeoModel, GammaGammaModel]:
    """The fitted models with the scenario's changes (see the module docstring)."""
    if base.model is None:
        raise ParameterError("the model version needs fitted models (baseline_from(..., with_model=True))")
    bg, gg = base.model
    r, alpha, a, b = bg.params_
    p, q, gamma = gg.params_
    aov_factor = (base.aov * (1 + s.aov_change) + s.upsell_rate * s.upsell_price) / base.aov
    churn_ratio = (base.monthly_churn + s.churn_change) / base.monthly_churn
    dropout = min(a / (a + b) * churn_ratio, 0.999)
    return (
        BetaGeoModel.from_params(
            r=r, alpha=alpha / (1 + s.frequency_change), a=a, b=a * (1 - dropout) / dropout
        ),
        GammaGammaModel.from_params(p=p, q=q, gamma=gamma * aov_factor),
    )


def model_value(
    bg: BetaGeoModel, gg: GammaGammaModel, horizon_months: float, margin: float
) -> dict[str, float]:
    """A new customer's expected purchases and value over the horizon (the first purchase included)."""
    repeats = float(bg.expected_purchases_new_customer(horizon_months * MONTH_WEEKS))
    spend = gg.mean_spend()
    return {
        "purchases_per_customer": 1 + repeats,
        "aov": spend,
        "ltv": (1 + repeats) * spend,
        "margin_ltv": (1 + repeats) * spend * margin,
    }


def evaluate(
    base: Baseline, scenarios: list[Scenario], *, horizon_months: float = 36, target_ratio: float = 3.0
) -> pd.DataFrame:
    """Baseline and each scenario, by formula and (with models) by model, with the affordable CAC."""
    if target_ratio <= 0:
        raise ParameterError("the target LTV:CAC must be positive")
    rows = []
    for s in [Scenario(name="baseline"), *scenarios]:
        margin = s.margin if s.margin is not None else base.margin
        row: dict[str, Any] = {"scenario": s.name, **{f"formula_{k}": v for k, v in formula(base, s).items()}}
        row["formula_max_cac"] = row["formula_margin_ltv"] / target_ratio
        if base.model is not None:
            result = model_value(*adjusted_models(base, s), horizon_months, margin)
            row.update({f"model_{k}": v for k, v in result.items()})
            row["model_max_cac"] = result["margin_ltv"] / target_ratio
        rows.append(row)
    table = pd.DataFrame(rows)
    for prefix in ("formula", "model"):
        if f"{prefix}_ltv" in table:
            table[f"{prefix}_ltv_change"] = table[f"{prefix}_ltv"] / table[f"{prefix}_ltv"].iloc[0] - 1
    return table


def load_scenarios(data: dict[str, Any], kind: type[S] = Scenario) -> list[S]:  # type: ignore[assignment]
    """Scenarios of ``kind`` (:class:`Scenario`, or :class:`~ltvkit.whatif.tripwire.TripwireScenario`) from
    a parsed TOML/JSON mapping ``{name: {field: value}}``."""
    known = {f.name for f in fields(kind) if f.name != "name"}
    out = []
    for name, values in data.items():
        unknown = set(values) - known
        if unknown:
            raise ParameterError(
                f"scenario {name!r}: unknown fields {', '.join(sorted(unknown))}; "
                f"use {', '.join(sorted(known))}"
            )
        out.append(kind(name=name, **values))
    return out


def read_scenarios(path: str | Path, kind: type[S] = Scenario) -> list[S]:  # type: ignore[assignment]
    """:func:`load_scenarios` from a TOML file (``[name]`` tables of fields)."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            f"cannot read the scenarios: {exc}", file=path, hint="write one [name] table a scenario"
        ) from None
    return load_scenarios(data, kind)
