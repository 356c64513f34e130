"""Contact lists to import into GetCourse or a mailing service (Unisender, SendPulse): the segment lists and
the follow-up list, one row a customer with email, phone, name and a tag that says why they are on the list
(«LTV: At risk», «LTV: unpaid order») in the user's language; written by
:func:`ltvkit.io.writers.contacts_bytes`.

A customer with neither email nor phone cannot be imported: they are left out, and a note says how many.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ltvkit import i18n
from ltvkit.analytics.contacts import customer_contacts
from ltvkit.analytics.segments import list_slug
from ltvkit.data.sources import Tables
from ltvkit.errors import LtvWarning, MissingDataError
from ltvkit.io.writers import contact_format, contacts_bytes
from ltvkit.service.segments import FollowUp, Segments

__all__ = ["export_segment_contacts", "follow_up_contacts", "segment_contacts", "segment_contacts_bytes"]


def _contacts(book: pd.DataFrame, customers: pd.Series, tag: str) -> pd.DataFrame:
    """The contacts of ``customers`` (ids, in their order, each once) from ``book``, tagged ``tag``; those
    with neither email nor phone are left out, with a note."""
    rows = pd.DataFrame({"customer_id": customers.drop_duplicates()}).merge(
        book, on="customer_id", how="left"
    )
    reachable = rows["email"].notna() | rows["phone"].notna()
    if not reachable.all():
        warnings.warn(
            f"left out of the contact file «{tag}»: {int((~reachable).sum())} of its customers have neither "
            "email nor phone",
            LtvWarning,
            stacklevel=3,
        )
    return rows[reachable].assign(tags=tag).reset_index(drop=True)


def segment_contacts(
    tables: Tables, found: Segments, *, lang: str = "en", exclude: set[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Per segment of ``found``, its customers' contacts tagged with the segment's name in ``lang`` (without
    those in ``exclude``, emails or customer ids)."""
    i18n.check_lang(lang)
    book = customer_contacts(tables.table("orders"))
    return {
        name: _contacts(
            book, group["customer_id"], i18n.text("contacts_tag", lang, name=_segment_name(name, lang))
        )
        for name, group in found.lists(exclude=exclude).items()
    }


def export_segment_contacts(
    tables: Tables,
    found: Segments,
    directory: str | Path,
    fmt: str,
    *,
    lang: str = "en",
    exclude: set[str] | None = None,
) -> list[Path]:
    """One contact file per segment into ``directory`` in the ``fmt`` layout (``getcourse``, ``unisender``),
    named ``<format>-<segment>.csv``."""
    contact_format(fmt)  # an unknown format fails before any work
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, contacts in segment_contacts(tables, found, lang=lang, exclude=exclude).items():
        path = directory / f"{fmt}-{list_slug(name)}.csv"
        path.write_bytes(contacts_bytes(contacts, fmt))
        paths.append(path)
    return paths


def segment_contacts_bytes(
    tables: Tables, found: Segments, segment: str, fmt: str, *, lang: str = "en"
) -> bytes:
    """One segment's contact file in the ``fmt`` layout: for a download."""
    contact_format(fmt)
    lists = segment_contacts(tables, found, lang=lang)
    if segment not in lists:
        raise MissingDataError(f"no customers in segment {segment!r} of {found.scheme}", parameter="segment")
    return contacts_bytes(lists[segment], fmt)


def follow_up_contacts(tables: Tables, found: FollowUp, fmt: str, *, lang: str = "en") -> bytes:
    """The customers of the follow-up list (largest unpaid order first, each once) as a ``fmt`` contact
    file, tagged «LTV: unpaid order» in ``lang``."""
    contact_format(fmt)
    i18n.check_lang(lang)
    book = customer_contacts(tables.table("orders"))
    contacts = _contacts(book, found.orders["customer_id"], i18n.text("contacts_tag_followup", lang))
    return contacts_bytes(contacts, fmt)


def _segment_name(segment: str, lang: str) -> str:
    key = f"segment_{segment}"
    return i18n.text(key, lang) if key in i18n.TEXT else segment
