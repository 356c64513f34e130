"""Numbers, money, percentages, ratios and dates as people read them in English, Russian and Ukrainian.

One set of rules, from CLDR through Babel, for the report, the CLI and the dashboard (which formats in the
browser by :func:`rules`, the same rules as data, so the two never disagree):

- **numbers**: the locale's separators, ``6,293`` / ``6 293`` (a no-break space groups the digits);
- **money**: whole units by default, the currency's sign placed by the locale's currency pattern:
  ``$6,293`` / ``₽6,293`` in English, ``6 293 ₽`` / ``6 293 $`` in Russian and Ukrainian. The sign is the
  currency's own sign (CLDR's narrow symbol) for the currencies of :data:`SIGNS`, whatever the locale (CLDR's
  Ukrainian data writes ``RUB``, ``USD`` and ``EUR`` where the Russian writes ``₽``, ``$``, ``€``: one rule
  reads better across a team that switches languages); any other currency is written as its ISO code after
  the number (``6,293 CAD``);
- **percentages**: one decimal (``20.4%``, ``26.0%``), with the locale's spacing (``20,4 %`` in Russian,
  ``20,4%`` in Ukrainian, as CLDR has them); axis ticks and round shares ask for ``digits=0``;
- **ratios** (LTV:CAC): always two decimals, ``2.69`` never ``3``;
- **compact** numbers for tiles (``515,8 млн ₽``, ``₽515.8M``) from a million up;
- every space in any of them is a no-break space, so a figure never breaks across lines.

Rounding is half-even on the shortest decimal that reads back as the float (Babel's ``Decimal(str(value))``),
in ``format.js`` too.
"""

from __future__ import annotations

import datetime as dt
from copy import copy
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_decimal

from ltvkit.errors import ParameterError

LOCALES: dict[str, str] = {"en": "en_US", "ru": "ru_RU", "uk": "uk_UA"}
NBSP = "\u00a0"
# CLDR's narrow symbols: the sign people write for these currencies in every one of the three languages
SIGNS: dict[str, str] = {
    "RUB": "₽",
    "UAH": "₴",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "KZT": "₸",
    "BYN": "Br",
    "PLN": "zł",
    "GEL": "₾",
    "AMD": "֏",
    "ILS": "₪",
    "TRY": "₺",
    "INR": "₹",
    "JPY": "¥",
    "CNY": "¥",
}
COMPACT_FROM = 1_000_000


def locale_of(lang: str) -> Locale:
    """The Babel locale of ``lang`` (en, ru, uk)."""
    if lang not in LOCALES:
        raise ParameterError(f"unknown language {lang!r}; use en, ru or uk")
    return Locale.parse(LOCALES[lang])


def _unbreakable(text: str) -> str:
    return text.replace(" ", NBSP).replace("\u202f", NBSP)


def currency_sign(currency: str, lang: str) -> str:
    """``₽`` for RUB in every language; the ISO code for a currency without a sign in :data:`SIGNS`."""
    return SIGNS.get(currency, currency)


def _sign_placement(lang: str) -> tuple[str, str]:
    """What goes before and after the number in the locale's currency pattern, ``¤`` standing for the sign:
    ``("¤", "")`` in English, ``("", " ¤")`` in Russian and Ukrainian."""
    pattern = locale_of(lang).currency_formats["standard"].pattern.split(";")[0]
    start, end = pattern.find("#"), max(pattern.rfind("0"), pattern.rfind("#"))
    return _unbreakable(pattern[:start]), _unbreakable(pattern[end + 1 :])


def _with_sign(amount: str, currency: str, lang: str) -> str:
    before, after = _sign_placement(lang)
    sign = currency_sign(currency, lang)
    if sign.isalpha() and before:  # a code or a word is never glued to the digits: "5 CAD", not "CAD5"
        before, after = "", NBSP + "¤"
    minus = amount.startswith("-")
    body = before.replace("¤", sign) + amount.lstrip("-") + after.replace("¤", sign)
    return ("-" if minus else "") + body


