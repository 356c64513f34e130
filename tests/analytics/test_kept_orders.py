"""A run of many figures on a source keeps its mapped orders and its per-customer table once
(``Analysis(keep=True)``)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from conftest import FIXTURES
from ltvkit.data.sources import Source
from ltvkit.service.analysis import Analysis


def _tables(source: Source) -> set[str]:
    return {name for (name,) in source.backend.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_kept_orders_give_the_same_figures_and_are_dropped_on_close(tmp_path: Path) -> None:
    parquet = tmp_path / "orders.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{FIXTURES / 'analytics_orders.csv'}', all_varchar = true)) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    with Source.open(str(parquet)) as source:
        plain = Analysis(source)
        before = _tables(source)
        with Analysis(source, keep=True) as kept:
            assert len(_tables(source) - before) == 2  # the kept orders and the per-customer table
            assert kept.currency == plain.currency
            assert kept.ltv().to_dict() == plain.ltv().to_dict()
            assert kept.cohort_table().equals(plain.cohort_table())
            assert kept.quality_by("first_product").equals(plain.quality_by("first_product"))
        assert _tables(source) == before
