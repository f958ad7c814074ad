"""
Delivery reports pushed to clients: the relay URLs an account registers (Amoot's
RelayMessageDeliveryCreate / List / SetActive), and `WebhookWorker`, which POSTs each owed
report, signed, with retries and back-off, from the durable `webhook_deliveries` outbox.

The worker is its own task beside the dispatcher: a slow or dead client URL never holds up
a delivery, and what the worker holds in memory is at most `held` claimed deliveries, of
which a slow URL or account keeps a bounded share (`held_per_url`, `held_per_account`). The
wire format and the signature are described in docs/delivery.md ("Delivery reports to your
URL"), and how it keeps up with a report for every message in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from prometheus_client import Counter, Gauge

from quickotp.domain import models
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    InvalidInput,
    RelayNotFound,
    Subject,
    WebhookUrlEmpty,
    WebhookUrlInvalid,
)
from quickotp.domain.models import (
    POST_FAILED,
    POST_NO_ANSWER,
    POST_REFUSED,
    RelayUrl,
    WebhookBacklog,
    WebhookDelivery,
    WebhookJob,
    WebhookOutcome,
)
from quickotp.domain.urls import url_problem
from quickotp.ports.webhooks import RelayStore, ReportPoster, UrlCheck, WebhookOutbox
from quickotp.support.background import read_every, stop
from quickotp.support.faults import log_failure

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-QuickOTP-Signature"
TIMESTAMP_HEADER = "X-QuickOTP-Timestamp"
DELIVERY_HEADER = "X-QuickOTP-Delivery"

BACKLOG_CAP = 10_000  # the backlog is counted up to this many deliveries
BACKLOG = Gauge(
    "quickotp_webhook_backlog",
    f"Delivery reports owed to clients' URLs (pending or being posted), counted up to"
    f" {BACKLOG_CAP}; every dispatching process reads the same outbox",
)
OLDEST_DUE = Gauge(
    "quickotp_webhook_oldest_due_seconds",
    "How long the oldest due delivery report has waited to be posted (0: none waits)",
)
POSTS = Counter(
    "quickotp_webhook_posts",
    "Delivery reports posted to clients' URLs, by outcome (delivered, retry, failed)",
    ["outcome"],
)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over `{timestamp}.{body}`, hex."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes, delivery: str) -> dict[str, str]:
    """The headers of a POST to a report URL: JSON, signed with the account's secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "QuickOTP-Webhooks/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery,
    }


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: int = 300
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (constant time)."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def http_summary(status: int) -> str:
    """An answer that is not 2xx, as its class: HTTP 3xx, 4xx or 5xx."""
    return f"HTTP {status // 100}xx"


@dataclass(frozen=True)
class WebhookConfig:
    concurrency: int = 64  # POSTs in flight at once, all URLs together
    per_url: int = 16  # POSTs in flight to one URL at once
    per_account: int = 16  # POSTs in flight to one account's URLs at once, all together
    batch: int = 100  # deliveries claimed at once
    held: int = 300  # claimed deliveries in memory (posting or waiting for their turn)
    # A URL's (an account's) share of `held`: a delivery claimed past it waits at most
    # `crowded_wait` seconds for its turn, then is handed back, uncounted, due again after
    # `crowded_pause`, and while that pause lasts the URL (account) gets no more than its
    # share: no account's slow URLs fill `held`, and a fast URL's turns come long before.
    held_per_url: int = 32
    held_per_account: int = 64
    crowded_wait: float = 2.0
    crowded_pause: timedelta = timedelta(seconds=10)
    lease: timedelta = timedelta(seconds=60)
    timeout: float = 10.0  # seconds per POST
    max_attempts: int = 10  # then the delivery is given up (about 1.5 hours of tries)
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)
    idle_poll: float = 0.25  # seconds between looks at the outbox when it is empty
    record_every: float = 0.05  # seconds outcomes gather for one write (less: a batch's worth)
    backlog_every: float = 15.0  # seconds between readings of the backlog (for /metrics)


def retry_at(attempts: int, now: datetime, config: WebhookConfig, jitter: float) -> datetime | None:
    """When to try again after failed attempt number `attempts`; None: give up."""
    if attempts >= config.max_attempts:
        return None
    delay: timedelta = min(config.first_delay * 2 ** (attempts - 1), config.max_delay)
    return now + delay * jitter


