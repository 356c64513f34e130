"""Results as JSON: NaN and infinities become null, NumPy scalars plain numbers, dates ISO strings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def jsonable(value: Any) -> Any:
    """``value`` with every nested float made finite-or-None (rounded to 6 places), NumPy scalars unwrapped
    and dates and timestamps as ISO strings, so ``json.dumps`` accepts it and JavaScript reads it."""
    if isinstance(value, float):
        return None if not np.isfinite(value) else round(value, 6)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if value is pd.NaT:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of JSON-ready row objects."""
    return jsonable(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))
