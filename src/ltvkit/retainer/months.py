"""Months of a contract, counted by calendar months.

A retainer bills calendar months, so its length is counted in them: every whole calendar month between the
start and the end counts 1, and a partial first or last month counts its share of the month's working days,
the same rule as the prorated first invoice (:mod:`ltvkit.retainer.invoice`)::

    share of a month = working days from max(start, 1st) to min(end, last day), both included
                       ÷ working days of the month

A contract from 1 January to 31 August is 8 months (a fee of 100 a month: 800), whatever the lengths of the
months; one from Friday 13 November 2026 in Ukraine (12 of 21 working days left) to 31 December is
12/21 + 1 ≈ 1.571 months. The end day is included. Without a country, Monday to Friday are working days.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right

from ltvkit.errors import ParameterError
from ltvkit.retainer.calendar import Weekdays

ONE_DAY = dt.timedelta(days=1)


def month_shares(start: dt.date, end: dt.date, calendar: Weekdays) -> list[tuple[dt.date, float]]:
    """Per calendar month touched by ``start``–``end`` (both included): the month's first day and the share
    of it the contract covers (see the module docstring). A month without working days in the calendar
    counts by its calendar days."""
    if end < start:
        raise ParameterError(f"the end {end} is before the start {start}")
    shares = []
    month = start.replace(day=1)
    while month <= end:
        first, last = calendar.month(month)
        covered = (max(start, first), min(end, last))
        if covered == (first, last):
            share = 1.0
        else:
            working = calendar.working_days_of_month(first)
            if working:
                share = (bisect_right(working, covered[1]) - bisect_left(working, covered[0])) / len(working)
            else:
                share = ((covered[1] - covered[0]).days + 1) / last.day
        shares.append((first, share))
        month = last + ONE_DAY
    return shares


def months_retained(start: dt.date, end: dt.date, calendar: Weekdays) -> float:
    """The contract's length in calendar months, partial months by their share of working days (rounded to
    nine decimals, so that whole months add up to whole numbers)."""
    return round(sum(share for _, share in month_shares(start, end, calendar)), 9)
