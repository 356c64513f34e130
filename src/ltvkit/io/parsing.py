"""Locale-aware parsing of amounts and timestamps, one column at a time.

A value is never guessed: the decimal separator and the day/month order are decided once per column from the
values that show them (``12,50`` shows a decimal comma, ``1,234.56`` a decimal point, ``23/11/2026`` a
day-first order). A column whose values can only be read two ways raises :class:`AmbiguousFormatError`; a
value that does not parse, or an amount of :data:`~ltvkit.io.limits.MAX_AMOUNT` or more, is reported back
(per row, with a reason) so the caller can reject that row and keep the rest. Digits are ASCII digits.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ltvkit.errors import AmbiguousFormatError, ValueFormatError
from ltvkit.io.limits import MAX_AMOUNT

DecimalMark = Literal[".", ","]

#: Currency signs and words as they appear inside amounts, mapped to ISO 4217 codes.
CURRENCY_TOKENS: dict[str, str] = {
    "₽": "RUB",
    "руб.": "RUB",
    "руб": "RUB",
    "р.": "RUB",
    "rub": "RUB",
    "rur": "RUB",
    "₴": "UAH",
    "грн.": "UAH",
    "грн": "UAH",
    "uah": "UAH",
    "$": "USD",
    "usd": "USD",
    "us$": "USD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "zł": "PLN",
    "pln": "PLN",
    "₸": "KZT",
    "тг": "KZT",
    "kzt": "KZT",
    "₼": "AZN",
    "byn": "BYN",
    "chf": "CHF",
    "cad": "CAD",
    "aud": "AUD",
}
#: Signs and words more than one currency writes its amounts with: they agree with any of these codes.
SHARED_SIGNS: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP"}),
    "руб.": frozenset({"RUB", "BYN"}),
    "руб": frozenset({"RUB", "BYN"}),
    "р.": frozenset({"RUB", "BYN"}),
}
_CURRENCY_RE = re.compile(
    "|".join(re.escape(t) for t in sorted(CURRENCY_TOKENS, key=len, reverse=True)), re.IGNORECASE
)
_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2009'’]")
_NUMBER_RE = re.compile(r"^[0-9][0-9.,]*$|^[.,][0-9]+$")


@functools.cache
def iso_currencies() -> frozenset[str]:
    """ISO 4217 codes, current and historic, as babel's CLDR data lists them (XXX, no currency, included)."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def sign_agrees(sign: str, code: str) -> bool:
    """Whether an amount written with ``sign`` (``$``, ``руб.``, ``eur``, lower case) can be in ``code``."""
    return CURRENCY_TOKENS[sign] == code or code in SHARED_SIGNS.get(sign, ())


