"""How much the data can support: a grade from the number of customers, of repeat buyers and of days
observed, with the thresholds written down.

Probabilistic models learn how customers differ from the customers who came back; with few repeat buyers or
a short history they mostly return their assumptions (the fit says so: ``identification_``). Peers set
similar floors: Klaviyo predicts CLV only with at least 500 customers and 180 days of orders. ltvkit grades:

========  ===========  ==============  =============  ==============================================
grade     customers    repeat buyers   days observed  what ltvkit does
========  ===========  ==============  =============  ==============================================
good      ≥ 500        ≥ 100           ≥ 180          models, with their intervals
fair      ≥ 100        ≥ 20            ≥ 90           models with a caveat, beside the formula
thin      below                                       the formula (expected lifetime), with a caveat
========  ===========  ==============  =============  ==============================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ltvkit import i18n

Grade = Literal["good", "fair", "thin"]
THRESHOLDS: dict[Grade, tuple[int, int, int]] = {"good": (500, 100, 180), "fair": (100, 20, 90)}
NAMES = ("customers", "repeat", "days")  # the counts, as the i18n keys grade_need_* name them


@dataclass(frozen=True)
class DataGrade:
    """The grade, the counts it was decided on, and what falls short of the next grade up."""

    grade: Grade
    customers: int
    repeat_buyers: int
    days_observed: int
    short_of: tuple[str, ...]

    @property
    def models_usable(self) -> bool:
        return self.grade != "thin"

    def sentence(self, lang: str = "en") -> str:
        """The grade in words in ``lang``, with what would raise it."""
        values = {
            "customers": i18n.number(self.customers, lang),
            "repeat": i18n.number(self.repeat_buyers, lang),
            "days": i18n.number(self.days_observed, lang),
        }
        target: Grade | None = {"good": None, "fair": "good", "thin": "fair"}[self.grade]
        counts = (self.customers, self.repeat_buyers, self.days_observed)
        need = (
            "; ".join(
                i18n.text(
                    f"grade_need_{name}", lang, floor=i18n.number(floor, lang), now=i18n.number(c, lang)
                )
                for c, floor, name in zip(counts, THRESHOLDS[target], NAMES, strict=True)
                if c < floor
            )
            if target
            else ""
        )
        return i18n.text(f"grade_sentence_{self.grade}", lang, need=need, **values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"models_usable": self.models_usable, "sentence": self.sentence()}


def data_grade(customers: int, repeat_buyers: int, days_observed: int) -> DataGrade:
    """The :class:`DataGrade` of data with these counts (see the module docstring for the thresholds)."""
    counts = (customers, repeat_buyers, days_observed)
    names = ("customers", "repeat buyers", "days of orders")
    for grade in ("good", "fair"):
        floor = THRESHOLDS[grade]
        if all(c >= f for c, f in zip(counts, floor, strict=True)):
            target: Grade | None = "good" if grade == "fair" else None
            return DataGrade(grade, *counts, _short_of(counts, target, names))
    return DataGrade("thin", *counts, _short_of(counts, "fair", names))


def _short_of(counts: tuple[int, int, int], grade: Grade | None, names: tuple[str, ...]) -> tuple[str, ...]:
    if grade is None:
        return ()
    floor = THRESHOLDS[grade]
    return tuple(
        f"at least {f:,} {name} (now {c:,})" for c, f, name in zip(counts, floor, names, strict=True) if c < f
    )
