"""
Keys and tokens: per-purpose keys derived from the one server secret, API tokens and
their keyed hashes. Pure: the caller passes the randomness.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

TOKEN_BYTES = 30  # 40 characters of URL-safe base64
TOKEN_MARK = "qotp_"  # noqa: S105 - what a token made here starts with, not a secret
SHOWN_RANDOM = 4  # random characters kept in the clear after the mark, to tell tokens apart


_KEYED: dict[bytes, hmac.HMAC] = {}


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """
    HMAC-SHA256 of `message`, equal to hmac.digest(key, message, "sha256").

    Each of the server's few keys keeps one set-up `hmac` object, copied for each message:
    the one-shot hmac.digest sets the MAC up anew every call, about twice the cost
    (bench/hmac_paths.py), and an OTP takes about four (its token, code, seal, guard key).
    """
    mac = _KEYED.get(key)
    if mac is None:
        mac = hmac.new(key, digestmod=hashlib.sha256)
        if len(_KEYED) < 64:  # the server's few keys; never one per request
            _KEYED[key] = mac
    mac = mac.copy()
    mac.update(message)
    return mac.digest()


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
