"""The client ledger of a service business and client LTV.

Ledger columns (English, Russian or Ukrainian names): client, name, monthly fee, currency, start, end
(empty while active), billing (``calendar`` when the first invoice was prorated to start billing on the 1st,
``anniversary`` otherwise; optional).

- **Months retained**: from start to end (or to ``as_of`` while active), in months of 365.25/12 days.
- **Historical LTV** of a client: fee × months retained (the first month counts by its share).
- **Expected lifetime and LTV**: a shifted-beta-geometric fit of client retention (``periods`` = months paid,
  a started month being billed; ``churned`` = has an end date); expected LTV = fee × discounted expected
  lifetime (DEL), and for an active client fee × its discounted expected residual lifetime (DERL).
- **Effect of the proration habit**: months retained and the sBG expected lifetime by billing habit.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ltvkit.errors import ParameterError
from ltvkit.io.normalize import (
    Normalized,
    Rejections,
    coalesce,
    content_hash,
    currency_codes,
    rejected_frame,
    require_columns,
    resolve_columns,
)
from ltvkit.io.parsing import parse_amount_column, parse_timestamp_column
from ltvkit.io.presets import Preset
from ltvkit.io.readers import read_table
from ltvkit.models import ShiftedBetaGeometricModel
from ltvkit.models.base import compress

MONTH_DAYS = 365.25 / 12
CLIENT_COLUMNS = ["client_id", "name", "fee", "currency", "start", "end", "billing", "source_row", "row_hash"]

LEDGER = Preset(
    name="clients",
    title="Client ledger of a service business",
    kind="orders",
    columns={
        "client_id": ("client", "client id", "client_id", "клиент", "id клиента", "клієнт", "id клієнта"),
        "name": ("name", "client name", "название", "имя", "назва", "ім'я"),
        "fee": (
            "monthly fee",
            "fee",
            "retainer",
            "абонплата",
            "гонорар",
            "оплата в месяц",
            "оплата на місяць",
        ),
        "currency": ("currency", "валюта"),
        "start": ("start", "start date", "начало", "дата начала", "початок", "дата початку"),
        "end": ("end", "end date", "окончание", "дата окончания", "кінець", "дата завершення"),
        "billing": ("billing", "биллинг", "білінг"),
    },
)


def read_ledger(path: str | Path, *, currency: str | None = None) -> Normalized:
    """The ledger's rows as clients to load, and the rows rejected with a reason."""
    table = read_table(path)
    resolved, header_currency = resolve_columns(table, LEDGER)
    require_columns(resolved, table, LEDGER, ("client_id",), ("fee",), ("start",))
    frame = table.frame
    rows = pd.Series(table.row_numbers, index=frame.index)
    text = {name: coalesce(frame, cols) for name, cols in resolved.items()}
    rej = Rejections(frame.index)

    def get(name: str) -> pd.Series:
        return text[name][0] if name in text else pd.Series("", index=frame.index, dtype=object)

    client = get("client_id")
    rej.add(client == "", "client", client, "no client")
    fee = parse_amount_column(get("fee"))
    rej.add(fee.errors.notna(), text["fee"][1], get("fee"), fee.errors)
    rej.add(fee.values <= 0, text["fee"][1], get("fee"), "the fee must be positive")
    start = parse_timestamp_column(get("start"))
    rej.add(start.errors.notna(), text["start"][1], get("start"), start.errors)
    end_text = get("end")
    end = parse_timestamp_column(end_text.where(end_text != "", "2000-01-01"))
    has_end = end_text != ""
    rej.add(has_end & end.errors.notna(), "end", end_text, end.errors)
    rej.add(has_end & (end.values < start.values), "end", end_text, "the end is before the start")
    billing = get("billing").str.lower()
    rej.add(
        ~billing.isin(["", "calendar", "anniversary"]),
        "billing",
        billing,
        "billing must be calendar or anniversary",
    )
    codes, unknown = currency_codes(get("currency"))
    rej.add(unknown, "currency", get("currency"), "is not a currency code")
    fallback = (currency or header_currency.get("fee") or "XXX").upper()
    out = pd.DataFrame(
        {
            "client_id": client,
            "name": get("name").where(get("name") != ""),
            "fee": fee.values,
            "currency": codes.where(codes.notna(), fee.currencies.where(fee.currencies.notna(), fallback)),
            "start": start.values.dt.normalize(),
            "end": end.values.dt.normalize().where(has_end),
            "billing": billing.where(billing != ""),
            "source_row": rows.astype(int),
        }
    )
    out["row_hash"] = content_hash(out.drop(columns="source_row"))
    valid = out[~rej.mask]
    later = valid[valid["client_id"].duplicated(keep="first")]
    rej.add(out.index.isin(later.index), "client", client, "the client appears again in an earlier row")
    kept = out[~rej.mask].reset_index(drop=True)
    kept["start"] = kept["start"].astype("datetime64[us]")
    kept["end"] = kept["end"].astype("datetime64[us]")
    return Normalized(
        "clients", LEDGER, "clients", kept[CLIENT_COLUMNS], rejected_frame(table, rej, rows), table.rows_read
    )


