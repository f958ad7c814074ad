"""
The use cases behind every surface: who is calling, sending an OTP, and the neighbouring
Amoot methods (account status, delivery lookups, patterns).

I/O only through the Store port; time and randomness come in from the composition root.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from quickotp.domain import keys, otp, phone, sms
from quickotp.domain.digits import ascii_digits
from quickotp.errors import (
    AccountDisabled,
    CreditNotEnough,
    InvalidMessageId,
    PatternDuplicate,
    PatternUnavailable,
    TokenDisabled,
    TokenExpired,
    TokenIpNotAllowed,
    TokenMethodNotAllowed,
    TokenMissing,
    TokenUnknown,
)
from quickotp.models import Account, Message, NewMessage, Pattern, Token
from quickotp.ports import Store
from quickotp.store.batching import GroupCommitter

log = logging.getLogger(__name__)

# Bounds on what the service keeps in memory, whatever callers send.
_TOKEN_CACHE_SIZE = 10_000
_PATTERN_CACHE_SIZE = 10_000
MAX_DELIVERY_IDS = 100


@dataclass(frozen=True)
class Caller:
    """An authenticated request's token and account."""

    token: Token
    account: Account


@dataclass(frozen=True)
class SentOtp:
    message_id: int
    mobile: phone.Mobile
    code: str
    verification_id: str


@dataclass(frozen=True)
class GatewayConfig:
    otp_ttl: timedelta = timedelta(minutes=2)
    verify_attempts: int = 5
    price_per_part: int = 1000
    regions: tuple[str, ...] = ("IR",)
    token_cache: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class Keys:
    """The per-purpose keys, derived from the server secret."""

    token: bytes
    code: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> Keys:
        return cls(token=keys.derive(secret, "token"), code=keys.derive(secret, "code"))


@dataclass
class _Cached:
    until: float  # time.monotonic()
    value: tuple[Token, Account, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]] | None


