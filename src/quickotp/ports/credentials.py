"""
How people prove who they are, beyond the password hash on their user: their sign-in
history, the password reset links operators make, and two-step sign-in (TOTP keys,
recovery codes, sign-ins waiting for their code).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quickotp.domain.credentials import SignInEvent, SignInOutcome, TotpRecord


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
        password matches), and every session of theirs, and every sign-in of theirs waiting
        for its two-step code, ends. NotFound for a missing user.
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

    async def totp(self, user_id: int) -> TotpRecord | None:
        """The user's TOTP key and its state, or None when they have none."""
        ...

    async def set_pending_totp(self, user_id: int, sealed: bytes, now: datetime) -> None:
        """
        Start (or start again) the user's enrolment with this sealed key, waiting for its
        first code. Conflict when two-step sign-in is on for them already.
        """
        ...

    async def enable_totp(
        self, user_id: int, *, step: int, recovery: Sequence[bytes], now: datetime
    ) -> bool:
        """
        Turn the pending key on, its first code taken from time step `step`, with these
        recovery code digests in place of any before; False (nothing changed) when no
        enrolment is pending.
        """
        ...

    async def use_totp_step(self, user_id: int, step: int) -> bool:
        """
        Take a code from time step `step`: True only if it is later than the newest step
        taken before (one conditional write, so a code works once even when sent twice at once).
        """
        ...

    async def replace_recovery_codes(self, user_id: int, recovery: Sequence[bytes]) -> None: ...

    async def use_recovery_code(self, user_id: int, digest: bytes, now: datetime) -> bool:
        """Use one of the user's unused recovery codes (once): whether it was one."""
        ...

    async def recovery_codes_left(self, user_id: int) -> int: ...

    async def remove_totp(self, user_id: int) -> None:
        """Two-step sign-in off: the key and the recovery codes go."""
        ...

    async def create_challenge(
        self, *, digest: bytes, user_id: int, now: datetime, expires_at: datetime
    ) -> None:
        """A sign-in waiting for its two-step code; expired ones of anyone are swept away."""
        ...

    async def challenge_user(self, digest: bytes, now: datetime) -> int | None:
        """The user id of the live sign-in waiting behind `digest`, or None."""
        ...

    async def end_challenge(self, digest: bytes) -> bool:
        """End the waiting sign-in (once): whether it was still there."""
        ...
