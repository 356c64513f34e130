"""Hostile names for the report and dashboard tests: an orders file (the layout of
fixtures/analytics_orders.csv plus utm_source) whose customers, channels, products and campaigns carry script
payloads, its spend file, and what a browser page must not show when they are rendered."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "{{7*7}}",
    "<!--",
    "line\u2028sep\u2029end",
)
# the payloads that are markup: none of them may appear as it is in a page's source
MARKUP = tuple(p for p in PAYLOADS if "<" in p)
START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
ORDER_COLUMNS = ["order id", "customer", "date", "amount", "status", "refunded", "channel", "product", "cost"]


def name(kind: str, i: int) -> str:
    """The ``i``-th hostile name of ``kind`` (channel, product, utm, customer): a payload and a label."""
    return f"{PAYLOADS[i % len(PAYLOADS)]} {kind}"


def channels() -> list[str]:
    """Every hostile channel name."""
    return [name("channel", i) for i in range(len(PAYLOADS))]


def write_orders(path: Path, customers: int = 240, seed: int = 7) -> Path:
    """An orders CSV of ``customers`` buyers over 2024-2025, each with a hostile id, first channel, products
    and utm_source; about half buy again. Amounts in no currency: import it with ``currency="USD"``."""
    rng = random.Random(seed)
    rows = []
    for i in range(customers):
        day = START + dt.timedelta(days=rng.randrange(0, 640))
        purchases = 1 + (rng.randrange(0, 6) if rng.random() < 0.55 else 0)
        for k in range(purchases):
            if day > END:
                break
            amount = rng.choice([49, 99, 149, 299])
            product = name("product", i + k)
            rows.append(
                [len(rows) + 1, f"{name('customer', i)} {i}", day.isoformat(), amount, "paid", ""]
                + [name("channel", i), product, round(amount * 0.1, 2), name("utm", i // 2)]
            )
            day += dt.timedelta(days=rng.randrange(15, 75))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*ORDER_COLUMNS, "utm_source"])
        writer.writerows(rows)
    return path


def append_rejects(path: Path) -> Path:
    """Add rows to the orders CSV at ``path`` that the import rejects, a payload as the amount or the date:
    the rejected-rows ledger shows them as they were."""
    with path.open("a", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for i, payload in enumerate(PAYLOADS):
            amount, day = (payload, "2025-02-02") if i % 2 == 0 else ("10", payload)
            writer.writerow([90_000 + i, "rejected", day, amount, "paid", "", "c", "p", "", "u"])
    return path


def write_spend(path: Path) -> Path:
    """Monthly spend in USD on every hostile channel over 2024-2025."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["month", "channel", "spend", "currency"])
        for month in (f"{year}-{m:02d}" for year in (2024, 2025) for m in range(1, 13)):
            writer.writerows([month, ch, 400 + 25 * i, "USD"] for i, ch in enumerate(channels()))
    return path


# What puts a string into a page as markup or runs it as code: none in the package's scripts.
HTML_SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write"
    r"|\beval\s*\(|new Function|set(Timeout|Interval)\(\s*[\"']"
)
# In a page: no element a payload could have made, and no event-handler attribute anywhere.
INJECTED = """() => {
    const made = document.querySelectorAll('img[src="x"], svg[onload], [onload], [onerror]').length;
    const handlers = Array.from(document.querySelectorAll('*')).filter(
        el => Array.from(el.attributes).some(a => a.name.startsWith('on'))).length;
    return made + handlers;
}"""
# Installed before any script of the page runs: the Content-Security-Policy violations it reports.
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));"""