@dataclass
class Gateway:
    """The service layer: every surface (REST, /v1, panel, CLI) calls these."""

    store: Store
    keys: Keys
    clock: Callable[[], datetime]
    randbelow: Callable[[int], int]
    new_id: Callable[[], str]
    config: GatewayConfig = field(default_factory=GatewayConfig)
    on_accept: Callable[[], None] = lambda: None  # wakes the dispatcher

    def __post_init__(self) -> None:
        self._accepting: GroupCommitter[NewMessage, int | None] = GroupCommitter(
            lambda batch: self.store.accept(batch, self.clock())
        )
        self._tokens: dict[bytes, _Cached] = {}
        self._patterns: dict[int, tuple[float, Pattern | None]] = {}

    def start(self) -> None:
        self._accepting.start()

    async def aclose(self) -> None:
        await self._accepting.aclose()

    # who is calling -------------------------------------------------------------------

    async def authenticate(self, raw_token: str, *, method: str, ip: str | None) -> Caller:
        """
        The caller behind `raw_token`, allowed to call `method` from `ip`.

        Token lookups are cached for `config.token_cache` (2 s by default), so disabling a
        token takes effect within that time in every process.
        """
        token_text = raw_token.strip()
        if token_text[:7].lower() == "bearer ":
            token_text = token_text[7:].strip()
        if not token_text:
            raise TokenMissing("no token given")
        found = await self._find_token(keys.token_digest(self.keys.token, token_text))
        if found is None:
            raise TokenUnknown("no such token")
        token, account, networks = found
        if not token.active:
            raise TokenDisabled(f"token {token.id} is disabled")
        if not account.active:
            raise AccountDisabled(f"account {account.id} is disabled")
        if token.expires_at is not None and token.expires_at <= self.clock():
            raise TokenExpired(f"token {token.id} expired")
        if networks and not _address_in(ip, networks):
            raise TokenIpNotAllowed(f"token {token.id} may not be used from this address")
        if token.allowed_methods and method.lower() not in token.allowed_methods:
            raise TokenMethodNotAllowed(f"token {token.id} may not call {method}")
        return Caller(token, account)

    async def _find_token(
        self, digest: bytes
    ) -> tuple[Token, Account, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]] | None:
        now = time.monotonic()
        cached = self._tokens.get(digest)
        if cached is not None and cached.until > now:
            return cached.value
        found = await self.store.find_token(digest)
        value = None
        if found is not None:
            token, account = found
            networks = tuple(ipaddress.ip_network(net, strict=False) for net in token.allowed_ips)
            value = (token, account, networks)
        if len(self._tokens) >= _TOKEN_CACHE_SIZE:
            self._tokens.clear()
        self._tokens[digest] = _Cached(now + self.config.token_cache.total_seconds(), value)
        return value

    def forget_cached(self) -> None:
        """Drop cached tokens and patterns (after this process changed one)."""
        self._tokens.clear()
        self._patterns.clear()

    # SendQuickOTP ---------------------------------------------------------------------

    async def send_quick_otp(
        self,
        caller: Caller,
        *,
        mobile: str,
        code_length: str | int | None,
        optional_code: str | None = None,
    ) -> SentOtp:
        """
        Accept an OTP for `mobile`: durable, charged and queued once this returns.

        The caller's own code, when given, is sent as given even if its length differs from
        `code_length` (which must still be valid); otherwise a code of `code_length`
        random digits is made.
        """
        number = phone.normalise(mobile, regions=self.config.regions)
        length = otp.code_length(code_length)
        code = otp.caller_code(optional_code) or otp.generate(length, self.randbelow)
        pattern = await self._otp_pattern(caller.account.id)
        text = sms.render(pattern.text, {sms.CODE_VARIABLE: code})
        segmentation = sms.segment(text)
        now = self.clock()
        item = NewMessage(
            account_id=caller.account.id,
            token_id=caller.token.id,
            pattern_id=pattern.id,
            mobile=number.e164,
            sender=caller.account.sender,
            text=text,
            code=code,
            encoding=segmentation.encoding,
            parts=segmentation.parts,
            cost=segmentation.parts * self.config.price_per_part,
            expires_at=now + self.config.otp_ttl,
            created_at=now,
            verification_id=self.new_id(),
            code_digest=otp.digest(self.keys.code, code),
            attempts_left=self.config.verify_attempts,
        )
        message_id = await self._accepting.submit(item)
        if message_id is None:
            raise CreditNotEnough(f"account {caller.account.id} cannot pay for {item.cost} rial")
        self.on_accept()
        log.info(
            "accepted message %d for ...%s (%d part(s))",
            message_id,
            number.last4,
            segmentation.parts,
        )
        return SentOtp(message_id, number, code, item.verification_id)

    async def _otp_pattern(self, account_id: int) -> Pattern:
        now = time.monotonic()
        cached = self._patterns.get(account_id)
        if cached is not None and cached[0] > now:
            pattern = cached[1]
        else:
            pattern = await self.store.otp_pattern(account_id)
            if len(self._patterns) >= _PATTERN_CACHE_SIZE:
                self._patterns.clear()
            self._patterns[account_id] = (now + self.config.token_cache.total_seconds(), pattern)
        if pattern is None:
            log.warning("account %d has no approved OTP pattern", account_id)
            raise PatternUnavailable(f"account {account_id} has no approved OTP pattern")
        return pattern

    # the neighbouring methods ---------------------------------------------------------

    async def account_status(self, caller: Caller) -> Account:
        return await self.store.get_account(caller.account.id)

    async def get_delivery(self, caller: Caller, message_id: str | int | None) -> Message:
        ids = _message_ids(str(message_id if message_id is not None else ""))
        if len(ids) != 1:
            raise InvalidMessageId("MessageID must be one positive whole number")
        found = await self.store.get_messages(caller.account.id, ids)
        if ids[0] not in found:
            raise InvalidMessageId(f"no message {ids[0]} for this account")
        return found[ids[0]]

    async def get_deliveries(self, caller: Caller, message_ids: str | None) -> list[Message]:
        """The caller's messages among the comma-separated ids, in the order asked."""
        ids = _message_ids(message_ids or "")
        if not ids or len(ids) > MAX_DELIVERY_IDS:
            raise InvalidMessageId(f"ListMessageID must hold 1 to {MAX_DELIVERY_IDS} message ids")
        found = await self.store.get_messages(caller.account.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise InvalidMessageId(f"no message {missing[0]} for this account")
        return [found[i] for i in ids]

    async def create_pattern(
        self,
        caller: Caller,
        *,
        text: str,
        is_otp: bool,
        number_patterns: str = "",
        description: str = "",
    ) -> Pattern:
        """A new pattern of the caller's, pending the operator's approval."""
        checked = sms.check_pattern(text, otp=is_otp)
        numeric = sms.numeric_variables(checked, otp=is_otp, named=number_patterns)
        if await self.store.pattern_text_taken(caller.account.id, checked):
            raise PatternDuplicate("this account has a pattern with this text already")
        pattern = await self.store.create_pattern(
            account_id=caller.account.id,
            text=checked,
            is_otp=is_otp,
            number_patterns=numeric,
            description=description.strip()[:500],
            now=self.clock(),
        )
        log.info("account %d created pattern %d", caller.account.id, pattern.id)
        return pattern

    async def list_patterns(self, caller: Caller) -> list[Pattern]:
        return await self.store.list_patterns(caller.account.id)


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


def _message_ids(raw: str) -> list[int]:
    """Message ids from "1,2, 3" (Persian digits allowed); InvalidMessageId for anything else."""
    ids = []
    for part in ascii_digits(raw).split(","):
        text = part.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
            raise InvalidMessageId("a message id must be a positive whole number")
        ids.append(int(text))
    return ids
