"""Segments that lead to an action, and lists to act on.

Every scheme puts each customer in exactly one segment (the rules are checked in order, the last one
catches the rest), so the sizes add up to the customer count.

**RFM**: recency (days since the last purchase at the last day of the data), frequency (purchases) and
monetary (net revenue) are each scored 1–5 by quintile of rank; customers with equal values share the score
of the first of them (``rank(method="min")``), so ties never split and the scores do not depend on row order.
Named segments, first rule that matches:

====================  ========================================
champions             R ≥ 4, F ≥ 4, M ≥ 4
can't lose            R ≤ 2, F ≥ 4, M ≥ 4
loyal                 R ≥ 3, F ≥ 4
at risk               R ≤ 2, F ≥ 3
promising             R ≥ 4, F ≤ 2
need attention        R ≥ 3 (the other recent customers)
hibernating           R = 2
lost                  R = 1
====================  ========================================

**Lifecycle**, first rule that matches (``LifecycleRules`` sets the thresholds):

- lost: no purchase for ``lost_days`` (365), or P(alive) < 0.1 when a model is given;
- win-back: a repeat buyer with no purchase for twice the usual gap between purchases in their channel (the
  median over the channel's repeat buyers), or anyone with P(alive) < 0.5;
- new (activation): one purchase, within ``new_days`` (30);
- stimulation: one purchase, longer ago;
- cross-sell: repeat buyers who have not bought the ``core_product`` (default: the product with the most
  revenue);
- retention: active repeat buyers who have.

**Value**: customers ranked by net revenue (or by predicted CLV when given): top 20%, next 30%, rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.cohorts import customers as first_purchases
from ltvkit.analytics.cohorts import last_observed_day, money_orders
from ltvkit.analytics.definitions import is_purchase
from ltvkit.analytics.historical import customer_values
from ltvkit.choices import SCHEMES
from ltvkit.errors import InputError, MissingDataError, ParameterError
from ltvkit.io.readers import read_table
from ltvkit.io.writers import write_table

ACTIONS = {
    "champions": "Reward and ask for referrals; first access to new products.",
    "can't lose": "Win them back personally before they go: call, special offer.",
    "loyal": "Upsell the next product; loyalty programme.",
    "at risk": "Reactivation sequence with a reason to come back.",
    "promising": "Onboarding follow-ups to make the second purchase.",
    "need attention": "Relevant offers based on what they bought.",
    "hibernating": "Low-cost reminders; do not spend much.",
    "lost": "Exclude from paid retargeting; occasional last-chance offer.",
    "new": "Activation: welcome sequence, help them get the result they paid for.",
    "stimulation": "Second-purchase offer (a discount or the next step).",
    "cross-sell": "Offer the core product they have not bought.",
    "retention": "Keep them engaged: club, upsells, community.",
    "win-back": "Win-back campaign while they may still be alive.",
    "top 20%": "Protect: personal service, early access.",
    "next 30%": "Grow: upsell towards the top tier.",
    "rest": "Automate: low-cost nurturing.",
}


def _score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Quintile scores 1–5 by rank; equal values share the score of the first of them."""
    key = values if higher_is_better else -values
    ranks = key.rank(method="min")  # ascending: the best values get the highest ranks
    return (1 + np.floor(5 * (ranks - 1) / len(values))).astype(int).clip(1, 5)


def customer_table(orders: ir.Table, *, currency: str | None = None) -> pd.DataFrame:
    """Per customer: ``email``, ``channel``, ``purchases``, ``net_revenue``, ``first_purchase``,
    ``last_purchase``, ``days_since_last``, and ``products`` (set of products bought)."""
    values = customer_values(orders, currency=currency)
    firsts = first_purchases(orders, currency=currency).select("customer_id", "channel")
    money = money_orders(orders, currency)
    purchases = money.filter(is_purchase(money))
    emails = purchases.group_by("customer_id").aggregate(email=purchases.email.max())
    table = values.left_join(firsts, "customer_id").drop("customer_id_right")
    table = table.left_join(emails, "customer_id").drop("customer_id_right").execute()
    products = purchases.select("customer_id", "product").distinct().execute()
    bought = products.dropna().groupby("customer_id")["product"].agg(frozenset)
    end = pd.Timestamp(last_observed_day(orders))
    table["days_since_last"] = (end - pd.to_datetime(table["last_purchase"])).dt.days
    table["products"] = (
        table["customer_id"].map(bought).apply(lambda s: s if isinstance(s, frozenset) else frozenset())
    )
    return table.sort_values("customer_id").reset_index(drop=True)


