"""
Keys and tokens: per-purpose keys derived from the one server secret, API tokens and
their keyed hashes. Pure: the caller passes the randomness.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

TOKEN_BYTES = 30  # 40 characters of URL-safe base64


def derive(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, so a leak of one kind of hash tells nothing of another."""
    return hmac.digest(secret, b"quickotp/" + purpose.encode(), hashlib.sha256)


def new_token(token_urlsafe: Callable[[int], str]) -> str:
    """A fresh API token, shown once to its owner and never stored."""
    return token_urlsafe(TOKEN_BYTES)


def token_digest(key: bytes, token: str) -> bytes:
    """The keyed hash a token is stored and looked up as (HMAC-SHA256)."""
    return hmac.digest(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256)
