"""Retainers: the prorated first invoice and its schedule, KPI-linked fees, and the client book of a service
business — what each client paid and is expected to pay, the agency's MRR, churn and retention month by
month, how long clients stay, and what a client may cost to win.

The edges (CLI, API, report) call :func:`invoice_plan`, :func:`invoice_calendar`, :func:`kpi_fees`,
:func:`import_contracts`, :func:`import_book` and :func:`client_book`; the rules are in :mod:`ltvkit.retainer`
(calendar, invoice, kpi, months, book, metrics, value).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ltvkit import i18n
from ltvkit.data.workspace import ImportAccount, Workspace
from ltvkit.retainer.calendar import Overrides, Weekdays, WorkCalendar
from ltvkit.retainer.clients import client_lifetimes
from ltvkit.retainer.invoice import InvoicePlan, plan_invoices, to_ics
from ltvkit.retainer.kpi import KpiTerms, monthly_fees, read_figures
from ltvkit.retainer.metrics import Survival, client_months, client_survival, mrr_movements
from ltvkit.retainer.notes import Note
from ltvkit.retainer.value import (
    CurrencyValue,
    Retention,
    acquisition_costs,
    expected_client_ltv,
    expected_values,
    fit_retention,
    value_so_far,
)
from ltvkit.serialize import jsonable, records

FEW_PER_HABIT = 10
MODEL_NOTE = "retainer_note_model"  # a note of the retention model's fit: its English text as it is
CLIENT_VIEW = [
    "client_id",
    "name",
    "currency",
    "fee",
    "start",
    "end",
    "status",
    "months",
    "periods",
    "value",
    "basis",
    "mrr",
    "expected_ltv",
    "billing",
    "source",
]


def invoice_plan(
    fee: float,
    currency: str,
    start: dt.date,
    country: str,
    *,
    installments: int = 1,
    due_days: str | None = None,
    months: int = 6,
    overrides: str | Path | None = None,
    lang: str = "en",
) -> InvoicePlan:
    """The first invoice prorated by the working days of ``country`` left in the start month (days off and
    working days of the ``overrides`` file added; holiday names in ``lang``), then ``months`` monthly
    invoices."""
    calendar = WorkCalendar(country, Overrides.load(overrides) if overrides else None, lang=lang)
    return plan_invoices(
        fee, currency, start, calendar, installments=installments, due_days=due_days, months=months
    )


def invoice_calendar(plan: InvoicePlan, *, client: str) -> str:
    """The plan's due dates as an iCalendar file's text."""
    return to_ics(plan, client=client)


def kpi_fees(terms: str | Path, figures: str | Path) -> tuple[KpiTerms, pd.DataFrame]:
    """The agreed terms (TOML) and, per month of the figures file, the KPI attainments, bonus and fee."""
    agreed = KpiTerms.load(terms)
    return agreed, monthly_fees(agreed, read_figures(figures, agreed))


def import_contracts(ws: Workspace, path: str | Path, *, currency: str | None = None) -> ImportAccount:
    """Import the contracts (the client ledger), accounting for every row."""
    return ws.import_clients(path, currency=currency)


def import_book(ws: Workspace, path: str | Path, *, currency: str | None = None) -> ImportAccount:
    """Import invoices and payments (the client book), accounting for every row."""
    return ws.import_client_book(path, currency=currency)


@dataclass
class ClientBook:
    """Everything the retainer pages show, as of one day (see :func:`client_book`)."""

    as_of: dt.date
    country: str | None
    clients: pd.DataFrame
    months: pd.DataFrame
    survival: Survival
    retention: Retention
    values: list[CurrencyValue]
    acquisition: pd.DataFrame
    by_billing: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)

    def texts(self, lang: str = "en") -> list[str]:
        """Every note (the book's and the retention fit's) in ``lang``."""
        return [note.text(lang) for note in self.notes + self.retention.notes]

    def sentences(self, lang: str = "en") -> dict[str, Any]:
        """The book in words in ``lang``: ``headline`` (clients, active, as of), ``lifetime`` (average
        months a client stays, the share reaching 3, 6 and 12 months), ``values`` (per currency with an
        estimate: a new client's expected LTV with its interval and what one may cost to win) and
        ``notes`` (and ``english_notes``: the retention model's own, in English); the CLI, the report and
        the dashboard show these."""
        survival = self.survival
        reach = {
            f"m{months}": i18n.text("retainer_not_yet", lang)
            if share is None
            else i18n.percent(share, lang, digits=0)
            for months, share in survival.reaching.items()
        }
        values = []
        for v in self.values:
            if pd.isna(v.expected_ltv):  # no client has left yet: a note says why
                continue

            def money(x: float, code: str = v.currency) -> str:
                return i18n.money(x, code, lang)

            values.append(
                i18n.text(
                    "retainer_value",
                    lang,
                    currency=v.currency,
                    ltv=money(v.expected_ltv),
                    low=money(v.low),
                    high=money(v.high),
                    interval=i18n.percent(v.interval, lang, digits=0),
                    margin=i18n.percent(v.margin, lang, digits=0),
                    cac=money(v.affordable_cac),
                    within=" / ".join(money(x) for x in v.affordable_within.values()),
                )
            )
        return {
            "headline": i18n.text(
                "retainer_headline",
                lang,
                clients=i18n.number(len(self.clients), lang),
                active=i18n.number(int((self.clients["status"] == "active").sum()), lang),
                as_of=i18n.day(self.as_of, lang),
            ),
            "lifetime": i18n.text(
                "retainer_lifetime",
                lang,
                months=i18n.number(survival.average_months, lang, digits=1),
                bound=i18n.text("retainer_lower_bound", lang) if survival.is_lower_bound else "",
                **reach,
            ),
            "values": values,
            "notes": [
                note.text(lang) for note in self.notes + self.retention.notes if note.key != MODEL_NOTE
            ],
            "english_notes": [note.text(lang) for note in self.retention.notes if note.key == MODEL_NOTE],
        }

    def client_table(self, lang: str = "en") -> Shown:
        """Each client: name, fee, start, end (or active), months retained, paid value, expected LTV."""
        rows = [
            [
                str(c.name if isinstance(c.name, str) else c.client_id),
                i18n.money(c.fee, c.currency, lang, digits=2),
                i18n.day(c.start, lang),
                i18n.day(c.end, lang) if c.status == "ended" else i18n.text("retainer_active", lang),
                i18n.number(c.months, lang, digits=2),
                i18n.money(c.value, c.currency, lang, digits=2),
                "" if pd.isna(c.expected_ltv) else i18n.money(c.expected_ltv, c.currency, lang),
            ]
            for c in self.clients.itertuples(index=False)
        ]
        heads = ("client", "fee", "start", "end", "months", "value", "expected")
        return Shown(i18n.text("retainer_clients", lang), _heads(heads, lang), rows)

    def month_tables(self, lang: str = "en") -> list[Shown]:
        """Per currency, each month: MRR, new, expansion, contraction and churned MRR, client churn, NRR
        (and billed and paid, when the book has invoices)."""
        money_keys = ("mrr", "new", "expansion", "contraction", "churned")
        shown = []
        for currency, months in self.months.groupby("currency"):
            code = str(currency)
            booked = ("billed", "paid") if months[["billed", "paid"]].to_numpy().any() else ()
            rows = [
                [
                    i18n.month(row.month, lang),
                    *(i18n.money(getattr(row, k), code, lang) for k in money_keys),
                    *("" if pd.isna(v) else i18n.percent(v, lang) for v in (row.churn_rate, row.nrr)),
                    *(i18n.money(getattr(row, k), code, lang) for k in booked),
                ]
                for row in months.itertuples(index=False)
            ]
            heads = _heads(("month", *money_keys, "churn_rate", "nrr", *booked), lang)
            shown.append(Shown(i18n.text("retainer_months", lang, currency=code), heads, rows, named=False))
        return shown

    def acquisition_table(self, lang: str = "en") -> Shown:
        """Per source of spend: spend, clients won, CAC, the affordable CAC and its payback month."""

        def money(value: float, code: str) -> str:
            return "" if pd.isna(value) else i18n.money(value, code, lang)

        rows = [
            [
                str(a.source),
                money(a.spend, a.currency),
                i18n.number(a.clients, lang),
                money(a.cac, a.currency),
                money(a.affordable_cac, a.currency),
                "" if pd.isna(a.payback_month) else i18n.number(a.payback_month, lang),
            ]
            for a in self.acquisition.itertuples(index=False)
        ]
        heads = _heads(("source", "spend", "won", "cac", "affordable", "payback"), lang)
        return Shown(i18n.text("retainer_acquisition", lang), heads, rows)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """Everything as JSON-ready values, the notes and ``sentences`` in ``lang``."""
        result: dict[str, Any] = jsonable(
            {
                "as_of": self.as_of,
                "country": self.country,
                "clients": len(self.clients),
                "active": int((self.clients["status"] == "active").sum()),
                "currencies": sorted(self.clients["currency"].unique()),
                "retention": self.retention.to_dict(),
                "survival": self.survival.to_dict(),
                "values": [v.to_dict() for v in self.values],
                "by_billing": self.by_billing,
                "notes": self.texts(lang),
                "sentences": self.sentences(lang),
            }
        )
        shown = [self.client_table(lang)] + ([self.acquisition_table(lang)] if len(self.acquisition) else [])
        return result | {
            "shown": [asdict(table) for table in shown],
            "clients_detail": records(_dates(self.clients, "start", "end")),
            "months": records(_dates(self.months, "month")),
            "acquisition": records(self.acquisition),
        }


@dataclass(frozen=True)
class Shown:
    """A table as a reader sees it in one language: its title, headers and rows of formatted cells; the
    first cell of a row names it (``named``: a name from the user's data — a client, a source — not a
    month)."""

    title: str
    heads: list[str]
    rows: list[list[str]]
    named: bool = True


def _heads(keys: tuple[str, ...], lang: str) -> list[str]:
    return [i18n.text(f"rc_{key}", lang) for key in keys]


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with ``columns`` as days (``2026-02-28``, not a midnight timestamp; no end stays null)."""
    return frame.assign(**{c: pd.to_datetime(frame[c]).dt.date for c in columns})


def client_book(
    ws: Workspace,
    *,
    as_of: dt.date | None = None,
    country: str | None = None,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    interval: float = 0.9,
) -> ClientBook:
    """The :class:`ClientBook` of the workspace's contracts, invoices and payments, and marketing spend."""
    return book_of(
        ws.clients(),
        ws.client_payments(),
        ws.spend(),
        as_of=as_of or dt.date.today(),
        country=country,
        discount_rate=discount_rate,
        margin=margin,
        interval=interval,
    )


def book_of(
    contracts: pd.DataFrame,
    payments: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    as_of: dt.date,
    country: str | None = None,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    interval: float = 0.9,
) -> ClientBook:
    """:func:`client_book` of these tables: months counted by calendar months with the working days of
    ``country`` (Monday to Friday without one), ``as_of`` the day active clients are counted to."""
    calendar = WorkCalendar(country) if country else Weekdays()
    payments = payments[pd.to_datetime(payments["date"]) <= pd.Timestamp(as_of)]
    lives = client_lifetimes(contracts, as_of, calendar)
    lives["value"], lives["basis"] = value_so_far(lives, payments)
    months, notes = client_months(lives, payments, calendar)
    latest = months.sort_values("month").groupby(["client_id", "currency"])["mrr"].last()
    keys = pd.MultiIndex.from_arrays([lives["client_id"], lives["currency"]])
    lives["mrr"] = latest.reindex(keys).fillna(0.0).to_numpy()
    retention = fit_retention(lives)
    lives["expected_ltv"] = expected_client_ltv(lives, lives["mrr"], retention, discount_rate=discount_rate)
    lives["status"] = lives["churned"].map({0: "active", 1: "ended"})
    if "source" not in lives:
        lives["source"] = None
    on_contract = lives.loc[lives["basis"] == "contract", "client_id"]
    if len(payments) and len(on_contract):
        notes.append(Note("retainer_note_by_contract", {"clients": ", ".join(on_contract)}))
    values = expected_values(lives, retention, discount_rate=discount_rate, margin=margin, interval=interval)
    return ClientBook(
        as_of=as_of,
        country=calendar.country,
        clients=lives[CLIENT_VIEW],
        months=mrr_movements(months, payments, as_of),
        survival=client_survival(lives),
        retention=retention,
        values=values,
        acquisition=acquisition_costs(lives, spend, values, as_of),
        by_billing=_by_billing(lives, notes),
        notes=notes,
    )


def _by_billing(lives: pd.DataFrame, notes: list[Note]) -> list[dict[str, Any]]:
    """Months retained by billing habit (Kaplan–Meier average), with a note when a group is too small to
    compare."""
    rows = []
    for habit, group in lives.assign(billing=lives["billing"].fillna("unknown")).groupby("billing"):
        survival = client_survival(group)
        rows.append(
            {
                "billing": habit,
                "clients": len(group),
                "ended": survival.ended,
                "average_months": survival.average_months,
                "is_lower_bound": survival.is_lower_bound,
                "few": len(group) < FEW_PER_HABIT,
            }
        )
    if len(rows) > 1 and any(row["few"] for row in rows):
        sizes = ", ".join(f"{row['billing']} {row['clients']}" for row in rows)
        notes.append(Note("retainer_note_habits", {"sizes": sizes, "least": FEW_PER_HABIT}))
    return rows
