"""Each customer's email, phone and name from the platforms' own exports, and the contact files' cells read
back as written: any name or email survives a CSV round trip, guarded exactly when a spreadsheet would run
it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ltvkit.analytics.contacts import customer_contacts
from ltvkit.data.workspace import Workspace
from ltvkit.io.writers import CONTACT_FORMATS, contacts_bytes, guarded_cell


@pytest.mark.parametrize(
    ("export", "customer", "expected"),
    [
        # GetCourse: «Пользователь» is the whole name
        ("getcourse_orders.csv", "200111", ("anna@example.ru", "+79161234567", "Анна Смирнова", None)),
        # WooCommerce: billing first and last names
        ("woocommerce_orders.csv", "17", ("oksana@example.ua", "+380501112233", "Oksana", "Melnyk")),
        (
            "woocommerce_advanced_export.csv",
            "marko@example.ua",
            ("marko@example.ua", None, "Марко", "Лисенко"),
        ),
        # Shopify: «Billing Name»; Stripe's balance report: customer_name
        ("shopify_orders.csv", "bob@example.com", ("bob@example.com", None, "Bob Ray", None)),
        ("stripe_balance_itemized.csv", "cus_R1aaaaaaaaaaaa", ("jane@example.com", None, "Jane Roe", None)),
    ],
)
def test_contacts_from_platform_exports(
    tmp_path: Path, export: str, customer: str, expected: tuple[str | None, ...]
) -> None:
    with Workspace.open(tmp_path / "ltv.duckdb") as ws:
        ws.import_file(FIXTURES / export)
        contacts = customer_contacts(ws.table("orders")).set_index("customer_id")
    row = contacts.loc[customer, ["email", "phone", "first_name", "last_name"]]
    assert [None if pd.isna(v) else v for v in row] == list(expected)
    first, last = expected[2], expected[3]
    assert contacts.loc[customer, "name"] == (f"{first} {last}" if last else first)


def test_a_source_without_extra_columns_has_no_names(tmp_path: Path) -> None:
    from ltvkit.data.sources import Source

    with Source.open(str(FIXTURES / "analytics_orders.csv"), currency="USD") as source:
        contacts = customer_contacts(source.table("orders"))
    assert list(contacts["customer_id"]) == ["a", "b", "c", "d", "e", "f"]
    assert contacts[["email", "phone", "name"]].isna().all().all()


text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(name=text, email=text, fmt=st.sampled_from(sorted(CONTACT_FORMATS)))
def test_every_cell_reads_back_guarded(name: str, email: str, fmt: str) -> None:
    layout = CONTACT_FORMATS[fmt]
    frame = pd.DataFrame({"email": [email], "first_name": [name], "name": [name], "tags": ["LTV: x"]})
    content = contacts_bytes(frame, fmt).decode("utf-8-sig" if layout.bom else "utf-8")
    header, row = list(csv.reader(io.StringIO(content, newline=""), delimiter=layout.delimiter))
    cells = dict(zip(header, row, strict=True))
    name_header = layout.headers["first_name" if "first_name" in layout.headers else "name"]
    assert cells[layout.headers["email"]] == guarded_cell(email)
    assert cells[name_header] == guarded_cell(name)
    assert cells[layout.headers["tags"]] == "LTV: x"
