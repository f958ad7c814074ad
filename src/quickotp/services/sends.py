"""
What one send is, as the sending modules pass it along: the message asked for (`Outgoing`),
the request as checked at the edge of the use case (`Send`), and its answer (`SentOtp`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from quickotp.domain import phone
from quickotp.domain.models import Caller, Pattern
from quickotp.services.guard import Policy


@dataclass(frozen=True)
class SentOtp:
    """
    An accepted message. `code` and `verification_id` are "" for a message that carries no
    code (free text, a plain pattern), and `code` is "" in a /v1 answer, which never shows it.
    """

    message_id: int
    mobile: phone.Mobile
    code: str
    verification_id: str
    expires_at: datetime | None = None
    sandbox: bool = False  # a test number: accepted and verifiable, never sent


@dataclass(frozen=True)
class Outgoing:
    """
    What one message says and how it goes out, as messaging.py asks for it (checked there).
    With `code_length` (or `own_code`) it carries a code and gets a verification: the
    code fills `pattern`'s %code%, or goes into `text` (sms.with_code). Without, `text` is
    the message as it is sent.
    """

    text: str | None = None
    pattern: Pattern | None = None  # the approved pattern the text comes from
    code_length: int = 0  # > 0: the server makes a code of this many digits
    own_code: str | None = None  # the caller's code (an OTP pattern's %code% value)
    sender: str | None = None  # None: the account's default line
    backup_sender: str | None = None  # tried when `sender` cannot send
    not_before: datetime | None = None  # a scheduled send
    # /rest: a repeat of the same parts inside the account's idempotency window gets the
    # first answer and sends nothing (the caller's token and the number are added).
    repeat: tuple[str, ...] = ()


@dataclass(frozen=True)
class Send:
    """One send, checked at the edge of the use case."""

    caller: Caller
    number: phone.Mobile
    length: int  # 0: no code
    own_code: str | None
    policy: Policy
    pattern_id: int | None = None
    metadata: str | None = None
    key: str | None = None  # idempotency: the request's key, its fingerprint, its window
    fingerprint: str = ""
    seconds: float = 0.0
    need_code: bool = True  # a replay must show the code (/rest) or need not (/v1)
    outgoing: Outgoing = field(default_factory=Outgoing)

    @property
    def otp(self) -> bool:
        """Whether it carries a code (and so gets a verification)."""
        return self.length > 0 or self.own_code is not None
