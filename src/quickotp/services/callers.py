"""
Who is calling: the caller behind an API token, allowed to call a method from an address.

Token lookups are cached for a short while (`GatewayConfig.token_cache`), so disabling a
token takes effect within that time in every process. I/O only through the store port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from quickotp.domain import keys
from quickotp.domain.errors import (
    AccountDisabled,
    TokenDisabled,
    TokenExpired,
    TokenIpNotAllowed,
    TokenMethodNotAllowed,
    TokenMissing,
    TokenUnknown,
)
from quickotp.domain.models import Account, Caller, Token
from quickotp.services.cache import TtlCache
from quickotp.support import logs

_CACHE_SIZE = 10_000  # tokens kept, whatever callers send

_Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class TokenStore(Protocol):
    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None: ...


class Callers:
    """Authenticates API tokens (hashed with `token_key`) and checks what they may call."""

    def __init__(
        self,
        store: TokenStore,
        token_key: bytes,
        clock: Callable[[], datetime],
        cache: timedelta,
    ) -> None:
        self.store = store
        self.clock = clock
        self._token_key = token_key
        self._tokens: TtlCache[bytes, tuple[Token, Account, _Networks] | None] = TtlCache(
            cache.total_seconds(), max_size=_CACHE_SIZE
        )

    async def authenticate(self, raw_token: str, *, method: str | None, ip: str | None) -> Caller:
        """
        The caller behind `raw_token`, allowed to call `method` from `ip` (`method` None: the
        caller names its method later, with `allow`).
        """
        token_text = raw_token.strip()
        if token_text[:7].lower() == "bearer ":
            token_text = token_text[7:].strip()
        if not token_text:
            raise TokenMissing("no token given")
        found = await self._find_token(keys.token_digest(self._token_key, token_text))
        if found is None:
            raise TokenUnknown("no such token")
        token, account, networks = found
        self._usable(token, account)
        if networks and not _address_in(ip, networks):
            raise TokenIpNotAllowed(f"token {token.id} may not be used from this address")
        logs.bind_account(account.id)
        caller = Caller(token, account, ip)
        if method is not None:
            self.allow(caller, method)
        return caller

    def caller_of(self, token: Token, account: Account, *, method: str, ip: str | None) -> Caller:
        """The caller a signed-in user sends as with one of their tokens (Gateway.caller_of)."""
        self._usable(token, account)
        caller = Caller(token, account, ip)
        self.allow(caller, method)
        return caller

    def _usable(self, token: Token, account: Account) -> None:
        if not token.active:
            raise TokenDisabled(f"token {token.id} is disabled")
        if not account.active:
            raise AccountDisabled(f"account {account.id} is disabled")
        if token.expires_at is not None and token.expires_at <= self.clock():
            raise TokenExpired(f"token {token.id} expired")

    def allow(self, caller: Caller, method: str) -> None:
        """TokenMethodNotAllowed unless the caller's token may call `method`."""
        token = caller.token
        if token.allowed_methods and method.lower() not in token.allowed_methods:
            raise TokenMethodNotAllowed(f"token {token.id} may not call {method}")

    def forget(self) -> None:
        """Drop the cached tokens (after this process changed one)."""
        self._tokens.forget()

    async def _find_token(self, digest: bytes) -> tuple[Token, Account, _Networks] | None:
        async def load() -> tuple[Token, Account, _Networks] | None:
            found = await self.store.find_token(digest)
            if found is None:
                return None
            token, account = found
            networks = tuple(ipaddress.ip_network(net, strict=False) for net in token.allowed_ips)
            return token, account, networks

        return await self._tokens.get(digest, load)


def _address_in(
    ip: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
