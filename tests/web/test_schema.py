"""Property-based API test: schemathesis generates requests from the app's own OpenAPI schema and sends them
to a running server on a small demo school; no answer may be a server error."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.web.conftest import LiveServer

from ltvkit.data import demo
from ltvkit.data.workspace import Workspace
from ltvkit.web.app import create_app


@pytest.fixture(scope="module")
def live_school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running server on a 300-customer school (small, so that model endpoints answer quickly)."""
    folder = tmp_path_factory.mktemp("schema")
    orders, spend = demo.generate(folder, seed=31, customers=300)
    with Workspace.open(folder / "ltv.duckdb") as ws:
        ws.import_file(orders)
        ws.import_file(spend)
    with LiveServer(folder / "ltv.duckdb") as server:
        yield server


def _openapi() -> dict:
    """The app's schema (it does not depend on the data, so an empty workspace serves)."""
    folder = Path(tempfile.mkdtemp(prefix="ltv-openapi-"))
    app = create_app(folder / "ltv.duckdb")
    document = app.openapi()
    app.state.hub.close()
    shutil.rmtree(folder)
    return document


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case: schemathesis.Case, live_school: LiveServer) -> None:
    """Every check: no server error, only documented status codes and bodies, schema-valid requests accepted,
    invalid ones refused. Two kinds of request may be refused (400, 422) though the schema allows them,
    because what makes them wrong is not in a schema: an upload's content (an empty or unreadable file),
    and what-if changes that take a figure of the data out of its range (a churn change that makes the
    monthly churn negative)."""
    judged_on_the_data = case.operation.method.upper() == "POST" and case.operation.path in (
        "/api/imports",
        "/api/scenarios",
        "/api/tripwire",
    )
    case.call_and_validate(
        base_url=live_school.url,
        timeout=120,
        excluded_checks=[positive_data_acceptance] if judged_on_the_data else [],
    )
