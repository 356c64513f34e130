"""The client book against hand-computed months, MRR movements, churn, NRR, paid LTV and Kaplan–Meier.

The fixture (tests/fixtures/retainer_contracts.csv, retainer_book.csv), as of 31 March 2026, no country
(Monday to Friday are working days):

| client | fee        | start        | end        | months (calendar, by working days)            |
| A      | 1,000 USD  | Thu 1 Jan    | active     | 1 + 1 + 1 = 3                                  |
| B      | 2,200 USD  | Wed 14 Jan   | Sat 28 Feb | 13/22 + 1 = 1.590909 (Jan: 22 weekdays, 13 left)|
| C      | 40,000 UAH | Sun 1 Feb    | active     | 1 + 1 = 2                                      |
| D      | 1,000 USD  | Mon 16 Feb   | active     | 10/20 + 1 = 1.5 (Feb: 20 weekdays, 10 left)    |

Book: A pays 1,000 in Jan and Feb, is invoiced 800 in March (open); B pays the prorated 1,300 (= 2,200 /
22 × 13) and 2,200, its March invoice is void; C pays 40,000 in Feb and March and a KPI bonus of 4,000 UAH
in March; D pays the prorated 500 in Feb, then 1,200 in March (an upgrade).

MRR (fee in force; a prorated month at the full fee; bonuses left out):

| USD | A     | B     | D     | MRR   | new   | expansion | contraction | churned | churn rate | NRR         |
| Jan | 1,000 | 2,200 | –     | 3,200 | 3,200 | 0         | 0           | 0       | –          | –           |
| Feb | 1,000 | 2,200 | 1,000 | 4,200 | 1,000 | 0         | 0           | 0       | 0/2        | 3,200/3,200 |
| Mar | 800   | –     | 1,200 | 2,000 | 0     | 200       | 200         | 2,200   | 1/3        | 2,000/4,200 |
| UAH   | C      |
| Feb   | 40,000 | new 40,000
| Mar   | 40,000 | NRR 1, churn 0; billed 44,000 with the 4,000 bonus

Paid so far: A 2,000 (March is open), B 3,500, D 1,700 USD; C 84,000 UAH.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.retainer.calendar import Weekdays, WorkCalendar
from ltvkit.retainer.clients import client_lifetimes
from ltvkit.retainer.invoice import plan_invoices
from ltvkit.retainer.metrics import client_survival
from ltvkit.retainer.months import month_shares, months_retained
from ltvkit.service.retainer import book_of, client_book, import_book, import_contracts

D = dt.date
AS_OF = D(2026, 3, 31)


@pytest.mark.parametrize("calendar", [Weekdays(), WorkCalendar("UA"), WorkCalendar("US")])
def test_eight_calendar_months_are_eight_months(calendar: Weekdays) -> None:
    """1 January – 31 August at 100 a month is 8 months and 800, in any calendar (the issue's $795 came
    from days / 30.44 with the end day left out)."""
    months = months_retained(D(2025, 1, 1), D(2025, 8, 31), calendar)
    assert months == 8.0 and 100 * months == 800.0


def test_partial_months_follow_the_first_invoice_rule() -> None:
    # Ukraine, November 2026: 21 working days, 12 from Friday the 13th — the first invoice is 1500/21 × 12
    shares = month_shares(D(2026, 11, 13), D(2026, 12, 31), WorkCalendar("UA"))
    assert shares == [(D(2026, 11, 1), 12 / 21), (D(2026, 12, 1), 1.0)]
    invoice = plan_invoices(1500, "USD", D(2026, 11, 13), WorkCalendar("UA"), months=1).first_invoice
    assert float(invoice.amount) == round(1500 * shares[0][1], 2) == 857.14
    # an end within a month counts its working days from the 1st: 1–6 October 2025 is 4 of 23 weekdays
    assert month_shares(D(2025, 7, 7), D(2025, 10, 6), Weekdays())[-1] == (D(2025, 10, 1), 4 / 23)
    assert months_retained(D(2026, 2, 16), D(2026, 2, 16), Weekdays()) == 1 / 20  # one day of 20


@pytest.fixture
def book(workspace: Workspace) -> Workspace:
    assert import_contracts(workspace, FIXTURES / "retainer_contracts.csv").loaded == 4
    account = import_book(workspace, FIXTURES / "retainer_book.csv")
    assert (account.read, account.loaded, account.rejected) == (15, 11, 4)
    return workspace


def test_book_import_accounts_for_every_row(book: Workspace) -> None:
    rejected = book.rejected()
    assert rejected["row_number"].tolist() == [13, 14, 15, 16]
    assert rejected["column"].tolist() == ["invoice", "date", "amount", "status"]
    assert rejected["reason"].str.slice(0, 26).tolist() == [
        "repeats row 2 (same invoic",
        "'2026-13-01' is not a vali",
        "the amount must be positiv",
        "the status must be one of:",
    ]
    payments = book.client_payments().set_index("payment_key")
    assert payments.loc["invoice:INV-6", ["amount", "currency", "status", "kind"]].tolist() == [
        40000.0,
        "UAH",
        "paid",
        "fee",
    ]  # 40 000,00 / оплачено / абонплата
    assert payments.loc["invoice:INV-10", "kind"] == "bonus"
    again = import_book(book, FIXTURES / "retainer_book.csv")
    assert (again.loaded, again.duplicates, again.rejected) == (0, 11, 4)


def test_months_values_and_status(book: Workspace) -> None:
    result = client_book(book, as_of=AS_OF)
    clients = result.clients.set_index("client_id")
    assert clients["months"].round(6).tolist() == [3.0, round(13 / 22 + 1, 6), 2.0, 1.5]
    assert clients["periods"].tolist() == [3, 2, 2, 2]
    assert clients["status"].tolist() == ["active", "ended", "active", "active"]
    assert clients["value"].tolist() == [2000.0, 3500.0, 84000.0, 1700.0]
    assert clients["mrr"].tolist() == [800.0, 2200.0, 40000.0, 1200.0]
    detail = result.to_dict()["clients_detail"]
    assert [row["end"] for row in detail] == [None, "2026-02-28", None, None]  # never "NaT"


def test_mrr_movements_churn_and_nrr(book: Workspace) -> None:
    months = client_book(book, as_of=AS_OF).months
    usd = months[months["currency"] == "USD"]
    usd = usd.set_index(usd["month"].dt.strftime("%Y-%m"))
    columns = ["mrr", "new", "expansion", "contraction", "churned", "clients", "churned_clients"]
    assert usd[columns].to_dict("index") == {
        "2026-01": dict(zip(columns, [3200.0, 3200.0, 0.0, 0.0, 0.0, 2, 0], strict=True)),
        "2026-02": dict(zip(columns, [4200.0, 1000.0, 0.0, 0.0, 0.0, 3, 0], strict=True)),
        "2026-03": dict(zip(columns, [2000.0, 0.0, 200.0, 200.0, 2200.0, 2, 1], strict=True)),
    }
    assert usd["churn_rate"].tolist()[1:] == [0.0, pytest.approx(1 / 3)]
    assert usd["nrr"].tolist()[1:] == [1.0, pytest.approx(2000 / 4200)]
    assert pd.isna(usd["churn_rate"].iloc[0]) and pd.isna(usd["nrr"].iloc[0])
    assert usd[["billed", "paid", "bonus"]].values.tolist() == [
        [2300.0, 2300.0, 0.0],
        [3700.0, 3700.0, 0.0],
        [2000.0, 1200.0, 0.0],  # A's 800 is open; B's void invoice counts nowhere
    ]
    uah = months[months["currency"] == "UAH"]
    assert uah[["mrr", "new", "billed", "bonus"]].values.tolist() == [
        [40000.0, 40000.0, 40000.0, 0.0],
        [40000.0, 0.0, 44000.0, 4000.0],
    ]
    assert uah["nrr"].tolist()[1:] == [1.0]


def test_kaplan_meier_matches_the_hand_table(book: Workspace) -> None:
    """Months retained: D 1.5 (active), B 1.590909 (ended), C 2 (active), A 3 (active).

    | time     | at risk | ended | S      |
    | 1.5      | 4       | 0     | 1      |
    | 1.590909 | 3       | 1     | 2/3    |
    | 2        | 2       | 0     | 2/3    |
    | 3        | 1       | 0     | 2/3    |

    Area under S to 3: 1.590909 × 1 + (3 − 1.590909) × 2/3 = 2.530303 months, a lower bound (S > 0);
    share reaching 3 months = S just before 3 = 2/3; 6 and 12 months: nobody watched that long.
    """
    survival = client_book(book, as_of=AS_OF).survival
    table = survival.table
    assert table["time"].round(6).tolist() == [1.5, 1.590909, 2.0, 3.0]
    assert table["at_risk"].tolist() == [4, 3, 2, 1] and table["ended"].tolist() == [0, 1, 0, 0]
    assert table["survival"].tolist() == pytest.approx([1, 2 / 3, 2 / 3, 2 / 3])
    assert survival.average_months == pytest.approx(13 / 22 + 1 + (3 - 13 / 22 - 1) * 2 / 3)
    assert survival.is_lower_bound
    assert survival.reaching == {3: pytest.approx(2 / 3), 6: None, 12: None}


def test_survival_reaching_counts_a_churn_at_exactly_the_milestone() -> None:
    """Lifetimes 3 (ended), 3 (ended), 6 (active), 1 (ended): P(T ≥ 3) = 1 − 1/4 = 3/4 — the two who left
    after exactly 3 months reached 3 months; P(T ≥ 6) = 3/4 × (1 − 2/3) = 1/4."""
    lives = pd.DataFrame({"months": [3.0, 3.0, 6.0, 1.0], "churned": [1, 1, 0, 1]})
    assert client_survival(lives).reaching == {3: 0.75, 6: pytest.approx(0.25), 12: None}


def test_expected_value_and_acquisition_cost(book: Workspace) -> None:
    """Revenue per client-month, USD: (2,000 + 3,500 + 1,700) / (3 + 1.590909 + 1.5) = 1,182.09; UAH:
    84,000 / 2 = 42,000. Expected LTV = rate × Σ_{t<120} S(t); affordable = LTV × margin; CAC of Ads =
    1,500 / 2 clients (A and D: sources match ignoring case) = 750."""
    spend = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-05", "2026-02-05", "2026-04-02"]),
            "channel": ["Ads", "ads", "Ads"],
            "amount": [1000.0, 500.0, 9999.0],  # April's is after the day asked about
            "currency": ["USD", "USD", "USD"],
        }
    )
    result = book_of(
        book.clients(), book.client_payments(), spend, as_of=AS_OF, margin=0.5, discount_rate=0.0
    )
    assert result.retention.regularised and any("only 4 clients" in n for n in result.texts("en"))
    assert any("всего 4 клиентов" in n for n in result.texts("ru"))
    survival = result.retention.survival(np.arange(120))
    uah, usd = result.values  # by currency code
    assert usd.revenue_per_month == pytest.approx(7200 / (3 + 13 / 22 + 1 + 1.5))
    assert uah.revenue_per_month == 42000.0
    assert usd.expected_ltv == pytest.approx(usd.revenue_per_month * survival.sum())
    assert usd.low <= usd.expected_ltv <= usd.high
    assert usd.affordable_cac == pytest.approx(usd.expected_ltv * 0.5)
    assert usd.affordable_within[3] == pytest.approx(usd.revenue_per_month * 0.5 * survival[:3].sum())
    ads = result.acquisition.set_index("source").loc["Ads"]
    assert (ads["spend"], ads["clients"], ads["cac"]) == (1500.0, 2, 750.0)
    month = ads["payback_month"]
    cumulative = usd.revenue_per_month * 0.5 * np.cumsum(survival)
    assert cumulative[month - 1] >= 750 > (cumulative[month - 2] if month > 1 else 0)


def test_without_a_book_contracts_give_the_value(workspace: Workspace) -> None:
    import_contracts(workspace, FIXTURES / "retainer_contracts.csv")
    result = client_book(workspace, as_of=AS_OF)
    clients = result.clients.set_index("client_id")
    assert clients.loc["B", "value"] == pytest.approx(2200 * (13 / 22 + 1))  # 1,300 + 2,200 = 3,500
    assert set(clients["basis"]) == {"contract"}
    usd = result.months[result.months["currency"] == "USD"]
    assert usd["mrr"].tolist() == [3200.0, 4200.0, 1000.0 + 1000.0]  # D at its contract fee


def test_lifetimes_of_an_old_contract_count_to_as_of() -> None:
    contracts = pd.DataFrame(
        {
            "client_id": ["A", "B"],
            "fee": [100.0, 100.0],
            "currency": ["USD", "USD"],
            "start": pd.to_datetime(["2025-01-01", "2025-01-01"]),
            "end": pd.to_datetime(["2025-08-31", "2026-12-31"]),  # B has given notice for December
        }
    )
    lives = client_lifetimes(contracts, D(2025, 8, 31))
    assert lives["contract_value"].tolist() == [800.0, 800.0]
    assert lives["churned"].tolist() == [1, 0] and pd.isna(lives["end"].iloc[1])
