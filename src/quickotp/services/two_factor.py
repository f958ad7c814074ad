"""
Two-step sign-in with time-based codes (RFC 6238, domain/totp.py): enrolment shows a new
key (as a QR code and as text) and turns it on only once a first code from it is right;
ten one-time recovery codes are made then, shown once and kept as keyed hashes; the key
is kept sealed with a key derived from QUICKOTP_SECRET_KEY and bound to its user.

The sign-in's second step, its limits and turning it off with the password are Users'
(services/users.py); this holds the key, the codes and the checks.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from quickotp.domain import totp
from quickotp.domain.errors import Conflict, SecondFactorFailed, Subject
from quickotp.domain.models import User
from quickotp.domain.sealing import seal_secret, unseal_secret
from quickotp.ports.credentials import CredentialStore

log = logging.getLogger(__name__)

ISSUER = "QuickOTP"  # how an authenticator app labels the entry


@dataclass(frozen=True)
class Enrolment:
    """A key waiting for its first code: typed in as `secret`, or read from `uri` (QR)."""

    secret: str
    uri: str


@dataclass(frozen=True)
class TwoFactorState:
    enabled_at: datetime | None  # None: off
    pending: Enrolment | None  # an enrolment waiting for its first code
    recovery_left: int  # unused recovery codes


class TwoFactor:
    def __init__(
        self,
        store: CredentialStore,
        *,
        seal_key: bytes,
        digest: Callable[[str], bytes],
        clock: Callable[[], datetime],
        random: Callable[[int], bytes],
    ) -> None:
        self.store = store
        self.seal_key = seal_key
        self.digest = digest  # a recovery code's keyed hash
        self.clock = clock
        self.random = random

    async def state(self, user: User) -> TwoFactorState:
        found = await self.store.totp(user.id)
        if found is None:
            return TwoFactorState(None, None, 0)
        if found.enabled_at is None:
            return TwoFactorState(None, self._enrolment(user, found.sealed), 0)
        return TwoFactorState(found.enabled_at, None, await self.store.recovery_codes_left(user.id))

    async def enabled(self, user_id: int) -> bool:
        found = await self.store.totp(user_id)
        return found is not None and found.enabled_at is not None

    async def begin(self, user: User) -> Enrolment:
        """A new key for the user, waiting for its first code. Conflict when it is on already."""
        secret = totp.new_secret(self.random(totp.SECRET_BYTES))
        sealed = seal_secret(self.seal_key, _context(user.id), secret.encode(), self.random(12))
        await self.store.set_pending_totp(user.id, sealed, self.clock())
        log.info("user %d began two-step enrolment", user.id)
        return Enrolment(secret, totp.provisioning_uri(secret, user.email, ISSUER))

    async def confirm(self, user: User, code: str) -> list[str]:
        """
        Turn the pending key on with its first code; the new recovery codes, shown once.
        SecondFactorFailed for a wrong code; Conflict when no enrolment is pending.
        """
        found = await self.store.totp(user.id)
        if found is None or found.enabled_at is not None:
            raise Conflict("no two-step enrolment is waiting", subject=Subject.TWO_STEP_NOT_STARTED)
        secret = self._secret(user.id, found.sealed)
        step = totp.matching_step(secret, code, self.clock(), None)
        if step is None:
            raise SecondFactorFailed("wrong two-step code")
        codes = self._new_codes()
        if not await self.store.enable_totp(
            user.id, step=step, recovery=[self._hashed(c) for c in codes], now=self.clock()
        ):
            raise Conflict("no two-step enrolment is waiting", subject=Subject.TWO_STEP_NOT_STARTED)
        log.info("user %d turned two-step sign-in on", user.id)
        return codes

    async def new_recovery_codes(self, user: User) -> list[str]:
        """Ten new recovery codes in place of the old ones; Conflict when two-step is off."""
        if not await self.enabled(user.id):
            raise Conflict("two-step sign-in is off", subject=Subject.TWO_STEP_OFF)
        codes = self._new_codes()
        await self.store.replace_recovery_codes(user.id, [self._hashed(c) for c in codes])
        log.info("user %d made new recovery codes", user.id)
        return codes

    async def turn_off(self, user_id: int) -> None:
        await self.store.remove_totp(user_id)
        log.info("two-step sign-in turned off for user %d", user_id)

    async def check(self, user_id: int, code: str) -> bool:
        """
        Whether `code` is the user's: a TOTP code not used before, or one of their unused
        recovery codes; either is used up by a right answer.
        """
        found = await self.store.totp(user_id)
        if found is None or found.enabled_at is None:
            return False
        if totp.looks_like_code(code):
            secret = self._secret(user_id, found.sealed)
            step = totp.matching_step(secret, code, self.clock(), found.last_step)
            return step is not None and await self.store.use_totp_step(user_id, step)
        key = totp.recovery_key(code)
        if key is None:
            return False
        used = await self.store.use_recovery_code(user_id, self._hashed(key), self.clock())
        if used:
            log.info("user %d signed in with a recovery code", user_id)
        return used

    def _new_codes(self) -> list[str]:
        return [
            totp.new_recovery_code(self.random(totp.RECOVERY_BYTES))
            for _ in range(totp.RECOVERY_CODES)
        ]

    def _hashed(self, code: str) -> bytes:
        key = totp.recovery_key(code)
        return self.digest(key or code)

    def _secret(self, user_id: int, sealed: bytes) -> str:
        return unseal_secret(self.seal_key, _context(user_id), sealed).decode()

    def _enrolment(self, user: User, sealed: bytes) -> Enrolment:
        secret = self._secret(user.id, sealed)
        return Enrolment(secret, totp.provisioning_uri(secret, user.email, ISSUER))


def _context(user_id: int) -> str:
    return f"totp:{user_id}"


def random_bytes(token_urlsafe: Callable[[int], str]) -> Callable[[int], bytes]:
    """
    Random bytes drawn through `token_urlsafe`, the randomness the panel is given: what
    secrets.token_urlsafe(n) encodes is n random bytes, decoded back here.
    """

    def draw(n: int) -> bytes:
        text = token_urlsafe(n)
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    return draw
