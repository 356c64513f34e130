"""Prorated first invoice and the schedule of monthly invoices of a retainer.

Billing on calendar months: the first invoice covers the working days left in the start month (the start
day included when it is a working day), at a daily rate of fee / working days of that month; from the 1st of
the next month every invoice is the full fee, in one payment or two 50/50 installments due in chosen windows
of days (e.g. 1–5 and 15–20). Amounts are rounded half up to the currency's minor unit (ISO 4217: 2 digits
for USD and UAH, 0 for JPY, 3 for KWD); with two installments the first takes the odd minor unit, so the
installments always add up to the fee.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import get_currency_precision, is_currency

from ltvkit.errors import ParameterError
from ltvkit.retainer.calendar import WorkCalendar, days_between

ROUNDING_RULE = "half up to the currency's minor unit"


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest unit as a Decimal: 0.01 for USD, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-get_currency_precision(currency.upper()))


def round_money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def parse_windows(text: str) -> list[tuple[int, int]]:
    """``"1-5,15-20"`` → [(1, 5), (15, 20)]: days of the month within which a payment is due."""
    windows = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            a, b = int(first), int(last or first)
        except ValueError:
            raise ParameterError(f"{part!r} is not a window of days such as 1-5") from None
        if not 1 <= a <= b <= 31:
            raise ParameterError(f"the window {part!r} must be days 1–31, first ≤ last")
        windows.append((a, b))
    return windows


@dataclass(frozen=True)
class Payment:
    """One payment due: ``amount`` within days ``window`` of ``month``, due on ``due`` (the window's last
    working day)."""

    month: dt.date
    installment: int
    of: int
    amount: Decimal
    window: tuple[dt.date, dt.date]
    due: dt.date


@dataclass(frozen=True)
class FirstInvoice:
    """The prorated invoice for the start month."""

    start: dt.date
    month: dt.date
    working_days_in_month: int
    remaining_working_days: int
    daily_rate: Decimal
    amount: Decimal
    first_working_day: dt.date | None
    holidays_in_month: list[tuple[dt.date, str]] = field(default_factory=list)


@dataclass(frozen=True)
class InvoicePlan:
    fee: Decimal
    currency: str
    country: str
    installments: int
    first_invoice: FirstInvoice
    schedule: list[Payment]
    rounding: str = ROUNDING_RULE

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return float(value)
            if isinstance(value, (dt.date,)):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))


def _due(
    calendar: WorkCalendar, month: dt.date, window: tuple[int, int]
) -> tuple[tuple[dt.date, dt.date], dt.date]:
    """The window's dates in ``month`` (clipped to the month's length) and its last working day (or, if the
    window has none, the last working day before it)."""
    _, last = calendar.month(month)
    start = month.replace(day=min(window[0], last.day))
    end = month.replace(day=min(window[1], last.day))
    due = end
    while not calendar.is_working_day(due):
        due -= dt.timedelta(days=1)
    return (start, end), due


def plan_invoices(
    fee: float | Decimal,
    currency: str,
    start: dt.date,
    calendar: WorkCalendar,
    *,
    installments: int = 1,
    due_days: str | None = None,
    months: int = 6,
) -> InvoicePlan:
    """The prorated first invoice and the next ``months`` monthly invoices."""
    fee = Decimal(str(fee))
    if fee <= 0:
        raise ParameterError(f"the fee must be positive, not {fee}")
    if installments not in (1, 2):
        raise ParameterError("installments must be 1 or 2")
    if months < 0:
        raise ParameterError("months cannot be negative")
    currency = currency.upper()
    if not is_currency(currency) or currency == "XXX":
        raise ParameterError(
            f"unknown currency {currency!r}; use an ISO 4217 code such as USD, EUR, UAH, RUB"
        )
    windows = parse_windows(due_days or ("1-5" if installments == 1 else "1-5,15-20"))
    if len(windows) != installments:
        raise ParameterError(
            f"{installments} installment(s) need {installments} due window(s), got {len(windows)}"
        )
    first_day, last_day = calendar.month(start)
    in_month = calendar.working_days(first_day, last_day)
    remaining = [d for d in in_month if d >= start]
    if not in_month:
        raise ParameterError(f"{first_day:%B %Y} has no working days in this calendar")
    daily = fee / len(in_month)
    first = FirstInvoice(
        start=start,
        month=first_day,
        working_days_in_month=len(in_month),
        remaining_working_days=len(remaining),
        daily_rate=round_money(daily, currency),
        amount=round_money(daily * len(remaining), currency),
        first_working_day=remaining[0] if remaining else None,
        holidays_in_month=[
            (d, str(calendar.holiday_name(d)))
            for d in days_between(first_day, last_day)
            if calendar.holiday_name(d) and not calendar.is_working_day(d)
        ],
    )
    second = (fee / 2).quantize(minor_unit(currency), rounding=ROUND_DOWN)
    parts = [fee] if installments == 1 else [fee - second, second]  # the first takes the odd minor unit
    schedule = []
    month = last_day + dt.timedelta(days=1)
    for _ in range(months):
        for i, (amount, window) in enumerate(zip(parts, windows, strict=False), start=1):
            span, due = _due(calendar, month, window)
            schedule.append(Payment(month, i, installments, amount, span, due))
        month = calendar.month(month)[1] + dt.timedelta(days=1)
    return InvoicePlan(fee, currency, calendar.country, installments, first, schedule)


def to_ics(plan: InvoicePlan, *, client: str = "retainer") -> str:
    """The due dates as an iCalendar (RFC 5545) file: one all-day event per payment."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ltvkit//retainer invoices//EN",
        "CALSCALE:GREGORIAN",
    ]
    events = [
        (
            plan.first_invoice.first_working_day or plan.first_invoice.start,
            plan.first_invoice.amount,
            "1/1",
            (
                f"prorated {plan.first_invoice.remaining_working_days}/"
                f"{plan.first_invoice.working_days_in_month} working days"
            ),
        )
    ]
    events += [(p.due, p.amount, f"{p.installment}/{p.of}", f"{p.month:%B %Y}") for p in plan.schedule]
    for due, amount, part, what in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uuid.uuid5(uuid.NAMESPACE_URL, f'ltvkit:{client}:{due}:{part}:{amount}')}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{due:%Y%m%d}",
            f"DTEND;VALUE=DATE:{due + dt.timedelta(days=1):%Y%m%d}",
            _escape(f"SUMMARY:Invoice {client}: {amount} {plan.currency} ({part})"),
            _escape(f"DESCRIPTION:{what}"),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _escape(line: str) -> str:
    head, _, value = line.partition(":")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return f"{head}:{value}"