class _Limit:
    """
    At most `size` holders at once per key (a URL, an account); a key's semaphore lives
    while used.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots: dict[str | int, asyncio.Semaphore] = {}
        self._users: dict[str | int, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str | int) -> AsyncIterator[None]:
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self.size)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with slots:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._slots[key]


class WebhookWorker:
    """
    POSTs owed delivery reports to their URLs until stopped. `poster` decides where a
    connection may go: the runtime's posts to public addresses only (adapters/report_client.py).

    It keeps up with a report for every message by working as a pipeline: claims of up to
    `batch` deliveries while fewer than `held` are in memory, each POSTed as soon as its URL
    and its account have a free slot (`per_url` and `per_account` at once, `concurrency` in
    all), and the outcomes recorded in grouped writes, whatever has finished while the last
    write ran.

    No account's URLs can hold up another account's reports. A slow URL holds only its own
    slots, and a URL's deliveries posting or waiting for their turn past its share
    (`held_per_url`; `held_per_account` for an account's URLs together) wait at most
    `crowded_wait` seconds for their turn: then they are handed back unposted (their attempt
    not counted), due again after `crowded_pause`, and until then more of that URL's,
    claimed past its share, are handed back at once. So a URL that answers slowly but
    answers, with many reports owed, takes its share of `held` (and all of it for
    `crowded_wait` at most) while the next claims reach other URLs' reports; a fast URL,
    whose turns come at once, is never held back. A delivery that waited so long for a slot
    that its lease would run out before its POST could finish is handed back too, never
    posted by two workers; and once a URL has not answered, its other held deliveries are
    handed back until its first retry is due, instead of each waiting out the timeout.
    Handed back, a report waits; it is given up only after `max_attempts` POSTs of its own.
    """

    def __init__(
        self,
        outbox: WebhookOutbox,
        poster: ReportPoster,
        clock: Callable[[], datetime],
        config: WebhookConfig | None = None,
        *,
        render: Callable[[WebhookJob], bytes],
        owns_poster: bool = False,
    ) -> None:
        self.outbox = outbox
        self.render = render  # a report's body, in the wire format its URL takes
        self.poster = poster
        self.clock = clock
        self.config = config or WebhookConfig()
        self._owns_poster = owns_poster
        self._task: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._gauges: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._per_url = _Limit(self.config.per_url)
        self._per_account = _Limit(self.config.per_account)
        # Held deliveries not yet posted, by account and by URL.
        self._waiting: dict[str | int, int] = {}
        self._crowded_until: dict[str | int, datetime] = {}  # URLs and accounts in a pause
        self._past_share: set[int] = set()  # held deliveries claimed past their share
        self._silent: dict[str, datetime] = {}  # URL -> until when it is not tried again
        self._problems: dict[str, str | None] = {}  # URL -> url_problem's answer
        # Claimed, not yet recorded: the task posting it (None: handed back at once).
        self._held: dict[int, asyncio.Task[None] | None] = {}
        self._finished: list[WebhookOutcome] = []  # to record
        self._has_finished = asyncio.Event()
        self._room = asyncio.Event()  # set when a write frees room in `held`

    async def start(self) -> None:
        self._recorder = asyncio.create_task(self._record_finished(), name="webhook-records")
        self._task = asyncio.create_task(self._run(), name="webhooks")
        self._gauges = asyncio.create_task(self._watch_backlog(), name="webhook-backlog")

    async def aclose(self) -> None:
        """Stop; claims in flight are taken over after their lease (nothing is lost)."""
        await stop(self._gauges)
        await stop(self._task)
        for posting in list(self._held.values()):
            await stop(posting)
        await stop(self._recorder)
        self._task = self._gauges = self._recorder = None
        if self._finished:  # posted but not yet written: written now, or posted again later
            try:
                async with asyncio.timeout(5):
                    await self._record(self._finished)
                self._finished = []
            except Exception as exc:
                log_failure(log, "recording the last webhook outcomes failed", exc=exc)
        if self._owns_poster:
            await self.poster.aclose()

    async def run_once(self) -> int:
        """Claim one batch, post it, record the outcomes; how many were claimed."""
        now = self.clock()
        jobs = await self.outbox.claim(now, self.config.lease, self.config.batch)
        if jobs:
            until = now + self.config.lease
            outcomes = await asyncio.gather(*(self._held_turn(job, until, now) for job in jobs))
            await self._record(outcomes)
        return len(jobs)

    async def read_backlog(self) -> WebhookBacklog:
        """One reading of the outbox's backlog, into the gauges."""
        now = self.clock()
        backlog = await self.outbox.backlog(now, BACKLOG_CAP)
        BACKLOG.set(backlog.owed)
        waited = (now - backlog.oldest_due).total_seconds() if backlog.oldest_due else 0.0
        OLDEST_DUE.set(max(0.0, waited))
        return backlog

    async def _watch_backlog(self) -> None:
        """
        The backlog's gauges, in a task of their own: the posting loop waits on clients'
        URLs exactly when a backlog grows, and would read it late.
        """
        await read_every(self.read_backlog, self.config.backlog_every, "the webhook backlog", log)

    async def _run(self) -> None:
        """Claim while there is room; each claimed delivery is posted in a task of its own."""
        config = self.config
        while True:
            room = config.held - len(self._held)
            if room < min(config.batch, config.held):
                self._room.clear()
                await self._room.wait()
                continue
            try:
                now = self.clock()
                jobs = await self.outbox.claim(now, config.lease, min(config.batch, room))
            except Exception as exc:  # a database hiccup must not end the worker
                log_failure(log, "delivering webhooks failed; trying again shortly", exc=exc)
                await asyncio.sleep(1)
                continue
            until = now + config.lease
            crowded = False
            for job in jobs:
                if self._admit(job, now):
                    task = asyncio.create_task(self._post_held(job, until))
                    self._held[job.delivery.id] = task
                else:  # its URL or account holds its share: back in the outbox, due later
                    self._held[job.delivery.id] = None
                    self._finished.append(self._crowded(job, now))
                    crowded = True
            if crowded:
                self._has_finished.set()
            if len(jobs) < min(config.batch, room):
                await asyncio.sleep(config.idle_poll)

    def _admit(self, job: WebhookJob, now: datetime) -> bool:
        """
        Whether the job may wait for its turn among the held (counted in if so): not when
        its URL or account is past its share and in a pause.
        """
        past = [
            key
            for key, share in (
                (job.delivery.url, self.config.held_per_url),
                (job.delivery.account_id, self.config.held_per_account),
            )
            if self._waiting.get(key, 0) >= share
        ]
        if any(self._crowded_until.get(key, now) > now for key in past):
            return False
        for key in (job.delivery.url, job.delivery.account_id):
            self._waiting[key] = self._waiting.get(key, 0) + 1
        if past:
            self._past_share.add(job.delivery.id)
        return True

    def _pause(self, until: datetime, *keys: str | int) -> None:
        """No more than their share for `keys` (a URL, an account) until `until`."""
        if len(self._crowded_until) >= 1024:  # the pauses that have ended go
            now = self.clock()
            self._crowded_until = {k: t for k, t in self._crowded_until.items() if t > now}
        for key in keys:
            self._crowded_until[key] = until

    def _crowded(self, job: WebhookJob, now: datetime) -> WebhookOutcome:
        """A claimed delivery whose URL or account holds its share: handed back for later."""
        return _released(job, now + self.config.crowded_pause)

    async def _held_turn(self, job: WebhookJob, until: datetime, now: datetime) -> WebhookOutcome:
        """One claimed delivery of `run_once`: posted in its turn, or handed back crowded."""
        if not self._admit(job, now):
            return self._crowded(job, now)
        return await self._attempt_counted(job, until)

    async def _attempt_counted(self, job: WebhookJob, until: datetime) -> WebhookOutcome:
        """`_attempt` of an admitted job, which leaves its account's count as it ends."""
        try:
            return await self._attempt(job, until)
        finally:
            self._past_share.discard(job.delivery.id)
            for key in (job.delivery.url, job.delivery.account_id):
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]

    async def _post_held(self, job: WebhookJob, until: datetime) -> None:
        try:
            outcome = await self._attempt_counted(job, until)
        except Exception as exc:  # a fault of ours: the delivery goes back, its place frees
            log_failure(log, "a held webhook delivery failed; handing it back", exc=exc)
            outcome = _released(job, self.clock())
        self._finished.append(outcome)  # after the await: the recorder swaps the list
        self._has_finished.set()

    async def _record_finished(self) -> None:
        """
        Record what has finished in one write, while the next ones finish: what gathers in
        `record_every` seconds, or a batch's worth (a transaction for a few rows cost the
        worker more than its POSTs).
        """
        while True:
            await self._has_finished.wait()
            if len(self._finished) < self.config.batch:
                await asyncio.sleep(self.config.record_every)
            self._has_finished.clear()
            outcomes, self._finished = self._finished, []
            try:
                await self._record(outcomes)
            except Exception as exc:  # kept, and written with the next ones
                log_failure(log, "recording webhook outcomes failed; trying again", exc=exc)
                self._finished[:0] = outcomes
                self._has_finished.set()
                await asyncio.sleep(1)
                continue
            for outcome in outcomes:
                self._held.pop(outcome.delivery_id, None)
            self._room.set()

    async def _record(self, outcomes: list[WebhookOutcome]) -> None:
        await self.outbox.record(outcomes, self.clock())
        for outcome in outcomes:
            if not outcome.released:
                POSTS.labels(_kind(outcome)).inc()

    async def _attempt(self, job: WebhookJob, until: datetime) -> WebhookOutcome:
        """One claimed delivery, posted in its URL's turn (or handed back): its outcome."""
        url, account = job.delivery.url, job.delivery.account_id
        async with contextlib.AsyncExitStack() as turn:
            past_share = job.delivery.id in self._past_share
            try:
                async with asyncio.timeout(self.config.crowded_wait if past_share else None):
                    await turn.enter_async_context(self._per_account.hold(account))
                    await turn.enter_async_context(self._per_url.hold(url))
            except TimeoutError:  # its URL or account is slow: a pause for it
                now = self.clock()
                self._pause(now + self.config.crowded_pause, url, account)
                return self._crowded(job, now)
            await turn.enter_async_context(self._slots)
            now = self.clock()
            if now + timedelta(seconds=self.config.timeout * 1.5) > until:
                return _released(job, now)  # its lease could run out mid-POST: hand it back
            silent = self._silent.get(url)
            if silent is not None:
                if now < silent:
                    return _released(job, silent)
                del self._silent[url]
            try:
                outcome = await self._post(job)
            except Exception as exc:  # one report's failure is its own, never the batch's
                log.exception("a delivery report: posting failed")
                outcome = self._failed(job.delivery, None, POST_FAILED, type(exc).__name__)
            if outcome.error == POST_NO_ANSWER and outcome.retry_at is not None:
                if len(self._silent) >= 1024:  # the silences that have ended go
                    self._silent = {u: t for u, t in self._silent.items() if t > now}
                self._silent[url] = outcome.retry_at
            return outcome

    async def _post(self, job: WebhookJob) -> WebhookOutcome:
        delivery = job.delivery
        if not job.secret:
            return self._failed(delivery, None, POST_FAILED, "the account has no secret")
        body = self.render(job)
        timestamp = int(self.clock().timestamp())
        headers = signed_headers(job.secret, timestamp, body, str(delivery.id))
        # A URL stored before url_problem checked what it checks cannot be posted to:
        # that delivery fails on its own, never the batch beside it.
        if (problem := self._url_problem(delivery.url)) is not None:
            return self._failed(delivery, None, POST_REFUSED, problem)
        posted = await self.poster.post(delivery.url, body, headers, wait=self.config.timeout)
        return outcome_of(posted, delivery.id, partial(self._failed, delivery))

    def _url_problem(self, url: str) -> str | None:
        """url_problem, remembered for the URLs posted to lately (it reads every character)."""
        if url not in self._problems:
            if len(self._problems) >= 1024:
                self._problems.clear()
            self._problems[url] = url_problem(url)
        return self._problems[url]

    def _failed(
        self, delivery: WebhookDelivery, code: int | None, summary: str, detail: str
    ) -> WebhookOutcome:
        """A failed attempt: `summary` is recorded (the owner sees it), `detail` logged."""
        what = f"webhook {delivery.id} (message {delivery.message_id})"
        return failed_attempt(what, delivery.id, delivery.attempts, self.clock(), self.config)(
            code, summary, detail
        )