def shown(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    return repr(text if len(text) <= 60 else text[:57] + "…")


@dataclass(frozen=True)
class ParsedAmounts:
    """Amounts of one column: ``values`` (float, NaN where unparsed), the currency each value named (or
    None), ``errors`` — a reason per unparsed row, None where the value parsed — and the currency sign or word
    each value was written with (lower case, or None)."""

    values: pd.Series
    currencies: pd.Series
    errors: pd.Series
    decimal: DecimalMark | None
    signs: pd.Series


@dataclass(frozen=True)
class ParsedTimestamps:
    """Timestamps of one column (naive wall-clock time, NaT where unparsed) and a reason per unparsed row."""

    values: pd.Series
    errors: pd.Series


def _strip_amount(text: str) -> tuple[str, bool, str | None]:
    """Remove currency tokens, signs and grouping spaces. Returns (digits, negative, the currency sign or word
    in lower case)."""
    s = text.strip()
    sign = None
    found = _CURRENCY_RE.findall(s)
    if found:
        if len({CURRENCY_TOKENS[t.lower()] for t in found}) > 1:
            raise ValueFormatError(f"{shown(text)} names two currencies")
        sign = found[0].lower()
        s = _CURRENCY_RE.sub("", s)
    s = _SPACES_RE.sub("", s)
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s[:1] in "-−–":
        negative, s = True, s[1:]
    elif s[-1:] in "-−":
        negative, s = True, s[:-1]
    elif s[:1] == "+":
        s = s[1:]
    return s, negative, sign


def _decimal_evidence(digits: str) -> DecimalMark | None | Literal["ambiguous"]:
    """Which decimal mark a cleaned number shows: '.', ',', None (no separator), or 'ambiguous'
    (``1,234``)."""
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        return "." if digits.rfind(".") > digits.rfind(",") else ","
    if not dots and not commas:
        return None
    sep: DecimalMark = "." if dots else ","
    other: DecimalMark = "," if dots else "."
    if dots + commas > 1:
        return other  # 1.234.567 groups thousands with the separator it repeats
    head, tail = digits.split(sep)
    if len(tail) != 3 or head in ("", "0"):
        return sep
    return "ambiguous"


def _to_float(digits: str, decimal: DecimalMark, original: str) -> float:
    """Read cleaned digits with a known decimal mark, checking thousands groups are of three digits."""
    thousands = "," if decimal == "." else "."
    if digits.count(decimal) > 1:
        raise ValueFormatError(f"{shown(original)} has more than one decimal mark {decimal!r}")
    whole, _, frac = digits.partition(decimal)
    if thousands in whole:
        groups = whole.split(thousands)
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            raise ValueFormatError(
                f"{shown(original)} does not read as a number with decimal mark {decimal!r}"
            )
        whole = "".join(groups)
    if thousands in frac:
        raise ValueFormatError(f"{shown(original)} does not read as a number with decimal mark {decimal!r}")
    return float(f"{whole or '0'}.{frac or '0'}")


def parse_amount(text: str, decimal: DecimalMark | None = None) -> tuple[float, str | None]:
    """Parse one amount such as ``1 234,56 ₽``, ``$1,234.56``, ``300 руб.``, ``(12.50)`` or ``-5``.

    Returns the value and the currency the text named (None if it named none). Raises
    :class:`ValueFormatError` for text that is not an amount or is one of :data:`MAX_AMOUNT` or more, and
    :class:`AmbiguousFormatError` for ``1,234``-like text when ``decimal`` is None.
    """
    value, sign = _parse_amount(text, decimal)
    return value, CURRENCY_TOKENS[sign] if sign else None


def _parse_amount(text: str, decimal: DecimalMark | None) -> tuple[float, str | None]:
    """:func:`parse_amount`, returning the currency sign or word as written (lower case), not its code."""
    digits, negative, sign = _strip_amount(text)
    if not digits or not _NUMBER_RE.match(digits):
        raise ValueFormatError(f"{shown(text)} is not an amount")
    evidence = _decimal_evidence(digits)
    if decimal is None:
        if evidence == "ambiguous":
            raise AmbiguousFormatError(
                f"{text!r} can be read with ',' or '.' as the decimal mark",
                hint="pass the decimal mark explicitly (--decimal . or --decimal ,)",
            )
        decimal = evidence or "."
    value = _to_float(digits, decimal, text)
    if not math.isfinite(value) or value >= MAX_AMOUNT:
        raise ValueFormatError(f"{shown(text)} is not a plausible amount (1e15 or more)")
    return (-value if negative else value), sign


def infer_decimal(values: pd.Series) -> DecimalMark | None:
    """The decimal mark the distinct values of a column show, or None if none shows one.

    Raises :class:`AmbiguousFormatError` when values show both marks (a column mixing ``1,234.56`` and
    ``12,5``).
    """
    seen: dict[str, str] = {}
    for text in values.dropna().unique():
        try:
            digits, _, _ = _strip_amount(str(text))
        except ValueError:
            continue
        evidence = _decimal_evidence(digits) if _NUMBER_RE.match(digits or "x") else None
        if evidence in (".", ","):
            seen.setdefault(str(evidence), str(text))
        if len(seen) == 2:
            raise AmbiguousFormatError(
                f"amounts use both decimal marks ({seen['.']!r} reads with '.', {seen[',']!r} with ',')",
                hint="fix the column or pass --decimal to say which is right",
            )
    found: DecimalMark | None = "." if "." in seen else ("," if "," in seen else None)
    return found


def parse_amount_column(values: pd.Series, decimal: DecimalMark | None = None) -> ParsedAmounts:
    """Parse a column of amount strings (empty strings are errors). See :func:`parse_amount`.

    Raises :class:`AmbiguousFormatError` (with the offending text in ``.value``) when no value of the column
    shows the decimal mark and some value can be read either way.
    """
    if decimal is None:
        decimal = infer_decimal(values)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    parsed_values = np.full(len(uniques), np.nan)
    signs = np.full(len(uniques), None, dtype=object)
    errors = np.full(len(uniques), None, dtype=object)
    for i, text in enumerate(uniques):
        if text is None or (isinstance(text, float) and np.isnan(text)) or str(text).strip() == "":
            errors[i] = "empty amount"
            continue
        try:
            parsed_values[i], signs[i] = _parse_amount(str(text), decimal)
        except AmbiguousFormatError as exc:
            exc.value = str(text)  # type: ignore[attr-defined]
            raise
        except ValueFormatError as exc:
            errors[i] = exc.reason
    sign_series = pd.Series(signs[codes], index=values.index, dtype=object)
    return ParsedAmounts(
        values=pd.Series(parsed_values[codes], index=values.index),
        currencies=sign_series.map(CURRENCY_TOKENS, na_action="ignore"),
        errors=pd.Series(errors[codes], index=values.index, dtype=object),
        decimal=decimal,
        signs=sign_series,
    )


# --- timestamps -----------------------------------------------------------------------------------------

_TIME = (
    r"(?:[ T,]+(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?\s*(?P<ampm>[AaPp][Mm])?)?"
)
_OFFSET = r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
_SHAPES: dict[str, re.Pattern[str]] = {
    "iso": re.compile(rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}}){_TIME}{_OFFSET}$", re.ASCII),
    "dotted": re.compile(rf"^(?P<a>\d{{1,2}})\.(?P<b>\d{{1,2}})\.(?P<y>\d{{4}}){_TIME}$", re.ASCII),
    "slashed": re.compile(rf"^(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<y>\d{{4}}){_TIME}{_OFFSET}$", re.ASCII),
    "compact": re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})$", re.ASCII),
    "number": re.compile(r"^(?P<num>\d+(?:\.\d+)?)$", re.ASCII),
}
#: The day/month order of a shape when no value shows it: dotted dates are day-first by convention
#: (``04.03.2026`` is 4 March wherever dates are written with dots); slashed ones are refused.
_DEFAULT_ORDER: dict[str, Literal["dm", "md"] | None] = {"dotted": "dm", "slashed": None}
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _day_month_order(
    parts: pd.DataFrame, default: Literal["dm", "md"] | None, file_hint: str
) -> Literal["dm", "md"]:
    """Decide the day/month order of ``a/b/yyyy`` (or ``a.b.yyyy``) values from those with a part above 12,
    else ``default``; values showing both orders, or (without a default) neither, are refused."""
    a, b = parts["a"].astype(int), parts["b"].astype(int)
    day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    if day_first and month_first:
        raise AmbiguousFormatError("dates mix day/month/year and month/day/year order", hint=file_hint)
    if day_first:
        return "dm"
    if month_first:
        return "md"
    if default is not None:
        return default
    if bool((a == b).all()):
        return "md"
    raise AmbiguousFormatError(
        f"dates such as {shown(parts.index[0])} can be day/month or month/day", hint=file_hint
    )


