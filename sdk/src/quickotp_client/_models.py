"""
What the calls return: small frozen dataclasses in snake_case. Wire names (`MessageID`,
`expires_at`) stay in `_amoot` and `_v1`, which build these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# /rest (Amoot's vocabulary) -------------------------------------------------------------


@dataclass(frozen=True)
class SentCode:
    """SendQuickOTP's answer: the message carrying the code, the number it goes to, the code."""

    message_id: int
    mobile: str  # the national number as the server reports it: 9120000000
    code: str


@dataclass(frozen=True)
class SentMessage:
    """
    One recipient of SendSimple, SendWithBackupLine or SendWithPattern: its message, or, when
    `status` is not "Success", why it was not sent (`message_id` is then 0).
    """

    message_id: int
    mobile: str
    status: str


@dataclass(frozen=True)
class VerifiedCode:
    """VerifyQuickOTP's answer (QuickOTP only): the code was right."""

    mobile: str
    message_id: int
    verification_id: str


@dataclass(frozen=True)
class AccountStatus:
    """AccountStatus's answer. Credit and prices are in rial."""

    name: str
    credit: int
    line_numbers: tuple[str, ...]
    base_sms_persian_price: float
    base_sms_english_price: float
    service_sms_persian_price: float
    service_sms_english_price: float
    ads_sms_persian_price: float
    ads_sms_english_price: float
    avanak_second_price: float


@dataclass(frozen=True)
class Delivery:
    """
    One message's delivery, as GetDelivery(ies) report it. `delivery_type` is Amoot's code
    (900 queued, 0 handed to the operator, 1 delivered, 2 not delivered, ...). Times are
    Tehran time; `sent_at` is None until the message is sent.
    """

    message_id: int
    delivery_type: int
    cost: int
    registered_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class Pattern:
    """
    A message pattern. `status` is Amoot's number (0 pending, 1 approved, 2 rejected);
    `variables` are the `%name%`s of the text, `number_variables` those that take digits only.
    """

    id: int
    status: int
    is_otp: bool
    text: str
    variables: tuple[str, ...]
    number_variables: tuple[str, ...]


# /v1 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedVerification:
    """A verification just started: the code is on its way to `to`."""

    id: str
    to: str
    status: str  # "pending"
    expires_at: datetime
    message_id: int
    sandbox: bool
    metadata: dict[str, str] | None = field(hash=False)


@dataclass(frozen=True)
class AcceptedMessage:
    """
    A message /v1 accepted: it goes to `to` (at its `send_at`, if scheduled) and is never sent
    after `expires_at`. `verification_id` is set when an OTP pattern's code went with it.
    """

    id: int
    to: str
    verification_id: str | None
    expires_at: datetime
    sandbox: bool


@dataclass(frozen=True)
class Verification:
    """
    A verification and its outcome so far. `status` is one of pending, approved, expired,
    max_attempts_reached, canceled.
    """

    id: str
    to: str
    status: str
    attempts_left: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    message_id: int
    sandbox: bool
    metadata: dict[str, str] | None = field(hash=False)


@dataclass(frozen=True)
class Message:
    """
    One SMS: its state (queued, sending, sent, delivered, undelivered, failed, expired), how
    it went out, its parts and its cost in rial.
    """

    id: int
    to: str
    status: str
    amoot_delivery_type: int
    transport: str | None
    submitted_at: datetime | None
    reported_at: datetime | None
    parts: int
    encoding: str
    cost: int
    attempts: int
    created_at: datetime
