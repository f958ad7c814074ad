"""
Checking codes on the server: find the verification, compare in constant time, and move it
along pending -> approved | expired | max_attempts_reached | canceled.

"At most once" rests on the store: approval and each wrong attempt are one conditional
UPDATE on a pending, unexpired row with attempts left, so concurrent checks cannot both win.
I/O only through the Store port and the Guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import phonenumbers
from prometheus_client import Counter

from quickotp.domain import otp, phone
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    CodeAlreadyUsed,
    CodeEmpty,
    CodeExpired,
    CodeMismatch,
    InvalidCodeLength,
    InvalidRequest,
    TooManyAttempts,
    VerificationCanceled,
    VerificationFailed,
    VerificationNotFound,
    VerificationNotPending,
)
from quickotp.domain.models import Caller, Verification, VerificationStatus
from quickotp.ports.store import VerificationStore
from quickotp.services.guard import Guard, Subject, request_rules

log = logging.getLogger(__name__)

CHECKS = Counter("quickotp_verification_checks", "Code checks, by outcome", ["outcome"])
MAX_ID_LENGTH = 32

_FAILURE_FOR_STATUS: dict[VerificationStatus, type[VerificationFailed]] = {
    VerificationStatus.APPROVED: CodeAlreadyUsed,
    VerificationStatus.EXPIRED: CodeExpired,
    VerificationStatus.MAX_ATTEMPTS_REACHED: TooManyAttempts,
    VerificationStatus.CANCELED: VerificationCanceled,
}


def checked_code(raw: str | None) -> str:
    """A code as a caller sent it: CodeEmpty for nothing, InvalidCodeLength unless 4..8 digits."""
    text = ascii_digits(raw or "").strip()
    if not text:
        raise CodeEmpty("no code given")
    if not (text.isascii() and text.isdigit() and otp.MIN_LENGTH <= len(text) <= otp.MAX_LENGTH):
        raise InvalidCodeLength("a code is 4 to 8 digits")
    return text


def checked_id(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text or len(text) > MAX_ID_LENGTH or not text.isascii() or not text.isalnum():
        raise VerificationNotFound("no such verification")
    return text


@dataclass
class Verifications:
    """The verification use cases: check a code, look one up, cancel one."""

    store: VerificationStore
    code_key: bytes
    clock: Callable[[], datetime]
    regions: tuple[str, ...]
    guard: Guard | None = None

    async def check(
        self,
        caller: Caller,
        *,
        code: str | None,
        verification_id: str | None = None,
        mobile: str | None = None,
    ) -> Verification:
        """
        Approve the verification (by id, else the number's newest) if `code` is its code.
        Returns it approved; otherwise raises the VerificationFailed that says why.
        """
        candidate = checked_code(code)
        if self.guard is not None:  # before any lookup: a flood of checks stops here
            policy = await self.guard.policy(caller.account.id)
            await self.guard.admit(request_rules(policy, _subject(caller)))
        found = await self._find(caller, verification_id, mobile)
        try:
            return await self._check(found, candidate)
        except VerificationFailed as exc:
            CHECKS.labels(type(exc).__name__).inc()
            raise

    async def _check(self, found: Verification, code: str) -> Verification:
        now = self.clock()
        self._raise_unless_pending(found, now)
        if otp.matches(self.code_key, code, found.code_digest):
            if await self.store.approve_verification(found.id, now):
                CHECKS.labels("approved").inc()
                log.info("verification %s approved", found.id)
                # What the conditional UPDATE wrote, without reading it back.
                return replace(
                    found, status=VerificationStatus.APPROVED, code_sealed=None, updated_at=now
                )
            self._raise_unless_pending(await self._reload(found), now)
            raise CodeMismatch("the verification changed during the check", found)
        left = await self.store.spend_attempt(found.id, now)
        if left is None:
            self._raise_unless_pending(await self._reload(found), now)
            raise CodeMismatch("the verification changed during the check", found)
        current = replace(
            found,
            attempts_left=left,
            status=VerificationStatus.MAX_ATTEMPTS_REACHED if left == 0 else found.status,
            code_sealed=None if left == 0 else found.code_sealed,
            updated_at=now,
        )
        if left == 0:
            log.info("verification %s: wrong code, no attempts left", found.id)
            raise TooManyAttempts("too many wrong codes: this verification is closed", current)
        raise CodeMismatch(f"wrong code: {left} attempt(s) left", current)

    def _raise_unless_pending(self, found: Verification, now: datetime) -> None:
        status = found.status_at(now)
        if status is VerificationStatus.PENDING:
            return
        raise _FAILURE_FOR_STATUS[status](f"the verification is {status}", found)

    async def get(self, caller: Caller, verification_id: str) -> Verification:
        """The caller's verification by id, its status as of now."""
        return await self._find(caller, verification_id, None)

    async def cancel(self, caller: Caller, verification_id: str) -> Verification:
        """Cancel the caller's pending verification; VerificationNotPending if it is over."""
        found = await self._find(caller, verification_id, None)
        now = self.clock()
        if found.status_at(now) is not VerificationStatus.PENDING or not (
            await self.store.close_verification(found.id, VerificationStatus.CANCELED, now)
        ):
            raise VerificationNotPending(f"the verification is {found.status_at(now)}")
        log.info("verification %s canceled", found.id)
        return await self._reload(found)

    def status_of(self, verification: Verification) -> VerificationStatus:
        return verification.status_at(self.clock())

    async def _find(
        self, caller: Caller, verification_id: str | None, mobile: str | None
    ) -> Verification:
        account_id = caller.account.id
        found: Verification | None
        if verification_id is not None:
            found = await self.store.get_verification(account_id, checked_id(verification_id))
        elif mobile is not None:
            number = phone.normalise(mobile, regions=phone_regions())
            found = await self.store.latest_verification(account_id, number.e164)
        else:
            raise InvalidRequest("give the verification's id or the number it was sent to")
        if found is None:
            raise VerificationNotFound("no such verification for this account")
        if found.status_at(self.clock()) is VerificationStatus.EXPIRED and (
            found.status is VerificationStatus.PENDING
        ):
            await self._expire(found)
            found = await self._reload(found)
        return found

    async def _expire(self, found: Verification) -> None:
        """Record the expiry of a pending verification past its time (and wipe its sealed code)."""
        await self.store.close_verification(found.id, VerificationStatus.EXPIRED, self.clock())

    async def _reload(self, found: Verification) -> Verification:
        again = await self.store.get_verification(found.account_id, found.id)
        return again if again is not None else found


def _subject(caller: Caller) -> Subject:
    return Subject(caller.account.id, caller.token.id, caller.ip)


def phone_regions() -> frozenset[str]:
    """Every region: numbers parse wherever they are from; the guard decides the countries."""
    return _ALL_REGIONS


_ALL_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
