"""What a reader sees on a page that is not in the page's language: raw identifiers and English words."""

from __future__ import annotations

import re

# words that stay as they are in Russian and Ukrainian: abbreviations, model names, the product's name,
# currency codes
ALLOWED = set(
    "LTV CAC CSV RFM BG NBD Gamma ltvkit EN RU UK id email XLSX TSV JSON Parquet lines API MRR NRR "
    "USD EUR RUB UAH".split()
)
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
LATIN = re.compile(r"[A-Za-z][A-Za-z']*")

# every visible text node of the page, except names from the user's data ([data-user]) and texts marked as
# English ([lang=en], e.g. a model's technical note folded away under a translated heading); a select shows
# its chosen option
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, select, [data-user], [lang=en]')) continue;
    if (!el.getClientRects().length || !n.textContent.trim()) continue;
    out.push(n.textContent.trim());
  }
  document.querySelectorAll('select').forEach(s => {
    const chosen = s.selectedOptions[0];
    const own = chosen && !chosen.closest('[data-user]');  // a column of the user's file is their text
    if (s.getClientRects().length && own) out.push(chosen.textContent.trim());
  });
  return out;
}"""


def untranslated(page) -> list[str]:  # noqa: ANN001
    """The visible texts of ``page`` holding a snake_case identifier or an English word (outside ALLOWED)."""
    found = []
    for text in page.evaluate(VISIBLE_TEXT):
        words = [w for w in LATIN.findall(text) if w.strip("'") not in ALLOWED]
        if SNAKE.search(text) or words:
            found.append(text)
    return found
