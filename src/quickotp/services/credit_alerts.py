"""
The low-credit alert. Each account may have a threshold, set by the operator or by the
account's own users; while its credit is under it, the account's dashboard says so, and
one webhook event (`credit.low`) goes to the account's URLs (its active relay URLs and its
panel webhook URL) for each crossing.

A crossing is found off every request's path: `check()` arms again the alerts of accounts
back at or above their threshold, then sends the alert of each account under its own whose
alert is armed, marking it sent in the transaction that owes the events, so several
processes checking at once send it once. It runs every `every` seconds beside the webhook
worker, and at once when a threshold is set. `EventWorker` posts the owed events, signed
as delivery reports are (services/webhooks.py), with the same retries and back-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import orjson

from quickotp.domain.alerts import (
    LOW_CREDIT,
    MAX_THRESHOLD,
    CreditAlert,
    EventDelivery,
    EventJob,
    below,
)
from quickotp.domain.errors import AccountDisabled, InvalidInput, NotAllowed, Subject
from quickotp.domain.models import (
    POST_FAILED,
    POST_REFUSED,
    Account,
    Actor,
    Role,
    User,
    WebhookOutcome,
)
from quickotp.domain.urls import url_problem
from quickotp.ports.alerts import AlertStore
from quickotp.ports.people import IdentityStore
from quickotp.ports.store import AccountStore
from quickotp.ports.webhooks import ReportPoster
from quickotp.services.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    failed_attempt,
    outcome_of,
    sign,
)
from quickotp.services.workspace import account_of
from quickotp.support.background import stop
from quickotp.support.faults import log_failure

log = logging.getLogger(__name__)

EVENT_HEADER = "X-QuickOTP-Event"
CHECK_BATCH = 100  # accounts alerted a check at most; the next check takes the rest
EVENTS_SHOWN = 10
CHECK_EVERY = 15.0  # seconds between two looks for crossings


@dataclass(frozen=True)
class AlertView:
    """An account's alert as its pages show it."""

    account: Account
    alert: CreditAlert | None
    low: bool  # the credit is under the threshold now
    events: list[EventDelivery]  # the latest alerts owed to its URLs, newest first


def checked_threshold(amount: int | None) -> int | None:
    """A threshold as a form gave it: None or 0 is no alert; InvalidInput when out of range."""
    if amount is None or amount == 0:
        return None
    if not 0 < amount <= MAX_THRESHOLD:
        raise InvalidInput(
            f"a threshold is a whole number of rial from 1 to {MAX_THRESHOLD}",
            subject=Subject.THRESHOLD,
            high=MAX_THRESHOLD,
        )
    return amount


def _operator(actor: Actor) -> None:
    if actor.user.role is not Role.OPERATOR:
        raise NotAllowed(f"user {actor.user.id} is not an operator")


