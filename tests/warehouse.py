"""Test data shaped like a warehouse's: order tables under other column names, with a mapping file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from conftest import DATA, FIXTURES
from ltvkit.analytics.channels import cac_table, quality_by
from ltvkit.analytics.cohorts import cohort_table
from ltvkit.analytics.historical import ltv_summary, pareto_table
from ltvkit.analytics.segments import segment
from ltvkit.data.sources import Tables
from ltvkit.data.workspace import Workspace
from ltvkit.predict.summaries import compressed, customer_summary, discrete_summary
from ltvkit.service.report import report_data

#: ltvkit field → the warehouse's column
RENAMED = {
    "order_id": "Order No",
    "customer_id": "client_ref",
    "ordered_at": "paid_ts",
    "amount": "gross",
    "refunded": "refund_total",
    "status": "state",
    "currency": "cur",
    "product": "sku",
    "channel": "src",
    "cost": "cogs",
}

MAPPING = "\n".join(['name = "warehouse"', "[columns]", *(f'{f} = "{c}"' for f, c in RENAMED.items())]) + "\n"


def warehouse_files(folder: Path) -> dict[str, Path]:
    """The analytics fixture (orders and spend) and the CDNOW sample, imported into a workspace and written
    out as Parquet under the warehouse's names, with the mapping file; keys: workspace, orders, spend, cdnow,
    mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "workspace": folder / "ltv.duckdb",
        "cdnow_workspace": folder / "cdnow.duckdb",
        "orders": folder / "orders.parquet",
        "spend": folder / "spend.parquet",
        "cdnow": folder / "cdnow.parquet",
        "mapping": folder / "warehouse.toml",
    }
    with Workspace.open(paths["workspace"]) as ws:
        ws.import_file(FIXTURES / "analytics_orders.csv")
        ws.import_file(FIXTURES / "analytics_spend.csv")
        _orders_frame(ws).to_parquet(paths["orders"])
        ws.spend()[["date", "channel", "campaign", "amount", "currency"]].to_parquet(paths["spend"])
    with Workspace.open(paths["cdnow_workspace"]) as ws:
        ws.import_file(DATA / "CDNOW_sample.txt.gz")
        _orders_frame(ws).to_parquet(paths["cdnow"])
    paths["mapping"].write_text(MAPPING, encoding="utf-8")
    return paths


def _orders_frame(ws: Workspace) -> pd.DataFrame:
    return ws.transactions()[list(RENAMED)].rename(columns=RENAMED)


def analyses(data: Tables) -> dict[str, object]:
    """Every analysis of the analytics fixture that runs in the engine, as plain values to compare."""
    orders, spend = data.table("orders"), data.table("spend")
    by_channel, by_month = cac_table(orders, spend, margin=0.5)
    return {
        "summary": _sorted(customer_summary(orders, unit="day").execute()),
        "fit statistics": _sorted(
            compressed(customer_summary(orders, unit="day")).execute(), "frequency", "recency", "T"
        ),
        "bgbb statistics": _sorted(discrete_summary(orders, unit="month").execute()),
        "cohorts by month": cohort_table(orders),
        "cohorts by week and channel": cohort_table(orders, period="week", split="channel"),
        "channels": quality_by(orders, "channel", margin=0.5),
        "cac by channel": by_channel,
        "cac by month": by_month,
        "pareto": pareto_table(orders),
        "ltv": ltv_summary(orders).to_dict(),
        "rfm": _sorted(segment(orders, "rfm")),
        "report": report_data(data, predictions=False),  # the models: compared with a tolerance apart
    }


def _sorted(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    return frame.sort_values(list(keys) or "customer_id").reset_index(drop=True)


def assert_same(left: dict[str, object], right: dict[str, object]) -> None:
    """The two engines' results are the same (floats to 1e-9 relative: sums may add in another order)."""
    assert left.keys() == right.keys()
    for name in left:
        a, b = left[name], right[name]
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, obj=name)
        else:
            assert _rounded(a) == _rounded(b), name


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
