"""Working-day calendars: weekends and national public holidays, official transfers, user overrides.

The source is the ``holidays`` package (vacanza/holidays): public holidays per country, the days off moved
by decree ("Day off (substituted from …)") and the Saturdays that became working days (``weekend_workdays``),
as far as its maintainers have added the decrees — next year's transfers are usually published in autumn, so
keep the package current. Ukraine: under martial law (law 2136-IX) public holidays are working days, which
the package reflects from 2022. Regional holidays and company days off are not in it: add them, or extra
working days, with an overrides file (CSV ``date,kind[,note]`` with kind ``off`` or ``work``, or TOML
``off = [...]``, ``work = [...]``).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import holidays

from ltvkit.errors import InputError, MissingDataError


@dataclass
class Overrides:
    """Days the user's business treats differently from the national calendar."""

    off: set[dt.date] = field(default_factory=set)
    work: set[dt.date] = field(default_factory=set)

    @classmethod
    def load(cls, path: str | Path) -> Overrides:
        path = Path(path)
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                return cls(
                    {_date(v, path) for v in data.get("off", [])},
                    {_date(v, path) for v in data.get("work", [])},
                )
            out = cls()
            with path.open(encoding="utf-8-sig", newline="") as fh:
                for n, row in enumerate(csv.DictReader(fh), start=2):
                    kind = (row.get("kind") or "").strip().lower()
                    if kind not in ("off", "work"):
                        raise InputError(
                            f"kind must be 'off' or 'work', not {kind!r}", file=path, row=n, column="kind"
                        )
                    (out.off if kind == "off" else out.work).add(_date(row.get("date", ""), path, n))
            return out
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the overrides file ({exc})", file=path) from exc


def _date(value: object, path: Path, row: int | None = None) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", file=path, row=row, column="date") from None


HOLIDAY_LANGUAGES = {"en": "en_US", "ru": "ru", "uk": "uk"}  # ltvkit's languages in the holidays package

# The holiday names of the calendars whose data lack one of ltvkit's languages (the Russian calendar has no
# Ukrainian names, the Ukrainian no Russian ones): the package's English name → (Russian, Ukrainian), as the
# package writes them in the calendar's own language.
HOLIDAY_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "RU": {
        "Christmas Day": ("Рождество Христово", "Різдво Христове"),
        "Defender of the Fatherland Day": ("День защитника Отечества", "День захисника Вітчизни"),
        "Holiday of Spring and Labor": ("Праздник Весны и Труда", "Свято Весни і Праці"),
        "International Women's Day": ("Международный женский день", "Міжнародний жіночий день"),
        "New Year Holidays": ("Новогодние каникулы", "Новорічні канікули"),
        "Russia Day": ("День России", "День Росії"),
        "Unity Day": ("День народного единства", "День народної єдності"),
        "Victory Day": ("День Победы", "День Перемоги"),
    },
    "UA": {
        "Christmas Day": ("Рождество Христово", "Різдво Христове"),
        "Day of Victory over Nazism in World War II (Victory Day)": (
            "День победы над нацизмом во Второй мировой войне (День победы)",
            "День перемоги над нацизмом у Другій світовій війні (День перемоги)",
        ),
        "Day of defenders of Ukraine": (
            "День защитников и защитниц Украины",
            "День захисників і захисниць України",
        ),
        "Day of the Constitution of Ukraine": ("День Конституции Украины", "День Конституції України"),
        "Defender of Ukraine Day": ("День защитника Украины", "День захисника України"),
        "Easter Sunday (Pascha)": ("Пасха", "Великдень (Пасха)"),
        "Independence Day": ("День независимости Украины", "День незалежності України"),
        "International Women's Day": ("Международный женский день", "Міжнародний жіночий день"),
        "Labor Day": ("День труда", "День праці"),
        "New Year's Day": ("Новый год", "Новий рік"),
        "Pentecost": ("Троица", "Трійця"),
    },
}
_OBSERVED = {"ru": "выходной", "uk": "вихідний"}  # a holiday moved off a weekend: "… (observed)"
_DAY_OFF = {"ru": "Выходной (перенесено с {day})", "uk": "Вихідний день (перенесено з {day})"}
_SUBSTITUTED = re.compile(r"^Day off \(substituted from (\d\d)/(\d\d)/(\d{4})\)$")


def _translated(country: str, name: str, lang: str) -> str:
    """One English holiday name of ``country`` in ``lang`` (ru, uk): a name of :data:`HOLIDAY_NAMES`, a day
    off moved by decree with its date as the package writes it there (``01.11.2025``), ``(observed)``; a name
    not in the table stays English."""
    names = HOLIDAY_NAMES[country]
    index = ("ru", "uk").index(lang)
    moved = _SUBSTITUTED.match(name)
    if moved:
        month, day, year = moved.groups()
        return _DAY_OFF[lang].format(day=f"{day}.{month}.{year}")
    base, observed = name.removesuffix(" (observed)"), name.endswith(" (observed)")
    if base not in names:
        return name
    return names[base][index] + (f" ({_OBSERVED[lang]})" if observed else "")


class Weekdays:
    """Monday to Friday are working days: the calendar when no country is given."""

    country: str | None = None

    def __init__(self) -> None:
        self._months: dict[dt.date, list[dt.date]] = {}

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5

    def holiday_name(self, day: dt.date) -> str | None:
        return None

    def working_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Working days from ``start`` to ``end``, both included."""
        return [d for d in days_between(start, end) if self.is_working_day(d)]

    def month(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The first and the last day of ``day``'s month."""
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return first, following - dt.timedelta(days=1)

    def working_days_of_month(self, day: dt.date) -> list[dt.date]:
        """The working days of ``day``'s month, remembered per month (a book of many clients asks for the
        same months again and again)."""
        first, last = self.month(day)
        if first not in self._months:
            self._months[first] = self.working_days(first, last)
        return self._months[first]


class WorkCalendar(Weekdays):
    """Working days of ``country`` (ISO 3166 code), with ``overrides``; holiday names in ``lang`` (en, ru,
    uk) where the calendar data has that translation or :data:`HOLIDAY_NAMES` has the country, else in
    English."""

    country: str

    def __init__(self, country: str, overrides: Overrides | None = None, *, lang: str = "en") -> None:
        code = country.strip().upper()
        supported = holidays.list_supported_countries()
        if code not in supported:
            raise MissingDataError(
                f"no holiday calendar for {country!r}; use an ISO code such as UA, RU, PL, KZ, DE, GB, US",
                parameter="country",
            )
        super().__init__()
        self.country = code
        self.overrides = overrides or Overrides()
        supported_languages = holidays.country_holidays(code).supported_languages
        wanted = HOLIDAY_LANGUAGES.get(lang, "en_US")
        language = wanted if wanted in supported_languages else "en_US"
        self._holidays = holidays.country_holidays(code, language=language)
        self._translate = lang if language != wanted and code in HOLIDAY_NAMES else None

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides.work:
            return True
        if day in self.overrides.off:
            return False
        return bool(self._holidays.is_working_day(day))

    def holiday_name(self, day: dt.date) -> str | None:
        name: str | None = self._holidays.get(day)
        if name is None or self._translate is None:
            return name
        return "; ".join(_translated(self.country, one, self._translate) for one in name.split("; "))


def days_between(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    """Every day from ``start`` to ``end``, both included."""
    for offset in range((end - start).days + 1):
        yield start + dt.timedelta(days=offset)
