"""Use case: compare two cohorts or two groups of customers at equal ages (``ltv cohorts --compare``, the
dashboard's cohorts page, the report's comparison section).

When the user names no pair, :func:`default_pair` chooses one, by a rule stated with the result: the two
largest of the :data:`RECENT` latest cohorts observed for at least :data:`MIN_AGES` months (six, else three:
old enough to compare at equal ages, recent enough to matter); without two such cohorts, the two largest
channels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ltvkit import i18n
from ltvkit.analytics.cohorts import Period, compare_cohorts
from ltvkit.data.sources import Tables
from ltvkit.errors import MissingDataError
from ltvkit.serialize import jsonable, records
from ltvkit.service.analysis import Analysis

MIN_AGES = (6, 3)  # months a default cohort must be observed for: six, else three
RECENT = 12  # the default pair is taken from this many latest cohorts old enough
NO_VALUE = "(none)"  # a split's value for customers without one: not a group to compare
Chosen = Literal["given", "recent_cohorts", "largest_groups"]


def compare_groups(
    orders: ir.Table,
    first: str,
    second: str,
    *,
    split: str | None = None,
    period: Period = "month",
    currency: str | None = None,
    observation_end: str | dt.date | None = None,
    values: ir.Table | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`~ltvkit.analytics.cohorts.compare_cohorts` by age, and the comparison at the verdict age:
    the differences (second − first) in retention and LTV with their 90% intervals, and whether each
    interval excludes zero (a difference beyond chance). The verdict age is the oldest age at which each
    group still has at least half its customers observed: for two cohorts, the oldest age both have reached;
    for two channels (customers of many cohorts), not an age only their oldest few have lived to."""
    table = compare_cohorts(
        orders,
        first,
        second,
        split=split,
        period=period,
        currency=currency,
        observation_end=observation_end,
        values=values,
    )
    watched = (table["customers_a"] * 2 >= table["customers_a"].iloc[0]) & (
        table["customers_b"] * 2 >= table["customers_b"].iloc[0]
    )
    last = table[watched].iloc[-1]
    info: dict[str, Any] = {"first": first, "second": second, "split": split, "age": int(last["age"])}
    for metric in ("retention", "ltv"):
        low, high = float(last[f"{metric}_low"]), float(last[f"{metric}_high"])
        info[f"{metric}_diff"] = float(last[f"{metric}_diff"])
        info[f"{metric}_interval"] = [low, high]
        info[f"{metric}_significant"] = bool(np.isfinite(low) and (low > 0 or high < 0))
    return table, info


def points(value: float, lang: str) -> str:
    """A difference of two shares in percentage points in ``lang`` (0.031 → ``3.1 pp``)."""
    return i18n.text("percentage_points", lang, value=i18n.number(value * 100, lang, digits=1))


def comparison_sentences(info: dict[str, Any], lang: str, currency: str | None = None) -> list[str]:
    """The verdict on retention and on LTV at the oldest age both groups reached, in ``lang``: the
    difference with its 90% interval, and whether it is beyond chance (LTV as money in ``currency``)."""

    def written(metric: str, value: float) -> str:
        if metric == "retention":
            return points(value, lang)
        return i18n.money(value, currency, lang) if currency else i18n.number(value, lang)

    sentences = []
    for metric in ("retention", "ltv"):
        low, high = info[f"{metric}_interval"]
        sentences.append(
            i18n.text(
                "compare_beyond_chance" if info[f"{metric}_significant"] else "compare_within_chance",
                lang,
                what=i18n.text(f"col_{metric}", lang),
                age=info["age"],
                diff=written(metric, info[f"{metric}_diff"]),
                low=written(metric, low),
                high=written(metric, high),
            )
        )
    return sentences