class CreditAlerts:
    def __init__(
        self,
        store: AlertStore,
        accounts: AccountStore,
        identity: IdentityStore,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.identity = identity  # the audit log, for an operator's change
        self.clock = clock

    # reading and setting ---------------------------------------------------------------

    async def view(self, user: User) -> AlertView:
        """The alert of the user's own account."""
        return await self._view(account_of(user))

    async def view_for(self, actor: Actor, account_id: int) -> AlertView:
        _operator(actor)
        return await self._view(account_id)

    async def _view(self, account_id: int) -> AlertView:
        account = await self.accounts.get_account(account_id)
        alert = await self.store.threshold(account_id)
        events = await self.store.events(account_id, limit=EVENTS_SHOWN)
        return AlertView(account, alert, below(account, alert), events)

    async def set_own(self, user: User, amount: int | None) -> None:
        """A user sets their account's threshold (None or 0: none); not on a disabled account."""
        account_id = account_of(user)
        if not (await self.accounts.get_account(account_id)).active:
            raise AccountDisabled(f"account {account_id} is disabled: it can be read, not changed")
        await self.store.set_threshold(account_id, checked_threshold(amount), self.clock())
        log.info("user %d set the low-credit threshold of account %d", user.id, account_id)
        await self.check()

    async def set_for(self, actor: Actor, account_id: int, amount: int | None) -> None:
        """The operator sets an account's threshold; in the audit log."""
        _operator(actor)
        threshold = checked_threshold(amount)
        await self.store.set_threshold(account_id, threshold, self.clock())
        await self.identity.add_audit(
            actor_id=actor.user.id,
            actor=actor.user.email,
            action="account.credit_alert",
            target=f"account:{account_id}",
            detail=str(threshold) if threshold is not None else "off",
            ip=actor.ip,
            now=self.clock(),
        )
        log.info("operator %d: account.credit_alert account:%d", actor.user.id, account_id)
        await self.check()

    # finding crossings -----------------------------------------------------------------

    async def check(self) -> int:
        """One look for crossings; how many alerts went out."""
        await self.store.rearm()
        sent = 0
        for low in await self.store.low_accounts(CHECK_BATCH):
            now = self.clock()
            body = orjson.dumps(
                {
                    "Event": LOW_CREDIT,
                    "AccountID": low.account_id,
                    "Credit": low.credit,
                    "Threshold": low.threshold,
                    "DateTime": now.isoformat(timespec="seconds"),
                }
            ).decode()
            owed = await self.store.alert(low.account_id, event=LOW_CREDIT, body=body, now=now)
            if owed is not None:
                sent += 1
                log.info(
                    "account %d is under its credit threshold: %d URLs owed", low.account_id, owed
                )
        return sent

    async def run_every(self, seconds: float = CHECK_EVERY) -> None:
        """check() every `seconds` until cancelled; a failed check is logged and tried again."""
        failing = False
        while True:
            try:
                await self.check()
                failing = False
            except Exception as exc:  # a database hiccup must not end the watch
                if not failing:
                    log_failure(log, "checking low-credit alerts failed", exc=exc)
                failing = True
            await asyncio.sleep(seconds)


class EventWorker:
    """Posts owed webhook events (the low-credit alert) to their URLs until stopped."""

    def __init__(
        self,
        outbox: AlertStore,
        poster: ReportPoster,
        clock: Callable[[], datetime],
        config: WebhookConfig | None = None,
        *,
        owns_poster: bool = False,
    ) -> None:
        self.outbox = outbox
        self.poster = poster
        self.clock = clock
        self.config = config or WebhookConfig()
        self._owns_poster = owns_poster
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(self.config.concurrency)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-events")

    async def aclose(self) -> None:
        """Stop; claims in flight are taken over after their lease (nothing is lost)."""
        await stop(self._task)
        self._task = None
        if self._owns_poster:
            await self.poster.aclose()

    async def run_once(self) -> int:
        """Claim one batch, post it, record the outcomes; how many were claimed."""
        jobs = await self.outbox.claim(self.clock(), self.config.lease, self.config.batch)
        if jobs:
            outcomes = await asyncio.gather(*(self._post(job) for job in jobs))
            await self.outbox.record(outcomes, self.clock())
        return len(jobs)

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self.run_once()
            except Exception as exc:  # a database hiccup must not end the worker
                log_failure(log, "posting webhook events failed; trying again shortly", exc=exc)
                claimed = 0
                await asyncio.sleep(1)
            if claimed < self.config.batch:
                await asyncio.sleep(self.config.idle_poll)

    async def _post(self, job: EventJob) -> WebhookOutcome:
        delivery = job.delivery
        async with self._slots:
            if not job.secret:
                return self._failed(delivery, None, POST_FAILED, "the account has no secret")
            if (problem := url_problem(delivery.url)) is not None:
                return self._failed(delivery, None, POST_REFUSED, problem)
            timestamp = int(self.clock().timestamp())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "QuickOTP-Webhooks/1",
                EVENT_HEADER: delivery.event,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(job.secret, timestamp, job.body),
                DELIVERY_HEADER: f"event-{delivery.id}",
            }
            posted = await self.poster.post(
                delivery.url, job.body, headers, wait=self.config.timeout
            )
        return outcome_of(posted, delivery.id, partial(self._failed, delivery))

    def _failed(
        self, delivery: EventDelivery, code: int | None, summary: str, detail: str
    ) -> WebhookOutcome:
        what = f"webhook event {delivery.id} ({delivery.event})"
        return failed_attempt(what, delivery.id, delivery.attempts, self.clock(), self.config)(
            code, summary, detail
        )
