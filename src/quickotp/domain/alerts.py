"""
The low-credit alert: a threshold per account, below which its dashboard warns and one
webhook event goes to the account's URLs for each crossing. Pure records and rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from quickotp.domain.models import Account, WebhookState

LOW_CREDIT = "credit.low"  # the event's name, in its body and its X-QuickOTP-Event header
MAX_THRESHOLD = 10**15  # rial: a threshold above any credit an account can hold


@dataclass(frozen=True)
class CreditAlert:
    """An account's threshold, and when the alert of the present crossing went out."""

    account_id: int
    threshold: int  # rial
    alerted_at: datetime | None  # None: armed (no alert since the credit was last at or above)


def below(account: Account, alert: CreditAlert | None) -> bool:
    """Whether the account's credit is under its threshold (an unlimited one never is)."""
    return alert is not None and not account.unlimited and account.credit < alert.threshold


@dataclass(frozen=True)
class LowCredit:
    """An account found under its threshold with its alert still armed."""

    account_id: int
    credit: int
    threshold: int


@dataclass(frozen=True)
class EventDelivery:
    """One webhook event owed to one URL, and how posting it went."""

    id: int
    account_id: int
    event: str
    url: str
    state: WebhookState
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


@dataclass(frozen=True)
class EventJob:
    """A claimed event, its body as stored when it was owed, and the secret that signs it."""

    delivery: EventDelivery
    body: bytes
    secret: str = field(repr=False)
