"""The data page in headless Chromium: a file whose columns ltvkit does not know is imported through the
column-mapping form, in the reader's language; file options reach the import."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.conftest import LiveServer
from tests.web.visible_text import untranslated

SCHOOL = "Покупатель;Когда;Сколько;Что\nanna@x.ru;05.01.2026;1 200,50;Курс\nboris@x.ru;06.01.2026;990;Курс\n"


def uploaded(page) -> dict[str, int]:  # noqa: ANN001
    page.wait_for_function(
        "() => document.getElementById('upload-result').hasAttribute('data-account')", timeout=60_000
    )
    account: dict[str, int] = json.loads(page.get_attribute("#upload-result", "data-account"))
    page.evaluate("document.getElementById('upload-result').removeAttribute('data-account')")
    return account


def test_unknown_columns_are_named_in_the_mapping_form(
    browser, live_empty: LiveServer, tmp_path: Path
) -> None:  # noqa: ANN001
    path = tmp_path / "школа.csv"
    path.write_bytes(SCHOOL.encode("cp1251"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_empty.url}/data?lang=ru")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-form > button")
    page.wait_for_selector("#mapping-form:not([hidden])", timeout=60_000)
    assert page.locator("#status").inner_text() == (
        "Файл не загружен: не все его столбцы распознаны; укажите их ниже"
    )
    assert page.locator("#mapping-needed").inner_text() == ("Обязательно: дата заказа; сумма.")
    assert page.locator("select[name=customer_id]").input_value() == "Покупатель"  # what was recognised
    page.locator("#file-options summary").click()
    assert untranslated(page) == []
    page.select_option("select[name=ordered_at]", "Когда")
    page.select_option("select[name=amount]", "Сколько")
    page.select_option("select[name=product]", "Что")
    page.click("#mapping-form button")
    assert uploaded(page) == {"read": 2, "loaded": 2, "duplicates": 0, "rejected": 0}
    assert page.locator("#mapping-form").is_hidden()
    page.set_input_files("input[type=file]", str(path))  # again, told the decimal mark: the same orders
    page.select_option("select[name=decimal]", ",")
    page.click("#upload-form > button")
    page.wait_for_selector("#mapping-form:not([hidden])", timeout=60_000)
    assert page.locator("select[name=product]").input_value() == "Что"  # the last answer for these columns
    page.click("#mapping-form button")
    assert uploaded(page) == {"read": 2, "loaded": 0, "duplicates": 2, "rejected": 0}
    page.close()
    assert errors == []


def test_an_upload_rejected_whole_is_explained_in_the_pages_language(
    browser, live_empty: LiveServer, tmp_path: Path
) -> None:  # noqa: ANN001
    path = tmp_path / "orders.csv"
    path.write_text("order id,customer,date,amount\n1,a,2026-01-05,x\n2,b,2026-01-06,y\n", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_empty.url}/data?lang=uk")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-form > button")
    page.wait_for_function("() => document.getElementById('status').className === 'error'", timeout=60_000)
    shown = page.locator("#status").inner_text()
    assert "усі рядки відхилено з однієї причини у стовпці «amount» (рядок 2: 'x' — не сума)" in shown
    page.close()
