"""Agency metrics by month: MRR and its movements, client churn, net revenue retention, client survival.

**MRR** (monthly recurring revenue) of a client in a month is the monthly fee in force, a run rate: a month
counts when the contract covers some working day of it (:mod:`ltvkit.retainer.months`), and its fee is

- the sum of the client's fee invoices (paid or open) for that month in the contract's currency, when the
  month is a whole month under contract;
- else the fee of the nearest earlier such month, else the contract's fee — so a prorated first invoice
  (857.14 of 1,500) or a month whose invoice is late shows the fee in force, not a drop.

KPI bonuses and one-off projects are not recurring: they count in billed and paid revenue, not in MRR. A
client in the book without a contract counts in the months it has fee invoices.

Movements from month m−1 to m, per currency (never summed across currencies)::

    new          = Σ MRR_m      of clients with MRR_{m−1} = 0 < MRR_m
    expansion    = Σ MRR_m − MRR_{m−1} of clients with 0 < MRR_{m−1} < MRR_m
    contraction  = Σ MRR_{m−1} − MRR_m of clients with MRR_{m−1} > MRR_m > 0
    churned      = Σ MRR_{m−1}  of clients with MRR_{m−1} > 0 = MRR_m
    MRR_m = MRR_{m−1} + new + expansion − contraction − churned
    client churn rate = clients churned in m / clients with MRR in m−1
    net revenue retention (NRR) = Σ MRR_m of the clients of m−1 / MRR_{m−1}

**Client survival**: a Kaplan–Meier estimate over months retained, active clients censored (Kaplan & Meier
1958): the average client lifetime is the area under it up to the longest lifetime watched (a lower bound
while the curve has not reached zero), and the share of clients reaching t months is S just before t,
P(lifetime ≥ t), given only while some client has been watched for t months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from babel.numbers import get_currency_precision

from ltvkit.analytics.lifetime import kaplan_meier, restricted_mean
from ltvkit.retainer.calendar import Weekdays
from ltvkit.retainer.months import month_shares
from ltvkit.retainer.notes import Note
from ltvkit.serialize import records

MILESTONES = (3, 6, 12)
BILLED = ("paid", "open")


def client_months(
    lives: pd.DataFrame, payments: pd.DataFrame, calendar: Weekdays | None = None
) -> tuple[pd.DataFrame, list[Note]]:
    """Per client and month: ``client_id``, ``currency``, ``month`` (its first day), ``share`` of it under
    contract and ``mrr`` (see the module docstring); and notes on what was counted how. ``lives`` is
    :func:`ltvkit.retainer.clients.client_lifetimes`, ``payments`` the client book."""
    calendar = calendar or Weekdays()
    fees = payments[(payments["kind"] == "fee") & payments["status"].isin(BILLED)]
    invoiced = fees.groupby(["client_id", "currency", "month"], as_index=False)["amount"].sum()
    invoiced["month"] = pd.to_datetime(invoiced["month"]).astype("datetime64[ns]")
    rows = [
        (client.client_id, client.currency, client.fee, month, share)
        for client in lives.itertuples(index=False)
        for month, share in month_shares(
            pd.Timestamp(client.start).date(), pd.Timestamp(client.stop).date(), calendar
        )
        if share > 0
    ]
    grid = pd.DataFrame(rows, columns=["client_id", "currency", "fee", "month", "share"])
    grid["month"] = pd.to_datetime(grid["month"]).astype("datetime64[ns]")
    grid = grid.merge(invoiced, on=["client_id", "currency", "month"], how="left")
    grid["mrr"] = grid["amount"].where(grid["share"] == 1)
    grid["mrr"] = grid.groupby("client_id")["mrr"].ffill().fillna(grid["fee"])
    frames = [grid]
    notes: list[Note] = []
    other = fees[~fees["client_id"].isin(lives["client_id"])]
    if len(other):
        loose = other.groupby(["client_id", "currency", "month"], as_index=False)["amount"].sum()
        frames.append(loose.rename(columns={"amount": "mrr"}).assign(share=1.0))
        notes.append(
            Note("retainer_note_no_contract", {"clients": ", ".join(sorted(other["client_id"].unique()))})
        )
    foreign = fees.merge(lives[["client_id", "currency"]], on="client_id", suffixes=("", "_contract"))
    foreign = foreign[foreign["currency"] != foreign["currency_contract"]]
    if len(foreign):
        notes.append(
            Note("retainer_note_foreign_fee", {"clients": ", ".join(sorted(foreign["client_id"].unique()))})
        )
    out = pd.concat(frames, ignore_index=True)
    out["month"] = pd.to_datetime(out["month"])
    digits = out["currency"].map(get_currency_precision)
    out["mrr"] = [round(v, d) for v, d in zip(out["mrr"], digits, strict=True)]
    return out[["client_id", "currency", "month", "share", "mrr"]], notes


def mrr_movements(months: pd.DataFrame, payments: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per currency and month, from the first month with MRR to ``as_of``'s month: ``mrr``, ``clients``,
    ``new``, ``expansion``, ``contraction``, ``churned`` (money), ``new_clients``, ``churned_clients``,
    ``churn_rate``, ``nrr`` (None in a currency's first month), and the month's ``billed``, ``paid`` and
    ``bonus`` revenue from the book (see the module docstring)."""
    last = pd.Timestamp(as_of).to_period("M").start_time
    rows = []
    for currency, group in months.groupby("currency"):
        grid = group.pivot_table(index="client_id", columns="month", values="mrr", aggfunc="sum")
        span = pd.date_range(group["month"].min(), last, freq="MS")
        grid = grid.reindex(columns=span, fill_value=0.0).fillna(0.0)
        before = pd.Series(0.0, index=grid.index)
        for n, month in enumerate(span):
            now = grid[month]
            was, stays = before > 0, now > 0
            rows.append(
                {
                    "currency": currency,
                    "month": month,
                    "mrr": float(now.sum()),
                    "clients": int(stays.sum()),
                    "new": float(now[~was & stays].sum()),
                    "expansion": float((now - before)[was & stays & (now > before)].sum()),
                    "contraction": float((before - now)[was & stays & (now < before)].sum()),
                    "churned": float(before[was & ~stays].sum()),
                    "new_clients": int((~was & stays).sum()),
                    "churned_clients": int((was & ~stays).sum()),
                    "churn_rate": float((was & ~stays).sum() / was.sum()) if n and was.any() else None,
                    "nrr": float(now[was].sum() / before[was].sum()) if n and was.any() else None,
                }
            )
            before = now
    table = pd.DataFrame(rows)
    return table.merge(_revenue(payments), on=["currency", "month"], how="left").fillna(
        {"billed": 0.0, "paid": 0.0, "bonus": 0.0}
    )


