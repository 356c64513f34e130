"""Calendar-month counting (properties), expected value and payback by hand, and an XLSX client book."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ltvkit.io.readers import read_table
from ltvkit.io.writers import write_table
from ltvkit.models import ShiftedBetaGeometricModel
from ltvkit.retainer.book import read_book
from ltvkit.retainer.calendar import Weekdays, WorkCalendar
from ltvkit.retainer.months import month_shares, months_retained
from ltvkit.retainer.value import HORIZON_MONTHS, Retention, expected_client_ltv, expected_values

DAYS = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2027, 12, 31))
CALENDARS = [Weekdays(), WorkCalendar("UA"), WorkCalendar("RU")]


@settings(max_examples=60, deadline=None)
@given(DAYS, st.integers(0, 400), st.integers(0, 400), st.sampled_from(CALENDARS))
def test_splitting_a_contract_adds_up(start: dt.date, first: int, second: int, calendar: Weekdays) -> None:
    """Months of start–mid plus mid+1–end are the months of start–end; every share is within [0, 1]."""
    middle = start + dt.timedelta(days=first)
    end = middle + dt.timedelta(days=second + 1)
    whole = months_retained(start, end, calendar)
    parts = months_retained(start, middle, calendar) + months_retained(
        middle + dt.timedelta(days=1), end, calendar
    )
    assert parts == pytest.approx(whole, abs=1e-8)
    assert all(0 <= share <= 1 for _, share in month_shares(start, end, calendar))


@settings(max_examples=60, deadline=None)
@given(DAYS, st.integers(0, 60), st.sampled_from(CALENDARS))
def test_whole_months_count_whole(day: dt.date, extra: int, calendar: Weekdays) -> None:
    """From a 1st to a month's last day is the number of calendar months, exactly."""
    start = day.replace(day=1)
    last = pd.Timestamp(start) + pd.offsets.MonthEnd(extra + 1)
    assert months_retained(start, last.date(), calendar) == extra + 1


def test_expected_value_and_payback_by_hand() -> None:
    """α = β = 1: S(t) = B(1, 1+t)/B(1, 1) = 1/(1+t), so the expected months over 120 are the harmonic
    number H_120 = 5.3689…; at 1,000 a month and a margin of 50%:

    | month t | Σ_{k<t} S(k)    | cumulative margin |
    | 1       | 1               | 500               |
    | 2       | 1.5             | 750               |
    | 3       | 1.8333          | 916.67            |
    | 4       | 2.0833          | 1,041.67          |

    so a CAC of 1,000 pays back in month 4, and 916.67 is the most to spend to earn it back within 3.
    An active client billed n = 1 month expects Σ_{k=1}^{120} S(1+k)/S(1) = Σ 2/(k+2) = 2 (H_122 − 1.5)
    further months."""
    retention = Retention(
        ShiftedBetaGeometricModel.from_params(alpha=1.0, beta=1.0), clients=1, ended=1, regularised=False
    )
    lives = pd.DataFrame({"currency": ["USD"], "value": [3000.0], "months": [3.0]})
    (usd,) = expected_values(lives, retention, margin=0.5)
    harmonic = sum(1 / k for k in range(1, HORIZON_MONTHS + 1))
    assert usd.revenue_per_month == 1000.0
    assert usd.expected_ltv == pytest.approx(1000 * harmonic) and usd.affordable_cac == pytest.approx(
        500 * harmonic
    )
    assert math.isnan(usd.low) and math.isnan(usd.high)  # parameters set by hand carry no uncertainty
    assert usd.affordable_within[3] == pytest.approx(500 * (1 + 1 / 2 + 1 / 3))
    assert [usd.payback_month(c) for c in (500, 750.01, 1000, 1e9)] == [1, 3, 4, None]
    active = pd.DataFrame({"periods": [1, 1], "churned": [0, 1], "value": [100.0, 100.0]})
    further = 2 * (sum(1 / k for k in range(1, HORIZON_MONTHS + 3)) - 1.5)
    values = expected_client_ltv(active, pd.Series([1000.0, 1000.0]), retention)
    assert values.tolist() == pytest.approx([100 + 1000 * further, 100.0])


