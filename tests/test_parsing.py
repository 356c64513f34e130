from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltvkit.errors import AmbiguousFormatError
from ltvkit.io import mapping
from ltvkit.io.parsing import infer_decimal, parse_amount, parse_amount_column, parse_timestamp_column


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1 234,56", 1234.56, None),
        ("1\u00a0234,56\u00a0₽", 1234.56, "RUB"),
        ("1\u202f234,56 ₴", 1234.56, "UAH"),
        ("$1,234.56", 1234.56, "USD"),
        ("300 руб.", 300.0, "RUB"),
        ("2 500 грн", 2500.0, "UAH"),
        ("€ 1.234,56", 1234.56, "EUR"),
        ("(12.50)", -12.5, None),
        ("-5", -5.0, None),
        ("−1 490,00 ₴", -1490.0, "UAH"),
        ("12,5", 12.5, None),
        ("0,123", 0.123, None),
        ("1.234.567", 1234567.0, None),
        ("1'234.50", 1234.5, None),
        ("49 USD", 49.0, "USD"),
    ],
)
def test_parse_amount_examples(text: str, value: float, currency: str | None) -> None:
    assert parse_amount(text) == (pytest.approx(value), currency)


@pytest.mark.parametrize("text", ["abc", "1,23,4.5", "12.34.56,7.8", "", "$", "1 2 3 руб $"])
def test_parse_amount_rejects_non_amounts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def test_thousands_only_value_is_ambiguous_without_a_decimal_mark() -> None:
    with pytest.raises(AmbiguousFormatError, match="decimal"):
        parse_amount("1,234")
    assert parse_amount("1,234", ",") == (1.234, None)
    assert parse_amount("1,234", ".") == (1234.0, None)


def test_column_decides_the_decimal_mark_from_its_unambiguous_values() -> None:
    parsed = parse_amount_column(pd.Series(["1,234", "12,50", "3"]))
    assert parsed.decimal == ","
    assert parsed.values.tolist() == [1.234, 12.5, 3.0]


def test_column_with_only_ambiguous_values_is_an_error() -> None:
    with pytest.raises(AmbiguousFormatError) as info:
        parse_amount_column(pd.Series(["1,234", "2,500", "7"]))
    assert info.value.value == "1,234"  # type: ignore[attr-defined]


def test_column_mixing_both_marks_is_an_error() -> None:
    with pytest.raises(AmbiguousFormatError, match="both decimal marks"):
        infer_decimal(pd.Series(["1,234.56", "12,5"]))


def test_bad_values_are_reported_per_row_not_raised() -> None:
    parsed = parse_amount_column(pd.Series(["10", "", "ten"]))
    assert parsed.values.iloc[0] == 10
    assert parsed.errors.tolist() == [None, "empty amount", "'ten' is not an amount"]


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


@settings(deadline=None)  # values are checked, never time (the machine is shared)
@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    style=st.sampled_from([(",", "\u00a0"), (",", " "), (",", "."), (".", ","), (".", "")]),
    currency=st.sampled_from(["", " ₽", " руб.", " грн", "$", "€"]),
)
def test_amount_round_trip(cents: int, style: tuple[str, str], currency: str) -> None:
    decimal, thousands = style
    whole, frac = divmod(abs(cents), 100)
    text = f"{_group(str(whole), thousands)}{decimal}{frac:02d}"
    text = ("-" if cents < 0 else "") + (currency + text if currency in ("$", "€") else text + currency)
    value, _ = parse_amount(text, decimal)  # type: ignore[arg-type]
    assert value == pytest.approx(cents / 100, abs=1e-9)
    column = parse_amount_column(pd.Series([text, f"0{decimal}25"]))
    assert column.values.iloc[0] == pytest.approx(cents / 100, abs=1e-9)


FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
]


@settings(deadline=None)
@given(
    stamp=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_timestamp_round_trip(stamp: datetime, fmt: str) -> None:
    # a second value with a day above 12 tells the column's day/month order
    anchor = datetime(2020, 1, 25, 10, 30)
    values = pd.Series([stamp.strftime(fmt), anchor.strftime(fmt)])
    parsed = parse_timestamp_column(values)
    expected = stamp if "%S" in fmt else stamp.replace(second=0)
    assert parsed.errors.isna().all()
    assert parsed.values.iloc[0] == pd.Timestamp(expected)


@settings(deadline=None)
@given(days=st.integers(min_value=20000, max_value=79999), fraction=st.sampled_from([0, 0.25, 0.5]))
def test_excel_serial_dates(days: int, fraction: float) -> None:
    parsed = parse_timestamp_column(pd.Series([str(days + fraction)]))
    expected = pd.Timestamp("1899-12-30") + pd.Timedelta(days=days + fraction)
    assert parsed.values.iloc[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T14:05:00Z", "2026-11-23 14:05:00"),
        ("2012-01-01 11:13:25 -0500", "2012-01-01 11:13:25"),
        ("2026-01-05T10:00:00.123456+03:00", "2026-01-05 10:00:00.123456"),
        ("23.11.2026 14:05", "2026-11-23 14:05:00"),
        ("23.11.2026", "2026-11-23"),
        ("19970101", "1997-01-01"),
        ("1700000000", "2023-11-14 22:13:20"),
        ("11/23/2026 2:05 PM", "2026-11-23 14:05:00"),
        ("11/23/2026 12:30 AM", "2026-11-23 00:30:00"),
    ],
)
def test_timestamp_examples_keep_the_wall_clock(text: str, expected: str) -> None:
    parsed = parse_timestamp_column(pd.Series([text]))
    assert parsed.values.iloc[0] == pd.Timestamp(expected)


