"""The import's rejection reasons and errors reach the pages in the reader's language."""

from __future__ import annotations

import json
import re
import string
import time
from pathlib import Path

import pytest
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


def test_an_upload_rejected_whole_carries_its_message_in_every_language(
    client: TestClient, tmp_path: Path
) -> None:
    body = b"order id,customer,date,amount\n1,a,2026-01-05,1234.50\n2,b,2026-01-06,99.90\n"
    response = client.post(
        "/api/imports?wait=true", files={"file": ("orders.csv", body, "text/csv")}, data={"decimal": ","}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["error"] == "AllRowsRejectedError"
    assert problem["messages"]["en"] == problem["message"]
    assert problem["messages"]["ru"].startswith("orders.csv: ни одна сумма не прочитана с decimal=','")
    assert problem["messages"]["uk"].startswith("orders.csv: жодну суму не прочитано з decimal=','")
    job = client.post("/api/imports", files={"file": ("orders.csv", body, "text/csv")}, data={"decimal": ","})
    for _ in range(200):  # the same error on a background job
        state = client.get(f"/api/jobs/{job.json()['id']}").json()
        if state["status"] != "queued" and state["status"] != "running":
            break
        time.sleep(0.05)
    assert state["status"] == "failed" and state["problem"]["messages"] == problem["messages"]


def test_a_file_with_unknown_columns_imports_with_the_columns_the_user_names(client: TestClient) -> None:
    body = (
        "Покупатель;Когда;Сколько;Что\nanna@x.ru;05.01.2026;1 200,50;Курс\nboris@x.ru;06.01.2026;990;Курс\n"
    )
    upload = {"file": ("школа.csv", body.encode("cp1251"), "text/csv")}
    refused = client.post("/api/imports?wait=true", files=upload)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["columns"] == ["Покупатель", "Когда", "Сколько", "Что"]
    assert problem["found"] == {"customer_id": "Покупатель"}  # a header the generic columns know
    assert problem["missing"] == [["ordered_at"], ["amount", "price"]]
    columns = {"customer_id": "Покупатель", "ordered_at": "Когда", "amount": "Сколько", "product": "Что"}
    mapped = client.post("/api/imports?wait=true", files=upload, data={"columns": json.dumps(columns)})
    assert mapped.status_code == 200, mapped.text
    assert {k: mapped.json()[k] for k in ("read", "loaded", "rejected")} == {
        "read": 2,
        "loaded": 2,
        "rejected": 0,
    }
    again = client.post("/api/imports?wait=true", files=upload, data={"columns": json.dumps(columns)})
    assert again.json()["duplicates"] == 2  # the same mapping keys the same orders


@pytest.mark.parametrize(
    "columns",
    ['{"customer_id": ', '["Покупатель"]', '{"customer_id": 1}', '{"shoe_size": "Что"}'],
)
def test_a_bad_column_mapping_is_a_422_naming_it(client: TestClient, columns: str) -> None:
    upload = {"file": ("o.csv", b"a,b\n1,2\n", "text/csv")}
    response = client.post("/api/imports?wait=true", files=upload, data={"columns": columns})
    assert response.status_code == 422 and response.json()["error"] == "MappingError"


@pytest.mark.parametrize(
    ("count", "ru", "uk", "en"),
    [
        (
            1,
            "1 клиент, 1 повторный покупатель, 1 день",
            "1 клієнт, 1 повторний покупець, 1 день",
            "1 customer",
        ),
        (
            2,
            "2 клиента, 2 повторных покупателя, 2 дня",
            "2 клієнти, 2 повторні покупці, 2 дні",
            "2 customers",
        ),
        (
            5,
            "5 клиентов, 5 повторных покупателей, 5 дней",
            "5 клієнтів, 5 повторних покупців, 5 днів",
            "5 customers",
        ),
        (
            11,
            "11 клиентов, 11 повторных покупателей, 11 дней",
            "11 клієнтів, 11 повторних покупців, 11 днів",
            "11 customers",
        ),
        (
            21,
            "21 клиент, 21 повторный покупатель, 21 день",
            "21 клієнт, 21 повторний покупець, 21 день",
            "21 customers",
        ),
        (
            91,
            "91 клиент, 91 повторный покупатель, 91 день",
            "91 клієнт, 91 повторний покупець, 91 день",
            "91 customers",
        ),
        (
            112,
            "112 клиентов, 112 повторных покупателей, 112 дней",
            "112 клієнтів, 112 повторних покупців, 112 днів",
            "112 customers",
        ),
        (
            "1\u00a0234",
            "1\u00a0234 клиента, 1\u00a0234 повторных покупателя, 1\u00a0234 дня",
            "1\u00a0234 клієнти, 1\u00a0234 повторні покупці, 1\u00a0234 дні",
            "1\u00a0234 customers",
        ),
    ],
)
def test_counts_take_the_word_form_of_their_number(count: object, ru: str, uk: str, en: str) -> None:
    """The CLDR plural rules: one (1, 21, 91), few (2–4, 1 234), many (5–20, 112), also for a number
    already written with the locale's separators."""
    values = {"customers": count, "repeat": count, "days": count}
    assert i18n.text("grade_counts", "ru", **values) == ru
    assert i18n.text("grade_counts", "uk", **values) == uk
    assert i18n.text("grade_counts", "en", **values).startswith(en + ",")
    assert i18n.text("grade_need_days", "ru", floor=21, now=5) == "не менее 21 дня заказов (сейчас 5)"


def test_a_core_error_with_texts_carries_its_message_in_every_language(client: TestClient) -> None:
    response = client.post("/api/imports?wait=true", files={"file": ("orders.csv", b"\n\n", "text/csv")})
    assert response.status_code == 422
    problem = response.json()
    assert (
        problem["message"]
        == problem["messages"]["en"]
        == "orders.csv: the file is empty — export the data again"
    )
    assert problem["messages"]["ru"] == "orders.csv: файл пустой — выгрузите данные заново"
    assert problem["messages"]["uk"] == "orders.csv: файл порожній — вивантажте дані знову"