def number(value: float, lang: str, *, digits: int = 0) -> str:
    """``6,293`` / ``6 293``; ``digits`` decimals, always shown."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _unbreakable(format_decimal(value, format=pattern, locale=locale_of(lang)))


def ratio(value: float, lang: str) -> str:
    """A ratio such as LTV:CAC with two decimals: ``2.69`` / ``2,69``."""
    return number(value, lang, digits=2)


def percent(value: float, lang: str, *, digits: int = 1) -> str:
    """A share as a percentage in the locale's pattern: ``20.4%`` / ``20,4 %`` / ``20,4%``."""
    locale = locale_of(lang)
    pattern = copy(locale.percent_formats[None])
    pattern.frac_prec = (digits, digits)
    return _unbreakable(pattern.apply(value, locale))


def money(value: float, currency: str, lang: str, *, digits: int = 0) -> str:
    """``$6,293`` / ``6 293 ₽`` with ``digits`` decimals (see the module docstring for the sign)."""
    return _with_sign(number(value, lang, digits=digits), currency, lang)


def compact(value: float, lang: str) -> str:
    """``515.8M`` / ``515,8 млн`` from a million up, else the plain number."""
    if abs(value) < COMPACT_FROM:
        return number(value, lang)
    return _unbreakable(format_compact_decimal(value, locale=locale_of(lang), fraction_digits=1))


def money_short(value: float, currency: str, lang: str) -> str:
    """Money in a few characters for tiles: ``515,8 млн ₽`` / ``₽515.8M`` (plain :func:`money` below a
    million)."""
    return _with_sign(compact(value, lang), currency, lang)


def _months(lang: str, context: str) -> list[str]:
    """The abbreviated month names, January first, in the ``format`` (``янв.``) or ``stand-alone`` context."""
    names = locale_of(lang).months[context]["abbreviated"]
    return [_unbreakable(names[m]) for m in range(1, 13)]


def month(value: dt.date, lang: str) -> str:
    """``Jan 2026`` / ``янв. 2026`` / ``січ. 2026``."""
    return _unbreakable(format_date(value, "LLL yyyy", locale=locale_of(lang)))


def day_month(value: dt.date, lang: str) -> str:
    """``Dec 1`` / ``1 дек.`` / ``1 груд.``."""
    return _unbreakable(format_date(value, "d MMM" if lang != "en" else "MMM d", locale=locale_of(lang)))


def day(value: dt.date, lang: str) -> str:
    """``Dec 1, 2026`` / ``1 дек. 2026 г.`` / ``1 груд. 2026 р.``."""
    return _unbreakable(format_date(value, "medium", locale=locale_of(lang)))


def rules(lang: str) -> dict[str, Any]:
    """These rules as data for the dashboard's formatter (``dashboard.js``): separators, the sign's place, the
    percent pattern, the currency signs and the compact units, all from the locale's CLDR data."""
    locale = locale_of(lang)
    symbols = locale.number_symbols["latn"]
    percent_pattern = locale.percent_formats[None].pattern
    before, after = _sign_placement(lang)
    units = locale.compact_decimal_formats["short"]
    compact_units = []
    for power in (1_000_000_000_000, 1_000_000_000, 1_000_000):
        unit = str(units["other"][str(power)].pattern).replace("0", "").replace("'", "")
        compact_units.append([power, _unbreakable(unit)])
    return {
        "decimal": symbols["decimal"],
        "group": _unbreakable(symbols["group"]),
        "percent": [_unbreakable(p) for p in percent_pattern.split("#,##0")],
        "money": [before, after],
        "signs": {code: currency_sign(code, lang) for code in SIGNS},
        "compact_from": COMPACT_FROM,
        "compact": compact_units,
        "month": "LLL yyyy",
        "date": _unbreakable(locale.date_formats["medium"].pattern),
        "months_standalone": _months(lang, "stand-alone"),
        "months_format": _months(lang, "format"),
    }
