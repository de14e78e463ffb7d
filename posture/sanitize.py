"""Text that came from outside (a storefront's headers and certificate, a file in a pull request)
made safe to carry into every output.

Two things happen to every such string before it becomes part of a result:

* control characters go: C0 (ESC starts the ANSI sequences that clear a terminal and print a fake
  "OK"), DEL, C1, the bidirectional overrides that make text read differently from what it is
  ("Trojan Source"), and what XML 1.0 forbids (U+FFFE, U+FFFF, lone surrogates). Tab and newline
  stay only where the caller says the format allows them;
* credentials in URLs (``https://user:pass@shop``) are replaced by ``***``.

Each renderer then escapes for its own format (Markdown code spans, XML, HTML, CSV formulas).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff"
    "\ud800-\udfff]"
)
_CONTROLS_AND_LAYOUT = re.compile(_CONTROLS.pattern[:-1] + "\t\n]")
# Nearly every string is clean: one search decides whether there is anything to do.
_SUSPECT = re.compile(_CONTROLS.pattern[:-1] + "\t\n@]")
# scheme://userinfo@ : the userinfo is whatever precedes the first @ before the host's end
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]+@")


def hide_credentials(text: str) -> str:
    """``https://user:pass@host/`` -> ``https://***@host/``, anywhere in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def clean_text(text: str, *, layout: bool = False) -> str:
    """``text`` without control characters (tab and newline kept when ``layout``) and without
    URL credentials."""
    if _SUSPECT.search(text) is None:
        return text
    pattern = _CONTROLS if layout else _CONTROLS_AND_LAYOUT
    if not layout:
        text = text.replace("\t", " ").replace("\n", " ")
    return hide_credentials(pattern.sub("", text))


def clean_value(value: Any) -> Any:
    """``clean_text`` applied to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean_text(value, layout=True)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value
