from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import DATA
from ltvkit.cli import app
from ltvkit.clv import customer_value
from ltvkit.errors import ParameterError
from ltvkit.evaluation import evaluate_holdout, tracking
from ltvkit.models import BetaGeoModel, GammaGammaModel
from ltvkit.store import Workspace
from ltvkit.summaries import calibration_holdout_summary, customer_summary
from ltvkit.valuation import fit_model

runner = CliRunner()


@pytest.fixture(scope="module")
def cdnow_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "ltv.duckdb"
    with Workspace.open(path) as ws:
        ws.import_file(DATA / "CDNOW_sample.txt.gz")
    return path


def test_clv_equals_a_hand_summed_horizon() -> None:
    """Ten weekly steps (under the 24-step cap), each discounted by its own week."""
    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    summary = pd.DataFrame({"frequency": [2.0, 0.0], "recency": [30.43, 0.0], "T": [38.86, 20.0],
                            "monetary_value": [50.0, 0.0]})  # fmt: skip
    out = customer_value(bg, gg, summary, horizon=10, unit="week", discount_rate=0.2, margin=0.4, interval=None)
    for i in range(2):
        h = summary.iloc[i]
        cum = bg.expected_purchases(np.arange(1.0, 11), frequency=h.frequency, recency=h.recency, T=h["T"])
        discount = 1.2 ** -(np.arange(1.0, 11) * 7 / 365.25)
        spend = (15.44 + h.monetary_value * h.frequency) * 6.25 / (6.25 * h.frequency + 3.74 - 1)
        assert out["clv"].iloc[i] == pytest.approx(0.4 * spend * (np.diff(cum, prepend=0) @ discount), rel=1e-12)
    assert out["expected_purchases"].iloc[0] == pytest.approx(bg.expected_purchases(10, frequency=2, recency=30.43, T=38.86))


def test_clv_interval_brackets_the_estimate(cdnow_rfm: pd.DataFrame) -> None:
    bg = BetaGeoModel().fit(cdnow_rfm)
    gg = GammaGammaModel().fit(cdnow_rfm[cdnow_rfm["monetary_value"] > 0])
    out = customer_value(bg, gg, cdnow_rfm, horizon=12, unit="week", n_draws=60)
    assert (out["clv_low"] <= out["clv"] * 1.0001).all() and (out["clv"] <= out["clv_high"] * 1.0001).all()
    assert (out["clv_high"] > out["clv_low"]).mean() > 0.99
    with pytest.raises(ParameterError, match="margin"):
        customer_value(bg, gg, cdnow_rfm, horizon=12, margin=30)


def test_holdout_evaluation_and_tracking(cdnow_path: Path) -> None:
    with Workspace.open(cdnow_path, read_only=True) as ws:
        split = calibration_holdout_summary(ws.table("orders"), calibration_end="1997-09-30").execute()
    result = evaluate_holdout(split, "bgnbd")
    assert result.actual_total == split["frequency_holdout"].sum()
    assert abs(result.total_error) < 0.2 and result.rmse < 2
    births = (39 - split["T"]).to_numpy()  # weeks from 1997-01-01 to each first purchase
    expected = tracking(result.fitted, births, np.array([39.0, 78.0]))
    # at the end of calibration the expected cumulative repeat purchases are close to those observed
    assert expected[0] == pytest.approx(split["frequency"].sum(), rel=0.05)
    assert expected[1] > expected[0]


def test_fit_model_on_a_workspace(cdnow_path: Path) -> None:
    with Workspace.open(cdnow_path, read_only=True) as ws:
        result = fit_model(ws.table("orders"), "gammagamma", observation_end="1997-09-30")
        assert float(f"{result.model.params_['p']:.3g}") == 6.25
        with pytest.raises(ParameterError, match="--product"):
            fit_model(ws.table("orders"), "sbg")
        with pytest.raises(ParameterError, match="unknown model"):
            fit_model(ws.table("orders"), "gbm")


def test_cli_fit_json_names_parameters_as_the_papers(cdnow_path: Path) -> None:
    result = runner.invoke(app, ["fit", "--model", "bgnbd", "--calibration-end", "1997-09-30", "-w", str(cdnow_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {k: round(data[k], 3) for k in ("r", "alpha", "a", "b")} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(data["log_likelihood"], 1) == -9582.4 and set(data["standard_errors"]) == {"r", "alpha", "a", "b"}


def test_cli_predict_writes_one_row_per_customer(cdnow_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", "--horizon", "3", "--unit", "month", "--discount-rate", "0.1",
                                 "--margin", "0.3", "--out", str(out), "-w", str(cdnow_path), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"customer_id": str})
    assert len(table) == 2357 and table["customer_id"].is_unique
    assert {"probability_alive", "expected_purchases", "clv", "clv_low", "clv_high"} <= set(table.columns)
    assert table["probability_alive"].between(0, 1).all()
    assert json.loads(result.stdout)["total_clv"] == pytest.approx(table["clv"].sum())


def test_cli_compare_ranks_models(cdnow_path: Path) -> None:
    result = runner.invoke(app, ["compare", "--calibration-end", "1997-09-30", "-w", str(cdnow_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [m["rank"] for m in data["models"]] == [1, 2, 3]
    assert sorted(m["model"] for m in data["models"]) == ["bgnbd", "mbgnbd", "paretonbd"]
    rmse = [m["rmse"] for m in data["models"]]
    assert rmse == sorted(rmse)
    track = {row["period"]: row for row in data["tracking"]}
    # 2,457 repeat purchase days by the end of week 39 (the paper's count); 1,882 more in the holdout
    assert track[39.0]["actual"] == 2457 and track[78.0]["actual"] == 2457 + 1882
    assert track[39.0]["bgnbd"] == pytest.approx(2457, rel=0.03)
    assert all(track[p]["bgnbd"] <= track[p + 1]["bgnbd"] for p in range(1, 78))


def test_summary_and_models_share_one_definition(cdnow_path: Path) -> None:
    with Workspace.open(cdnow_path, read_only=True) as ws:
        summary = customer_summary(ws.table("orders"), observation_end="1997-09-30").execute()
    assert summary["customer_id"].is_monotonic_increasing  # deterministic order


def test_collect_notes_keeps_ltvkit_warnings_and_passes_the_others_once() -> None:
    import warnings

    from ltvkit.errors import ApproximationWarning, collect_notes

    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with collect_notes() as notes:
            warnings.warn("weakly identified", ApproximationWarning, stacklevel=1)
            warnings.warn("covariance is not positive-semidefinite", RuntimeWarning, stacklevel=1)
    assert notes == ["weakly identified"]
    assert [str(w.message) for w in outer] == ["covariance is not positive-semidefinite"]
