"""ltvkit: customer lifetime value analytics.

The public names load on first use (PEP 562), so that ``import ltvkit`` and the ``ltv`` command start
without loading pandas, Ibis and DuckDB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ltvkit.analytics.overview import Overview as Overview
    from ltvkit.analytics.overview import overview as overview
    from ltvkit.data.workspace import ImportAccount as ImportAccount
    from ltvkit.data.workspace import Workspace as Workspace
    from ltvkit.errors import LtvError as LtvError
    from ltvkit.io.normalize import ImportOptions as ImportOptions

_WHERE = {
    "ImportAccount": "ltvkit.data.workspace",
    "ImportOptions": "ltvkit.io.normalize",
    "LtvError": "ltvkit.errors",
    "Overview": "ltvkit.analytics.overview",
    "Workspace": "ltvkit.data.workspace",
    "overview": "ltvkit.analytics.overview",
}
__all__ = sorted(_WHERE)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ltvkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