def client_lifetimes(clients: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per client: ``months`` retained (to the end, or to ``as_of`` while active), ``periods`` (months paid,
    a started month billed), ``churned``, ``historical_ltv`` (fee × months)."""
    if clients.empty:
        raise ParameterError(
            "the workspace has no clients; import a ledger first (ltv retainer import clients.csv)"
        )
    start = pd.to_datetime(clients["start"])
    end = pd.to_datetime(clients["end"])
    stop = end.fillna(pd.Timestamp(as_of))
    months = ((stop - start).dt.days / MONTH_DAYS).clip(lower=0)
    out = clients.assign(
        months=months,
        periods=np.maximum(np.ceil(months - 1e-9), 1).astype(int),
        churned=end.notna().astype(int),
        historical_ltv=clients["fee"] * months,
    )
    return out[start <= pd.Timestamp(as_of)]


def client_value(
    clients: pd.DataFrame, *, as_of: dt.date, discount_rate: float = 0.0
) -> tuple[pd.DataFrame, dict]:
    """Per-client lifetimes and values, and a summary with the sBG fit (``discount_rate`` is annual)."""
    life = client_lifetimes(clients, as_of)
    monthly = (1 + discount_rate) ** (1 / 12) - 1
    model = ShiftedBetaGeometricModel().fit(compress(life, ("periods", "churned")))
    expected_months = model.expected_lifetime()
    rate = max(monthly, 1e-9)
    del_months = model.discounted_expected_lifetime(rate)
    derl = model.discounted_expected_residual_lifetime(rate, life["periods"].to_numpy())
    life["expected_ltv"] = np.where(
        life["churned"] == 1, life["historical_ltv"], life["historical_ltv"] + life["fee"] * derl
    )
    ended = life[life["churned"] == 1]
    summary = {
        "clients": len(life),
        "active": int((life["churned"] == 0).sum()),
        "as_of": as_of.isoformat(),
        "currencies": sorted(life["currency"].unique()),
        "average_months_ended": float(ended["months"].mean()) if len(ended) else None,
        "average_months_all_so_far": float(life["months"].mean()),
        "sbg": model.params_.to_dict(),
        "expected_lifetime_months": expected_months if math.isfinite(expected_months) else None,
        "discounted_expected_lifetime_months": del_months,
        "by_billing": _by_billing(life),
    }
    return life, summary


def _by_billing(life: pd.DataFrame) -> list[dict]:
    rows = []
    for habit, group in life.assign(billing=life["billing"].fillna("unknown")).groupby("billing"):
        row = {
            "billing": habit,
            "clients": len(group),
            "average_months_so_far": float(group["months"].mean()),
            "churned_share": float(group["churned"].mean()),
        }
        if group["churned"].sum() >= 2 and len(group) >= 5:
            fitted = ShiftedBetaGeometricModel().fit(compress(group, ("periods", "churned")))
            lifetime = fitted.expected_lifetime()
            row["expected_lifetime_months"] = lifetime if math.isfinite(lifetime) else None
            row["retention_month_2"] = float(fitted.retention_rate(2))
        rows.append(row)
    return rows
