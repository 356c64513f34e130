"""What to do first: the levers of the business ranked by the money each is worth over a horizon.

Each lever is valued for ``horizon`` months of the business at its recent pace, with modest assumptions
written down in :class:`Assumptions`, in gross profit: revenue × the ``margin`` given, else revenue less
the orders' costs and fees when they carry them, else revenue.

- **Upsell, repeat purchases, retention** — the what-if formula (:mod:`ltvkit.whatif.scenarios`) gives a
  new customer's LTV = AOV × (1 + repeat purchases) today and with the change (+10% to the average check;
  +10% repeat purchases; a tenth fewer customers lost a month, which lengthens the lifetime by 1/0.9 and the
  repeat purchases with it). The lever is worth the difference × the new customers of ``horizon`` months
  (as many as came in the last ``horizon`` months; scaled up when the data are younger). In a steady
  business a period's revenue is its new customers × their LTV, so this is also what the change adds to a
  period's revenue once every customer has it. In closed form: upsell adds AOV × a × purchases per
  customer, frequency AOV × repeats × f, retention AOV × repeats × c / (1 − c) per new customer.
- **Channel budget** — of the spend of the last ``horizon`` months on the channels whose CAC is above the
  maximum they can bear (:func:`~ltvkit.analytics.channels.cac_table`), a share (20%) moves to the channels
  below it, the best LTV:CAC first, each taking at most half again its own spend (beyond that its CAC would
  rise: unknown). Worth: moved × (LTV:CAC where it goes − LTV:CAC where it comes from), both the
  gross-profit LTV of the CAC table per unit of spend.
- **Win-back** — of the RFM segments "at risk", "hibernating" and "lost"
  (:mod:`ltvkit.analytics.segments`, the same segments ``ltv segments`` exports) a share comes back (10%,
  5%, 2%: the longer gone, the fewer), each for one purchase at the segment's average check.

How sure a lever is: the data grade (:mod:`ltvkit.analytics.grade`; good → high, fair → medium, thin → low),
one step lower for each caveat: the lever rests on fewer than :data:`~ltvkit.predict.groups.SMALL_GROUP`
customers, or the channels' LTV is read before ``horizon`` months.

Everything here reads the :class:`~ltvkit.service.analysis.Analysis`' shared tables (the per-customer
values, the cohort cells split by channel, the monthly spend): the report adds no engine query for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ltvkit import formatting, i18n
from ltvkit.analytics.historical import LtvSummary
from ltvkit.analytics.segments import rfm
from ltvkit.data.sources import Tables
from ltvkit.errors import ParameterError
from ltvkit.predict.groups import SMALL_GROUP
from ltvkit.service.analysis import Analysis
from ltvkit.whatif.scenarios import Scenario, baseline_of, evaluate

LEVERS = ("upsell", "frequency", "retention", "budget", "win_back")
SCHEME = "rfm"
#: the RFM segments each lever acts on (every RFM segment in one lever)
TARGETS: dict[str, tuple[str, ...]] = {
    "upsell": ("champions", "loyal"),
    "frequency": ("promising", "need attention"),
    "retention": ("can't lose",),
    "win_back": ("at risk", "hibernating", "lost"),
}
CONFIDENCE = ("low", "medium", "high")
_GRADE_LEVEL = {"thin": 0, "fair": 1, "good": 2}


@dataclass(frozen=True)
class Assumptions:
    """The modest changes each lever is valued at (shares, 0.1 = 10%)."""

    aov_change: float = 0.10  # upsell: the average check grows by this share
    frequency_change: float = 0.10  # repeat purchases grow by this share
    churn_cut: float = 0.10  # this share fewer customers lost a month
    budget_share: float = 0.20  # of the spend on channels above their max CAC, this share moves
    budget_growth: float = 0.50  # a receiving channel takes at most this share of its own spend more
    at_risk: float = 0.10  # of the "at risk" customers, this share comes back
    hibernating: float = 0.05
    lost: float = 0.02

    def validate(self) -> None:
        """Every assumption a positive share: at most 1 (the churn cut below 1), the check and the repeat
        purchases at most ten times as high."""
        for name, value in asdict(self).items():
            most = 10.0 if name in ("aov_change", "frequency_change") else 1.0
            if not 0 < value <= most or (name == "churn_cut" and value >= 1):
                shown = f"(0, {most:g})" if name == "churn_cut" else f"(0, {most:g}]"
                raise ParameterError(
                    i18n.Note("error_share_range", name=name, range=shown, value=repr(value)), parameter=name
                )

    def returning(self, segment: str) -> float:
        return {"at risk": self.at_risk, "hibernating": self.hibernating, "lost": self.lost}[segment]


@dataclass(frozen=True)
class Target:
    """A segment a lever acts on: its customers and, for win-back, the share expected back and its worth."""

    segment: str
    customers: int
    returning: float | None = None
    money: float | None = None


@dataclass(frozen=True)
class Lever:
    """One lever: what it is worth over the horizon (``money``, 0 when it does not apply, with the reason
    as ``why``), the figures its sentences quote (``facts``), the grade and caveats that say how sure it
    is, and whom it acts on."""

    lever: str
    money: float
    grade: str
    facts: dict[str, float] = field(default_factory=dict)
    caveats: dict[str, float] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    channels_from: tuple[str, ...] = ()
    channels_to: tuple[str, ...] = ()
    why: str | None = None

    @property
    def applies(self) -> bool:
        return self.why is None

    @property
    def confidence(self) -> str:
        """high, medium or low: the data grade, one step lower for each caveat."""
        return CONFIDENCE[max(0, _GRADE_LEVEL[self.grade] - len(self.caveats))]


@dataclass(frozen=True)
class Actions:
    """The levers of one currency's business, the largest money first (those that do not apply last)."""

    currency: str
    other_currencies: list[str]
    horizon: int
    margin: float
    basis: str  # "revenue" (no margin or costs known) or "profit"
    assumptions: Assumptions
    summary: LtvSummary = field(repr=False)
    levers: list[Lever]

    def texts(self, lever: Lever, lang: str) -> dict[str, str]:
        """The lever's title, the action in one sentence, how its money is counted and how sure it is, in
        ``lang``, numbers by :mod:`ltvkit.formatting`."""
        return _lever_texts(self, lever, lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The figures and every text in ``lang``, JSON-ready."""
        i18n.check_lang(lang)
        levers = []
        for rank, lever in enumerate(self.levers, start=1):
            levers.append(
                {
                    "rank": rank,
                    "lever": lever.lever,
                    "money": lever.money,
                    "applies": lever.applies,
                    "confidence": lever.confidence,
                    "grade": lever.grade,
                    "facts": lever.facts,
                    "caveats": lever.caveats,
                    "why": lever.why,
                    "targets": [_target(t, self.currency, lang) for t in lever.targets],
                    "channels_from": list(lever.channels_from),
                    "channels_to": list(lever.channels_to),
                    "money_text": formatting.money_short(lever.money, self.currency, lang)
                    if lever.applies
                    else "",
                    **self.texts(lever, lang),
                }
            )
        return {
            "currency": self.currency,
            "other_currencies": self.other_currencies,
            "horizon_months": self.horizon,
            "margin": self.margin,
            "basis": self.basis,
            "scheme": SCHEME,
            "assumptions": asdict(self.assumptions),
            "grade": self.summary.grade.grade,
            "title": i18n.text("nav_actions", lang),
            "note": _note(self, lang),
            "money_head": i18n.text(f"actions_money_{self.basis}", lang, months=self.horizon),
            "levers": levers,
        }

    def views(self) -> dict[str, dict[str, Any]]:
        """:meth:`to_dict` in every language (the report renders them from one set of figures)."""
        return {lang: self.to_dict(lang) for lang in i18n.LOCALES}


def actions(
    tables: Tables,
    *,
    horizon: int = 12,
    margin: float | None = None,
    target: float = 3.0,
    currency: str | None = None,
    assumptions: Assumptions | None = None,
) -> Actions:
    """The :class:`Actions` of one currency's orders (the largest by revenue unless ``currency`` is given)."""
    data = Analysis(tables, currency=currency)
    return actions_of(
        data, data.ltv(margin=margin), horizon=horizon, margin=margin, target=target, assumptions=assumptions
    )


def actions_of(
    data: Analysis,
    summary: LtvSummary,
    *,
    horizon: int = 12,
    margin: float | None = None,
    target: float = 3.0,
    assumptions: Assumptions | None = None,
) -> Actions:
    """:func:`actions` from an :class:`Analysis` and its LTV summary the caller has already (the report)."""
    if not 1 <= horizon <= 120:
        raise ParameterError(f"the horizon is 1 to 120 months, not {horizon}", parameter="horizon")
    if target <= 0:
        raise ParameterError("the target LTV:CAC must be positive", parameter="target")
    given = assumptions or Assumptions()
    given.validate()
    values = data.customer_values
    if margin is not None:
        rate, basis = margin, "profit"
    elif data.has_costs and values["net_revenue"].sum() > 0:
        rate, basis = float(values["gross_profit"].sum() / values["net_revenue"].sum()), "profit"
    else:
        rate, basis = 1.0, "revenue"
    segments = _rfm_segments(values, data.end)
    grade = summary.grade.grade
    levers = [
        *_what_if_levers(summary, values, data.end, horizon, rate, target, given, segments),
        _budget_lever(data, grade, horizon, margin, target, given),
        _win_back_lever(segments, grade, rate, given),
    ]
    ranked = sorted(levers, key=lambda lever: (not lever.applies, -lever.money))
    return Actions(data.currency, data.other_currencies, horizon, rate, basis, given, summary, ranked)


def _rfm_segments(values: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Per customer: purchases, net revenue and RFM segment, from the per-customer values (the same segments
    as :func:`ltvkit.service.segments.segments` with the RFM scheme, without reading the orders again)."""
    last = pd.to_datetime(values["last_purchase"])
    table = values.assign(days_since_last=(pd.Timestamp(end) - last).dt.days)
    return rfm(table)[["customer_id", "purchases", "net_revenue", "segment"]]


def _targets(segments: pd.DataFrame, lever: str) -> tuple[Target, ...]:
    sizes = segments["segment"].value_counts()
    return tuple(Target(s, int(sizes[s])) for s in TARGETS[lever] if sizes.get(s, 0) > 0)


def new_customers_per(values: pd.DataFrame, end: dt.date, months: int) -> float:
    """New customers in ``months`` months at the recent pace: those whose first purchase falls in the last
    ``months`` months to ``end``, scaled up by the window's days over the days observed when the data begin
    inside the window."""
    first = pd.to_datetime(values["first_purchase"]).dt.normalize()
    stop = pd.Timestamp(end)
    start = stop - pd.DateOffset(months=months)
    counted = float((first > start).sum())
    observed = (stop - first.min()).days + 1
    window = (stop - start).days
    return counted * window / observed if observed < window else counted


def spend_per(spend: pd.DataFrame, end: dt.date, months: int) -> pd.Series:
    """Spend per channel in ``months`` months at the recent pace: the spend of the last ``months`` calendar
    months to ``end``'s month, scaled up when the spend data begin inside them."""
    last = pd.Timestamp(end).to_period("M")
    month = pd.to_datetime(spend["cohort"]).dt.to_period("M")
    first = max(month.min(), last - (months - 1))
    recent = spend[(month >= first) & (month <= last)]
    covered = (last - first).n + 1
    return recent.groupby("channel")["spend"].sum() * months / covered


def _caveat_small(count: float) -> dict[str, float]:
    return {"small": count} if count < SMALL_GROUP else {}


def _what_if_levers(
    summary: LtvSummary,
    values: pd.DataFrame,
    end: dt.date,
    horizon: int,
    rate: float,
    target: float,
    given: Assumptions,
    segments: pd.DataFrame,
) -> list[Lever]:
    """Upsell, repeat purchases and retention by the what-if formula (see the module docstring)."""
    base = baseline_of(summary, margin=rate)
    planned = [
        Scenario("upsell", aov_change=given.aov_change),
        Scenario("frequency", frequency_change=given.frequency_change),
        Scenario("retention", churn_change=-given.churn_cut * base.monthly_churn),
    ]
    table = evaluate(base, planned, target_ratio=target).set_index("scenario")
    today = table.loc["baseline"]
    customers = new_customers_per(values, end, horizon)
    repeats = base.purchases_per_customer - 1
    out = []
    for name in ("upsell", "frequency", "retention"):
        row = table.loc[name]
        delta = float(row["formula_margin_ltv"] - today["formula_margin_ltv"])
        facts = {
            "customers": customers,
            "delta": delta,
            "ltv": float(today["formula_margin_ltv"]),
            "new_ltv": float(row["formula_margin_ltv"]),
        }
        if name == "upsell":
            facts |= {"change": given.aov_change, "aov": base.aov, "new_aov": float(row["formula_aov"])}
        elif name == "frequency":
            facts |= {
                "change": given.frequency_change,
                "repeats": repeats,
                "new_repeats": float(row["formula_purchases_per_customer"]) - 1,
            }
        else:
            facts |= {
                "change": given.churn_cut,
                "churn": base.monthly_churn,
                "new_churn": float(row["formula_monthly_churn"]),
            }
        why = "no_repeats" if name != "upsell" and repeats <= 0 else "no_new" if customers == 0 else None
        out.append(
            Lever(
                name,
                customers * delta if why is None else 0.0,
                summary.grade.grade,
                facts,
                _caveat_small(customers),
                _targets(segments, name),
                why=why,
            )
        )
    return out


def _budget_lever(
    data: Analysis, grade: str, horizon: int, margin: float | None, target: float, given: Assumptions
) -> Lever:
    """Spend moved from the channels above their max CAC to those below it (see the module docstring)."""
    if data.spend_by_month.empty:
        return Lever("budget", 0.0, grade, why="no_spend")
    by_channel = data.cac(margin=margin, horizon=horizon, target_ratio=target)[0].set_index("channel")
    known = by_channel[np.isfinite(by_channel["cac"]) & np.isfinite(by_channel["max_cac"])]
    over = known[known["cac"] > known["max_cac"]]
    within = known[known["cac"] < known["max_cac"]].sort_values("ltv_to_cac", ascending=False, kind="stable")
    if over.empty:
        return Lever("budget", 0.0, grade, why="all_within")
    if within.empty:
        return Lever("budget", 0.0, grade, channels_from=tuple(over.index), why="none_within")
    recent = spend_per(data.spend_by_month, data.end, horizon)
    available = (given.budget_share * recent.reindex(over.index).fillna(0.0)).loc[lambda s: s > 0]
    capacity = (given.budget_growth * recent.reindex(within.index).fillna(0.0)).loc[lambda s: s > 0]
    moved = float(min(available.sum(), capacity.sum()))
    if moved <= 0:
        return Lever("budget", 0.0, grade, channels_from=tuple(over.index), why="no_recent_spend")
    ratio_from = float((available * over["ltv_to_cac"].reindex(available.index)).sum() / available.sum())
    taken = np.minimum(capacity, np.maximum(moved - capacity.cumsum().shift(fill_value=0.0), 0.0))
    taken = taken[taken > 0]
    ratio_to = float((taken * within["ltv_to_cac"].reindex(taken.index)).sum() / moved)
    involved = by_channel.loc[[*available.index, *taken.index], "new_customers"]
    age = int(by_channel["ltv_age"].max())
    caveats = _caveat_small(float(involved.min())) | ({"young": age} if age < horizon else {})
    facts = {
        "moved": moved,
        "spend": float(recent.reindex(over.index).fillna(0.0).sum()),
        "share": given.budget_share,
        "growth": given.budget_growth,
        "ratio_from": ratio_from,
        "ratio_to": ratio_to,
        "ltv_age": age,
    }
    return Lever(
        "budget",
        moved * (ratio_to - ratio_from),
        grade,
        facts,
        caveats,
        channels_from=tuple(str(c) for c in available.index),
        channels_to=tuple(str(c) for c in taken.index),
    )


def _win_back_lever(segments: pd.DataFrame, grade: str, rate: float, given: Assumptions) -> Lever:
    """A share of the lapsed RFM segments back for one purchase at the segment's average check."""
    targets = []
    for segment in TARGETS["win_back"]:
        group = segments[segments["segment"] == segment]
        if group.empty:
            continue
        share = given.returning(segment)
        check = float(group["net_revenue"].sum() / group["purchases"].sum())
        targets.append(Target(segment, len(group), len(group) * share, len(group) * share * check * rate))
    if not targets:
        return Lever("win_back", 0.0, grade, why="no_lapsed")
    customers = sum(t.customers for t in targets)
    returning = sum(t.returning or 0.0 for t in targets)
    facts = {"customers": float(customers), "returning": returning}
    return Lever(
        "win_back",
        sum(t.money or 0.0 for t in targets),
        grade,
        facts,
        _caveat_small(customers),
        tuple(targets),
    )


def _target(target: Target, currency: str, lang: str) -> dict[str, Any]:
    """A segment a lever acts on, with its name and, for win-back, who comes back and what they bring, in
    ``lang``."""
    back = (
        i18n.text(
            "actions_back",
            lang,
            returning=_count(target.returning, lang),
            money=_money(target.money or 0.0, currency, lang),
        )
        if target.returning is not None
        else ""
    )
    return asdict(target) | {
        "label": i18n.text(f"segment_{target.segment}", lang),
        "customers_text": formatting.number(target.customers, lang),
        "back": back,
    }


def _money(value: float, currency: str, lang: str) -> str:
    return formatting.money(value, currency, lang)


def _share(value: float, lang: str) -> str:
    return formatting.percent(value, lang, digits=0)


def _count(value: float, lang: str) -> str:
    """A count of people: whole, one decimal below one (0.2 of a customer back is not none)."""
    return formatting.number(value, lang, digits=1 if 0 < value < 1 else 0)


def _note(found: Actions, lang: str) -> str:
    a = found.assumptions
    return i18n.text(
        "actions_note",
        lang,
        months=found.horizon,
        aov=_share(a.aov_change, lang),
        frequency=_share(a.frequency_change, lang),
        churn=_share(a.churn_cut, lang),
        share=_share(a.budget_share, lang),
        at_risk=_share(a.at_risk, lang),
        hibernating=_share(a.hibernating, lang),
        lost=_share(a.lost, lang),
    )


def _lever_texts(found: Actions, lever: Lever, lang: str) -> dict[str, str]:
    cur, f = found.currency, lever.facts

    def money(key: str) -> str:
        return _money(f[key], cur, lang)

    title = i18n.text(f"lever_{lever.lever}", lang)
    basis = ""
    if not lever.applies:
        action = i18n.text(f"actions_why_{lever.why}", lang, months=found.horizon)
    elif lever.lever in ("upsell", "frequency", "retention"):
        change = _share(f["change"], lang)
        if lever.lever == "upsell":
            action = i18n.text(
                "actions_do_upsell", lang, change=change, aov=money("aov"), new=money("new_aov")
            )
        elif lever.lever == "frequency":
            action = i18n.text(
                "actions_do_frequency",
                lang,
                change=change,
                repeats=formatting.number(f["repeats"], lang, digits=2),
                new=formatting.number(f["new_repeats"], lang, digits=2),
            )
        else:
            action = i18n.text(
                "actions_do_retention",
                lang,
                change=change,
                months=formatting.number(
                    1 / f["churn"], lang, digits=1
                ),  # the formula's churn is 1 / lifetime
                new=formatting.number(1 / f["new_churn"], lang, digits=1),
            )
        basis = i18n.text(
            "actions_basis_what_if",
            lang,
            months=found.horizon,
            customers=_count(f["customers"], lang),
            delta=money("delta"),
            what=i18n.text("actions_ltv" if found.basis == "revenue" else "gross_profit_ltv", lang),
            ltv=money("ltv"),
            new=money("new_ltv"),
        )
    elif lever.lever == "budget":
        action = i18n.text(
            "actions_do_budget", lang, moved=money("moved"), months=found.horizon, spend=money("spend")
        )
        basis = i18n.text(
            "actions_basis_budget",
            lang,
            moved=money("moved"),
            to=formatting.ratio(f["ratio_to"], lang),
            source=formatting.ratio(f["ratio_from"], lang),
            growth=_share(f["growth"], lang),
        )
    else:
        action = i18n.text(
            "actions_do_win_back",
            lang,
            returning=_count(f["returning"], lang),
            customers=_count(f["customers"], lang),
        )
        basis = i18n.text("actions_basis_win_back", lang)
    return {"title": title, "action": action, "basis": basis, "sure": _sure(found, lever, lang)}


def _sure(found: Actions, lever: Lever, lang: str) -> str:
    """How sure, in words: the level, the counts the data grade rests on, and the caveats."""
    grade = found.summary.grade
    parts = [
        i18n.text(
            "grade_counts",
            lang,
            customers=formatting.number(grade.customers, lang),
            repeat=formatting.number(grade.repeat_buyers, lang),
            days=formatting.number(grade.days_observed, lang),
        )
    ]
    if "small" in lever.caveats:
        parts.append(i18n.text("actions_caveat_small", lang, customers=_count(lever.caveats["small"], lang)))
    if "young" in lever.caveats:
        parts.append(i18n.text("actions_caveat_young", lang, age=int(lever.caveats["young"])))
    level = i18n.text(f"actions_sure_{lever.confidence}", lang)
    return i18n.text("actions_sure", lang, level=level, why="; ".join(parts))
