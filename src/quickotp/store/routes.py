"""
The routes table: each route's URL sealed at rest, since it holds an SMSC password or an
upstream's API token.

Sealing uses only the standard library: HMAC-SHA256 in counter mode as the keystream, then
HMAC-SHA256 over the version, nonce, route name and ciphertext (encrypt-then-MAC, two keys
derived from one). The key comes from QUICKOTP_SECRET_KEY (keys.derive(secret, "routes")),
so a copy of the database alone does not give the credentials away. Changing the secret key
makes stored routes unreadable: `routes list` says so, and they must be added again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, insert, select

from quickotp.errors import ConfigurationError, Conflict, NotFound
from quickotp.routing import Route
from quickotp.store.engine import Engines
from quickotp.store.schema import routes

_VERSION = b"\x01"
_NONCE = 16
_TAG = 32


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return hmac.digest(key, purpose, hashlib.sha256)


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.digest(key, nonce + i.to_bytes(4, "big"), hashlib.sha256) for i in range(blocks)
    )[:length]


def _tag(key: bytes, nonce: bytes, context: str, ciphertext: bytes) -> bytes:
    label = context.encode()
    message = _VERSION + nonce + len(label).to_bytes(2, "big") + label + ciphertext
    return hmac.digest(key, message, hashlib.sha256)


def seal(
    key: bytes, context: str, plaintext: str, *, nonce: Callable[[int], bytes] = secrets.token_bytes
) -> bytes:
    """`plaintext` encrypted and authenticated, bound to `context` (the route's name)."""
    fresh = nonce(_NONCE)
    raw = plaintext.encode()
    stream = _keystream(_subkey(key, b"enc"), fresh, len(raw))
    ciphertext = bytes(a ^ b for a, b in zip(raw, stream, strict=True))
    return _VERSION + fresh + ciphertext + _tag(_subkey(key, b"mac"), fresh, context, ciphertext)


def unseal(key: bytes, context: str, sealed: bytes) -> str:
    """What `seal` sealed; ConfigurationError if the key or context differ, or it was altered."""
    if len(sealed) < 1 + _NONCE + _TAG or sealed[:1] != _VERSION:
        raise ConfigurationError(f"route {context}: its stored URL is not readable")
    fresh, ciphertext, tag = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE : -_TAG], sealed[-_TAG:]
    if not hmac.compare_digest(tag, _tag(_subkey(key, b"mac"), fresh, context, ciphertext)):
        raise ConfigurationError(
            f"route {context}: its stored URL does not open with this QUICKOTP_SECRET_KEY "
            "(was the key changed?): remove the route and add it again"
        )
    stream = _keystream(_subkey(key, b"enc"), fresh, len(ciphertext))
    return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True)).decode()


class RouteBook:
    """The configured routes, in the database, their URLs sealed with `key`."""

    def __init__(self, engines: Engines, key: bytes) -> None:
        self.engines = engines
        self._key = key

    async def add(self, route: Route, now: datetime) -> Route:
        async with self.engines.write.begin() as conn:
            taken = await conn.scalar(select(routes.c.id).where(routes.c.name == route.name))
            if taken is not None:
                raise Conflict(f"a route named {route.name!r} exists already")
            await conn.execute(
                insert(routes).values(
                    name=route.name,
                    kind=route.kind,
                    url_sealed=seal(self._key, route.name, route.url),
                    shown=route.shown,
                    prefixes=" ".join(route.prefixes),
                    accounts=" ".join(str(a) for a in route.accounts),
                    lines=" ".join(route.lines),
                    priority=route.priority,
                    created_at=now,
                )
            )
        return route

    async def remove(self, name: str) -> None:
        async with self.engines.write.begin() as conn:
            done = await conn.execute(delete(routes).where(routes.c.name == name))
            if not done.rowcount:
                raise NotFound(f"no route named {name!r}")

    async def load(self) -> list[Route]:
        """Every route, URLs unsealed; ConfigurationError if one cannot be opened."""
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(select(routes).order_by(routes.c.id))).all()
        return [
            Route(
                name=row.name,
                kind=row.kind,
                url=unseal(self._key, row.name, row.url_sealed),
                shown=row.shown,
                prefixes=tuple(row.prefixes.split()),
                accounts=tuple(int(a) for a in row.accounts.split()),
                priority=row.priority,
                lines=tuple(row.lines.split()),
            )
            for row in rows
        ]

    async def listing(self) -> list[Route]:
        """Every route as it may be shown: URLs with their credential blanked, not unsealed."""
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(select(routes).order_by(routes.c.id))).all()
        return [
            Route(
                name=row.name,
                kind=row.kind,
                url="",
                shown=row.shown,
                prefixes=tuple(row.prefixes.split()),
                accounts=tuple(int(a) for a in row.accounts.split()),
                priority=row.priority,
                lines=tuple(row.lines.split()),
            )
            for row in rows
        ]