def _first_match(rules: list[tuple[str, pd.Series]]) -> pd.Series:
    """The name of the first rule each row matches; the last rule must match everything left."""
    out = pd.Series(rules[-1][0], index=rules[-1][1].index, dtype=object)
    for name, condition in reversed(rules[:-1]):
        out = out.where(~condition.fillna(False).astype(bool), name)
    return out


def rfm(table: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and named segments (see the module docstring)."""
    out = table.copy()
    out["r_score"] = _score(out["days_since_last"], higher_is_better=False)
    out["f_score"] = _score(out["purchases"])
    out["m_score"] = _score(out["net_revenue"])
    r, f, m = out["r_score"], out["f_score"], out["m_score"]
    rules = [
        ("champions", (r >= 4) & (f >= 4) & (m >= 4)),
        ("can't lose", (r <= 2) & (f >= 4) & (m >= 4)),
        ("loyal", (r >= 3) & (f >= 4)),
        ("at risk", (r <= 2) & (f >= 3)),
        ("promising", (r >= 4) & (f <= 2)),
        ("need attention", r >= 3),
        ("hibernating", r == 2),
        ("lost", pd.Series(True, index=out.index)),
    ]
    out["segment"] = _first_match(rules)
    return out


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the lifecycle stages."""

    new_days: int = 30
    lost_days: int = 365
    core_product: str | None = None
    min_channel_repeaters: int = 30


def _usual_gap(table: pd.DataFrame, rules: LifecycleRules) -> pd.Series:
    """Per customer: the median days between purchases of repeat buyers in their channel (the whole base
    where the channel has fewer than ``min_channel_repeaters`` repeat buyers)."""
    repeaters = table[table["purchases"] > 1]
    span = (pd.to_datetime(repeaters["last_purchase"]) - pd.to_datetime(repeaters["first_purchase"])).dt.days
    gap = span / (repeaters["purchases"] - 1)
    overall = float(gap.median()) if len(gap) else float(rules.lost_days)
    by_channel = gap.groupby(repeaters["channel"]).agg(["median", "size"])
    usable = by_channel[by_channel["size"] >= rules.min_channel_repeaters]["median"]
    return table["channel"].map(usable).fillna(overall)


def lifecycle(
    orders: ir.Table,
    table: pd.DataFrame,
    *,
    rules: LifecycleRules | None = None,
    probability_alive: pd.Series | None = None,
    currency: str | None = None,
) -> pd.DataFrame:
    """Lifecycle stages (see the module docstring); ``probability_alive`` by customer id, when given,
    also marks win-back (< 0.5) and lost (< 0.1)."""
    rules = rules or LifecycleRules()
    out = table.copy()
    core = rules.core_product or _top_product(orders, currency)
    out["usual_gap_days"] = _usual_gap(out, rules)
    alive = (
        out["customer_id"].map(probability_alive)
        if probability_alive is not None
        else pd.Series(np.nan, index=out.index)
    )
    out["probability_alive"] = alive
    quiet = out["days_since_last"]
    one = out["purchases"] == 1
    has_core = out["products"].apply(lambda p: core in p)
    conditions = [
        ("lost", (quiet > rules.lost_days) | (alive < 0.1)),
        ("win-back", (~one & (quiet > 2 * out["usual_gap_days"])) | (alive < 0.5)),
        ("new", one & (quiet <= rules.new_days)),
        ("stimulation", one),
        ("cross-sell", ~has_core),
        ("retention", pd.Series(True, index=out.index)),
    ]
    out["segment"] = _first_match(conditions)
    out["core_product"] = core
    return out


def _top_product(orders: ir.Table, currency: str | None) -> str:
    money = money_orders(orders, currency)
    purchases = money.filter(is_purchase(money) & money.product.notnull())
    ranked = purchases.group_by("product").aggregate(revenue=(purchases.amount - purchases.refunded).sum())
    top = ranked.order_by([ranked.revenue.desc(), ranked.product]).limit(1).execute()
    if top.empty:
        raise MissingDataError("the orders name no products; pass the core product", parameter="core_product")
    return str(top["product"].iloc[0])


def value_tiers(table: pd.DataFrame, *, by: str = "net_revenue") -> pd.DataFrame:
    """Top 20% / next 30% / rest by ``by`` (ties broken by customer id, so the tiers have exact sizes)."""
    out = table.sort_values([by, "customer_id"], ascending=[False, True]).reset_index(drop=True)
    n = len(out)
    position = np.arange(n)
    out["segment"] = np.where(
        position < np.ceil(0.2 * n), "top 20%", np.where(position < np.ceil(0.5 * n), "next 30%", "rest")
    )
    return out


def segment_summary(segmented: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, share, revenue, revenue share, average LTV and the suggested action."""
    total_customers, total_revenue = len(segmented), segmented["net_revenue"].sum()
    summary = segmented.groupby("segment").agg(
        customers=("customer_id", "size"), revenue=("net_revenue", "sum")
    )
    summary["customer_share"] = summary["customers"] / total_customers
    summary["revenue_share"] = summary["revenue"] / total_revenue if total_revenue else 0.0
    summary["average_ltv"] = summary["revenue"] / summary["customers"]
    summary["action"] = summary.index.map(ACTIONS)
    return summary.sort_values("revenue", ascending=False, kind="stable").reset_index()  # ties: by name


def read_exclusions(path: str | Path) -> set[str]:
    """Emails or customer ids to leave out of exports (unsubscribed, opted out): a one-column file or a
    table with an ``email`` (or ``customer_id``) column; compared case-insensitively."""
    table = read_table(path)
    frame = table.frame
    columns = {c.strip().lower(): c for c in frame.columns}
    column = columns.get("email") or columns.get("e-mail") or columns.get("customer_id") or frame.columns[0]
    values = {str(v).strip().lower() for v in frame[column] if str(v).strip()}
    if table.has_header and column == frame.columns[0] and "@" in str(column):
        values.add(str(column).strip().lower())  # a headerless list of emails: the first line is an email too
    if not values:
        raise InputError("the exclusion file lists nobody", file=path)
    return values


EXPORT_FIGURES = (
    "purchases",
    "net_revenue",
    "days_since_last",
    "r_score",
    "f_score",
    "m_score",
    "probability_alive",
    "usual_gap_days",
    "clv",
)


def segment_lists(segmented: pd.DataFrame, *, exclude: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """Per segment, the list to act on: customer id, email and the figures that put the customer there;
    customers in ``exclude`` (emails or ids, compared case-insensitively) are left out."""
    exclude = exclude or set()
    keep = ~(
        segmented["customer_id"].astype(str).str.lower().isin(exclude)
        | segmented["email"].fillna("").str.lower().isin(exclude)
    )
    columns = ["customer_id", "email", "segment", *(c for c in EXPORT_FIGURES if c in segmented.columns)]
    return {str(name): group[columns] for name, group in segmented[keep].groupby("segment")}


def list_slug(segment: str) -> str:
    """A segment's name as a file name: ``can't lose`` → ``cant_lose``, ``top 20%`` → ``top_20pct``."""
    return segment.replace("'", "").replace(" ", "_").replace("%", "pct")


def export_segments(
    segmented: pd.DataFrame, directory: str | Path, *, exclude: set[str] | None = None
) -> list[Path]:
    """One CSV per :func:`segment_lists` list (UTF-8 with BOM, so spreadsheets open Cyrillic correctly)."""
    directory = Path(directory)
    paths = []
    for name, group in segment_lists(segmented, exclude=exclude).items():
        paths.append(write_table(group, directory / f"{list_slug(name)}.csv"))
    return paths


def segment(
    orders: ir.Table,
    scheme: str = "rfm",
    *,
    currency: str | None = None,
    rules: LifecycleRules | None = None,
    probability_alive: pd.Series | None = None,
    clv: pd.Series | None = None,
) -> pd.DataFrame:
    """Per-customer segments of one ``scheme`` (rfm, lifecycle or value)."""
    if scheme not in SCHEMES:
        raise ParameterError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    table = customer_table(orders, currency=currency)
    if scheme == "rfm":
        return rfm(table)
    if scheme == "lifecycle":
        return lifecycle(orders, table, rules=rules, probability_alive=probability_alive, currency=currency)
    if clv is not None:
        table["clv"] = table["customer_id"].map(clv)
        return value_tiers(table, by="clv")
    return value_tiers(table)