def test_timezone_converts_offsets_and_keeps_local_times() -> None:
    values = pd.Series(["2026-11-23T14:05:00Z", "2012-01-01 11:13:25 -0500", "2026-07-01 09:00"])
    parsed = parse_timestamp_column(values, timezone="Europe/Moscow")
    assert parsed.values.tolist() == [
        pd.Timestamp("2026-11-23 17:05:00"),
        pd.Timestamp("2012-01-01 20:13:25"),
        pd.Timestamp("2026-07-01 09:00"),
    ]
    utc_file = parse_timestamp_column(
        pd.Series(["2026-07-01 09:00"]), timezone="Europe/Kyiv", source_timezone="UTC"
    )
    assert utc_file.values.iloc[0] == pd.Timestamp("2026-07-01 12:00")


def test_invalid_dates_are_reported_per_row() -> None:
    parsed = parse_timestamp_column(pd.Series(["31.02.2026", "garbage", "", "25:00"]))
    assert parsed.values.isna().all()
    assert parsed.errors.iloc[0] == "'31.02.2026' is not a valid date"
    assert "known format" in parsed.errors.iloc[1]
    assert parsed.errors.iloc[2] == "empty date"


def test_day_month_order_is_decided_by_the_column_or_refused() -> None:
    assert parse_timestamp_column(pd.Series(["11/23/2026", "01/02/2026"])).values.iloc[1] == pd.Timestamp(
        "2026-01-02"
    )
    assert parse_timestamp_column(pd.Series(["23/11/2026", "01/02/2026"])).values.iloc[1] == pd.Timestamp(
        "2026-02-01"
    )
    with pytest.raises(AmbiguousFormatError, match="day/month or month/day"):
        parse_timestamp_column(pd.Series(["11/10/2026", "01/02/2026"]))
    explicit = parse_timestamp_column(pd.Series(["11/10/2026"]), date_format="%d/%m/%Y")
    assert explicit.values.iloc[0] == pd.Timestamp("2026-10-11")


def test_explicit_date_format_rejects_other_shapes() -> None:
    parsed = parse_timestamp_column(pd.Series(["2026-10-11", "11/10/2026"]), date_format="%d/%m/%Y")
    assert parsed.values.isna().tolist() == [True, False]
    assert "does not match" in parsed.errors.iloc[0]


@settings(deadline=None, max_examples=15)  # each example runs the mapping in DuckDB
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_typed_cells_keep_their_value_beside_text_in_the_columns_locale(
    cells: list[tuple[bool, object]],
) -> None:
    """A spreadsheet column of number cells and text cells written the Russian way (``29 900,50 ₽``), as the
    import maps it (:data:`ltvkit.io.mapping.NUMBER`): the numbers are taken as they are (never shown to the
    decimal-mark inference, never re-read as text), the texts are parsed with the decimal comma."""
    values = [float(v) for _, v in cells]
    shapes = [is_number for is_number, _ in cells]
    frame = pd.DataFrame(
        {
            mapping.ROW: range(2, len(cells) + 2),
            "Дата": "2026-01-10",
            "Email": "a@example.ru",
            "Сумма": [
                repr(v) if is_number else f"{v:,.2f} ₽".replace(",", "\u00a0").replace(".", ",")
                for is_number, v in zip(shapes, values, strict=True)
            ],
            mapping.NUMBER + "Сумма": [v if n else None for n, v in zip(shapes, values, strict=True)],
        }
    )
    schema = {mapping.ROW: "int64", mapping.NUMBER + "Сумма": "float64", "Дата": "string"}
    table = ibis.memtable(frame, schema={c: schema.get(c, "string") for c in frame.columns})
    rows = mapping.map_orders(table).rows.execute()
    assert rows["reason"].isna().all()
    assert rows["amount"].tolist() == pytest.approx(values)
    assert rows["currency"].tolist() == ["XXX" if is_number else "RUB" for is_number in shapes]


def test_epochs_after_2262_read_without_overflow() -> None:
    """Epoch seconds and milliseconds up to 10^10 and 10^13 reach 2286: past the nanosecond range (2262),
    within the column's microseconds (a hostile-input example once raised pandas' OutOfBoundsDatetime)."""
    parsed = parse_timestamp_column(pd.Series(["9300000000000.1", "9999999999", "1700000000123"]))
    assert parsed.values.tolist() == [
        pd.Timestamp("2264-09-14 21:20:00.0001"),
        pd.Timestamp("2286-11-20 17:46:39"),
        pd.Timestamp("2023-11-14 22:13:20.123"),
    ]
    assert parsed.errors.isna().all()
