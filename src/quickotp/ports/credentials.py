"""
How people prove who they are, beyond the password hash on their user: their sign-in
history and the password reset links operators make.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quickotp.domain.credentials import SignInEvent, SignInOutcome


class CredentialStore(Protocol):
    """One transaction a call (adapters/store/credentials.py)."""

    async def record_sign_in(
        self,
        user_id: int,
        *,
        at: datetime,
        address: str | None,
        user_agent: str,
        outcome: SignInOutcome,
        keep: int,
        since: datetime,
    ) -> None:
        """
        Add one attempt to the user's history, then drop theirs past the newest `keep`
        and those older than `since`, so the history stays bounded however often it is written.
        """
        ...

    async def sign_ins(self, user_id: int, *, limit: int) -> list[SignInEvent]:
        """The user's attempts, newest first."""
        ...

    async def create_reset(
        self,
        *,
        digest: bytes,
        user_id: int,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
        unusable_hash: str,
    ) -> None:
        """
        A new reset link for the user, in one transaction with what a reset means: their
        earlier unused links are void, their password becomes `unusable_hash` (which no
        password matches), and every session of theirs ends. NotFound for a missing user.
        """
        ...

    async def reset_user(self, digest: bytes, now: datetime) -> int | None:
        """The user id of the unused, unexpired reset link behind `digest`, or None."""
        ...

    async def use_reset(self, digest: bytes, *, password_hash: str, now: datetime) -> int:
        """
        Use the link (once) and set its user's new password hash, ending their sessions; the
        user's id. ResetLinkInvalid when it is unknown, used or expired (a second use too).
        """
        ...
