"""Use case of segments: whom to act on, by RFM, lifecycle or value, with or without a model, and the lists
to export. The CLI and the API call these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ltvkit.analytics.cohorts import last_observed_day
from ltvkit.analytics.followup import follow_up_orders
from ltvkit.analytics.segments import (
    LifecycleRules,
    export_segments,
    read_exclusions,
    segment,
    segment_lists,
    segment_summary,
)
from ltvkit.data.sources import Tables
from ltvkit.errors import MissingDataError, collect_notes
from ltvkit.i18n import Note, message_of
from ltvkit.service.analysis import choose_currency
from ltvkit.service.valuation import predict_customers

__all__ = ["FollowUp", "Segments", "follow_up_list", "read_exclusions", "segments"]


@dataclass(frozen=True)
class Segments:
    """Every customer's segment under one scheme, and the summary per segment."""

    scheme: str
    currency: str
    customers: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per segment: customers, shares, revenue, average LTV and the suggested action."""
        return segment_summary(self.customers)

    def lists(self, *, exclude: set[str] | None = None) -> dict[str, pd.DataFrame]:
        """Per segment, the customers to act on (without those in ``exclude``)."""
        return segment_lists(self.customers, exclude=exclude)

    def export(self, directory: str | Path, *, exclude: set[str] | None = None) -> list[Path]:
        """One CSV per segment into ``directory``."""
        return export_segments(self.customers, directory, exclude=exclude)


def segments(
    tables: Tables,
    scheme: str = "rfm",
    *,
    currency: str | None = None,
    core_product: str | None = None,
    use_model: bool = False,
    regularization: str = "auto",
) -> Segments:
    """Segment the customers of one currency by ``scheme``; with ``use_model``, lifecycle segments use
    BG/NBD's P(alive) and value tiers the predicted 12-month CLV instead of revenue so far (the models
    fitted with ``regularization``: auto, none or map)."""
    orders = tables.table("orders")
    code, _ = choose_currency(orders, currency)
    alive = clv = None
    notes: list[str] = []
    if use_model and scheme in ("lifecycle", "value"):
        try:
            with collect_notes() as notes:
                scored, _ = predict_customers(
                    orders,
                    horizon=12,
                    unit="month",
                    currency=code,
                    intervals=False,
                    regularization=regularization,
                )
        except MissingDataError as exc:  # no model on these data (docs/models.md): segments without one
            notes.append(message_of(exc))
        else:
            alive = scored.set_index("customer_id")["probability_alive"]
            clv = scored.set_index("customer_id")["clv"]
    segmented = segment(
        orders,
        scheme,
        currency=code,
        rules=LifecycleRules(core_product=core_product),
        probability_alive=alive,
        clv=clv if scheme == "value" else None,
    )
    quiet = int(segmented["days_since_last"].max()) if len(segmented) else 0
    if scheme == "rfm" and quiet < LifecycleRules.lost_days:  # young data: nobody has left for sure
        notes.append(Note("note_rfm_relative", days=quiet))
    return Segments(scheme, code, segmented, notes)


@dataclass(frozen=True)
class FollowUp:
    """The unpaid orders to follow up, as of the last day of the data."""

    end: dt.date
    days: int
    orders: pd.DataFrame


def follow_up_list(tables: Tables, *, days: int = 30) -> FollowUp:
    """Orders awaiting payment in the last ``days`` that no later purchase of the same product settled
    (:func:`~ltvkit.analytics.followup.follow_up_orders`), with the contact to reach each customer."""
    orders = tables.table("orders")
    end = last_observed_day(orders)
    return FollowUp(end, days, follow_up_orders(orders, end=end, days=days))
