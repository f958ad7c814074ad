"""
Keys and tokens: per-purpose keys derived from the one server secret, API tokens and
their keyed hashes. Pure: the caller passes the randomness.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

TOKEN_BYTES = 30  # 40 characters of URL-safe base64
TOKEN_MARK = "qotp_"  # noqa: S105 - what a token made here starts with, not a secret
SHOWN_RANDOM = 4  # random characters kept in the clear after the mark, to tell tokens apart


_BLOCK = 64  # SHA-256's block size, in bytes
_KEYED: dict[bytes, tuple[Any, Any]] = {}


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """
    HMAC-SHA256 of `message`, equal to hmac.digest(key, message, "sha256") (RFC 2104).

    Each of the server's few keys keeps its inner and outer SHA-256 states with the padded
    key already hashed in, copied for each message. With OpenSSL 3 an `hmac` object's copy
    costs about 2.5 times these two hash copies, and the one-shot hmac.digest more still
    (bench/hmac_paths.py); an OTP takes four (its token, code, seal, guard key).
    """
    states = _KEYED.get(key)
    if states is None:
        padded = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
        states = (
            hashlib.sha256(padded.translate(_INNER)),
            hashlib.sha256(padded.translate(_OUTER)),
        )
        if len(_KEYED) < 64:  # the server's few keys; never one per request
            _KEYED[key] = states
    inner, outer = states[0].copy(), states[1].copy()
    inner.update(message)
    outer.update(inner.digest())
    return outer.digest()


_INNER = bytes(byte ^ 0x36 for byte in range(256))
_OUTER = bytes(byte ^ 0x5C for byte in range(256))


def derive(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, so a leak of one kind of hash tells nothing of another."""
    return hmac.digest(secret, b"quickotp/" + purpose.encode(), hashlib.sha256)


def new_token(token_urlsafe: Callable[[int], str]) -> str:
    """
    A fresh API token, shown once to its owner and never stored: `qotp_` and 40 characters
    of URL-safe base64 whose first is never '-' (a token pasted as a command's argument
    must not read as an option). A draw starting with '-' (1 in 64) is drawn again, so
    every other first character stays equally likely.
    """
    while True:
        random = token_urlsafe(TOKEN_BYTES)
        if not random.startswith("-"):
            return TOKEN_MARK + random


def token_prefix(token: str) -> str:
    """
    What is kept of a token in the clear and shown: its mark and first random characters
    (`qotp_ab12`), or "" for a token without the mark (one made before tokens had it).
    """
    if not token.startswith(TOKEN_MARK):
        return ""
    return token[: len(TOKEN_MARK) + SHOWN_RANDOM]


def token_digest(key: bytes, token: str) -> bytes:
    """The keyed hash a token is stored and looked up as (HMAC-SHA256)."""
    return hmac_sha256(key, token.encode("utf-8", "surrogateescape"))
