"""Text a person typed that is stored as typed (a name, an email, a password, a label)."""

from __future__ import annotations

import unicodedata


def text_problem(text: str) -> str | None:
    """
    Why `text` cannot be stored as typed, or None: it holds control characters, or bytes
    that were not UTF-8 (the surrogate escapes Python gives undecodable arguments).
    """
    categories = {unicodedata.category(ch) for ch in text}
    if "Cc" in categories:
        return "it holds control characters"
    if "Cs" in categories:
        return "it holds bytes that are not UTF-8"
    return None