def _revenue(payments: pd.DataFrame) -> pd.DataFrame:
    """Billed (paid or open), paid and billed-bonus amounts per currency and month of the book."""
    book = payments.assign(
        month=pd.to_datetime(payments["month"]),
        billed=payments["amount"].where(payments["status"].isin(BILLED), 0.0),
        paid=payments["amount"].where(payments["status"] == "paid", 0.0),
    )
    book["bonus"] = book["billed"].where(book["kind"] == "bonus", 0.0)
    columns = ["billed", "paid", "bonus"]
    if book.empty:
        return pd.DataFrame(columns=["currency", "month", *columns])
    return book.groupby(["currency", "month"], as_index=False)[columns].sum()


@dataclass(frozen=True)
class Survival:
    """Kaplan–Meier survival of clients over months retained (see the module docstring)."""

    table: pd.DataFrame
    average_months: float
    is_lower_bound: bool
    reaching: dict[int, float | None]
    ended: int
    active: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": records(self.table),
            "average_months": self.average_months,
            "is_lower_bound": self.is_lower_bound,
            "reaching": {str(k): v for k, v in self.reaching.items()},
            "ended": self.ended,
            "active": self.active,
        }


def client_survival(lives: pd.DataFrame, milestones: tuple[int, ...] = MILESTONES) -> Survival:
    """:class:`Survival` of the clients in ``lives`` (``months`` retained, ``churned``)."""
    table = kaplan_meier(lives["months"].to_numpy(), lives["churned"].to_numpy() == 1)
    times = table["time"].to_numpy()
    factors = 1 - table["ended"].to_numpy() / table["at_risk"].to_numpy()
    reaching: dict[int, float | None] = {
        t: float(np.prod(factors[times < t])) if times[-1] >= t else None for t in milestones
    }
    return Survival(
        table=table,
        average_months=restricted_mean(table),
        is_lower_bound=bool(table["survival"].iloc[-1] > 0),
        reaching=reaching,
        ended=int(lives["churned"].sum()),
        active=int((lives["churned"] == 0).sum()),
    )
