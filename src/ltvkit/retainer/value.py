"""Expected client value, and what a client may cost to win.

**Retention** is a shifted-beta-geometric fit (Fader & Hardie 2007, :mod:`ltvkit.models.sbg`) of the months
billed (``periods``) and whether the client has left (``churned``). With fewer than :data:`FEW_CLIENTS`
clients the fit is regularised (the weakly informative priors of :mod:`ltvkit.models.priors`, which keep
the parameters finite where a few lifetimes cannot tell a loyal minority from a uniform churn rate) and the
result says that it rests on few clients.

**Value so far** of a client: what it paid (the client book: prorated first invoices and KPI bonuses
included), or, for a client the book does not have, its contract value (fee × months retained).

**Expected LTV of a new client**, per currency, with S(t) the sBG survival, d the monthly discount rate and
H = :data:`HORIZON_MONTHS`::

    revenue per client-month r = Σ value so far / Σ months retained      (clients of that currency)
    expected LTV = r × Σ_{t=0}^{H−1} S(t) / (1+d)^t

and of an active client who has been billed n months: its value so far + its MRR × Σ_{k=1}^{H}
S(n+k)/S(n)/(1+d)^k. The interval comes from :data:`DRAWS` draws of (α, β) from the fit's uncertainty; it
leaves out the uncertainty of r.

**Affordable acquisition cost** = expected LTV × margin. The **payback month** of a cost c is the first month
t with r × margin × Σ_{k=0}^{t−1} S(k)/(1+d)^k ≥ c (None when not within H). The most one may spend to earn
it back within t months is that sum itself. **CAC per source** = the spend of a channel (in its currency,
up to ``as_of``) / the clients of that source who had started by then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from ltvkit.errors import NotFittedError, ParameterError, collect_notes
from ltvkit.models import ShiftedBetaGeometricModel
from ltvkit.models.base import compress
from ltvkit.retainer.notes import Note

FEW_CLIENTS = 30
HORIZON_MONTHS = 120
DRAWS = 500
PAYBACK_WITHIN = (3, 6, 12)


@dataclass
class Retention:
    """The sBG fit of client retention: on how many clients, how many of whom have left (``ended``; with none,
    the data say nothing about churn and the expected values are unknown), whether it was regularised, and
    notes on how far to trust it."""

    model: ShiftedBetaGeometricModel
    clients: int
    ended: int
    regularised: bool
    notes: list[Note] = field(default_factory=list)

    def survival(self, months: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        """S(t) = B(α, β+t)/B(α, β) for each t in ``months``; with ``params`` (draws × 2: α, β) one row per
        draw."""
        rows = self.model.params_.to_numpy()[None, :] if params is None else params
        a, b = rows[:, :1], rows[:, 1:]
        curves = np.exp(betaln(a, b + np.asarray(months, dtype=float)[None, :]) - betaln(a, b))
        return curves[0] if params is None else curves

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": float(self.model.params_["alpha"]),
            "beta": float(self.model.params_["beta"]),
            "clients": self.clients,
            "ended": self.ended,
            "regularised": self.regularised,
            "month_2_retention": float(self.model.retention_rate(2)),
        }


def fit_retention(lives: pd.DataFrame) -> Retention:
    """The sBG fit of ``lives`` (``periods``, ``churned``), regularised for few clients (see the module
    docstring); warnings that the data cannot pin it down become notes."""
    few = len(lives) < FEW_CLIENTS
    with collect_notes() as warned:
        model = ShiftedBetaGeometricModel(regularization=1.0 if few else "none").fit(
            compress(lives, ("periods", "churned"))
        )
    ended = int(lives["churned"].sum())
    notes = [Note("retainer_note_model", {"text": text}) for text in warned]
    if not ended:
        notes = [Note("retainer_note_no_churn", {"clients": len(lives)})]
    elif few:
        notes.append(Note("retainer_note_few", {"clients": len(lives)}))
    return Retention(model, len(lives), ended, few, notes)


def _discounted(values: np.ndarray, discount_rate: float, first: int) -> np.ndarray:
    """``values`` (last axis: months first, first+1, …) discounted by (1+d)^month."""
    monthly = (1 + discount_rate) ** (1 / 12) - 1
    return values / (1 + monthly) ** np.arange(first, first + values.shape[-1])


def value_so_far(lives: pd.DataFrame, payments: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per client of ``lives``: what it paid in its contract's currency, or its contract value when the book
    has no row of it; and the basis (``paid`` or ``contract``)."""
    paid = (
        payments[payments["status"] == "paid"].groupby(["client_id", "currency"])["amount"].sum()
        if len(payments)
        else pd.Series(dtype=float)
    )
    in_book = lives["client_id"].isin(payments["client_id"])
    keys = pd.MultiIndex.from_arrays([lives["client_id"], lives["currency"]])
    amounts = pd.Series(paid.reindex(keys).fillna(0.0).to_numpy(), index=lives.index)
    value = amounts.where(in_book, lives["contract_value"])
    return value, pd.Series(np.where(in_book, "paid", "contract"), index=lives.index)