def test_an_xlsx_book_reads_like_the_csv(tmp_path: Path) -> None:
    frame = read_table(FIXTURES / "retainer_book.csv").frame
    path = write_table(frame, tmp_path / "book.xlsx")
    from_csv, from_xlsx = read_book(FIXTURES / "retainer_book.csv"), read_book(path)
    columns = ["payment_key", "client_id", "date", "month", "amount", "currency", "status", "kind"]
    pd.testing.assert_frame_equal(from_xlsx.rows[columns], from_csv.rows[columns])
    assert from_xlsx.rejected["reason"].tolist() == from_csv.rejected["reason"].tolist()


def test_book_needs_its_columns(tmp_path: Path) -> None:
    from ltvkit.errors import MappingError

    path = tmp_path / "book.csv"
    path.write_text("client,amount\nA,100\n", encoding="utf-8")
    with pytest.raises(MappingError, match="no column for date"):
        read_book(path)
    path.write_text("client,date,amount\nA,2026-01-05,100\n", encoding="utf-8")
    rejected = read_book(path).rejected
    assert rejected["reason"].tolist() == ["no currency: add a currency column or pass --currency"]
    assert read_book(path, currency="usd").rows["currency"].tolist() == ["USD"]
    assert np.isclose(read_book(path, currency="usd").rows["amount"], 100).all()


def test_no_churn_yet_means_unknown_not_forever() -> None:
    """Two clients, both still active: the fit cannot tell how long clients stay, so the expected values are
    unknown (NaN, null in JSON) rather than 120 months of fees."""
    from ltvkit.service.retainer import book_of

    contracts = pd.DataFrame(
        {
            "client_id": ["A", "B"],
            "name": [None, None],
            "fee": [100.0, 200.0],
            "currency": ["USD", "USD"],
            "start": pd.to_datetime(["2026-01-01", "2026-02-01"]),
            "end": pd.to_datetime([None, None]),
            "billing": [None, None],
        }
    )
    payments = read_book(FIXTURES / "retainer_book.csv").rows.iloc[:0]
    spend = pd.DataFrame(columns=["date", "channel", "amount", "currency"])
    book = book_of(contracts, payments, spend, as_of=dt.date(2026, 3, 31))
    (usd,) = book.values
    assert math.isnan(usd.expected_ltv) and usd.payback_month(1.0) is None
    assert book.clients["expected_ltv"].isna().all()
    assert book.to_dict()["values"][0]["expected_ltv"] is None
    assert [n.key for n in book.retention.notes] == ["retainer_note_no_churn"]


CELLS = st.one_of(
    st.sampled_from(["", "A", "B", "2026-01-05", "05.01.2026", "2026-13-01", "100", "1 000,50", "-5", "abc"]),
    st.sampled_from(["USD", "uah", "XYZ", "paid", "open", "оплачено", "void", "maybe", "bonus", "2026-02"]),
    st.text(max_size=8),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=7, max_size=7), min_size=1, max_size=12))
def test_every_book_row_is_loaded_or_rejected(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    """Whatever the cells, the book either refuses the file with an ltvkit error or accounts for every row:
    read = loaded + rejected, and what is loaded is positive money in an ISO currency."""
    import csv

    from ltvkit.errors import LtvError

    path = tmp_path_factory.mktemp("book") / "book.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["client", "date", "amount", "currency", "status", "kind", "month"])
        writer.writerows(rows)
    try:
        book = read_book(path)
    except LtvError:
        return
    assert len(book.rows) + len(book.rejected) == book.read
    assert (book.rows["amount"] > 0).all() and book.rows["currency"].str.fullmatch("[A-Z]{3}").all()
    assert book.rows["status"].isin(["paid", "open", "void", "refunded"]).all()
