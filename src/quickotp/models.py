"""
The records the service and the store hand each other: frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from quickotp.ports import SendReceipt


class PatternState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # accepted and durable, waiting for the dispatcher
    SENDING = "sending"  # claimed by a dispatcher, which holds a lease on it
    SENT = "sent"  # an upstream took it
    DELIVERED = "delivered"  # the handset got it
    UNDELIVERED = "undelivered"  # the network gave up on it
    FAILED = "failed"  # no upstream would take it
    EXPIRED = "expired"  # its code went stale before any upstream took it


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    credit: int  # rial
    unlimited: bool
    sender: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Token:
    id: int
    account_id: int
    label: str
    active: bool
    expires_at: datetime | None
    allowed_ips: tuple[str, ...]  # CIDR networks; empty = any address
    allowed_methods: tuple[str, ...]  # API method names; empty = every method
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Pattern:
    id: int
    account_id: int
    text: str
    is_otp: bool
    number_patterns: tuple[str, ...]
    state: PatternState
    reason: str
    description: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class NewMessage:
    """An OTP message and its verification, about to be accepted in one transaction."""

    account_id: int
    token_id: int | None
    pattern_id: int
    mobile: str
    sender: str
    text: str
    code: str
    encoding: str
    parts: int
    cost: int
    expires_at: datetime
    created_at: datetime
    verification_id: str
    code_digest: bytes
    attempts_left: int
    code_sealed: bytes | None = None  # the code sealed for re-sends (see verification.py)
    sandbox: bool = False  # a test number: stored as delivered, never dispatched
    metadata: str | None = None  # the caller's metadata, as JSON text
    resend_of: str | None = None  # re-sends this pending verification's code, if still pending


class VerificationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Verification:
    """A code sent to a number, kept as a keyed hash, and what became of it."""

    id: str
    account_id: int
    message_id: int
    mobile: str
    status: VerificationStatus  # as stored: a pending one may be past expires_at
    attempts_left: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    sandbox: bool
    metadata: str | None
    code_digest: bytes
    code_sealed: bytes | None

    def status_at(self, now: datetime) -> VerificationStatus:
        """The status as of `now`: a pending verification past its expiry is expired."""
        if self.status is VerificationStatus.PENDING and self.expires_at <= now:
            return VerificationStatus.EXPIRED
        return self.status


@dataclass(frozen=True)
class Message:
    id: int
    account_id: int
    mobile: str
    sender: str
    text: str
    encoding: str
    parts: int
    cost: int
    status: MessageStatus
    attempts: int
    possible_duplicate: bool
    expires_at: datetime
    created_at: datetime
    submitted_at: datetime | None
    reported_at: datetime | None
    transport: str | None
    provider_message_id: str | None
    error: str | None


@dataclass(frozen=True)
class Claimed:
    """A message a dispatcher holds a lease on, with the code it must mask once sent."""

    message: Message
    code: str | None


@dataclass(frozen=True)
class Submitted:
    """An upstream took message `message_id`; its stored text becomes `masked_text`."""

    message_id: int
    receipt: SendReceipt
    masked_text: str


@dataclass(frozen=True)
class Retry:
    message_id: int
    at: datetime
    error: str
    possible_duplicate: bool


@dataclass(frozen=True)
class GiveUp:
    """Nothing more will be tried: the message ends FAILED or EXPIRED and its charge returns."""

    message_id: int
    status: MessageStatus
    error: str
