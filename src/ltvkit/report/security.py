"""What keeps names from the data inert in HTML: JSON that cannot leave its ``<script>`` element, inline
scripts that are only ever the package's own code, and the Content-Security-Policy that lets those scripts,
and nothing else, run.

Product, channel, campaign and customer names come from the user's files and reach the report and the
dashboard. The templates escape them as text (Jinja autoescape); data for the charts travels as JSON in a
``<script type="application/json">`` block (:func:`json_script`); the report's policy
(:func:`report_policy`) allows inline scripts by the SHA-256 hash of their exact text only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

# JSON is valid with these characters written as \uXXXX escapes, and JSON.parse gives the same value back;
# raw, "<" could close the script element ("</script>") or open a comment ("<!--") that changes where it
# ends, and U+2028/U+2029 end a line in JavaScript older than ES2019.
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
# what would end an inline script early, change how the parser finds its end, or differ in the DOM (the
# parser turns NUL into U+FFFD and CR LF into LF), so that the hash no longer matches
_UNSAFE_IN_SCRIPT = re.compile(r"</script|<!--|\x00|\r", re.IGNORECASE)


def json_script(value: Any) -> Markup:
    """``value`` as JSON for a ``<script type="application/json">`` element: ``<``, ``>``, ``&``, U+2028
    and U+2029 escaped as ``\\u003c`` etc., so no string in it can close the element or start a comment.
    Non-finite numbers are an error (make the value :func:`ltvkit.serialize.jsonable` first)."""
    return Markup(json.dumps(value, ensure_ascii=False, allow_nan=False).translate(_JSON_ESCAPES))


def inline_script(source: str) -> Markup:
    """The package's own JavaScript ``source``, to be put between ``<script>`` and ``</script>`` as it is;
    an error if it holds anything that would end it early or change its text in the DOM (and so its
    hash)."""
    found = _UNSAFE_IN_SCRIPT.search(source)
    if found:
        raise ValueError(f"an inline script cannot hold {found.group()!r} (at {found.start()})")
    return Markup(source)


def script_hash(source: str) -> str:
    """The CSP source expression (``'sha256-…'``) of an inline script whose text is exactly ``source``."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def report_policy(scripts: Iterable[str]) -> str:
    """The report's Content-Security-Policy: nothing loaded from anywhere, no plugins, forms or ``<base>``;
    inline styles and ``data:`` images (the charts' own); scripts only those whose exact texts are
    ``scripts`` (by hash: no 'unsafe-inline'). Meant for a ``<meta http-equiv>`` element, so without the
    directives that only a header can carry (frame-ancestors, report-uri, sandbox)."""
    hashes = " ".join(script_hash(source) for source in scripts)
    directives = {
        "default-src": "'none'",
        "script-src": hashes or "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())
