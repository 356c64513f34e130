"""The import's rejection reasons and errors reach the pages in the reader's language."""

from __future__ import annotations

import re
import string
from pathlib import Path

from fastapi.testclient import TestClient

from ltvkit import i18n
from ltvkit.data.workspace import Workspace


def test_every_pattern_fills_its_text() -> None:
    for _, key, names in i18n.REASONS:
        for lang in ("en", "ru", "uk"):
            fields = {f for _, f, _, _ in string.Formatter().parse(i18n.TEXT[key][lang]) if f}
            assert fields == set(names), (key, lang)


def test_the_demo_school_rejections_are_translated(school_files: tuple[Path, Path, Path]) -> None:
    with Workspace.open(school_files[2], read_only=True) as ws:
        reasons = set(ws.rejected()["reason"])
    assert reasons  # the demo has rows without a customer and an impossible date
    for lang in ("ru", "uk"):
        for english in reasons:
            shown = i18n.reason(english, lang)
            assert shown != english and not re.search(r"\b(is|the|no|not|a)\b", shown), (english, shown)


def test_a_file_without_a_date_column_says_what_to_rename(client: TestClient, tmp_path: Path) -> None:
    response = client.post(
        "/api/imports?wait=true", files={"file": ("visits.csv", b"foo,bar\n1,2\n", "text/csv")}
    )
    assert response.status_code == 422
    message = response.json()["message"]
    assert "ltv-upload-" not in message and "/tmp" not in message  # no server path
    shown = i18n.reason(message, "ru")
    assert shown.startswith("В файле visits.csv нет столбца «дата заказа»") and "--mapping" not in shown
    assert "foo, bar" in shown
