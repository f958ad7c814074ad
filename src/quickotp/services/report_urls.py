"""
An account user's delivery-report URLs in the panel, as one list: those registered through
the Amoot API (RelayMessageDeliveryCreate) and the panel's own webhook URL. For each, a
signed test event on demand; and the account's latest report posts, with one more attempt
for a report given up on.

A test event goes through the same poster as delivery reports (public addresses only,
unless QUICKOTP_WEBHOOK_PRIVATE_URLS) with the same headers and signature; its outcome is
told as the report posts' are: a summary (taken; refused; no answer; broken off; HTTP 4xx
or 5xx), never the error's words or the exact status (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from quickotp.domain.errors import AccountDisabled, InvalidInput, NotFound, Subject
from quickotp.domain.models import POST_REFUSED, User, WebhookDelivery
from quickotp.domain.urls import url_problem
from quickotp.ports.people import DeliveryLog, PanelStore
from quickotp.ports.store import AccountStore
from quickotp.ports.webhooks import RelayStore, ReportPoster, WebhookRetry
from quickotp.services.webhooks import signed_headers
from quickotp.services.workspace import account_of

log = logging.getLogger(__name__)

PANEL_URL = "panel"  # the panel's webhook URL's key among the account's report URLs
RECENT = 50  # report posts the page lists
TEST_TIMEOUT = 10.0  # seconds a test event's POST may take, as a report's


@dataclass(frozen=True)
class ReportUrl:
    """One of the account's report URLs."""

    key: str  # PANEL_URL, or the relay URL's id
    url: str
    source: Literal["api", "panel"]  # RelayMessageDeliveryCreate, or the panel's webhook URL
    active: bool
    since: datetime
    last: WebhookDelivery | None = None  # its latest post among the RECENT


@dataclass(frozen=True)
class Webhooks:
    urls: list[ReportUrl]
    recent: list[WebhookDelivery]  # the account's latest report posts, newest first


@dataclass(frozen=True)
class TestEvent:
    """What came of a test event: the HTTP status answered, or why none came."""

    url: str
    status: int | None
    failure: str | None = None  # a POST_* summary when no answer came

    @property
    def taken(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class ReportUrls:
    store: AccountStore
    relays: RelayStore
    panel: PanelStore
    deliveries: DeliveryLog
    retries: WebhookRetry
    poster: ReportPoster
    clock: Callable[[], datetime]
    render_test: Callable[[datetime], bytes]  # a test event's body, in the reports' format

    async def overview(self, user: User) -> Webhooks:
        account_id = account_of(user)
        recent = await self.deliveries.deliveries(account_id, limit=RECENT)
        latest: dict[str, WebhookDelivery] = {}
        for post in recent:  # newest first: the first of each URL is its latest
            latest.setdefault(post.url, post)
        return Webhooks(
            [
                ReportUrl(u.key, u.url, u.source, u.active, u.since, latest.get(u.url))
                for u in await self._urls(account_id)
            ],
            recent,
        )

    async def send_test(self, user: User, key: str) -> TestEvent:
        """A signed test event to the account's report URL `key` (NotFound: none such)."""
        account_id = await self._writable(user)
        target = next((u for u in await self._urls(account_id) if u.key == key), None)
        webhook = await self.panel.get_webhook(account_id)
        if target is None or webhook is None:  # a URL comes with the account's secret
            raise NotFound(f"no report URL {key[:20]!r} of account {account_id}")
        if (problem := url_problem(target.url)) is not None:
            log.info("account %d: a test event refused: %s", account_id, problem)
            return TestEvent(target.url, None, POST_REFUSED)
        now = self.clock()
        body = self.render_test(now)
        headers = signed_headers(webhook.secret, int(now.timestamp()), body, "test")
        posted = await self.poster.post(target.url, body, headers, wait=TEST_TIMEOUT)
        log.info(
            "user %d sent a test event to report URL %s of account %d: %s %s",
            user.id,
            key,
            account_id,
            posted.status or posted.failure,
            posted.detail,
        )
        return TestEvent(target.url, posted.status, posted.failure)

    async def retry(self, user: User, delivery_id: int) -> WebhookDelivery:
        """
        One more attempt for a report given up on, among the latest listed, to a URL the
        account still has active (InvalidInput otherwise; NotFound for none such).
        """
        account_id = await self._writable(user)
        recent = await self.deliveries.deliveries(account_id, limit=RECENT)
        post = next((p for p in recent if p.id == delivery_id), None)
        if post is None:
            raise NotFound(f"no delivery report {delivery_id} among account {account_id}'s")
        if post.url not in {u.url for u in await self._urls(account_id) if u.active}:
            raise InvalidInput(
                "that URL is no longer one of the account's active report URLs",
                subject=Subject.REPORT_URL_GONE,
            )
        retried = await self.retries.retry(account_id, delivery_id, self.clock())
        log.info("user %d asked again for delivery report %d", user.id, delivery_id)
        return retried

    async def aclose(self) -> None:
        await self.poster.aclose()

    async def _urls(self, account_id: int) -> list[ReportUrl]:
        """The account's report URLs: the API's in the order made, then the panel's."""
        found = [
            ReportUrl(str(r.id), r.url, "api", r.active, r.created_at)
            for r in await self.relays.list_relays(account_id)
        ]
        webhook = await self.panel.get_webhook(account_id)
        if webhook is not None and webhook.url:
            found.append(ReportUrl(PANEL_URL, webhook.url, "panel", True, webhook.updated_at))
        return found

    async def _writable(self, user: User) -> int:
        account_id = account_of(user)
        if not (await self.store.get_account(account_id)).active:
            raise AccountDisabled(f"account {account_id} is disabled: it can be read, not changed")
        return account_id
