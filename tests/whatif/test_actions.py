"""What to do first: the levers' money by hand on a ten-customer school, their ranking, and the segments and
channels each acts on.

The school (``fixtures/actions_orders.csv``, ``actions_spend.csv``), data to 2025-12-31:

- ads: a1, a2 (Dec 2024), a3, a4 (Jun 2025), one purchase of 1,200 each; spend 2,000 in each of those
  months → CAC 1,000, LTV 1,200, LTV:CAC 1.20, max CAC 400: above it;
- blog: b1, b2 (Dec 2024), b3, b4 (Jun 2025), 600 and 600 a month later; spend 600 in each month → CAC 300,
  LTV 1,200, LTV:CAC 4.00, max CAC 400: below it;
- organic: o1 four purchases of 500 (Dec 2024 to the last day), o3 one of 300 (Jan 2025).

10 customers, 17 purchases, 11,900 of revenue: AOV 700, 1.7 purchases per customer, LTV 1,190. New
customers in the last 12 months (first purchase after 2024-12-31): a3, a4, b3, b4, o3 = 5.

RFM (ten customers: scores by pairs of ranks): o1 champions; b4, b3, a3, b2 need attention; a4 promising;
o3 hibernating (R2, one purchase); b1 at risk (R2, two purchases); a1, a2 lost.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import FIXTURES
from ltvkit import formatting
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError
from ltvkit.service.actions import Actions, Assumptions, actions, new_customers_per, spend_per
from ltvkit.service.segments import segments

# per new customer: upsell 1,190 × 10%; frequency 700 × 0.7 × 10%; retention 700 × 0.7 × (1/0.9 − 1)
UPSELL, FREQUENCY, RETENTION = 5 * 119.0, 5 * 49.0, 5 * 490 / 9
# 20% of the ads' 2,000 of 2025 is 400; the blog takes at most 50% of its 600: 300 moved × (4.00 − 1.20)
BUDGET = 300 * (4.0 - 1.2)
# at risk b1: 10% × 1,200 / 2 purchases; dormant o3: 5% × 300; lost a1, a2: 2 × 2% × 1,200
WIN_BACK = 0.1 * 600 + 0.05 * 300 + 2 * 0.02 * 1200


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.open(tmp_path_factory.mktemp("actions") / "ltv.duckdb")
    ws.import_file(FIXTURES / "actions_orders.csv")
    ws.import_file(FIXTURES / "actions_spend.csv")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def found(school: Workspace) -> Actions:
    return actions(school)


def test_every_lever_by_hand_and_the_largest_first(found: Actions) -> None:
    money = {lever.lever: lever.money for lever in found.levers}
    assert money == pytest.approx(
        {
            "budget": BUDGET,
            "upsell": UPSELL,
            "retention": RETENTION,
            "frequency": FREQUENCY,
            "win_back": WIN_BACK,
        }
    )
    assert [lever.lever for lever in found.levers] == [
        "budget",
        "upsell",
        "retention",
        "frequency",
        "win_back",
    ]
    assert (found.currency, found.basis, found.margin, found.horizon) == ("RUB", "revenue", 1.0, 12)
    # ten customers: the grade is thin, so every lever is a low-confidence one, each on a small group
    assert {lever.confidence for lever in found.levers} == {"low"}
    assert all("small" in lever.caveats for lever in found.levers)


def test_the_what_if_levers_quote_the_formula(found: Actions) -> None:
    levers = {lever.lever: lever for lever in found.levers}
    upsell = levers["upsell"].facts
    assert (upsell["customers"], upsell["aov"], upsell["new_aov"]) == (
        5,
        pytest.approx(700),
        pytest.approx(770),
    )
    assert (upsell["ltv"], upsell["new_ltv"]) == (pytest.approx(1190), pytest.approx(1309))
    assert levers["frequency"].facts["repeats"] == pytest.approx(0.7)
    assert levers["frequency"].facts["new_repeats"] == pytest.approx(0.77)
    retention = levers["retention"].facts
    assert retention["new_churn"] == pytest.approx(0.9 * retention["churn"])


def test_the_budget_moves_from_the_channels_above_their_max_cac(school: Workspace, found: Actions) -> None:
    budget = next(lever for lever in found.levers if lever.lever == "budget")
    assert (budget.channels_from, budget.channels_to) == (("ads",), ("blog",))
    assert budget.facts["moved"] == pytest.approx(300) and budget.facts["spend"] == pytest.approx(2000)
    assert (budget.facts["ratio_from"], budget.facts["ratio_to"]) == (pytest.approx(1.2), pytest.approx(4.0))
    # without the cap on the receiving channel all 400 would move: the cap binds
    loose = actions(school, assumptions=Assumptions(budget_growth=1.0))
    assert next(v.money for v in loose.levers if v.lever == "budget") == pytest.approx(400 * 2.8)


def test_changed_assumptions_change_the_money_by_hand(school: Workspace) -> None:
    """Each assumption moves its lever by the hand-computed amount, and the note states the assumptions
    used: +20% to the check doubles the upsell (5 × 1,190 × 20%); +30% repeat purchases is 5 × 700 × 0.7 ×
    30%; a fifth fewer lost a month 5 × 700 × 0.7 × (1/0.8 − 1); 10% of the ads' 2,000 moved (200, under the
    blog's cap of 300) × 2.80; 30% of the at-risk b1 back for 600, 10% of o3 for 300, 5% of a1, a2 for
    1,200."""
    changed = Assumptions(
        aov_change=0.2,
        frequency_change=0.3,
        churn_cut=0.2,
        budget_share=0.1,
        at_risk=0.3,
        hibernating=0.1,
        lost=0.05,
    )
    found = actions(school, assumptions=changed)
    money = {lever.lever: lever.money for lever in found.levers}
    assert money == pytest.approx(
        {
            "upsell": 5 * 1190 * 0.2,
            "frequency": 5 * 700 * 0.7 * 0.3,
            "retention": 5 * 700 * 0.7 * (1 / 0.8 - 1),
            "budget": 200 * (4.0 - 1.2),
            "win_back": 0.3 * 600 + 0.1 * 300 + 2 * 0.05 * 1200,
        }
    )
    assert money["upsell"] - UPSELL == pytest.approx(5 * 1190 * 0.1)  # +10 points of check: 595 more
    note = found.to_dict("en")["note"]
    assert "the average check 20% higher" in note and "30% more repeat purchases" in note
    assert found.to_dict("en")["assumptions"] == {**Assumptions().__dict__, **changed.__dict__}


def test_each_lever_acts_on_its_segments_the_ones_ltv_segments_exports(
    school: Workspace, found: Actions
) -> None:
    levers = {lever.lever: lever for lever in found.levers}
    targets = {name: [(t.segment, t.customers) for t in lever.targets] for name, lever in levers.items()}
    assert targets == {
        "upsell": [("champions", 1)],
        "frequency": [("promising", 1), ("need attention", 4)],
        "retention": [],  # nobody is "can't lose"
        "budget": [],
        "win_back": [("at risk", 1), ("hibernating", 1), ("lost", 2)],
    }
    back = [(t.returning, t.money) for t in levers["win_back"].targets]
    assert back == [
        (pytest.approx(0.1), pytest.approx(60)),
        (0.05, pytest.approx(15)),
        (0.04, pytest.approx(48)),
    ]
    sizes = segments(school, "rfm").summary().set_index("segment")["customers"].to_dict()
    for lever in levers.values():
        for t in lever.targets:
            assert sizes[t.segment] == t.customers


def test_a_margin_scales_the_money_and_the_channels_it_can_bear(school: Workspace, found: Actions) -> None:
    """At a 50% margin every lever brings half as much profit; the blog's max CAC halves too (600 / 3 = 200,
    below its CAC of 300), so no channel is left to move the budget to."""
    half = actions(school, margin=0.5)
    assert half.basis == "profit"
    full = {lever.lever: lever.money for lever in found.levers if lever.lever != "budget"}
    assert {lever.lever: lever.money for lever in half.levers if lever.lever != "budget"} == pytest.approx(
        {name: value / 2 for name, value in full.items()}
    )
    budget = half.levers[-1]
    assert (budget.lever, budget.why, budget.channels_from) == ("budget", "none_within", ("ads", "blog"))


def test_without_spend_the_budget_lever_says_why_and_goes_last(tmp_path) -> None:  # noqa: ANN001
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(FIXTURES / "actions_orders.csv")
        found = actions(ws)
    assert [lever.lever for lever in found.levers] == [
        "upsell",
        "retention",
        "frequency",
        "win_back",
        "budget",
    ]
    last = found.levers[-1]
    assert (last.applies, last.why, last.money) == (False, "no_spend", 0.0)
    assert "spend" in found.to_dict("en")["levers"][-1]["action"]


def test_the_views_are_in_each_language_with_its_numbers(found: Actions) -> None:
    for lang in ("en", "ru", "uk"):
        view = found.to_dict(lang)
        first = view["levers"][0]
        assert first["money_text"] == formatting.money(BUDGET, "RUB", lang)
        assert formatting.money(300, "RUB", lang) in first["action"]
        assert formatting.ratio(4.0, lang) in first["basis"] and formatting.ratio(1.2, lang) in first["basis"]
        upsell = view["levers"][1]
        assert formatting.money(770, "RUB", lang) in upsell["action"]
        assert formatting.percent(0.1, lang, digits=0) in upsell["action"]
    assert found.to_dict("ru")["levers"][0]["sure"].startswith("Надёжность: низкая")


def test_the_pace_of_young_data_is_scaled_to_the_horizon() -> None:
    end = dt.date(2025, 12, 31)
    # six months of data (184 days, Jul–Dec) with 46 new customers: 46 × 365 / 184 in twelve months
    values = pd.DataFrame({"first_purchase": pd.date_range("2025-07-01", periods=46, freq="4D")})
    assert new_customers_per(values, end, 12) == pytest.approx(46 * 365 / 184)
    assert new_customers_per(values, end, 3) == (values["first_purchase"] > "2025-09-30").sum()
    spend = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2025-09-01", "2025-10-01", "2025-12-01", "2025-12-01"]),
            "channel": ["a", "a", "a", "b"],
            "spend": [100.0, 200.0, 300.0, 50.0],
        }
    )
    # spend from September: four months seen of twelve
    assert spend_per(spend, end, 12).to_dict() == pytest.approx({"a": 600 * 3, "b": 50 * 3})
    assert spend_per(spend, end, 2).to_dict() == pytest.approx({"a": 300, "b": 50})


def test_assumptions_are_checked(school: Workspace) -> None:
    for bad in (Assumptions(churn_cut=1.0), Assumptions(budget_share=0), Assumptions(lost=1.5)):
        with pytest.raises(ParameterError):
            actions(school, assumptions=bad)
    with pytest.raises(ParameterError):
        actions(school, horizon=0)