@dataclass(frozen=True)
class CurrencyValue:
    """Expected LTV of a new client in one currency, its interval, the affordable acquisition cost and how
    much may be spent to earn it back within 3, 6 and 12 months."""

    currency: str
    clients: int
    revenue_per_month: float
    expected_ltv: float
    low: float
    high: float
    interval: float
    margin: float
    affordable_cac: float
    affordable_within: dict[int, float]
    cumulative_margin: list[float]

    def payback_month(self, cost: float) -> int | None:
        """The first month by whose end the expected margin of a new client covers ``cost``."""
        reached = np.nonzero(np.asarray(self.cumulative_margin) >= cost - 1e-9)[0]
        return int(reached[0]) + 1 if len(reached) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "clients": self.clients,
            "revenue_per_month": self.revenue_per_month,
            "expected_ltv": self.expected_ltv,
            "low": self.low,
            "high": self.high,
            "interval": self.interval,
            "margin": self.margin,
            "affordable_cac": self.affordable_cac,
            "affordable_within": {str(k): v for k, v in self.affordable_within.items()},
        }


def expected_values(
    lives: pd.DataFrame,
    retention: Retention,
    *,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    interval: float = 0.9,
) -> list[CurrencyValue]:
    """One :class:`CurrencyValue` per currency of ``lives`` (with ``value`` so far and ``months``)."""
    if not 0 < margin <= 1:
        raise ParameterError(f"the margin is a share of the fee in (0, 1], not {margin}")
    if not 0 < interval < 1:
        raise ParameterError(f"the interval is a probability in (0, 1), not {interval}")
    if discount_rate < 0:
        raise ParameterError(f"the discount rate cannot be negative, not {discount_rate}")
    horizon = np.arange(HORIZON_MONTHS)
    months = _discounted(retention.survival(horizon), discount_rate, 0)
    low, high = _interval(retention, horizon, discount_rate, interval)
    if not retention.ended:  # unknown, not "forever"
        months, low, high = np.full(HORIZON_MONTHS, np.nan), np.nan, np.nan
    out = []
    for currency, group in lives.groupby("currency"):
        rate = float(group["value"].sum() / group["months"].sum()) if group["months"].sum() > 0 else 0.0
        cumulative = np.cumsum(months) * rate * margin
        out.append(
            CurrencyValue(
                currency=str(currency),
                clients=len(group),
                revenue_per_month=rate,
                expected_ltv=float(rate * months.sum()),
                low=float(rate * low),
                high=float(rate * high),
                interval=interval,
                margin=margin,
                affordable_cac=float(rate * months.sum() * margin),
                affordable_within={t: float(cumulative[t - 1]) for t in PAYBACK_WITHIN},
                cumulative_margin=cumulative.tolist(),
            )
        )
    return out


def _interval(
    retention: Retention, horizon: np.ndarray, discount_rate: float, interval: float
) -> tuple[float, float]:
    """The interval of the discounted expected months of a new client over parameter draws (NaN for a model
    set by hand, which has no uncertainty)."""
    try:
        draws = retention.model.sample_params(DRAWS, random_state=0)
    except NotFittedError:
        return float("nan"), float("nan")
    drawn = _discounted(retention.survival(horizon, draws), discount_rate, 0).sum(axis=1)
    tail = (1 - interval) / 2 * 100
    low, high = np.percentile(drawn, [tail, 100 - tail])
    return float(low), float(high)


def expected_client_ltv(
    lives: pd.DataFrame, run_rate: pd.Series, retention: Retention, *, discount_rate: float = 0.0
) -> pd.Series:
    """Per client: its value so far, plus for an active client its ``run_rate`` (MRR) × the discounted
    expected months still to come given the ``periods`` it has been billed (see the module docstring)."""
    n = lives["periods"].to_numpy(dtype=float)[:, None]
    ahead = np.arange(1, HORIZON_MONTHS + 1)
    a, b = retention.model.params_.to_numpy()
    kept = np.exp(betaln(a, b + n + ahead) - betaln(a, b + n))  # S(n+k)/S(n)
    to_come = _discounted(kept, discount_rate, 1).sum(axis=1)
    active = lives["churned"].to_numpy() == 0
    if not retention.ended:
        to_come = np.full(len(lives), np.nan)
    return lives["value"] + np.where(active, run_rate.to_numpy() * to_come, 0.0)


def acquisition_costs(
    lives: pd.DataFrame, spend: pd.DataFrame, values: list[CurrencyValue], as_of: dt.date
) -> pd.DataFrame:
    """Per source and spend currency: ``spend`` up to ``as_of``, ``clients`` won, ``cac``, the
    ``affordable_cac`` in that currency, and the ``payback_month`` of the CAC (see the module docstring);
    sources are matched with the spend's channels ignoring case and spacing."""
    columns = ["source", "currency", "spend", "clients", "cac", "affordable_cac", "payback_month"]
    if spend.empty or "source" not in lives or lives["source"].isna().all():
        return pd.DataFrame(columns=columns)
    spent = spend[pd.to_datetime(spend["date"]) <= pd.Timestamp(as_of)]
    spent = spent.assign(key=spent["channel"].astype(str).str.strip().str.lower())
    won = lives["source"].dropna().astype(str).str.strip().str.lower().value_counts()
    by_currency = {v.currency: v for v in values}
    rows = []
    for (key, currency), amount in spent.groupby(["key", "currency"])["amount"].sum().items():
        clients = int(won.get(key, 0))
        cac = amount / clients if clients else None
        value = by_currency.get(str(currency))
        rows.append(
            {
                "source": spent.loc[spent["key"] == key, "channel"].iloc[0],
                "currency": currency,
                "spend": float(amount),
                "clients": clients,
                "cac": cac,
                "affordable_cac": value.affordable_cac if value else None,
                "payback_month": value.payback_month(cac) if value and cac is not None else None,
            }
        )
    return pd.DataFrame(rows, columns=columns)