def _part(parts: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of the extracted parts as strings, or empty strings where the shape has no such
    part."""
    if name in parts:
        return parts[name].fillna("")
    return pd.Series("", index=parts.index, dtype=object)


def _from_parts(parts: pd.DataFrame) -> pd.Series:
    """Build timestamps from string columns y, mo, d, h, mi, s, frac, ampm; NaT where invalid."""

    def number(name: str) -> pd.Series:
        return pd.to_numeric(_part(parts, name).replace("", "0"), errors="coerce")

    hour = number("h")
    ampm = _part(parts, "ampm").str.lower()
    twelve_hour = ampm.isin(["am", "pm"])
    hour = hour.where(~twelve_hour, hour % 12 + (ampm == "pm") * 12)
    hour = hour.where(~twelve_hour | number("h").between(1, 12), np.nan)
    micro = pd.to_numeric(_part(parts, "frac").str.slice(0, 6).str.ljust(6, "0"), errors="coerce")
    frame = pd.DataFrame(
        {
            "year": number("y"),
            "month": number("mo"),
            "day": number("d"),
            "hour": hour,
            "minute": number("mi"),
            "second": number("s"),
            "microsecond": micro,
        },
        index=parts.index,
    )
    ok = frame["hour"].between(0, 23) & frame["minute"].between(0, 59) & frame["second"].between(0, 59)
    out = pd.to_datetime(frame.where(ok), errors="coerce")
    return out.astype("datetime64[us]")


def _offset_minutes(tz: pd.Series) -> pd.Series:
    """Minutes east of UTC for offset strings (Z, +03:00, -0500); NaN where none was written."""
    text = tz.fillna("").str.replace(":", "", regex=False)
    sign = text.str.slice(0, 1).map({"+": 1, "-": -1})
    hours = pd.to_numeric(text.str.slice(1, 3), errors="coerce")
    minutes = pd.to_numeric(text.str.slice(3, 5), errors="coerce")
    out = sign * (hours * 60 + minutes)
    return out.where(~text.isin(["Z", "UTC", "GMT"]), 0.0)


def _epoch_us(micros: pd.Series) -> pd.Series:
    """Timestamps of microseconds since 1970, rounded to the microsecond."""
    values = micros.round().astype("int64").to_numpy().astype("datetime64[us]")
    return pd.Series(values, index=micros.index)


def parse_timestamp_column(
    values: pd.Series,
    *,
    date_format: str | None = None,
    timezone: str | None = None,
    source_timezone: str | None = None,
    serial_dates: bool = True,
) -> ParsedTimestamps:
    """Parse a column of date/time strings into naive wall-clock timestamps.

    Understood without a format: ISO 8601 (``2026-11-23T14:05:00Z``, ``2012-01-01 11:13:25 -0500``),
    ``23.11.2026 14:05`` (day first unless the column shows otherwise), ``11/23/2026`` or ``23/11/2026``
    (order decided by the column, refused when it cannot tell), ``19970101``,
    Excel serial dates (20000–80000) and Unix epoch seconds or milliseconds.

    Times keep the wall clock they were written in. With ``timezone`` (an IANA name) values that carry an
    offset are converted to that zone's wall clock; values without one are taken to be in ``source_timezone``
    (Stripe writes UTC) or, when that is None, in ``timezone`` already.
    """
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    codes, uniques = pd.factorize(text)
    distinct = _parse_distinct(
        pd.Series(uniques, dtype=object), date_format, timezone, source_timezone, serial_dates
    )
    return ParsedTimestamps(
        pd.Series(distinct.values.to_numpy()[codes], index=values.index, dtype="datetime64[us]"),
        pd.Series(distinct.errors.to_numpy()[codes], index=values.index, dtype=object),
    )


def _parse_distinct(
    text: pd.Series,
    date_format: str | None,
    timezone: str | None,
    source_timezone: str | None,
    serial_dates: bool,
) -> ParsedTimestamps:
    """:func:`parse_timestamp_column` on distinct stripped texts."""
    values = text
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    errors = pd.Series(None, index=values.index, dtype=object)
    empty = text == ""
    errors[empty] = "empty date"
    hint = "pass --date-format, e.g. --date-format %d/%m/%Y"

    if date_format is not None:
        parsed = pd.to_datetime(text.where(~empty), format=date_format, errors="coerce")
        result[~empty] = parsed[~empty].astype("datetime64[us]")
        bad = ~empty & result.isna()
        errors[bad] = text[bad].map(lambda t: f"{shown(t)} does not match date format {date_format!r}")
        return ParsedTimestamps(result, errors)

    remaining = ~empty
    offsets = pd.Series(np.nan, index=values.index)
    lengths = text.str.len()
    for fast, length in (("%Y-%m-%d %H:%M:%S", 19), ("%Y-%m-%d", 10)):  # the commonest shapes, parsed in C
        candidates = remaining & (lengths == length)
        parsed = pd.to_datetime(text.where(candidates), format=fast, errors="coerce")
        hit = parsed.notna()
        result[hit] = parsed[hit].astype("datetime64[us]")
        remaining &= ~hit
    for shape, pattern in _SHAPES.items():
        if not remaining.any():
            break
        parts = text[remaining].str.extract(pattern)
        matched = parts.notna().any(axis=1)
        if not matched.any():
            continue
        parts = parts[matched]
        idx = parts.index
        if shape == "number":
            num = pd.to_numeric(parts["num"])
            stamp = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
            excel = num.between(20000, 80000) if serial_dates else pd.Series(False, index=idx)
            epoch_s = num.between(1e9, 1e10)
            epoch_ms = num.between(1e12, 1e13)
            stamp[excel] = (_EXCEL_EPOCH + pd.to_timedelta(num[excel] * 86400, unit="s")).dt.round("s")
            # in microseconds, the column's unit (nanoseconds end in 2262, before the largest epochs here)
            stamp[epoch_s] = _epoch_us(num[epoch_s] * 1e6)
            stamp[epoch_ms] = _epoch_us(num[epoch_ms] * 1e3)
        else:
            if shape in _DEFAULT_ORDER:
                keyed = parts.set_axis(text[idx].to_numpy())
                order = _day_month_order(keyed, _DEFAULT_ORDER[shape], hint)
                parts = parts.rename(
                    columns={"a": "d", "b": "mo"} if order == "dm" else {"a": "mo", "b": "d"}
                )
            stamp = _from_parts(parts)
            if "tz" in parts:
                offsets[idx] = _offset_minutes(parts["tz"])
        result[idx] = stamp
        remaining[idx] = False
        bad = stamp.isna()
        errors[bad[bad].index] = text[bad[bad].index].map(lambda t: f"{shown(t)} is not a valid date")

    errors[remaining] = text[remaining].map(lambda t: f"{shown(t)} is not a date in a known format ({hint})")
    if timezone is not None:
        if source_timezone is not None:
            offsets = offsets.where(offsets.notna(), _zone_offsets(result, source_timezone))
        result = _to_zone(result, offsets, timezone)
    return ParsedTimestamps(result, errors)


def _zone_offsets(stamps: pd.Series, zone: str) -> pd.Series:
    """Minutes east of UTC that ``zone`` had at each wall-clock time (NaN where the time is NaT)."""
    valid = stamps.notna()
    out = pd.Series(np.nan, index=stamps.index)
    if valid.any():
        local = stamps[valid].dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        out[valid] = (
            local.dt.tz_localize(None) - local.dt.tz_convert("UTC").dt.tz_localize(None)
        ).dt.total_seconds() / 60
    return out


def _to_zone(stamps: pd.Series, offsets: pd.Series, timezone: str) -> pd.Series:
    """Wall clock in ``timezone``: values with an offset are converted, the others are left as written."""
    has = offsets.notna() & stamps.notna()
    if has.any():
        utc = stamps[has] - pd.to_timedelta(offsets[has], unit="min")
        local = utc.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
        stamps = stamps.copy()
        stamps[has] = local.astype("datetime64[us]")
    return stamps
