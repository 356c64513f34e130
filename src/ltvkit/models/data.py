"""Checks and conversions of the per-customer data the models take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

from ltvkit.errors import InputError

Columns: TypeAlias = float | Sequence[float] | np.ndarray | pd.Series


def as_arrays(
    data: pd.DataFrame | None, columns: Mapping[str, Columns], names: tuple[str, ...]
) -> list[np.ndarray]:
    """The named columns as float arrays, from ``data`` or from keyword arguments, broadcast together."""
    if data is not None:
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise InputError(f"the data has no column {', '.join(missing)}")
        values = [data[n].to_numpy(dtype=float) for n in names]
    else:
        missing = [n for n in names if n not in columns]
        if missing:
            raise InputError(f"pass a DataFrame or the arguments {', '.join(names)}")
        values = [np.asarray(columns[n], dtype=float) for n in names]
    return list(np.broadcast_arrays(*values))


def check_rfm(data: pd.DataFrame, *, integer_frequency: bool = True) -> None:
    """Raise :class:`InputError` unless 0 ≤ recency ≤ T, frequency is a whole number ≥ 0 and recency is 0 for
    customers with no repeat purchase."""
    x, t_x, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    problems = {
        "values are missing or infinite": ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)),
        "frequency is negative": x < 0,
        "recency is negative": t_x < 0,
        "recency exceeds T": t_x > T * (1 + 1e-12),
        "recency is positive for a customer with no repeat purchase": (x == 0) & (t_x > 0),
    }
    if integer_frequency:
        problems["frequency is not a whole number"] = np.isfinite(x) & (x != np.round(x))
    for reason, bad in problems.items():
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{reason} in {int(bad.sum())} rows (first: row {i}: frequency={x[i]}, "
                f"recency={t_x[i]}, T={T[i]})"
            )
