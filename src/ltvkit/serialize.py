"""Results as JSON: NaN and infinities become null, NumPy scalars plain numbers, dates ISO strings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd


def jsonable(value: Any, digits: int | None = 6) -> Any:
    """``value`` with every nested float made finite-or-None (rounded to ``digits`` places unless None),
    NumPy scalars unwrapped and dates and timestamps as ISO strings, so ``json.dumps(..., allow_nan=False)``
    accepts it and JavaScript reads it."""
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return value if digits is None else round(value, digits)
    if isinstance(value, dict):
        return {str(k): jsonable(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, digits) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item(), digits)
    if value is pd.NaT:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of JSON-ready row objects."""
    return jsonable(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Valid JSON of ``value`` at full precision: non-finite numbers as null, never ``NaN``/``Infinity``;
    anything else that JSON has no type for as its text."""
    return json.dumps(jsonable(value, None), ensure_ascii=False, indent=indent, default=str, allow_nan=False)
