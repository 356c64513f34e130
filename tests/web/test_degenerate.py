"""Degenerate data through the API: predictions and fits with their notes, or one sentence; strict JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.test_hostile_input import ONE_DAY, ONE_DAY_IN, degenerate_orders
from tests.web.conftest import TEST_HOSTS

from ltvkit.data.workspace import Workspace
from ltvkit.web.app import create_app


def strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("kind", ["one_each", "one_day"])
def test_predictions_and_fits_on_degenerate_data(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(degenerate_orders(kind), encoding="utf-8")
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(path)
    with TestClient(create_app(tmp_path / "ltv.duckdb", allowed_hosts=TEST_HOSTS)) as client:
        fit = client.post("/api/fit?wait=true", json={"model": "paretonbd", "unit": "week"})
        predicted = client.get("/api/predictions", params={"model": "paretonbd"})
        if kind == "one_day":  # nothing to fit or predict on: one sentence, in every language
            for refused in (fit, predicted):
                assert refused.status_code == 404 and ONE_DAY in refused.json()["message"]
                said = refused.json()["messages"]
                assert ONE_DAY_IN["ru"] in said["ru"] and ONE_DAY_IN["uk"] in said["uk"]
            assert "parameters cannot be estimated" in fit.json()["message"]
            return
        assert fit.status_code == 200 and strict(fit.text)["model"] == "paretonbd"
        assert predicted.status_code == 200, predicted.text
        found = strict(predicted.text)
        assert found["customers"] == 200 and 0 < found["total_clv"]
        assert any("no customer has paid for a repeat purchase yet" in n for n in found["notes"])
        for lang, words in (("ru", "ни один клиент ещё не оплатил"), ("uk", "жоден клієнт ще не оплатив")):
            said = client.get("/api/predictions", params={"model": "paretonbd", "lang": lang}).json()
            assert any(n.startswith(words) for n in said["notes"]), said["notes"]  # cached, in lang
