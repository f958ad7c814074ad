"""
Delivery reports pushed to clients' URLs: the durable outbox the worker claims from, and the
poster that makes each POST (to public addresses only, adapters/public_http.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from quickotp.domain.models import (
    Posted,
    RelayUrl,
    WebhookBacklog,
    WebhookDelivery,
    WebhookJob,
    WebhookOutcome,
)


class WebhookOutbox(Protocol):
    """The durable outbox of owed reports (adapters/store/webhooks.py): one transaction a call."""

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[WebhookJob]: ...

    async def record(self, outcomes: Sequence[WebhookOutcome], now: datetime) -> None: ...

    async def backlog(self, now: datetime, cap: int) -> WebhookBacklog: ...


class ReportPoster(Protocol):
    """
    POSTs one report, waiting at most `wait` seconds, and says what came of it; never raises
    for what the URL's side did (refused address, no answer, a broken connection): that is
    the Posted's `failure`.
    """

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, wait: float
    ) -> Posted: ...

    async def aclose(self) -> None: ...


class WebhookRetry(Protocol):
    """A report given up on, owed again (adapters/store/webhooks.py)."""

    async def retry(self, account_id: int, delivery_id: int, now: datetime) -> WebhookDelivery: ...


class UrlCheck(Protocol):
    """Whether a URL may take delivery reports: the poster's rule, applied at entry."""

    async def problem(self, url: str) -> str | None: ...


class RelayStore(Protocol):
    """An account's delivery-report URLs (Amoot's RelayMessageDelivery*)."""

    async def add_relay(
        self, account_id: int, url: str, secret: str, now: datetime
    ) -> RelayUrl: ...

    async def list_relays(self, account_id: int) -> list[RelayUrl]: ...

    async def set_relay_active(self, account_id: int, relay_id: int, active: bool) -> RelayUrl: ...

    async def delete_relay(self, account_id: int, relay_id: int) -> None: ...
