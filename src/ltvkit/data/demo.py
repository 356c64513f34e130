"""A seeded, realistic synthetic online school: orders and marketing spend as a user would export them.

The school sells a low-priced tripwire course, a core course, upsells (mentoring, an advanced course, short
mini-courses) and a monthly club subscription. Channels differ in volume, cost and customer quality;
acquisition is seasonal (September and January peaks, a summer dip); refunds, partial refunds and unpaid
checkouts occur; cohorts acquired after an onboarding change (June 2025) stay active longer; the tripwire's
price rises in September 2025. The files are imported through the same path as a user's own files, with a
few export blemishes (an overlapping re-export, test orders with no customer, an impossible date) so that the
import account has something to show.

The orders are written as a generic export (``orders.csv``: English headers, UTF-8, ``,``) or as GetCourse
writes them (``getcourse_orders.csv``: cp1251, ``;``, Russian headers, statuses and ``49 900 руб.`` amounts,
``user_utm_*`` as the first touch, a few «Ложный» orders more); both hold the same school, so they give the
same net revenue, customers and purchases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

START = datetime(2024, 1, 1)
END = datetime(2026, 10, 31, 23, 59, 59)
ONBOARDING_CHANGE = datetime(2025, 6, 1)
TRIPWIRE_PRICE_CHANGE = datetime(2025, 9, 1)


@dataclass(frozen=True)
class Channel:
    name: str
    share: float
    quality: float  # multiplies a customer's engagement
    cac: float  # spend per acquired customer, RUB
    utm: tuple[str, str]  # utm_source, utm_medium


CHANNELS = (
    Channel("organic", 0.22, 1.15, 0.0, ("", "")),
    Channel("facebook_ads", 0.30, 0.70, 6200.0, ("facebook", "cpc")),
    Channel("google_ads", 0.18, 1.00, 7400.0, ("google", "cpc")),
    Channel("youtube_bloggers", 0.12, 1.40, 11500.0, ("youtube", "influencer")),
    Channel("telegram_ads", 0.10, 0.90, 9800.0, ("telegram", "cpm")),
    Channel("referral", 0.08, 1.50, 2500.0, ("email", "referral")),
)

PRODUCTS = {
    "tripwire": ("Excel in 7 days (tripwire)", 990.0, 0.05),
    "core": ("Data Analyst course", 49_900.0, 0.15),
    "mentoring": ("Mentoring pack", 14_900.0, 0.45),
    "advanced": ("SQL & Python advanced", 29_900.0, 0.15),
    "mini": ("Mini-course", 2_990.0, 0.10),
    "club": ("Analysts' Club (monthly)", 1_990.0, 0.10),
}
SEASON = {
    1: 1.25,
    2: 1.1,
    3: 1.0,
    4: 0.95,
    5: 0.85,
    6: 0.7,
    7: 0.65,
    8: 0.8,
    9: 1.3,
    10: 1.2,
    11: 1.15,
    12: 0.9,
}


def _add_months(when: datetime, months: int) -> datetime:
    """The same day ``months`` later, clipped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    year, month = divmod(when.month - 1 + months, 12)
    year += when.year
    last = datetime(year, month + 2, 1) if month < 11 else datetime(year + 1, 1, 1)
    day = min(when.day, (last - timedelta(days=1)).day)
    return when.replace(year=year, month=month + 1, day=day)


def _price(product: str, when: datetime) -> float:
    if product == "tripwire" and when >= TRIPWIRE_PRICE_CHANGE:
        return 1_490.0
    return PRODUCTS[product][1]


