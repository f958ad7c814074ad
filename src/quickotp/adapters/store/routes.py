"""
The routes table: each route's URL sealed at rest, since it holds an SMSC password or an
upstream's API token.

Sealing is AES-256-GCM (`cryptography`), the route's name bound in as associated data, with
a fresh 96-bit nonce a seal. The key comes from QUICKOTP_SECRET_KEY (keys.derive(secret,
"routes")), so a copy of the database alone does not give the credentials away. Changing the
secret key makes stored routes unreadable: `routes list` says so, and they must be added
again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.schema import routes
from quickotp.domain.errors import ConfigurationError, Conflict, NotFound, Subject
from quickotp.domain.routing import Route

VERSION = b"\x02"  # AES-256-GCM; 0x01 was a hand-made construction, re-sealed by migration 0002
_NONCE = 12


def _cipher(key: bytes) -> AESGCM:
    """AES-256-GCM under a key derived from `key` for this one use."""
    return AESGCM(hmac.digest(key, b"quickotp/routes/aes-256-gcm", hashlib.sha256))


def seal(key: bytes, context: str, plaintext: str) -> bytes:
    """`plaintext` encrypted and authenticated, bound to `context` (the route's name)."""
    nonce = os.urandom(_NONCE)
    return VERSION + nonce + _cipher(key).encrypt(nonce, plaintext.encode(), context.encode())


def unseal(key: bytes, context: str, sealed: bytes) -> str:
    """What `seal` sealed; ConfigurationError if the key or context differ, or it was altered."""
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != VERSION:
        raise ConfigurationError(f"route {context}: its stored URL is not readable")
    nonce, ciphertext = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return _cipher(key).decrypt(nonce, ciphertext, context.encode()).decode()
    except InvalidTag:
        raise ConfigurationError(
            f"route {context}: its stored URL does not open with this QUICKOTP_SECRET_KEY "
            "(was the key changed?): remove the route and add it again"
        ) from None


class RouteBook:
    """The configured routes, in the database, their URLs sealed with `key`."""

    def __init__(self, engines: Engines, key: bytes) -> None:
        self.engines = engines
        self._key = key

    async def add(self, route: Route, now: datetime) -> Route:
        async with self.engines.write.begin() as conn:
            taken = await conn.scalar(select(routes.c.id).where(routes.c.name == route.name))
            if taken is not None:
                raise Conflict(
                    f"a route named {route.name!r} exists already", subject=Subject.ROUTE_NAME_TAKEN
                )
            await conn.execute(insert(routes).values(created_at=now, **self._columns(route)))
        return route

    async def replace(self, route: Route, now: datetime) -> Route:
        """Store `route` over the route of its name, URL sealed anew; NotFound without one."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(routes)
                .where(routes.c.name == route.name)
                .values(updated_at=now, **self._columns(route))
            )
        if not done.rowcount:
            raise NotFound(f"no route named {route.name!r}")
        return route

    async def set_enabled(self, name: str, enabled: bool, now: datetime) -> None:
        """Switch a route on or off; NotFound without one of that name."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(routes).where(routes.c.name == name).values(enabled=enabled, updated_at=now)
            )
        if not done.rowcount:
            raise NotFound(f"no route named {name!r}")

    async def remove(self, name: str) -> None:
        async with self.engines.write.begin() as conn:
            done = await conn.execute(delete(routes).where(routes.c.name == name))
            if not done.rowcount:
                raise NotFound(f"no route named {name!r}")

    async def load(self) -> list[Route]:
        """
        Every route, switched on or off, URLs unsealed; ConfigurationError if one cannot be
        opened.
        """
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(select(routes).order_by(routes.c.id))).all()
        return [_route(row, unseal(self._key, row.name, row.url_sealed)) for row in rows]

    async def get(self, name: str) -> Route:
        """One route, enabled or not, its URL unsealed; NotFound without one of that name."""
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(select(routes).where(routes.c.name == name))).first()
        if row is None:
            raise NotFound(f"no route named {name!r}")
        return _route(row, unseal(self._key, row.name, row.url_sealed))

    async def listing(self) -> list[Route]:
        """Every route as it may be shown: URLs with their credential blanked, not unsealed."""
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(select(routes).order_by(routes.c.id))).all()
        return [_route(row, "") for row in rows]

    def _columns(self, route: Route) -> dict[str, Any]:
        """The row's columns for `route`, its URL sealed (bound to its name)."""
        return {
            "name": route.name,
            "kind": route.kind,
            "url_sealed": seal(self._key, route.name, route.url),
            "shown": route.shown,
            "prefixes": " ".join(route.prefixes),
            "accounts": " ".join(str(a) for a in route.accounts),
            "lines": " ".join(route.lines),
            "priority": route.priority,
            "enabled": route.enabled,
        }


def _route(row: Row[Any], url: str) -> Route:
    return Route(
        name=row.name,
        kind=row.kind,
        url=url,
        shown=row.shown,
        prefixes=tuple(row.prefixes.split()),
        accounts=tuple(int(a) for a in row.accounts.split()),
        priority=row.priority,
        lines=tuple(row.lines.split()),
        enabled=row.enabled,
    )
