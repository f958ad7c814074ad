"""
One-time codes: making them, checking what callers bring, and keeping them only as keyed hashes.

Pure: the caller passes randomness (a `randbelow`) and keys.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from quickotp.domain import keys
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidCodeLength

MIN_LENGTH = 4
MAX_LENGTH = 8


def code_length(raw: str | int | None) -> int:
    """A code length as a caller sent it, checked: an integer in 4..8."""
    text = ascii_digits(str(raw if raw is not None else "")).strip()
    if not text.isascii() or not text.isdigit():
        raise InvalidCodeLength("the code length must be a whole number from 4 to 8")
    if len(text.lstrip("0")) > 1:  # past one digit: too long, and int() of 4,301 refuses
        raise InvalidCodeLength("the code length must be from 4 to 8")
    length = int(text)
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidCodeLength("the code length must be from 4 to 8")
    return length


def caller_code(raw: str | None) -> str | None:
    """
    The caller's own code (Amoot's OptionalCode), digit-normalised; None when empty.

    It must be 4..8 ASCII digits after normalisation. When it is given it is sent as
    given, whatever CodeLength says (public clients set CodeLength to its length).
    """
    text = ascii_digits(raw or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and MIN_LENGTH <= len(text) <= MAX_LENGTH):
        raise InvalidCodeLength("a code of the caller's own must be 4 to 8 digits")
    return text


def generate(length: int, randbelow: Callable[[int], int]) -> str:
    """A uniformly random code of `length` digits; it may start with 0."""
    return str(randbelow(10**length)).zfill(length)


def digest(key: bytes, code: str) -> bytes:
    """The keyed hash a code is kept as (HMAC-SHA256)."""
    return keys.hmac_sha256(key, code.encode())


def matches(key: bytes, code: str, stored: bytes) -> bool:
    """Whether `code` is the code behind `stored`, compared in constant time."""
    return hmac.compare_digest(digest(key, ascii_digits(code).strip()), stored)


def mask(text: str, code: str) -> str:
    """`text` with every occurrence of `code` replaced by asterisks."""
    return text.replace(code, "*" * len(code)) if code else text
