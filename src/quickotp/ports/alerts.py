"""
The low-credit alert: each account's threshold, the accounts that crossed it, and the
outbox of webhook events owed to accounts' URLs (adapters/store/alerts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quickotp.domain.alerts import CreditAlert, EventDelivery, EventJob, LowCredit
    from quickotp.domain.models import WebhookOutcome


class AlertStore(Protocol):
    """One transaction a call."""

    async def threshold(self, account_id: int) -> CreditAlert | None: ...

    async def set_threshold(self, account_id: int, threshold: int | None, now: datetime) -> None:
        """
        The account's threshold (None: no alert); a new one is armed, whatever went out
        before. NotFound for a missing account.
        """
        ...

    async def rearm(self) -> None:
        """Arm again the alerts of accounts back at or above their threshold (or unlimited)."""
        ...

    async def low_accounts(self, limit: int) -> list[LowCredit]:
        """Active, limited accounts under their threshold whose alert is armed."""
        ...

    async def alert(self, account_id: int, *, event: str, body: str, now: datetime) -> int | None:
        """
        Send the account's alert, once: mark it sent and owe `event` (with `body`) to each
        of the account's URLs (its active relay URLs and its panel webhook URL), in one
        transaction; how many were owed, or None when the alert went out already.
        """
        ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[EventJob]: ...

    async def record(self, outcomes: Sequence[WebhookOutcome], now: datetime) -> None: ...

    async def events(self, account_id: int, *, limit: int) -> list[EventDelivery]:
        """The account's latest owed events and how posting them went, newest first."""
        ...
