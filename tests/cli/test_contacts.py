"""Contact files for GetCourse's user import and Unisender (``ltv segments --export DIR --contacts …``,
``ltv followup --contacts … --out FILE``, ``GET /api/segments/export?contacts=…``): the exact header row and
layout each import reads, the phone in international form, the name from the platform's export, a tag that
says why, and a name that a spreadsheet would run as a formula comes back guarded."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import TEST_HOSTS
from typer.testing import CliRunner

from ltvkit.cli import app
from ltvkit.web.app import create_app

runner = CliRunner()
EVIL = '=HYPERLINK("http://evil.example","click")'
# a GetCourse order export (its own headers): Анна pays twice, the user with a formula for a name once, Игорь
# has only an id (no email, no phone), Мария's order awaits payment
ORDERS = (
    "ID заказа;ID пользователя;Пользователь;Email;Телефон;Дата создания;Дата оплаты;Title;Статус;"
    "Стоимость, RUB;Оплачено;Комиссии;Заработано, RUB;Валюта;user_utm_source\n"
    "1;101;Анна Смирнова;anna@example.ru;+7 (916) 123-45-67;03.02.2026 10:15;03.02.2026 10:20;Мини-курс;"
    "Завершен;990 руб.;990 руб.;0;990;RUB;vk\n"
    "2;101;Анна Смирнова;anna@example.ru;+7 (916) 123-45-67;20.04.2026 18:02;20.04.2026 18:05;Курс;Завершен;"
    "49 900 руб.;49 900 руб.;0;49 900;RUB;vk\n"
    f'3;102;"{EVIL.replace(chr(34), chr(34) * 2)}";evil@example.ru;;05.02.2026 09:00;05.02.2026 09:07;Курс;'
    "Завершен;49 900 руб.;49 900 руб.;0;49 900;RUB;yandex\n"
    "4;103;Игорь Петров;;;06.02.2026 12:30;06.02.2026 12:31;Мини-курс;Завершен;990 руб.;990 руб.;0;990;RUB;\n"
    "5;104;Мария Иванова;maria@example.ru;8-903-000-11-22;25.04.2026 12:30;;Курс;Ожидаем оплаты;49 900 руб.;"
    "0 руб.;0;0;RUB;vk\n"
)


def ltv(*args: str) -> tuple[str, str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contacts")
    orders = folder / "getcourse.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    ws = folder / "ltv.duckdb"
    ltv("import", str(orders), "-w", str(ws))
    return ws


def rows(content: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8")), delimiter=delimiter))


def test_getcourse_user_import_layout(school: Path, tmp_path: Path) -> None:
    _, notes = ltv(
        "--lang", "ru", "segments", "--scheme", "value", "-w", str(school),
        "--export", str(tmp_path), "--contacts", "getcourse",
    )  # fmt: skip
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["getcourse-next_30pct.csv", "getcourse-rest.csv", "getcourse-top_20pct.csv"]
    content = b"".join((tmp_path / name).read_bytes() for name in files[:1])
    assert content.startswith(b"\xef\xbb\xbfEmail;") and b"\r\n" in content  # UTF-8 with BOM, semicolons
    everyone = {}
    for name in files:
        header, *body = rows((tmp_path / name).read_bytes().removeprefix(b"\xef\xbb\xbf"), ";")
        assert header == ["Email", "Телефон", "Имя", "Фамилия", "Группа"]
        everyone |= {row[0]: row for row in body}
    # top 20% of 3 customers = the one with the most revenue: Анна (50 890) before the formula (49 900)
    assert everyone["anna@example.ru"] == [
        "anna@example.ru",
        "+79161234567",
        "Анна Смирнова",
        "",
        "LTV: Топ-20 %",
    ]
    assert everyone["evil@example.ru"][2] == "'" + EVIL  # the round trip: the name, guarded
    assert len(
        everyone
    ) == 2 and "«LTV: Остальные»: 1 of its customers have neither email nor phone" in " ".join(
        notes.split()
    )  # Игорь


def test_unisender_layout_and_the_follow_up_list(school: Path, tmp_path: Path) -> None:
    out = tmp_path / "followup.csv"
    ltv("followup", "-w", str(school), "--contacts", "unisender", "--out", str(out))
    content = out.read_bytes()
    assert content.startswith(b"email,phone,Name,tags\r\n")  # Unisender's field names, no BOM
    assert rows(content, ",") == [
        ["email", "phone", "Name", "tags"],
        ["maria@example.ru", "89030001122", "Мария Иванова", "LTV: unpaid order"],
    ]


def test_unisender_segment_round_trip_of_a_formula_name(school: Path, tmp_path: Path) -> None:
    ltv(
        "segments",
        "--scheme",
        "value",
        "-w",
        str(school),
        "--export",
        str(tmp_path),
        "--contacts",
        "unisender",
    )
    header, *body = rows((tmp_path / "unisender-next_30pct.csv").read_bytes(), ",")
    assert header == ["email", "phone", "Name", "tags"]
    assert body == [["evil@example.ru", "", "'" + EVIL, "LTV: Next 30%"]]


def test_contacts_need_a_place_and_a_known_format(school: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["segments", "-w", str(school), "--contacts", "getcourse"])
    assert result.exit_code == 2 and "--export" in result.stderr
    result = runner.invoke(app, ["followup", "-w", str(school), "--contacts", "mailchimp", "--out", "x.csv"])
    assert result.exit_code == 1 and "unknown contact format 'mailchimp'" in result.stderr
    assert "(--contacts)" in result.stderr


def test_the_dashboard_downloads_a_segments_contact_file(school: Path) -> None:
    with TestClient(create_app(school, allowed_hosts=TEST_HOSTS)) as client:
        answer = client.get(
            "/api/segments/export",
            params={"scheme": "value", "segment": "top 20%", "contacts": "getcourse", "lang": "uk"},
        )
        plain = client.get("/api/segments/export", params={"scheme": "value", "segment": "top 20%"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="getcourse-top_20_.csv"'
    assert rows(answer.content.removeprefix(b"\xef\xbb\xbf"), ";") == [
        ["Email", "Телефон", "Имя", "Фамилия", "Группа"],
        ["anna@example.ru", "+79161234567", "Анна Смирнова", "", "LTV: Топ-20%"],
    ]
    assert plain.status_code == 200 and plain.content.startswith(b"\xef\xbb\xbfcustomer_id,email")
