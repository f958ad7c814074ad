"""
The seams between the service and the outside world: Protocols, and the small frozen
dataclasses that cross them. Adapters implement these without inheriting from them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from quickotp.models import (
        Account,
        Claimed,
        GiveUp,
        Message,
        MessageStatus,
        NewMessage,
        Pattern,
        PatternState,
        Retry,
        Submitted,
        Token,
        Verification,
        VerificationStatus,
    )


@dataclass(frozen=True)
class OutboundSms:
    """One SMS for a transport to hand on."""

    message_id: int
    mobile: str  # E.164 digits without '+', already normalised: 989120000000
    sender: str  # the account's sender line, the SMS source address
    text: str
    parts: int
    expires_at: datetime  # the code's validity ends here: never deliver after it (UTC)
    attempt: int = 1  # 1 on the first try; a higher number is a retry


@dataclass(frozen=True)
class SendReceipt:
    """The upstream took the message and gave it this id."""

    transport: str
    provider_message_id: str


class DeliveryState(StrEnum):
    """What an upstream's delivery report says became of a message."""

    DELIVERED = "delivered"  # reached the handset
    UNDELIVERED = "undelivered"  # the network gave up on it
    EXPIRED = "expired"  # validity ran out inside the network
    REJECTED = "rejected"  # refused by the network after acceptance
    ACCEPTED = "accepted"  # an intermediate report: still on its way
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery report, keyed by the id the transport's SendReceipt carried."""

    transport: str
    provider_message_id: str
    state: DeliveryState
    at: datetime  # when the upstream says it happened (UTC)


ReportSink = Callable[[DeliveryReport], Coroutine[Any, Any, None]]


class Transport(Protocol):
    """
    Delivers SMS to one upstream: an SMSC over SMPP, an HTTP provider, or the log sink.

    `send` returns once the upstream has taken the message. It raises
    TransportUnavailable when the message was certainly not sent and retrying may help,
    DeliveryUncertain when no answer came (it may have been sent), and TransportRejected
    when retrying won't help. Any other exception is a bug in the transport.
    Delivery reports, when the upstream sends them, go to the `reports` sink given to
    `start`, possibly before `send` has returned for the same message.
    """

    name: str

    async def start(self, reports: ReportSink) -> None: ...

    async def send(self, sms: OutboundSms) -> SendReceipt: ...

    async def aclose(self) -> None: ...


class Store(Protocol):
    """
    Where accounts, tokens, patterns, messages and verifications live (SQLite or PostgreSQL).

    Lookups of a missing account or pattern by id raise NotFound; creating an account under
    a taken name raises Conflict. Each write is one transaction: when a method returns,
    what it wrote is durable.
    """

    async def create_account(
        self, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
    ) -> Account: ...

    async def get_account(self, account_id: int) -> Account: ...

    async def list_accounts(self) -> list[Account]: ...

    async def set_account_active(self, account_id: int, active: bool) -> Account: ...

    async def add_credit(
        self, account_id: int, amount: int, reason: str, now: datetime
    ) -> Account: ...

    async def create_token(
        self,
        *,
        account_id: int,
        digest: bytes,
        label: str,
        expires_at: datetime | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
        now: datetime,
    ) -> Token: ...

    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None: ...

    async def set_token_active(self, token_id: int, active: bool) -> None: ...

    async def create_pattern(
        self,
        *,
        account_id: int,
        text: str,
        is_otp: bool,
        number_patterns: Sequence[str],
        description: str,
        now: datetime,
    ) -> Pattern: ...

    async def get_pattern(self, pattern_id: int) -> Pattern: ...

    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]: ...

    async def pattern_text_taken(self, account_id: int, text: str) -> bool: ...

    async def decide_pattern(
        self, pattern_id: int, state: PatternState, reason: str, now: datetime
    ) -> Pattern: ...

    async def otp_pattern(self, account_id: int) -> Pattern | None: ...

    async def accept(self, batch: Sequence[NewMessage], now: datetime) -> list[int | None]:
        """Per item, the new message id, or None where credit fell short (nothing stored)."""
        ...

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]: ...

    async def get_verification(
        self, account_id: int, verification_id: str
    ) -> Verification | None: ...

    async def latest_verification(self, account_id: int, mobile: str) -> Verification | None: ...

    async def approve_verification(self, verification_id: str, now: datetime) -> bool:
        """Pending, unexpired, attempts left -> approved; True for at most one caller, ever."""
        ...

    async def spend_attempt(self, verification_id: str, now: datetime) -> int | None:
        """One wrong code counted: the attempts left, or None if it was not checkable."""
        ...

    async def close_verification(
        self, verification_id: str, status: VerificationStatus, now: datetime
    ) -> bool: ...

    async def get_account_settings(self, account_id: int) -> dict[str, Any]: ...

    async def set_account_settings(
        self, account_id: int, settings: Mapping[str, Any], now: datetime
    ) -> None: ...

    async def list_messages(self, account_id: int | None, limit: int) -> list[Message]: ...

    async def count_by_status(self, account_id: int | None = None) -> dict[MessageStatus, int]: ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]: ...

    async def record_outcomes(
        self, outcomes: Sequence[Submitted | Retry | GiveUp], now: datetime
    ) -> None: ...

    async def record_reports(self, reports: Sequence[DeliveryReport], now: datetime) -> None: ...

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int: ...
