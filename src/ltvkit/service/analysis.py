"""One command's or one request's view of the orders: the tables several analyses share, built once.

An :class:`Analysis` is made per command (or per web request, or per report run) for one currency, and
computes on first use, then remembers, what more than one figure needs: the last day of the data, the
per-customer values, the cohort cells (one engine query from which every cohort table, split or not, is
summed), the monthly marketing spend. The report is built from one :class:`Analysis`, so it runs a handful
of engine queries instead of one per figure, and renders the same figures in every language.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cached_property
from types import TracebackType
from typing import Self

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit.analytics.channels import cac_table, monthly_spend, quality_by
from ltvkit.analytics.cohorts import (
    Period,
    cohort_cells,
    cohort_table_from_cells,
    customer_values,
    last_observed_day,
)
from ltvkit.analytics.definitions import is_purchase, net_revenue
from ltvkit.analytics.historical import (
    LtvSummary,
    lorenz_points,
    ltv_summary,
    pareto_shares,
)
from ltvkit.data.sources import Source, Tables
from ltvkit.errors import MissingDataError, ParameterError
from ltvkit.i18n import Note


def currencies_by_revenue(orders: ir.Table) -> list[str]:
    """The currencies with purchases, the largest net revenue first (one query, with no count of distinct
    customers: a purchase is a customer's)."""
    rows = orders.mutate(net=net_revenue(orders), purchase=is_purchase(orders))
    by_currency = (
        rows.group_by("currency")
        .aggregate(purchases=rows.purchase.sum(), net_revenue=rows.net.sum())
        .order_by("currency")
        .execute()
    )
    by_currency = by_currency[by_currency["purchases"] > 0]
    return list(by_currency.sort_values("net_revenue", ascending=False, kind="stable")["currency"])


def choose_currency(orders: ir.Table, currency: str | None) -> tuple[str, list[str]]:
    """The currency to analyse (``currency``, or the largest by net revenue) and the others with purchases;
    money is never summed across currencies."""
    codes = currencies_by_revenue(orders)
    if not codes:
        raise ParameterError(Note("error_no_purchases"))
    chosen = currency.upper() if currency else codes[0]
    if chosen not in codes:
        raise MissingDataError(
            Note("error_no_purchases_in", chosen=chosen, codes=", ".join(codes)), parameter="currency"
        )
    return chosen, [c for c in codes if c != chosen]


class _KeptOrders:
    """``tables`` with the orders read from ``orders`` (a temporary table of their engine)."""

    def __init__(self, tables: Tables, orders: ir.Table) -> None:
        self._tables, self._orders = tables, orders

    def table(self, name: str) -> ir.Table:
        return self._orders if name == "orders" else self._tables.table(name)


def _kept(tables: Tables) -> tuple[Tables, str | None]:
    """``tables`` with a source's mapped orders computed once into a temporary table of its engine (each
    query on a source otherwise re-reads the file and re-runs the mapping: the column parsing, the checks,
    the repeated orders), and that table's name; a workspace's orders are a table already, and an engine
    that keeps no temporary tables for this user reads the source as it is."""
    if not isinstance(tables, Source):
        return tables, None
    orders = tables.table("orders")
    kept, name = _temporary(orders, "orders")
    return (tables, None) if kept is None else (_KeptOrders(tables, kept), name)


def _temporary(table: ir.Table, what: str) -> tuple[ir.Table | None, str | None]:
    """``table`` computed into a temporary table of its engine, and its name; (None, None) on an engine
    that keeps no temporary tables for this user."""
    name = f"ltvkit_{what}_{uuid.uuid4().hex[:12]}"
    try:
        return ibis.get_backend(table).create_table(name, table, temp=True), name
    except Exception:  # a warehouse that allows no temporary tables to this user
        return None, None


class Analysis:
    """The orders and spend of ``tables`` in one currency (the largest by revenue unless ``currency`` is
    given), with the shared tables computed once.

    With ``keep`` (for a run of many figures, like the report), a source's mapped orders, and the
    per-customer table every figure reads (:func:`~ltvkit.analytics.cohorts.customer_values`: the first
    purchase with its fields, purchases, revenue, the last purchase), are computed once into temporary
    tables of its engine, which closing the analysis (or leaving its ``with`` block) drops."""

    def __init__(self, tables: Tables, *, currency: str | None = None, keep: bool = False) -> None:
        self.tables, kept = _kept(tables) if keep else (tables, None)
        self._temporary = [kept] if kept else []
        self.orders = self.tables.table("orders")
        try:
            self.currency, self.other_currencies = choose_currency(self.orders, currency)
            self.values = customer_values(self.orders, currency=self.currency)
            if keep:
                values, name = _temporary(self.values, "customers")
                if values is not None and name is not None:
                    self.values, self._temporary = values, [*self._temporary, name]
        except BaseException:
            self.close()
            raise
        self._cells: dict[Period, pd.DataFrame] = {}

    def close(self) -> None:
        """Drop the temporary tables, if any."""
        backend = ibis.get_backend(self.orders)
        while self._temporary:
            backend.drop_table(self._temporary.pop(), force=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @cached_property
    def end(self) -> dt.date:
        """The last day of the data (the newest order of any status)."""
        return last_observed_day(self.orders)

    @cached_property
    def customer_values(self) -> pd.DataFrame:
        """:attr:`values` fetched, ordered by customer id (:func:`~ltvkit.analytics.historical.ltv_summary`
        and the actions read it)."""
        return self.values.order_by("customer_id").execute()

    def ltv(self, *, margin: float | None = None, inactive_after_days: int = 180) -> LtvSummary:
        """Historical and expected LTV (:func:`~ltvkit.analytics.historical.ltv_summary`)."""
        return ltv_summary(
            self.orders,
            currency=self.currency,
            margin=margin,
            inactive_after_days=inactive_after_days,
            end=self.end,
            values=self.customer_values,
        )

    @property
    def has_costs(self) -> bool:
        """Whether the orders carry costs or fees (so profit is revenue less them, not a margin rate)."""
        return bool(self.customer_values["has_costs"].any())

    def cohort_table(self, period: Period = "month", split: str | None = None) -> pd.DataFrame:
        """:func:`~ltvkit.analytics.cohorts.cohort_table`, summed from cohort cells read once per period."""
        if period not in self._cells:
            self._cells[period] = cohort_cells(
                self.orders, period=period, currency=self.currency, end=self.end, values=self.values
            )
        return cohort_table_from_cells(self._cells[period], period=period, split=split, end=self.end)

    def quality_by(self, by: str = "channel", *, margin: float | None = None) -> pd.DataFrame:
        """:func:`~ltvkit.analytics.channels.quality_by` on the shared cohort cells."""
        return quality_by(
            self.orders,
            by,
            currency=self.currency,
            margin=margin,
            table=self.cohort_table(split=by),
            values=self.values,
        )

    @cached_property
    def spend_by_month(self) -> pd.DataFrame:
        """Marketing spend in this currency by month and channel (empty without spend)."""
        return monthly_spend(self.tables.table("spend"), self.currency)

    def cac(
        self, *, margin: float | None = None, horizon: int = 12, target_ratio: float = 3.0
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:func:`~ltvkit.analytics.channels.cac_table` (by channel, by channel and month)."""
        return cac_table(
            self.orders,
            self.tables.table("spend"),
            currency=self.currency,
            margin=margin,
            horizon=horizon,
            target_ratio=target_ratio,
            table=self.cohort_table(split="channel"),
            spend_by_month=self.spend_by_month,
            has_costs=self.has_costs,
        )

    @property
    def revenue_per_customer(self) -> np.ndarray:
        return self.customer_values["net_revenue"].to_numpy()

    def pareto(self) -> pd.DataFrame:
        """Revenue share of the top customers (:func:`~ltvkit.analytics.historical.pareto_shares`)."""
        return pareto_shares(self.revenue_per_customer)

    def lorenz(self) -> tuple[pd.DataFrame, float]:
        """The Pareto curve and the Gini coefficient (:func:`~ltvkit.analytics.historical.lorenz_points`)."""
        return lorenz_points(self.revenue_per_customer)
