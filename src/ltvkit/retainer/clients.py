"""The contracts of a service business (the client ledger) and how long each client has stayed.

Ledger columns (English, Russian or Ukrainian names): client, name, monthly fee, currency, start, end
(empty while active), billing (``calendar`` when the first invoice was prorated to start billing on the 1st,
``anniversary`` otherwise; optional), source (where the client came from, matched with the marketing
spend's channels; optional).

- **Months retained**: calendar months from the start to the end, or to ``as_of`` while active (an end after
  ``as_of`` is notice given: the client is active until then), partial months by their share of working days
  (:mod:`ltvkit.retainer.months`).
- **Months billed** (``periods``): calendar months with some working day under contract, the renewals the
  shifted-beta-geometric model counts (:mod:`ltvkit.retainer.value`).
- **Contract value**: fee × months retained — what the contract says was earned; what was actually paid
  comes from the client book (:mod:`ltvkit.retainer.book`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ltvkit.errors import ParameterError, WorkspaceError
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
from ltvkit.retainer.calendar import Weekdays
from ltvkit.retainer.months import month_shares

CLIENT_COLUMNS = [
    "client_id",
    "name",
    "fee",
    "currency",
    "start",
    "end",
    "billing",
    "source",
    "source_row",
    "row_hash",
]

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
        "source": ("source", "channel", "источник", "канал", "джерело"),
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
            "source": get("source").where(get("source") != ""),
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


def client_lifetimes(clients: pd.DataFrame, as_of: dt.date, calendar: Weekdays | None = None) -> pd.DataFrame:
    """Per client who had started by ``as_of``: ``stop`` (the end, or ``as_of`` while active), ``months``
    retained, ``periods`` (months billed), ``churned`` (1 when the end is on or before ``as_of``) and
    ``contract_value`` (fee × months); see the module docstring."""
    if clients.empty:
        raise WorkspaceError("the workspace has no clients yet; import a client ledger first")
    calendar = calendar or Weekdays()
    started = clients[pd.to_datetime(clients["start"]) <= pd.Timestamp(as_of)].reset_index(drop=True)
    if started.empty:
        raise ParameterError(f"no client had started by {as_of}")
    rows = []
    for start, end in zip(started["start"], started["end"], strict=True):
        first = pd.Timestamp(start).date()
        churned = not pd.isna(end) and pd.Timestamp(end).date() <= as_of
        stop = pd.Timestamp(end).date() if churned else as_of
        shares = month_shares(first, stop, calendar)
        months = round(sum(share for _, share in shares), 9)
        rows.append((stop, months, max(sum(share > 0 for _, share in shares), 1), int(churned)))
    life = pd.DataFrame(rows, columns=["stop", "months", "periods", "churned"])
    out = pd.concat([started, life], axis=1)
    out["end"] = out["end"].where(out["churned"] == 1)
    out["contract_value"] = out["fee"] * out["months"]
    return out