class _School:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows: list[dict[str, object]] = []
        self.next_order = 100_001

    def order(
        self,
        customer: dict[str, object],
        product: str,
        when: datetime,
        status: str = "paid",
        refunded: float = 0.0,
    ) -> None:
        if when > END:
            return
        price = _price(product, when)
        self.rows.append(
            {
                "order_id": str(self.next_order),
                "customer_id": customer["id"],
                "email": customer["email"],
                "created_at": when.strftime("%Y-%m-%d %H:%M:%S"),
                "product": PRODUCTS[product][0],
                "quantity": 1,
                "amount": f"{price:.2f}",
                "refunded_amount": f"{refunded:.2f}" if refunded else "",
                "currency": "RUB",
                "status": status,
                "channel": customer["channel"],
                "utm_source": customer["utm_source"],
                "utm_medium": customer["utm_medium"],
                "utm_campaign": customer["campaign"],
                "cost": f"{price * PRODUCTS[product][2]:.2f}",
            }
        )
        self.next_order += 1

    def days(self, mean: float) -> timedelta:
        seconds = self.rng.exponential(mean) * 86400 + self.rng.integers(9 * 3600, 23 * 3600)
        return timedelta(seconds=int(seconds))

    def sale(self, customer: dict[str, object], product: str, when: datetime, refund_rate: float) -> bool:
        """A purchase that may be refunded (fully or, for expensive products, partly). True if kept."""
        u = self.rng.random()
        if u < refund_rate:
            self.order(customer, product, when, "refunded", _price(product, when))
            return False
        if product in ("core", "advanced") and u < refund_rate * 1.4:
            self.order(customer, product, when, "paid", round(_price(product, when) * 0.5, 2))
            return True
        self.order(customer, product, when)
        return True

    def customer_journey(self, customer: dict[str, object], joined: datetime, engagement: float) -> None:
        rng = self.rng
        u = rng.random()
        first = "tripwire" if u < 0.65 else "core" if u < 0.80 else "club"
        if first == "core" and rng.random() < 0.12:  # an abandoned checkout before the purchase
            self.order(
                customer,
                "core",
                joined - timedelta(hours=2),
                "pending" if rng.random() < 0.5 else "cancelled",
            )
        kept = self.sale(customer, first, joined, 0.03 if first != "core" else 0.07)
        if not kept:
            return
        has_core = first == "core"
        if first == "tripwire" and rng.random() < 1 - np.exp(-0.28 * engagement):
            has_core = self.sale(customer, "core", joined + self.days(35) + timedelta(days=3), 0.07)
        if has_core:
            if rng.random() < 0.30:
                self.order(customer, "mentoring", joined + self.days(20))
            if rng.random() < 1 - np.exp(-0.30 * engagement):
                self.sale(customer, "advanced", joined + self.days(140) + timedelta(days=60), 0.05)
        if first == "club" or rng.random() < 0.10 * min(engagement, 2.0):
            self.club(customer, joined if first == "club" else joined + self.days(40), engagement)
        self.mini_courses(customer, joined, engagement)

    def club(self, customer: dict[str, object], start: datetime, engagement: float) -> None:
        """Monthly renewals until churn; a member's churn rate is drawn from a beta
        (shifted-beta-geometric)."""
        churn = self.rng.beta(1.1, 3.0 * engagement)
        month = 0
        while True:
            self.order(customer, "club", _add_months(start, month))
            month += 1
            if self.rng.random() < churn or _add_months(start, month) > END:
                return

    def mini_courses(self, customer: dict[str, object], joined: datetime, engagement: float) -> None:
        """Repeat purchases with a personal rate and a chance of dropping out after each (BG/NBD-like)."""
        rate = self.rng.gamma(0.9, 1 / 200) * engagement  # purchases per day while active
        dropout = self.rng.beta(1.0, 2.5 * engagement)
        when = joined
        horizon = float((END - joined).days)
        while True:
            gap = self.rng.exponential(1 / rate) if rate > 0 else np.inf
            if gap > horizon:
                return
            horizon -= gap
            when = when + timedelta(days=float(gap))
            day = when.replace(hour=0, minute=0, second=0, microsecond=0)
            self.order(customer, "mini", day + timedelta(hours=int(self.rng.integers(8, 23))))
            if self.rng.random() < dropout:
                return


