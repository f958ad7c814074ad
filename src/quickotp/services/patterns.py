"""
An account's own patterns: creating one (pending the operator's approval), through Amoot's
CreatePattern or the panel, listing them, and which approved OTP pattern is live (sends the
account's codes through SendQuickOTP and /v1's send without a pattern).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from quickotp.domain import sms
from quickotp.domain.errors import AccountRateLimited, PatternDuplicate
from quickotp.domain.limits import HOUR, Window
from quickotp.domain.models import Caller, Pattern
from quickotp.services.guard import Guard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveOtp:
    """Which approved OTP pattern sends an account's codes, and whether the account chose it."""

    pattern_id: int | None  # None: the account has no approved OTP pattern
    chosen: bool  # False: none chosen (or the chosen one is no longer usable), the newest sends


class LiveOtpStore(Protocol):
    async def otp_pattern(self, account_id: int) -> Pattern | None: ...

    async def chosen_otp_pattern(self, account_id: int) -> int | None: ...


async def live_otp(store: LiveOtpStore, account_id: int) -> LiveOtp:
    """The account's live OTP pattern, as a send would pick it (adapters/store/patterns.py)."""
    live = await store.otp_pattern(account_id)
    if live is None:
        return LiveOtp(None, chosen=False)
    return LiveOtp(live.id, chosen=live.id == await store.chosen_otp_pattern(account_id))


class PatternStore(Protocol):
    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]: ...

    async def pattern_text_taken(self, account_id: int, text: str) -> bool: ...

    async def create_pattern(
        self,
        *,
        account_id: int,
        text: str,
        is_otp: bool,
        number_patterns: Sequence[str],
        description: str,
        now: datetime,
        max_pending: int | None = None,
    ) -> Pattern: ...


class Patterns:
    """
    Patterns of an account: at most `max_pending` awaiting approval at once, and (with a
    guard) `per_hour` submitted an hour.
    """

    def __init__(
        self,
        store: PatternStore,
        clock: Callable[[], datetime],
        guard: Guard | None,
        *,
        max_pending: int,
        per_hour: int,
    ) -> None:
        self.store = store
        self.clock = clock
        self.guard = guard
        self.max_pending = max_pending
        self.per_hour = per_hour

    async def create_pattern(
        self,
        caller: Caller,
        *,
        text: str,
        is_otp: bool,
        number_patterns: str = "",
        description: str = "",
    ) -> Pattern:
        """A new pattern of the caller's, pending the operator's approval."""
        return await self.create_account_pattern(
            caller.account.id,
            text=text,
            is_otp=is_otp,
            number_patterns=number_patterns,
            description=description,
        )

    async def create_account_pattern(
        self,
        account_id: int,
        *,
        text: str,
        is_otp: bool,
        number_patterns: str = "",
        description: str = "",
        capped: bool = True,
    ) -> Pattern:
        """
        A new pattern of the account's, pending approval: the one way every pattern is made
        (the API, the panel's users and its operators, the CLI). PatternDuplicate when the
        account has this text already. Capped (the account's own submissions):
        PatternLimitReached when the account has `max_pending` waiting already;
        AccountRateLimited past `per_hour` (counted by the guard's Limiter, so every process
        shares the count). An operator's pattern is not capped.
        """
        checked = sms.check_pattern(text, otp=is_otp)
        numeric = sms.numeric_variables(checked, otp=is_otp, named=number_patterns)
        if await self.store.pattern_text_taken(account_id, checked):
            raise PatternDuplicate("this account has a pattern with this text already")
        if capped and self.guard is not None:
            rate = Window(f"pc:{account_id}", self.per_hour, HOUR)
            await self.guard.admit([(rate, AccountRateLimited)])
        pattern = await self.store.create_pattern(
            account_id=account_id,
            text=checked,
            is_otp=is_otp,
            number_patterns=numeric,
            description=description.strip()[:500],
            now=self.clock(),
            max_pending=self.max_pending if capped else None,
        )
        log.info("account %d created pattern %d", account_id, pattern.id)
        return pattern

    async def list_patterns(self, caller: Caller) -> list[Pattern]:
        return await self.store.list_patterns(caller.account.id)