def outcome_of(
    posted: models.Posted,
    delivery_id: int,
    failed: Callable[[int | None, str, str], WebhookOutcome],
) -> WebhookOutcome:
    """
    What one post came to: delivered on a 2xx; otherwise `failed(code, summary, detail)`,
    with the HTTP status when there was an answer.
    """
    if posted.status is None:
        return failed(None, posted.failure or POST_FAILED, posted.detail)
    if 200 <= posted.status < 300:
        return WebhookOutcome(delivery_id, True, posted.status, None, None)
    return failed(posted.status, http_summary(posted.status), f"HTTP {posted.status}")


def failed_attempt(
    what: str, delivery_id: int, attempts: int, now: datetime, config: WebhookConfig
) -> Callable[[int | None, str, str], WebhookOutcome]:
    """
    The outcome of attempt `attempts` of `what` failing, given (code, summary, detail):
    `summary` is recorded, `detail` logged; due again after a jittered back-off, unless
    that was the last attempt.
    """

    def failed(code: int | None, summary: str, detail: str) -> WebhookOutcome:
        jitter = random.uniform(0.8, 1.2)  # noqa: S311 - spreads retries, not a secret
        again = retry_at(attempts, now, config, jitter)
        log.info(
            "%s attempt %d failed: %s%s", what, attempts, detail, "" if again else "; giving up"
        )
        return WebhookOutcome(delivery_id, False, code, summary, again)

    return failed