def generate(
    out_dir: str | Path,
    *,
    seed: int = 2026,
    customers: int = 20_000,
    platform: Literal["generic", "getcourse"] = "generic",
) -> tuple[Path, Path]:
    """Write the orders (``orders.csv``, or ``getcourse_orders.csv`` for ``platform="getcourse"``) and
    ``spend.csv`` for a school of about ``customers`` customers into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    school = _School(seed)
    rng = school.rng
    months = [
        _add_months(START, i) for i in range((END.year - START.year) * 12 + END.month - START.month + 1)
    ]
    weight = np.array([SEASON[m.month] * 1.02**i for i, m in enumerate(months)])
    per_month = rng.multinomial(customers, weight / weight.sum())
    spend_rows = []
    shares = np.array([c.share for c in CHANNELS])
    n = 0
    for month, count in zip(months, per_month, strict=False):
        by_channel = rng.multinomial(count, shares)
        for channel, k in zip(CHANNELS, by_channel, strict=False):
            if channel.cac:
                drift = 1 + 0.012 * (month.year - START.year) * 12 if channel.name == "facebook_ads" else 1.0
                spend = k * channel.cac * drift * rng.lognormal(0, 0.12)
                spend_rows.append(
                    {
                        "month": month.strftime("%Y-%m"),
                        "channel": channel.name,
                        "spend": f"{spend:.2f}",
                        "currency": "RUB",
                    }
                )
            days_in_month = (_add_months(month, 1) - month).days
            for _ in range(k):
                n += 1
                joined = (
                    month
                    + timedelta(days=int(rng.integers(0, days_in_month)))
                    + timedelta(seconds=int(rng.integers(8 * 3600, 23 * 3600)))
                )
                onboarding = 1.35 if joined >= ONBOARDING_CHANGE else 1.0
                customer: dict[str, object] = {
                    "id": f"C{n:06d}",
                    "email": f"student{n:06d}@example.com",
                    "channel": channel.name,
                    "utm_source": channel.utm[0],
                    "utm_medium": channel.utm[1],
                    "campaign": f"{channel.utm[0] or 'organic'}_{joined:%Y_%m}" if channel.utm[0] else "",
                }
                engagement = rng.gamma(2.0, 0.5) * channel.quality * onboarding
                school.customer_journey(customer, joined, engagement)
    orders = pd.DataFrame(school.rows).sort_values("created_at", kind="stable")
    orders = _blemishes(orders, rng)
    spend_path = out / "spend.csv"
    pd.DataFrame(spend_rows).to_csv(spend_path, index=False)
    if platform == "getcourse":
        orders_path = out / "getcourse_orders.csv"
        getcourse = _as_getcourse(orders, rng)
        getcourse.to_csv(orders_path, index=False, sep=";", encoding="cp1251", lineterminator="\r\n")
    else:
        orders_path = out / "orders.csv"
        orders.to_csv(orders_path, index=False)
    return orders_path, spend_path


def _blemishes(orders: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """What real exports have: the last 150 orders exported twice, test orders with no customer,
    a bad date."""
    overlap = orders.tail(150)
    tests = orders.sample(3, random_state=int(rng.integers(1 << 31))).assign(
        customer_id="", email="", order_id=lambda d: "T" + d["order_id"], status="paid"
    )
    bad_date = orders.sample(1, random_state=int(rng.integers(1 << 31))).assign(
        created_at="2025-02-30 10:00:00", order_id=lambda d: "X" + d["order_id"]
    )
    return pd.concat([orders, tests, bad_date, overlap], ignore_index=True)


GETCOURSE_FEE = 0.035  # the payment system's commission on what was paid


def _rub(values: pd.Series) -> pd.Series:
    """Whole roubles as GetCourse writes them: ``49 900 руб.``."""
    return values.map(lambda v: f"{v:,.0f} руб.".replace(",", " "))


def _kopecks(values: pd.Series) -> pd.Series:
    """Roubles and kopecks with a decimal comma: ``1 746,50``."""
    return values.map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","))


def _as_getcourse(orders: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The orders as GetCourse's order export has them, plus five «Ложный» (false) orders.

    A partly refunded order becomes «Частично оплачен» with «Оплачено» its net payment; a refunded one
    «Ожидаем возврата»; an unpaid checkout «Ожидаем оплаты» or «Отменен». «Комиссии» are 3.5% of what was
    paid and «Заработано» the rest; the channel is the user's first touch (``user_utm_source``)."""
    false = orders.sample(5, random_state=int(rng.integers(1 << 31))).assign(
        order_id=lambda d: "F" + d["order_id"], status="false"
    )
    orders = pd.concat([orders, false], ignore_index=True)
    price = orders["amount"].astype(float)
    refunded = pd.to_numeric(orders["refunded_amount"], errors="coerce").fillna(0.0)
    partly = (orders["status"] == "paid") & (refunded > 0)
    status = orders["status"].map(
        {
            "paid": "Завершен",
            "refunded": "Ожидаем возврата",
            "pending": "Ожидаем оплаты",
            "cancelled": "Отменен",
            "false": "Ложный",
        }
    )
    status = status.where(~partly, "Частично оплачен")
    has_paid = orders["status"].isin(["paid", "refunded"])
    paid = (price - refunded.where(partly, 0.0)).where(has_paid, 0.0)
    fee = (paid * GETCOURSE_FEE).round(2)
    created = pd.Series(
        [
            f"{t[8:10]}.{t[5:7]}.{t[:4]} {t[11:16]}"  # 2025-02-30 10:00:00 → 30.02.2025 10:00, as written
            for t in orders["created_at"]
        ],
        index=orders.index,
    )
    return pd.DataFrame(
        {
            "ID заказа": orders["order_id"],
            "ID пользователя": orders["customer_id"],
            "Email": orders["email"],
            "Дата создания": created,
            "Дата оплаты": created.where(has_paid, ""),
            "Title": orders["product"],
            "Статус": status,
            "Стоимость, RUB": _rub(price),
            "Оплачено": _rub(paid),
            "Комиссии": _kopecks(fee),
            "Заработано, RUB": _kopecks(paid - fee),
            "Валюта": orders["currency"],
            "utm_source": orders["utm_source"],
            "utm_medium": orders["utm_medium"],
            "utm_campaign": orders["utm_campaign"],
            "user_utm_source": orders["channel"],
            "user_utm_medium": orders["utm_medium"],
            "user_utm_campaign": orders["utm_campaign"],
        }
    )
