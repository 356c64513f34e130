"""The names of the choices a user makes (models, table formats, cohort metrics and splits, segment schemes,
the workspace file), in a module that imports nothing heavy, so that the CLI can list them in its help
without loading pandas or Ibis. The modules that act on each choice import it from here."""

from __future__ import annotations

from typing import Literal

TimeUnit = Literal["day", "week", "month"]  # the unit of recency, T and model time

DEFAULT_WORKSPACE = "ltv.duckdb"

FORMATS = ("csv", "xlsx", "parquet", "json")  # tables written by --format / --out

SPLITS = ("channel", "first_product", "utm_source", "utm_medium", "utm_campaign")  # first-purchase fields
METRICS: tuple[str, ...] = ("customers", "retention", "revenue", "ltv", "orders")  # cohort cells

SCHEMES = ("rfm", "lifecycle", "value")  # segmentations

PURCHASE_MODELS = ("bgnbd", "mbgnbd", "paretonbd")  # repeat purchases in continuous time
MODELS = (*PURCHASE_MODELS, "bgbb", "gammagamma", "sbg")