def _released(job: WebhookJob, at: datetime) -> WebhookOutcome:
    """A claimed delivery handed back unposted, due again `at`; its attempt is not counted."""
    return WebhookOutcome(job.delivery.id, False, None, None, at, released=True)


def _kind(outcome: WebhookOutcome) -> str:
    return "delivered" if outcome.delivered else "retry" if outcome.retry_at else "failed"


class Relays:
    """The RelayMessageDelivery use cases: an account's delivery-report URLs."""

    def __init__(
        self,
        store: RelayStore,
        clock: Callable[[], datetime],
        new_secret: Callable[[], str],
        targets: UrlCheck,
    ) -> None:
        self.store = store
        self.clock = clock
        self.new_secret = new_secret
        self.targets = targets

    async def create(self, account_id: int, url: str) -> RelayUrl:
        url = url.strip()
        if not url:
            raise WebhookUrlEmpty("URLAddress is empty")
        if (problem := await self.targets.problem(url)) is not None:
            raise WebhookUrlInvalid(
                f"URLAddress cannot take delivery reports: {problem}",
                subject=Subject.REPORT_URL_REFUSED,
            )
        relay = await self.store.add_relay(account_id, url, self.new_secret(), self.clock())
        log.info("account %d added relay URL %d", account_id, relay.id)
        return relay

    async def list(self, account_id: int) -> list[RelayUrl]:
        return await self.store.list_relays(account_id)

    async def set_active(self, account_id: int, relay_id: str, active: str) -> RelayUrl:
        """`relay_id` and `active` as the caller wrote them (RelayMessageDeliveryID, Active)."""
        ident = _relay_id(relay_id)
        flag = active.strip().lower()
        if flag not in {"true", "false", "1", "0"}:
            raise InvalidInput("Active is true or false", subject=Subject.ACTIVE_FLAG)
        return await self.store.set_relay_active(account_id, ident, flag in {"true", "1"})

    async def delete(self, account_id: int, relay_id: str) -> None:
        """Forget one of the account's URLs, which frees its place under the cap."""
        await self.store.delete_relay(account_id, _relay_id(relay_id))
        log.info("account %d deleted relay URL %s", account_id, relay_id.strip())


def _relay_id(raw: str) -> int:
    """A relay URL id as the caller wrote it (Persian digits too); RelayNotFound if none."""
    ident = ascii_digits(raw).strip()
    if not ident.isascii() or not ident.isdigit() or len(ident) > 18:
        raise RelayNotFound(f"RelayMessageDeliveryID {raw[:20]!r} is not an id")
    return int(ident)
