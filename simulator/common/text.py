"""Quoting values in messages without echoing what an attacker (or a huge file) put there."""
from __future__ import annotations

from typing import Any

QUOTE_CHARS = 40


def quote_value(value: Any, limit: int = QUOTE_CHARS) -> str:
    """A short, one-line description of ``value`` for an error message.

    Strings are quoted up to ``limit`` characters (with an ellipsis), numbers and booleans are
    shown as written, and containers are only counted: their contents are never expanded, so a
    value built from YAML aliases or a megabyte of text cannot blow up a message.
    """
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "…"
    if isinstance(value, str):
        printable = "".join(c if c.isprintable() else "?" for c in value[:limit])
        return repr(printable) + ("…" if len(value) > limit else "")
    if isinstance(value, dict):
        return f"a mapping of {len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, (bytes, bytearray)):
        return f"{len(value)} bytes of binary data"
    return f"a value of type {type(value).__name__}"
