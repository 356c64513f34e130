"""What-if scenarios and the tripwire: formula results by hand, model results against simulation, scenario
files through the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from ltvkit.data.workspace import Workspace
from ltvkit.errors import ParameterError
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.whatif.scenarios import (
    Baseline,
    Scenario,
    adjusted_models,
    evaluate,
    formula,
    model_value,
    read_scenarios,
)
from ltvkit.whatif.tripwire import TripwireScenario, evaluate_tripwire, tripwire_baseline, tripwire_value

BASE = Baseline(currency="USD", aov=100.0, purchases_per_customer=3.0, lifetime_months=10.0, margin=0.5)


def test_formula_by_hand() -> None:
    # +40% check: 140 × 3 = 420 (LTV 300 → 420)
    assert formula(BASE, Scenario(aov_change=0.4))["ltv"] == pytest.approx(420)
    # an upsell at 50 taken with 20% of purchases: AOV 110 → 330
    assert formula(BASE, Scenario(upsell_rate=0.2, upsell_price=50))["ltv"] == pytest.approx(330)
    # 10% more repeat purchases: 1 + 2 × 1.1 = 3.2 purchases → 320
    assert formula(BASE, Scenario(frequency_change=0.1))["ltv"] == pytest.approx(320)
    # churn 10%/month − 2 points = 8% → lifetime 12.5 months; repeats 2 × 12.5/10 = 2.5 → 350
    result = formula(BASE, Scenario(churn_change=-0.02))
    assert (result["lifetime_months"], result["ltv"]) == (pytest.approx(12.5), pytest.approx(350))
    assert formula(BASE, Scenario(margin=0.7))["margin_ltv"] == pytest.approx(210)
    table = evaluate(BASE, [Scenario("upsell", aov_change=0.4)], target_ratio=3)
    assert table["formula_max_cac"].tolist() == [
        pytest.approx(50),
        pytest.approx(70),
    ]  # 300 × 0.5 / 3 → 420 × 0.5 / 3
    with pytest.raises(ParameterError, match="not positive"):
        formula(BASE, Scenario(churn_change=-0.2))


def test_model_version_matches_simulation() -> None:
    """The adjusted BG/NBD parameters give the expected purchases a simulation of the changed business
    makes."""
    bg = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    gg = GammaGammaModel.from_params(p=6.0, q=3.8, gamma=15.0)
    base = Baseline(**{**BASE.__dict__, "model": (bg, gg)})
    for s in (Scenario(frequency_change=0.2), Scenario(churn_change=-0.03), Scenario(aov_change=0.4)):
        new_bg, new_gg = adjusted_models(base, s)
        value = model_value(new_bg, new_gg, horizon_months=24, margin=1.0)
        simulated = new_bg.simulate(T=np.zeros(200_000), future=24 * 365.25 / 12 / 7, random_state=5)
        assert value["purchases_per_customer"] - 1 == pytest.approx(
            simulated["future_purchases"].mean(), rel=0.03
        )
        spend = new_gg.simulate(np.ones(200_000), random_state=6)["monetary_value"].mean()
        assert value["aov"] == pytest.approx(spend, rel=0.03)
    assert adjusted_models(base, Scenario(aov_change=0.4))[1].mean_spend() == pytest.approx(
        1.4 * gg.mean_spend()
    )


def test_scenarios_file_and_cli(tmp_path: Path) -> None:
    """A TOML file of scenarios, read and run by ``ltv scenario --file`` on the analytics fixture: the formula
    LTV is AOV 150 × 1.75 purchases = 262.5 (max CAC at LTV:CAC 3: 87.5); +40% to the check gives 367.5, and
    +10% repeat purchases 150 × (1 + 0.75 × 1.1) = 273.75."""
    import json

    from typer.testing import CliRunner

    from ltvkit.cli import app

    file = tmp_path / "scenarios.toml"
    file.write_text(
        '[upsell]\naov_change = 0.4\n\n["follow-ups"]\nfrequency_change = 0.1\n', encoding="utf-8"
    )
    scenarios = read_scenarios(file)
    assert [(s.name, s.aov_change, s.frequency_change) for s in scenarios] == [
        ("upsell", 0.4, 0.0),
        ("follow-ups", 0.0, 0.1),
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text("[x]\nprice = 1\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="unknown fields"):
        read_scenarios(bad)
    path = str(tmp_path / "ltv.duckdb")
    runner = CliRunner()
    orders = str(FIXTURES / "analytics_orders.csv")
    assert runner.invoke(app, ["import", orders, "--currency", "USD", "-w", path]).exit_code == 0
    result = runner.invoke(app, ["scenario", "--file", str(file), "-w", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["scenario"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["baseline", "upsell", "follow-ups"]
    formula = {name: (row["formula_ltv"], row["formula_max_cac"]) for name, row in rows.items()}
    assert formula == {
        "baseline": pytest.approx((262.5, 87.5)),
        "upsell": pytest.approx((367.5, 122.5)),
        "follow-ups": pytest.approx((273.75, 91.25)),
    }
    assert rows["upsell"]["model_ltv_change"] == pytest.approx(0.4)
    assert "not pinned down by the data" in " ".join(result.stderr.split())  # four customers: say so


def test_tripwire_price_by_hand(tmp_path: Path) -> None:
    """Four tripwire buyers at 10 (cost 2; d got a 5 refund); a and b go on to the core course at 100
    (cost 20), c buys a 30 book (cost 6); e came in through the core course and is no tripwire buyer."""
    rows = """order id,customer,date,amount,status,refunded,product,cost
