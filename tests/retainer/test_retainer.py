"""Retainers: proration against hand-counted calendars, rounding, the 50/50 schedule, KPI fees, ledger."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from ltvkit.cli import app
from ltvkit.data.workspace import Workspace
from ltvkit.errors import InputError, ParameterError
from ltvkit.retainer.calendar import Overrides, WorkCalendar
from ltvkit.retainer.invoice import plan_invoices, round_money, to_ics
from ltvkit.retainer.kpi import KpiTerms, monthly_fees, read_figures
from ltvkit.service.retainer import client_book

D = dt.date


def first(fee: float, currency: str, start: D, country: str, **kw: object):  # noqa: ANN201
    return plan_invoices(fee, currency, start, WorkCalendar(country, **kw), months=2).first_invoice  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "start", "in_month", "remaining"),
    [
        # November 2026 starts on a Sunday: 21 weekdays; Ukraine has no holiday in it
        ("UA", D(2026, 11, 13), 21, 12),  # Fri 13, 16–20, 23–27, 30
        # Poland: All Saints' falls on Sunday 1 Nov, Independence Day Wed 11 Nov → 20
        ("PL", D(2026, 11, 2), 20, 20),
        # US: Veterans Day Wed 11 Nov and Thanksgiving Thu 26 Nov → 19; from Mon 23: 23, 24, 25, 27, 30
        ("US", D(2026, 11, 23), 19, 5),
        # Germany and Great Britain: no national holiday in November 2026
        ("DE", D(2026, 11, 30), 21, 1),  # the last working day
        ("GB", D(2026, 11, 1), 21, 21),  # a Sunday start: from Monday the 2nd
        # Kazakhstan, December 2026: 23 weekdays less Independence Day Wed 16 Dec → 22; from Thu 17: 17, 18,
        # 21–25, 28–31
        ("KZ", D(2026, 12, 17), 22, 11),
        # Russia, November 2025: Saturday 1 Nov is a working day moved from 3 Nov; 3 and 4 Nov are off → 19
        ("RU", D(2025, 11, 1), 19, 19),  # start on the working Saturday
        ("RU", D(2025, 11, 4), 19, 18),  # start on the holiday: counting from the 5th
        ("RU", D(2025, 11, 28), 19, 1),  # start on the last working day
    ],
)
def test_proration_by_hand_counted_calendars(country: str, start: D, in_month: int, remaining: int) -> None:
    invoice = first(1000, "USD", start, country)
    assert (invoice.working_days_in_month, invoice.remaining_working_days) == (in_month, remaining)
    assert invoice.amount == round_money(Decimal(1000) / in_month * remaining, "USD")


def test_the_issue_example_and_rounding() -> None:
    invoice = first(1500, "USD", D(2026, 11, 13), "UA")
    assert (invoice.daily_rate, invoice.amount) == (
        Decimal("71.43"),
        Decimal("857.14"),
    )  # 1500/21 × 12 = 857.142…
    assert first(60000, "RUB", D(2025, 11, 4), "RU").amount == Decimal(
        "56842.11"
    )  # 60000/19 × 18 = 56842.105…
    assert first(100000, "JPY", D(2026, 11, 13), "UA").amount == Decimal("57143")  # yen: no minor unit
    assert first(100, "KWD", D(2026, 11, 13), "UA").amount == Decimal("57.143")  # dinar: three digits
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")  # half up, not to even


def test_two_installments_split_fifty_fifty_within_their_windows() -> None:
    plan = plan_invoices(
        1500.01, "USD", D(2026, 11, 13), WorkCalendar("UA"), installments=2, due_days="1-5,15-20", months=2
    )
    december = [p for p in plan.schedule if p.month == D(2026, 12, 1)]
    assert [p.amount for p in december] == [Decimal("750.01"), Decimal("750.00")]  # the odd cent to the first
    assert sum(p.amount for p in december) == Decimal("1500.01")
    # 5 Dec 2026 is a Saturday, so the first payment is due on Friday the 4th; 20 Dec is a Sunday → Fri 18th
    assert [p.due for p in december] == [D(2026, 12, 4), D(2026, 12, 18)]
    assert [p.window for p in december] == [
        (D(2026, 12, 1), D(2026, 12, 5)),
        (D(2026, 12, 15), D(2026, 12, 20)),
    ]
    assert len(plan.schedule) == 4


def test_overrides_add_days_off_and_working_days(tmp_path: Path) -> None:
    path = tmp_path / "days.csv"
    path.write_text(
        "date,kind,note\n2026-11-16,off,company retreat\n2026-11-14,work,sprint Saturday\n", encoding="utf-8"
    )
    invoice = first(1000, "USD", D(2026, 11, 13), "UA", overrides=Overrides.load(path))
    assert (invoice.working_days_in_month, invoice.remaining_working_days) == (21, 12)  # one off, one on
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind\n2026-11-16,holiday\n", encoding="utf-8")
    with pytest.raises(InputError, match="kind must be 'off' or 'work'") as info:
        Overrides.load(bad)
    assert info.value.row == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fee": -5}, "fee must be positive"),
        ({"currency": "ZZZ"}, "unknown currency"),
        ({"installments": 3}, "installments must be 1 or 2"),
        ({"installments": 2, "due_days": "1-5"}, "need 2 due window"),
        ({"due_days": "20-5"}, "first ≤ last"),
    ],
)
def test_bad_invoice_input(kwargs: dict, message: str) -> None:
    args = {"fee": 1000, "currency": "USD", "start": D(2026, 11, 13), "calendar": WorkCalendar("UA")} | kwargs
    with pytest.raises(ParameterError, match=message):
        plan_invoices(args.pop("fee"), args.pop("currency"), args.pop("start"), args.pop("calendar"), **args)


def test_unknown_country() -> None:
    with pytest.raises(ParameterError, match="no holiday calendar for 'Mars'"):
        WorkCalendar("Mars")


def test_ics_calendar() -> None:
    plan = plan_invoices(1500, "USD", D(2026, 11, 13), WorkCalendar("UA"), installments=2, months=2)
    text = to_ics(plan, client="Bakery")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    starts = [line.split(":")[1] for line in text.split("\r\n") if line.startswith("DTSTART")]
    assert starts == ["20261113", "20261204", "20261218", "20270105", "20270120"]
    assert text.count("BEGIN:VEVENT") == 5 and "SUMMARY:Invoice Bakery: 857.14 USD (1/1)" in text


def test_kpi_fees() -> None:
    terms = KpiTerms.load(FIXTURES / "kpi_terms.toml")
    fees = monthly_fees(terms, read_figures(FIXTURES / "kpi_figures.csv", terms))
    # lower is better: attainment = 12 / cost per lead → 0.8, 1.0, 1.2, 1.26…
    assert fees["attainment"].round(4).tolist() == [0.8, 1.0, 1.2, round(12 / 9.5, 4)]
    assert fees["bonus"].tolist() == [0.0, 150.0, 300.0, 300.0]
    assert fees["fee"].tolist() == [1500.0, 1650.0, 1800.0, 1800.0]


def test_several_kpis_and_stage_bonuses(tmp_path: Path) -> None:
    """Base 1,000 USD; cost per lead (lower is better, target 10: +10% at 1.0, +20% at 1.25), leads (target
    100: +5% at 1.0) and +5% for each of three stages reached, capped at 30%.

    | month | CPL | att.  | tier | leads | tier | stages | share        | fee   |
    | 01    | 12  | 0.833 | 0    | 80    | 0    | 1      | 0.05         | 1,050 |
    | 02    | 10  | 1.0   | 0.10 | 100   | 0.05 | 2      | 0.25         | 1,250 |
    | 03    | 8   | 1.25  | 0.20 | 130   | 0.05 | 3      | 0.40 → 0.30  | 1,300 |
    """
    terms_file = tmp_path / "terms.toml"
    terms_file.write_text(
        'base_fee = 1000\ncurrency = "USD"\ncap = 0.3\nstage_bonus = 0.05\n'
        '[[kpis]]\nname = "Cost per lead"\ntarget = 10\nbetter = "lower"\n'
        "tiers = [[1.0, 0.10], [1.25, 0.20]]\n"
        '[[kpis]]\nname = "leads"\ntarget = 100\ntiers = [[1.0, 0.05]]\n'
        '[[stages]]\nname = "applications"\n[[stages]]\nname = "calls"\nthreshold = 5\n'
        '[[stages]]\nname = "contracts"\n',
        encoding="utf-8",
    )
    figures = tmp_path / "figures.csv"
    figures.write_text(
        "month;cost per lead;Leads;applications;calls;contracts\n"
        "2026-01;12,00;80;3;4;0\n2026-02;10,00;100;2;5;0\n2026-03;8,00;130;4;9;1\n",
        encoding="utf-8",
    )
    terms = KpiTerms.load(terms_file)
    fees = monthly_fees(terms, read_figures(figures, terms))
    assert fees["Cost per lead attainment"].round(4).tolist() == [round(10 / 12, 4), 1.0, 1.25]
    assert fees["stages_reached"].tolist() == [1, 2, 3]
    assert fees["bonus_share"].round(6).tolist() == [0.05, 0.25, 0.3]
    assert fees["fee"].tolist() == [1050.0, 1250.0, 1300.0]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("month,leads\n2026-01,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column for 'Cost per lead'"):
        read_figures(wrong, terms)


def test_client_ledger_and_ltv(workspace: Workspace) -> None:
    account = workspace.import_clients(FIXTURES / "clients.csv")
    assert (account.read, account.loaded, account.rejected) == (10, 8, 2)
    assert workspace.rejected()["reason"].tolist() == [
        "the fee must be positive",
        "the end is before the start",
    ]
    assert workspace.import_clients(FIXTURES / "clients.csv").duplicates == 8
    book = client_book(workspace, as_of=D(2026, 11, 23))
    assert any("how quickly subscribers cancel" in note for note in book.texts())  # 8 clients
    c3 = book.clients.set_index("client_id").loc["C3"]
    # 17 Mar – 16 May 2025, Mon–Fri: March 11 of 21 weekdays, April whole, May 1–16 12 of 22
    assert c3["months"] == pytest.approx(11 / 21 + 1 + 12 / 22) and c3["periods"] == 3
    assert c3["value"] == pytest.approx(900 * (11 / 21 + 1 + 12 / 22)) and c3["basis"] == "contract"
    summary = book.to_dict()
    assert summary["clients"] == 8 and summary["active"] == 3
    habits = {row["billing"]: row for row in summary["by_billing"]}
    assert habits["calendar"]["few"] and any("billing habits compared on few" in n for n in summary["notes"])
    active = book.clients[book.clients["status"] == "active"]
    assert (active["expected_ltv"] > active["value"]).all()


def test_retainer_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "retainer",
            "invoice",
            "--fee",
            "1500",
            "--currency",
            "USD",
            "--start",
            "2026-11-13",
            "--country",
            "UA",
            "--json",
            "--ics",
            str(tmp_path / "due.ics"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["first_invoice"]["amount"] == 857.14
    assert (tmp_path / "due.ics").read_text(encoding="utf-8").count("BEGIN:VEVENT") == 7
    ws = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["retainer", "import", str(FIXTURES / "clients.csv"), "-w", ws]).exit_code == 0
    result = runner.invoke(app, ["retainer", "ltv", "-w", ws, "--as-of", "2026-11-23", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["clients"] == 8
    book = ["retainer", "book", "import", str(FIXTURES / "retainer_book.csv"), "-w", ws, "--json"]
    result = runner.invoke(app, book)
    assert result.exit_code == 0 and json.loads(result.stdout)["rejected"] == 4
    result = runner.invoke(app, ["retainer", "metrics", "-w", ws, "--as-of", "2026-03-31", "--json"])
    assert result.exit_code == 0, result.output
    months = json.loads(result.stdout)["months"]
    assert [m["bonus"] for m in months if m["currency"] == "UAH"] == [0.0, 4000.0]
    result = runner.invoke(
        app,
        ["retainer", "metrics", "-w", ws, "--as-of", "2026-03-31", "--lang", "ru"],
        env={"COLUMNS": "200"},
    )
    text = " ".join(result.stdout.split())  # Babel's Russian groups digits with a no-break space
    assert result.exit_code == 0 and "44 000 ₴" in text and "мар. 2026" in text
    result = runner.invoke(
        app,
        [
            "retainer",
            "kpi",
            "--terms",
            str(FIXTURES / "kpi_terms.toml"),
            "--figures",
            str(FIXTURES / "kpi_figures.csv"),
            "--format",
            "json",
        ],
    )
    assert [row["fee"] for row in json.loads(result.stdout)] == [1500.0, 1650.0, 1800.0, 1800.0]
    result = runner.invoke(
        app,
        [
            "retainer",
            "invoice",
            "--fee",
            "-1",
            "--currency",
            "USD",
            "--start",
            "2026-11-13",
            "--country",
            "UA",
        ],
    )
    assert result.exit_code == 1 and "fee must be positive" in result.stderr


def test_holiday_names_and_amounts_in_the_language_asked() -> None:
    from ltvkit.retainer.calendar import WorkCalendar

    transfer = D(2025, 11, 3)  # the 1 November Saturday transferred to Monday 3 November
    assert WorkCalendar("RU", lang="ru").holiday_name(transfer) == "Выходной (перенесено с 01.11.2025)"
    assert WorkCalendar("RU").holiday_name(transfer) == "Day off (substituted from 11/01/2025)"
    # no Ukrainian names in the Russian calendar data, no Russian ones in the Ukrainian: ltvkit's own table
    assert WorkCalendar("RU", lang="uk").holiday_name(D(2025, 11, 4)) == "День народної єдності"
    assert WorkCalendar("RU", lang="uk").holiday_name(transfer) == "Вихідний день (перенесено з 01.11.2025)"
    assert WorkCalendar("UA", lang="ru").holiday_name(D(2021, 8, 24)) == "День независимости Украины"
    assert WorkCalendar("UA", lang="ru").holiday_name(D(2021, 8, 23)) == "Выходной (перенесено с 28.08.2021)"
    result = CliRunner().invoke(
        app,
        [
            "retainer",
            "invoice",
            "--fee",
            "60000",
            "--currency",
            "RUB",
            "--start",
            "2025-11-12",
            "--country",
            "RU",
        ]
        + ["--lang", "ru"],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "41 052,63 ₽" in text and "60 000,00 ₽" in text and "День народного единства" in text


@pytest.mark.parametrize(
    ("country", "lang", "day", "name"),
    [("RU", "uk", D(2025, 5, 9), "День Перемоги"), ("UA", "ru", D(2021, 1, 1), "Новый год")],
)
def test_every_holiday_of_a_calendar_without_the_language_is_translated(
    country: str, lang: str, day: dt.date, name: str
) -> None:
    """Every name the Russian calendar gives in Ukrainian and the Ukrainian one in Russian over eight years
    (holidays, observed days, days off moved by decree) is in that language: no Latin letter left."""
    import re

    shown = WorkCalendar(country, lang=lang)
    days = [D(2019, 1, 1) + dt.timedelta(days=n) for n in range(8 * 366)]
    names = {d: shown.holiday_name(d) for d in days if shown.holiday_name(d)}
    assert len(names) > 50 and [n for n in names.values() if re.search("[A-Za-z]", str(n))] == []
    assert shown.holiday_name(day) == name
