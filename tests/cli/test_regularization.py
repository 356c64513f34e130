"""``--regularization`` on the commands that fit models: none is the plain maximum likelihood, map the fit
with the weakly informative priors, and the output says which was used."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from tests.predict.test_small_data import school_orders
from typer.testing import CliRunner

from ltvkit.cli import app
from ltvkit.data.workspace import Workspace
from ltvkit.errors import WeakIdentificationWarning
from ltvkit.models import BetaGeoModel
from ltvkit.predict.summaries import compressed, customer_summary

runner = CliRunner()


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("school")
    path = folder / "ltv.duckdb"
    with Workspace.open(path) as ws:
        ws.import_file(school_orders(folder / "orders.csv", 60, 12, seed=60), currency="RUB")
    return path


def ltv(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def direct_fit(workspace: Path, regularization: str | float) -> np.ndarray:
    with Workspace.open(workspace) as ws:
        summary = compressed(customer_summary(ws.table("orders"), unit="week")).execute()
    with warnings.catch_warnings():  # the plain fit on 60 customers is weakly identified, as the CLI notes
        warnings.simplefilter("ignore", WeakIdentificationWarning)
        return BetaGeoModel(regularization=regularization).fit(summary).params_.to_numpy()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("choice", "weight", "reason", "said"),
    [
        ("none", 0.0, "off", "maximum likelihood, no priors"),
        ("map", 1.0, "asked", "weakly informative priors at weight 1"),
        ("auto", 1.0, "thin_data", "Few customers to learn from"),
    ],
)
def test_fit_uses_the_regularization_asked_and_says_so(
    school: Path, choice: str, weight: float, reason: str, said: str
) -> None:
    code, out, err = ltv("fit", "-w", str(school), "--regularization", choice, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert (found["regularization"]["weight"], found["regularization"]["reason"]) == (weight, reason)
    fitted = [found[name] for name in ("r", "alpha", "a", "b")]
    want = direct_fit(school, "none" if choice == "none" else 1.0)
    np.testing.assert_allclose(fitted, want, rtol=1e-12)
    code, out, _ = ltv("fit", "-w", str(school), "--regularization", choice)
    assert code == 0 and said in " ".join(out.split())


def test_plain_and_map_fits_differ_on_a_small_school(school: Path) -> None:
    assert not np.allclose(direct_fit(school, "none"), direct_fit(school, 1.0), rtol=1e-3)


def test_predict_and_compare_say_how_the_models_were_fitted(school: Path, tmp_path: Path) -> None:
    code, out, err = ltv(
        "predict", "-w", str(school), "--regularization", "none", "--out", str(tmp_path / "p.csv"), "--json"
    )
    assert code == 0, err
    info = json.loads(out)
    assert info["purchase_regularization"]["reason"] == "off"
    assert info["spend_regularization"]["reason"] == "off"
    code, out, err = ltv("compare", "-w", str(school), "--regularization", "map", "--json")
    assert code == 0, err
    assert {m["regularization"]["reason"] for m in json.loads(out)["models"]} == {"asked"}
    code, out, _ = ltv("compare", "-w", str(school), "--regularization", "map")
    assert code == 0 and "weakly informative priors at weight 1" in " ".join(out.split())


def test_an_unknown_regularization_names_the_flag(school: Path) -> None:
    code, _, err = ltv("fit", "-w", str(school), "--regularization", "strong")
    assert code == 1
    assert "--regularization" in err and "auto, none, map" in err


def test_the_api_takes_the_same_choice(school: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ltvkit.web.app import LOOPBACK_HOSTS, create_app

    copy = tmp_path / "ltv.duckdb"
    copy.write_bytes(school.read_bytes())
    with TestClient(create_app(copy, allowed_hosts=(*LOOPBACK_HOSTS, "testserver"))) as client:
        fitted = client.post("/api/fit?wait=true", json={"regularization": "none"})
        assert fitted.status_code == 200, fitted.text
        assert fitted.json()["regularization"]["reason"] == "off"
        scored = client.get("/api/predictions", params={"regularization": "map", "intervals": False})
        assert scored.status_code == 200, scored.text
        assert scored.json()["purchase_regularization"]["reason"] == "asked"
        assert client.get("/api/predictions", params={"regularization": "strong"}).status_code == 422
