"""
The accounts closest to running out of credit, for /metrics (the credit-low alert): the
`limit` lowest balances of active, limited accounts, read in the background every `every`
seconds with one small query, never per scrape and never on a request's path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from quickotp.domain.models import Account
from quickotp.support.background import read_every, stop

log = logging.getLogger(__name__)

CREDIT = Gauge(
    "quickotp_account_credit_rial",
    "Credit left on the active, limited accounts with the least of it (50 of them at most)",
    ["account", "name"],
)
PRICE = Gauge("quickotp_price_per_part_rial", "What one SMS part costs an account")


class CreditWatch:
    """Keeps CREDIT up to date from `lowest(limit)` until stopped."""

    def __init__(
        self,
        lowest: Callable[[int], Awaitable[list[Account]]],
        price_per_part: int,
        *,
        limit: int = 50,
        every: float = 30.0,
    ) -> None:
        self.lowest = lowest
        self.price_per_part = price_per_part
        self.limit = limit
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        PRICE.set(self.price_per_part)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="credit-watch")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    async def refresh(self) -> None:
        """One reading; the gauge then shows exactly these accounts (no await between)."""
        found = await self.lowest(self.limit)
        CREDIT.clear()
        for account in found:
            CREDIT.labels(str(account.id), account.name).set(account.credit)

    async def _run(self) -> None:
        await read_every(self.refresh, self.every, "the lowest credits", log)
