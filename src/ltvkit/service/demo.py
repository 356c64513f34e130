"""The demo school, from generation to reports: the exports written, imported through the user's path into a
fresh workspace, and the report written in English, Russian and Ukrainian from one set of figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ltvkit.analytics.overview import Overview, overview
from ltvkit.data import demo as school
from ltvkit.data.workspace import ImportAccount, Workspace
from ltvkit.progress import step
from ltvkit.service.report import build_reports

LANGUAGES = ("en", "ru", "uk")


@dataclass(frozen=True)
class DemoResult:
    overview: Overview
    exports: tuple[Path, Path]
    reports: list[Path]


def build_demo(
    workspace: Path,
    directory: Path,
    *,
    seed: int = 2026,
    customers: int = 20_000,
    import_file: Callable[[Workspace, Path], ImportAccount] | None = None,
) -> DemoResult:
    """Generate the school's exports into ``directory``, import them into a new workspace at ``workspace``
    (an existing one is replaced) with ``import_file`` (default: :meth:`Workspace.import_file`), and write
    ``report_<lang>.html`` for each of :data:`LANGUAGES`."""
    workspace.unlink(missing_ok=True)
    Path(str(workspace) + ".wal").unlink(missing_ok=True)
    step("generate")
    exports = school.generate(directory, seed=seed, customers=customers, platform="getcourse")
    with Workspace.open(workspace) as ws:
        for path in exports:
            (import_file or Workspace.import_file)(ws, path)
        result = overview(ws.table("orders"))
        reports = build_reports(ws, {lang: directory / f"report_{lang}.html" for lang in LANGUAGES})
    return DemoResult(result, exports, reports)