1,a,2026-01-05,10,paid,,Tripwire,2
2,b,2026-01-06,10,paid,,Tripwire,2
3,c,2026-01-07,10,paid,,Tripwire,2
4,d,2026-01-08,10,partially refunded,5,Tripwire,2
5,a,2026-02-05,100,paid,,Core,20
6,b,2026-03-05,100,paid,,Core,20
7,c,2026-02-07,30,paid,,Book,6
8,e,2026-01-09,100,paid,,Core,20
"""
    (tmp_path / "orders.csv").write_text(rows, encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(tmp_path / "orders.csv", currency="USD")
        base = tripwire_baseline(ws.table("orders"), "Tripwire", "Core")
    assert (base.buyers, base.list_price, base.net, base.unit_cost, base.conversion) == (4, 10, 8.75, 2, 0.5)
    assert (base.later_net_converted, base.later_profit_converted) == (100, 80)
    assert (base.later_net_others, base.later_profit_others) == (15, 12)  # c's 30 and d's nothing
    table = evaluate_tripwire(
        base, [TripwireScenario("cheaper", price=5, conversion=0.6, buyers_change=1.0)], target_ratio=2
    )
    today, cheaper = table.to_dict(orient="records")
    # today: 8.75 + 0.5 × 100 + 0.5 × 15 = 66.25; profit 6.75 + 40 + 6 = 52.75
    assert (today["ltv"], today["profit_ltv"], today["max_cac"]) == (
        pytest.approx(66.25),
        pytest.approx(52.75),
        pytest.approx(26.375),
    )
    # at 5: net 4.375 (the same refund share), profit 2.375; 0.6 × 100 + 0.4 × 15 = 66 → LTV 70.375;
    # profit 2.375 + 48 + 4.8 = 55.175; twice the buyers per unit of spend: 2 × 55.175 / 52.75 − 1
    assert (cheaper["ltv"], cheaper["profit_ltv"]) == (pytest.approx(70.375), pytest.approx(55.175))
    assert cheaper["spend_value_change"] == pytest.approx(2 * 55.175 / 52.75 - 1)
    with pytest.raises(ParameterError, match="conversion"):
        tripwire_value(base, TripwireScenario(conversion=1.5))
    with Workspace.open(tmp_path / "ltv.duckdb") as ws, pytest.raises(ParameterError, match="first purchase"):
        tripwire_baseline(ws.table("orders"), "Webinar", "Core")