@dataclass(frozen=True)
class Comparison:
    """Two cohorts (``split`` None, labels ``YYYY-MM``) or two values of a split compared by age, how the
    pair was chosen, and each group's customers."""

    currency: str
    first: str
    second: str
    split: str | None
    chosen: Chosen
    sizes: tuple[int, int]
    table: pd.DataFrame
    info: dict[str, Any]

    def names(self, lang: str) -> tuple[str, str]:
        """The groups as a reader names them: a cohort as its month in ``lang``, a split's value as it is."""
        if self.split is not None:
            return self.first, self.second
        first, second = (i18n.month(pd.Timestamp(label).date(), lang) for label in (self.first, self.second))
        return first, second

    def how_chosen(self, lang: str) -> str:
        """How the pair was chosen, in ``lang`` (empty when the user named it)."""
        if self.chosen == "given":
            return ""
        if self.chosen == "recent_cohorts":
            first, second = self.names(lang)
            return i18n.text(
                "compare_chosen_cohorts",
                lang,
                recent=RECENT,
                age=self.info["min_age"],
                first=first,
                second=second,
                n1=i18n.number(self.sizes[0], lang),
                n2=i18n.number(self.sizes[1], lang),
            )
        return i18n.text(
            "compare_chosen_groups",
            lang,
            split=i18n.text(f"compare_split_{self.split}", lang),
            n1=i18n.number(self.sizes[0], lang),
            n2=i18n.number(self.sizes[1], lang),
        )

    def sentences(self, lang: str) -> list[str]:
        return comparison_sentences(self.info, lang, self.currency)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """JSON-ready: the pair, its verdict (and how it was chosen) in ``lang``, and the table by age."""
        names = self.names(lang)
        result: dict[str, Any] = jsonable(
            {
                "currency": self.currency,
                **self.info,
                "chosen": self.chosen,
                "sizes": list(self.sizes),
                "names": list(names),
                "how_chosen": self.how_chosen(lang),
                "sentences": self.sentences(lang),
            }
        )
        return result | {"by_age": records(self.table)}


def _sizes(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per value of ``key`` in a cohort table: ``size`` (customers) and ``max_age`` (the oldest age
    observed of any of its cohorts)."""
    first = table[table["age"] == 0]
    return pd.DataFrame(
        {"size": first.groupby(key)["size"].sum(), "max_age": table.groupby(key)["age"].max()}
    )


def default_pair(data: Analysis, split: str | None = None) -> tuple[str, str, Chosen, int] | None:
    """The pair to compare when none is named, from the :class:`Analysis`'s cohort cells (no query of its
    own), as ``(first, second, how chosen, minimum age)``; None when the data has no two groups.

    Without ``split``: the two largest of the :data:`RECENT` latest cohorts observed for at least six
    months (else three), the older first; without two such cohorts, the two largest channels. With a
    ``split``: its two largest values (``(none)`` left out), the larger first."""
    if split is None:
        cohorts = _sizes(data.cohort_table(), "cohort").sort_index()
        for age in MIN_AGES:
            old = cohorts[cohorts["max_age"] >= age].tail(RECENT)
            if len(old) >= 2:
                pair = old.sort_values("size", kind="stable").tail(2).sort_index().index
                first, second = (pd.Timestamp(c).strftime("%Y-%m") for c in pair)
                return first, second, "recent_cohorts", age
        split = "channel"
    groups = _sizes(data.cohort_table(split=split), split)
    groups = groups[groups.index != NO_VALUE].sort_values("size", ascending=False, kind="stable")
    if len(groups) < 2:
        return None
    return str(groups.index[0]), str(groups.index[1]), "largest_groups", 0


def compare(
    tables: Tables,
    first: str | None = None,
    second: str | None = None,
    *,
    split: str | None = None,
    currency: str | None = None,
    analysis: Analysis | None = None,
) -> Comparison | None:
    """Compare ``first`` and ``second`` (cohorts ``YYYY-MM``, or values of ``split``) at equal ages, or,
    when neither is named, the pair :func:`default_pair` chooses (None when the data has no two groups). A
    group the data does not have, or only one named, is a :class:`~ltvkit.errors.MissingDataError`. A
    caller with an :class:`Analysis` of the same orders passes it: the comparison then adds one query."""
    if (first is None) != (second is None):
        raise MissingDataError("name two groups to compare, or none for the default pair", parameter="second")
    for label in (first, second) if split is None else ():
        try:
            pd.Timestamp(label)
        except (ValueError, TypeError, OverflowError):
            raise MissingDataError(
                f"no cohort {label!r} (name a cohort as YYYY-MM)", parameter="first"
            ) from None
    data = analysis or Analysis(tables, currency=currency)
    chosen: Chosen = "given"
    min_age = 0
    if first is None or second is None:
        found = default_pair(data, split)
        if found is None:
            return None
        first, second, chosen, min_age = found
        if chosen == "largest_groups" and split is None:
            split = "channel"
    table, info = compare_groups(
        data.orders,
        first,
        second,
        split=split,
        currency=data.currency,
        observation_end=data.end,
        values=data.values,
    )
    sizes = (int(table["customers_a"].iloc[0]), int(table["customers_b"].iloc[0]))
    return Comparison(data.currency, first, second, split, chosen, sizes, table, info | {"min_age": min_age})
