"""
What each use case needs of the database (SQLite or PostgreSQL): one Protocol per
consumer, so each names only what it uses. `SqlStore` implements them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from quickotp.domain.delivery import (
    DeliveryReport,
)

if TYPE_CHECKING:
    from quickotp.domain.models import (
        Account,
        Claimed,
        CreditChange,
        DayCount,
        GiveUp,
        Message,
        NewMessage,
        Pattern,
        PatternState,
        Retry,
        Submitted,
        Token,
        Verification,
        VerificationStatus,
    )


class VerificationStore(Protocol):
    """
    Verifications, as the code checks read and move them (services/verification.py).
    Each write is one transaction: when a method returns, what it wrote is durable.
    """

    async def get_verification(
        self, account_id: int, verification_id: str
    ) -> Verification | None: ...

    async def latest_verification(self, account_id: int, mobile: str) -> Verification | None: ...

    async def approve_verification(self, verification_id: str, now: datetime) -> bool:
        """Pending, unexpired, attempts left -> approved; True for at most one caller, ever."""
        ...

    async def spend_attempt(self, verification_id: str, now: datetime) -> int | None:
        """One wrong code counted: the attempts left, or None if it was not checkable."""
        ...

    async def close_verification(
        self, verification_id: str, status: VerificationStatus, now: datetime
    ) -> bool: ...


class SendStore(VerificationStore, Protocol):
    """
    What the gateway's use cases need (services/gateway.py and its parts): tokens, OTP
    patterns, the accept of new messages, and lookups of what an account sent. A missing
    pattern by id raises NotFound. Each write is one transaction: when a method returns,
    what it wrote is durable.
    """

    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None: ...

    async def get_account(self, account_id: int) -> Account: ...

    async def otp_pattern(self, account_id: int) -> Pattern | None: ...

    async def get_pattern(self, pattern_id: int) -> Pattern: ...

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
    ) -> Pattern:
        """A pending pattern; PatternLimitReached when the account has `max_pending` already."""
        ...

    async def accept(self, batch: Sequence[NewMessage], now: datetime) -> list[int | None]:
        """Per item, the new message id, or None where credit fell short (nothing stored)."""
        ...

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]: ...

    async def message_by_ref(self, account_id: int, ref: str) -> Message | None: ...


class OutboxStore(Protocol):
    """
    The outbox, as the dispatcher works it (services/dispatcher.py): claim due messages under
    a lease, record what became of them, and match delivery reports parked ahead of their submit.
    Each write is one transaction: when a method returns, what it wrote is durable.
    """

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]: ...

    async def record(
        self,
        outcomes: Sequence[Submitted | Retry | GiveUp] = (),
        reports: Sequence[DeliveryReport] = (),
        *,
        now: datetime,
    ) -> list[tuple[int, DeliveryReport]]:
        """Outcomes, then reports; returns the reports applied, each with its message's id."""
        ...

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int: ...

    async def next_due(self) -> datetime | None:
        """When the earliest queued message falls due, if any message is queued."""
        ...


class AccountStore(Protocol):
    """
    Accounts, their tokens, patterns, credit and settings, as the operator's use cases
    (services/admin.py) and the panel's read them. A missing account or pattern by id raises
    NotFound; creating an account under a taken name raises Conflict.
    Each write is one transaction: when a method returns, what it wrote is durable.
    """

    async def create_account(
        self, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
    ) -> Account: ...

    async def get_account(self, account_id: int) -> Account: ...

    async def list_accounts(self) -> list[Account]: ...

    async def set_account_active(self, account_id: int, active: bool) -> Account: ...

    async def add_credit(
        self, account_id: int, amount: int, reason: str, now: datetime, *, ceiling: int
    ) -> tuple[Account, CreditChange]: ...

    async def set_overdraft(self, account_id: int, overdraft: int) -> Account: ...

    async def create_token(
        self,
        *,
        account_id: int,
        digest: bytes,
        label: str,
        expires_at: datetime | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
        now: datetime,
        prefix: str = "",
    ) -> Token: ...

    async def set_token_active(self, token_id: int, active: bool) -> None: ...

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
    ) -> Pattern:
        """A pending pattern; PatternLimitReached when the account has `max_pending` already."""
        ...

    async def decide_pattern(
        self, pattern_id: int, state: PatternState, reason: str, now: datetime
    ) -> Pattern: ...

    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]: ...

    async def otp_pattern(self, account_id: int) -> Pattern | None:
        """The approved OTP pattern the account's codes go out with (its choice, or newest)."""
        ...

    async def chosen_otp_pattern(self, account_id: int) -> int | None:
        """The id of the OTP pattern the account chose; None when it chose none."""
        ...

    async def choose_otp_pattern(self, account_id: int, pattern_id: int) -> Pattern:
        """
        Send the account's codes with its pattern `pattern_id`: NotFound unless it is the
        account's, PatternNotApproved unless approved, PatternUnavailable unless OTP.
        """
        ...

    async def get_account_settings(self, account_id: int) -> dict[str, Any]: ...

    async def set_account_settings(
        self, account_id: int, settings: Mapping[str, Any], now: datetime
    ) -> None: ...

    async def list_messages(self, account_id: int | None, limit: int) -> list[Message]: ...


class PolicyStore(Protocol):
    """
    Per-account overrides of the fraud guard's policy (services/guard.py).
    """

    async def get_account_settings(self, account_id: int) -> dict[str, Any]: ...


class ReportStore(Protocol):
    """The reads behind the reports (adapters/store/reports.py). Codes come back masked."""

    async def day_counts(
        self, account_id: int, start: datetime, end: datetime, offset: timedelta
    ) -> list[DayCount]: ...

    async def sent_messages(
        self, account_id: int, start: datetime, end: datetime, skip: int, limit: int
    ) -> list[Message]: ...

    async def sent_message(self, account_id: int, message_id: int) -> Message | None: ...


class LineStore(Protocol):
    """
    An account's sender lines (its default one first) and its free-text permission.
    NotFound for no such account (or, on removal, no such line of it); Conflict for a line
    it has already; InvalidInput for removing its default line.
    """

    async def lines(self, account_id: int) -> list[str]: ...

    async def add_line(self, account_id: int, line: str, now: datetime) -> list[str]: ...

    async def remove_line(self, account_id: int, line: str) -> list[str]: ...

    async def set_free_text(self, account_id: int, allowed: bool) -> Account: ...


class ScheduleStore(Protocol):
    """
    Scheduled messages not yet taken by a dispatcher. `cancel` raises NotFound for no such
    message and Conflict once a dispatcher has taken it.
    """

    async def scheduled(self, account_id: int | None, limit: int) -> list[Message]: ...

    async def cancel(self, message_id: int, now: datetime) -> Message: ...
