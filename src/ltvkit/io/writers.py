"""Write result tables where the user asked: CSV (UTF-8 with BOM, so Excel opens Cyrillic text correctly),
XLSX, Parquet or JSON, chosen by ``fmt`` or the file's extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ltvkit.choices import FORMATS
from ltvkit.errors import ParameterError


def output_format(path: str | Path, fmt: str | None = None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ParameterError(f"cannot write {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` and return the path."""
    path = Path(path)
    fmt = output_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", force_ascii=False, date_format="iso", indent=1)
    return path
