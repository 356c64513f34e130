"""The same fixtures on a local Spark session and on DuckDB: identical results, computed in Spark.

These start a ``local[2]`` Spark session (a JVM; Java is needed: ``make test`` installs it). In CI a missing
Java or PySpark fails the run instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ltvkit.cli import app
from ltvkit.data.sources import Source, write_result
from ltvkit.service.valuation import fit_model, score_customers
from warehouse import analyses, assert_same, warehouse_files

pytestmark = pytest.mark.spark


def _require_spark() -> None:
    missing = "Java" if shutil.which("java") is None else None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "PySpark"
    if missing:
        message = f"{missing} is not installed (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return warehouse_files(tmp_path_factory.mktemp("warehouse"))


@pytest.fixture(scope="module")
def spark_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    _require_spark()
    return f"spark://local[2]?spark.sql.warehouse.dir={tmp_path_factory.mktemp('spark-warehouse')}"


@pytest.fixture(scope="module")
def spark_orders(spark_url: str, files: dict[str, Path]) -> Iterator[Source]:
    """The analytics fixture in Spark; the session ends with the module."""
    source = Source.open(
        spark_url, str(files["orders"]), mapping=files["mapping"], spend_table=str(files["spend"])
    )
    yield source
    source.close()


@pytest.fixture(scope="module")
def spark_cdnow(spark_orders: Source, files: dict[str, Path]) -> Source:
    """The CDNOW sample in the same Spark session."""
    return Source(
        spark_orders.backend.read_parquet(str(files["cdnow"])), mapping=files["mapping"], name="cdnow"
    )


def test_spark_computes_what_duckdb_computes(spark_orders: Source, files: dict[str, Path]) -> None:
    assert spark_orders.backend.name == "pyspark"
    with Source.open(str(files["orders"]), mapping=files["mapping"], spend_table=str(files["spend"])) as duck:
        assert spark_orders.account() == duck.account()
        assert_same(analyses(spark_orders), analyses(duck))


def test_a_model_fitted_on_spark_statistics_matches_the_paper(spark_cdnow: Source) -> None:
    result = fit_model(spark_cdnow.table("orders"), "bgnbd", observation_end="1997-09-30")
    assert result.model.n_customers_ == 2357
    assert {k: round(v, 3) for k, v in result.model.params_.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(result.model.log_likelihood_, 2) == -9582.43


def test_scores_written_by_spark_equal_duckdbs(
    spark_cdnow: Source, files: dict[str, Path], tmp_path: Path
) -> None:
    settings = dict(horizon=12, unit="month", discount_rate=0.1, observation_end="1997-09-30")
    expr, info = score_customers(spark_cdnow.table("orders"), **settings)  # type: ignore[arg-type]
    folder = tmp_path / "scores.parquet"
    write_result(spark_cdnow.backend, expr, folder)
    assert folder.is_dir()  # Spark writes part files, in the engine, not through this process
    spark = pd.read_parquet(folder).sort_values("customer_id").reset_index(drop=True)
    with Source.open(str(files["cdnow"]), mapping=files["mapping"]) as duck:
        duck_expr, duck_info = score_customers(duck.table("orders"), **settings)  # type: ignore[arg-type]
        expected = duck_expr.execute().sort_values("customer_id").reset_index(drop=True)
    correlation = info.pop("frequency_spend_correlation")  # summed in another order: equal to rounding
    assert correlation == pytest.approx(duck_info.pop("frequency_spend_correlation"), rel=1e-12)
    # spend per repeat transaction is a difference of sums, added in another order by each engine: the
    # Gamma-Gamma fit then stops a few ulps apart
    spend, duck_spend = info.pop("spend_params"), duck_info.pop("spend_params")
    assert spend == pytest.approx(duck_spend, rel=1e-9)
    assert info == duck_info and len(spark) == 2357
    dates = ["first_purchase", "last_purchase"]  # pandas reads Spark's dates as dates, DuckDB's as timestamps
    spark[dates], expected[dates] = spark[dates].apply(pd.to_datetime), expected[dates].apply(pd.to_datetime)
    pd.testing.assert_frame_equal(spark[expected.columns], expected, check_dtype=False, rtol=1e-9)


def test_cli_on_spark(spark_url: str, files: dict[str, Path], spark_orders: Source) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--source",
            spark_url,
            "--table",
            str(files["orders"]),
            "--mapping",
            str(files["mapping"]),
            "check",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], data["usable"], data["left_out"]) == (11, 11, {})
