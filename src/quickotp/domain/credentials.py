"""
What the panel keeps of how people sign in: each attempt on a known email, for its user to
see. Pure records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

HISTORY_KEPT = 50  # sign-ins a user's history keeps at most
HISTORY_DAYS = 90  # and none older than this many days
AGENT_LENGTH = 300  # characters of a user agent kept


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome's name, not a password
    WRONG_CODE = "wrong_code"  # the password was right, the two-step code was not
    DISABLED = "disabled"  # the password was right, the user is switched off

    @property
    def succeeded(self) -> bool:
        return self is SignInOutcome.SIGNED_IN


@dataclass(frozen=True)
class SignInEvent:
    """One sign-in attempt on a user's email, as their history shows it."""

    at: datetime
    address: str | None  # the client's address, as the panel saw it
    user_agent: str
    outcome: SignInOutcome


def shown_agent(raw: str) -> str:
    """A User-Agent header as the history keeps it: printable characters, bounded."""
    return "".join(ch for ch in raw if ch.isprintable())[:AGENT_LENGTH]


@dataclass(frozen=True)
class TotpRecord:
    """A user's TOTP key, sealed, and where it stands."""

    sealed: bytes
    enabled_at: datetime | None  # None: enrolment waits for its first code
    last_step: int | None  # the newest time step a code was taken from
