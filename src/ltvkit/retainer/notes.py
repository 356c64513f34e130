"""Notes beside a retainer result: an :mod:`ltvkit.i18n` key and its values, so that every edge shows them in
its reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from ltvkit import i18n


@dataclass(frozen=True)
class Note:
    key: str
    values: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return i18n.text(self.key, lang, **self.values)
