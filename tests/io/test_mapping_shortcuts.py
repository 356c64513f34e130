"""The mapping's two shortcuts give the rows of the long way: the trim that runs its regular expression only
where a text can start or end with a space, and a source's mapping without the window over order ids when no
id repeats."""

from __future__ import annotations

import duckdb
import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltvkit.io.mapping import _WHITESPACE, _text, map_orders

#: What ``_WHITESPACE`` trims, by hand: RE2's ``\s`` (tab, line feed, form feed, carriage return, space),
#: next line, no-break space, Ogham space mark, the spaces U+2000–U+200A, line and paragraph separators,
#: narrow no-break, medium mathematical and ideographic spaces.
SPACES = (
    "\t\n\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
#: Characters that are not trimmed but sit near the guard's bounds or look like spaces.
OTHERS = "a", "Z", "1", "!", "~", "\x21", "\x84", "\x86", "\x0b", "\x1c", "\u200b", "\ufeff", "é", "И", "日"


def trimmed(texts: list[str | None]) -> list[str | None]:
    """``_text`` of each text, computed by DuckDB."""
    table = ibis.memtable(pd.DataFrame({"s": pd.Series(texts, dtype=object)}), schema={"s": "string"})
    out = table.select(t=_text(table.s)).execute()["t"]
    return [None if pd.isna(v) else v for v in out]


def test_the_regular_expression_trims_exactly_the_listed_spaces_all_outside_the_guard() -> None:
    con = duckdb.connect()
    found = con.execute(
        f"""SELECT cp FROM range(1, 1114112) t(cp)
            WHERE cp NOT BETWEEN 55296 AND 57343
              AND regexp_replace(chr(cp::INTEGER), '^{_WHITESPACE}|{_WHITESPACE}$', '', 'g') = ''"""
    ).fetchall()
    assert "".join(chr(cp) for (cp,) in sorted(found)) == SPACES
    assert all(not 0x21 <= ord(c) <= 0x84 for c in SPACES)


def test_trim_by_hand() -> None:
    texts = [" a ", "\u3000a\xa0", "\x0ba\x0b", "\x85x\x85", "a b", "\u200bq\u200b", "\ufeffz", "  ", ""]
    texts += ["\t\n\r\x0cq\x1c", "é\u2000", "\u2000é", "Иван ", " Иван", "!a~", "\x84a\x84", None]
    assert trimmed(texts) == [
        "a", "a", "\x0ba\x0b", "x", "a b", "\u200bq\u200b", "\ufeffz", None, None,
        "q\x1c", "é", "é", "Иван", "Иван", "!a~", "\x84a\x84", None,
    ]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.sampled_from(SPACES + "".join(OTHERS)), max_size=6), max_size=40))
def test_trim_is_the_python_strip_of_the_spaces(texts: list[str]) -> None:
    assert trimmed(texts) == [t.strip(SPACES) or None for t in texts]


@pytest.mark.parametrize(
    ("ids", "usable"),
    [
        (["1", "2", "3", None, ""], 4),  # no id repeats (the fourth row fails its checks): no window
        (["1", "2", " 2", "2\xa0", "3"], 3),  # "2" after trimming: the third row is another version of it
        (["1", "1", "2", None, None], 3),  # the second row repeats the first exactly: merged
    ],
)
def test_mapping_with_the_ids_probed_gives_the_same_rows(ids: list[str | None], usable: int) -> None:
    frame = pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": ["u1", "u2", "u2", None, "u1"],
            "amount": [10.0, 20.0, -5.0, 10.0, 10.0],
            "status": ["paid", "paid", "paid", "weird", "paid"],
            "ordered_at": pd.to_datetime(
                ["2026-01-05", "2026-01-06", "2026-01-06", "2026-01-07", "2026-01-07"]
            ),
        }
    )
    if ids[0] == ids[1]:
        frame.iloc[1] = frame.iloc[0]
    table = ibis.memtable(frame)
    probed, plain = (map_orders(table, currency="USD", probe_ids=p).rows.execute() for p in (True, False))
    pd.testing.assert_frame_equal(probed, plain)
    assert plain["usable"].sum() == usable
