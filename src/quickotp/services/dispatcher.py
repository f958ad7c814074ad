"""
The dispatcher: claims accepted messages from the outbox, hands them to a transport, and
records what happened. `next_step` decides (pure); `Dispatcher` acts.

Every claim is committed before anything is sent, and every claim carries a lease: a
dispatcher that dies mid-send leaves messages that another (or the restarted) dispatcher
takes over once the lease runs out, marked as possible duplicates.

A message accepted in this process skips the claim while the dispatcher has room: the
gateway reserves a slot (`reserve`), stores the message already leased to it, and hands it
over in memory once committed (`hand`). Same lease, same guarantees, one transaction per
message fewer (a claim is about a quarter of the dispatcher's database work).

Messages go out in the order they were accepted. Once an accept finds no room (its message
is stored queued), later accepts are stored queued too, until a claim has taken everything
that waited: a slot freed in memory would otherwise go to the newest message while older
ones wait in the table, some for seconds under load. Claims wait for a quarter of `batch`
to be free, not for one slot, so a backlog is taken in a few transactions rather than one
per message.

A scheduled message is stored queued with its next attempt at its send time, so no claim
takes it before then; an idle dispatcher sleeps until the earliest such time (or
`idle_poll`, whichever comes first), so it goes out within moments of its time. A message
with a backup line is sent on it at once when its own line cannot send: every route for
the line down or cooling down (TransportUnavailable), or the upstream refused the line
(LineRefused).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from prometheus_client import Counter, Histogram

from quickotp.domain import otp
from quickotp.domain.delivery import DeliveryReport, OutboundSms, SendReceipt
from quickotp.domain.errors import (
    DeliveryError,
    DeliveryUncertain,
    LineRefused,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.models import (
    Claimed,
    FailureKind,
    GiveUp,
    Message,
    MessageStatus,
    Retry,
    Submitted,
)
from quickotp.ports.store import OutboxStore
from quickotp.ports.transport import Transport
from quickotp.services.batching import GroupCommitter
from quickotp.support import logs
from quickotp.support.background import stop
from quickotp.support.faults import log_failure
from quickotp.support.tracing import OFF, Spans

log = logging.getLogger(__name__)

RECORD_LINGER = 0.005  # seconds between commits of outcomes and reports (see Dispatcher)
_SHORTEST_SLEEP = 0.005  # seconds: waking for a due message never spins

SUBMITTED = Counter("quickotp_messages_submitted", "Messages an upstream took, by route", ["route"])
SUBMIT_SECONDS = Histogram(
    "quickotp_submit_seconds",
    "From a message's accept to the upstream's answer that took it (queue and send), by route",
    ["route"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
RETRIES = Counter("quickotp_send_retries", "Send attempts that failed and are tried again")
GIVEN_UP = Counter(
    "quickotp_messages_given_up",
    "Messages no upstream took, by their final status (failed, expired)",
    ["status"],
)
REPORTS = Counter(
    "quickotp_delivery_reports",
    "Delivery reports recorded, by route and what they say (delivered, undelivered, ...)",
    ["route", "state"],
)

Outcome = Submitted | Retry | GiveUp


@dataclass(frozen=True)
class DispatchConfig:
    concurrency: int = 10  # sends in flight at once: the transport's window
    batch: int = 100  # most messages claimed and held at once
    lease: timedelta = timedelta(seconds=30)
    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=1)
    idle_poll: timedelta = timedelta(seconds=1)  # look for due retries this often when idle
    report_keep: timedelta = timedelta(days=1)
    reconcile_every: timedelta = timedelta(seconds=10)  # match reports parked in a race
    record_flights: int = 1  # record transactions under way at once (1: one writer, SQLite)


def failure_kind(error: DeliveryError) -> FailureKind:
    """
    The kind of a failed attempt, from its error's class: the code stored beside its words
    (messages.failure_kind), which the panel reads. The words are the route's own and may
    say anything.
    """
    if isinstance(error, TransportRejected):  # LineRefused among them
        return FailureKind.REFUSED
    if isinstance(error, DeliveryUncertain):
        return FailureKind.UNCERTAIN
    if isinstance(error, TransportUnavailable):
        return FailureKind.UNAVAILABLE
    return FailureKind.OTHER


def next_step(
    claimed: Claimed,
    error: DeliveryError,
    *,
    now: datetime,
    config: DispatchConfig,
    jitter: float = 1.0,
) -> Retry | GiveUp:
    """What to do after an attempt failed with `error`. Never plans a send past expiry."""
    message = claimed.message
    reason = f"{type(error).__name__}: {error}"
    route = error.route
    kind = failure_kind(error)
    if isinstance(error, TransportRejected):
        return GiveUp(message.id, MessageStatus.FAILED, reason, route, kind)
    if message.attempts >= config.max_attempts:
        reason = f"gave up after {message.attempts} attempts: {reason}"
        return GiveUp(message.id, MessageStatus.FAILED, reason, route, kind)
    at = now + config.first_delay * (2 ** (message.attempts - 1)) * jitter
    if at >= message.expires_at:
        reason = f"code expired while retrying: {reason}"
        return GiveUp(message.id, MessageStatus.EXPIRED, reason, route, kind)
    uncertain = isinstance(error, DeliveryUncertain)
    return Retry(message.id, at, reason, possible_duplicate=uncertain, route=route, kind=kind)


class Dispatcher:
    """Moves messages from the outbox to one transport until stopped."""

    def __init__(
        self,
        store: OutboxStore,
        transport: Transport,
        clock: Callable[[], datetime],
        config: DispatchConfig | None = None,
        *,
        spans: Spans = OFF,
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.config = config or DispatchConfig()
        self.spans = spans  # OpenTelemetry: a span per send and per delivery report, when on
        self._wake = asyncio.Event()
        self._held = 0  # claimed (or reserved) and not yet recorded
        self._reserved = 0  # slots reserved by accepts not yet handed over or given back
        self._settled = asyncio.Event()  # set while no reservation is open
        self._settled.set()
        self._room = asyncio.Event()  # set when `_held` drops
        self._backlog = False  # messages may wait queued in the table: accepts queue behind them
        self._claim_at_least = max(1, self.config.batch // 4)
        # Claimed messages wait here for one of `concurrency` senders (the transport's
        # window): a fixed set of tasks, not a task per message waiting on a semaphore.
        self._claimed: asyncio.Queue[Claimed] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        # Outcomes and delivery reports share one group commit: one transaction for both,
        # outcomes first, so a report finds the submit recorded just before it.
        # No caller waits on these commits, so they rest RECORD_LINGER between flushes and
        # each carries more: a commit every 6 OTPs otherwise, the accepts' and these in
        # turn, 46 WAL pages each (perf stat of `quickotp serve` on SQLite, wrk -c24).
        # A message holds its place in `batch` until its outcome is committed, so the time a
        # record takes bounds what a batch delivers. On PostgreSQL up to `record_flights`
        # records run at once, each on its own connection, while the claims wait for room
        # (`_short`): outcomes then wait for a free flight rather than for the commit before
        # them. Otherwise one at a time, each carrying all that came meanwhile. The claim
        # window stays `batch` either way.
        self._records: GroupCommitter[Outcome | DeliveryReport, None] = GroupCommitter(
            self._record,
            linger=RECORD_LINGER,
            flights=self.config.record_flights,
            urgent=self._short,
        )
        # Records in flight side by side: a report whose submit's outcome is not committed
        # yet waits for it, so that it finds its message rather than being parked beside it
        # (by (transport, provider message id); filled only with more than one flight).
        self._unrecorded: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the dispatcher that something was accepted."""
        self._wake.set()

    def reserve(self) -> datetime | None:
        """
        A slot for a message about to be accepted, and the lease it is stored under; None
        when the dispatcher is full or stopped (the message is stored queued, and claimed).
        Every reservation ends in `hand` or `unreserve`.
        """
        if self._task is None or self._backlog:
            return None
        if self._held >= self.config.batch:
            self._backlog = True
            return None
        self._held += 1
        self._reserved += 1
        self._settled.clear()
        return self.clock() + self.config.lease

    def hand(self, claimed: Claimed) -> None:
        """A reserved slot's message, stored under its lease: sent like a claimed one."""
        self._end_reservation()
        self._claimed.put_nowait(claimed)

    def unreserve(self) -> None:
        """A reserved slot whose message was not stored."""
        self._end_reservation()
        self._release()

    def _end_reservation(self) -> None:
        self._reserved -= 1
        if not self._reserved:
            self._settled.set()

    async def start(self) -> None:
        self._records.start()
        # A future per report: no task each.
        sink = self._records.add if self.config.record_flights == 1 else self._report
        await self.transport.start(sink)
        self._senders = [
            asyncio.create_task(self._sender(), name=f"sender-{n}")
            for n in range(self.config.concurrency)
        ]
        self._task = asyncio.create_task(self._run(), name="dispatcher")
        self._reconciler = asyncio.create_task(self._reconcile(), name="reconcile-reports")

    async def aclose(self) -> None:
        """Stop claiming, send what was claimed, record it, close the transport."""
        await stop(self._reconciler)
        await stop(self._task)
        self._task = self._reconciler = None  # no more reservations
        with contextlib.suppress(TimeoutError):  # their leases run out by then anyway
            async with asyncio.timeout(self.config.lease.total_seconds()):
                await self._settled.wait()
        if self._senders:
            await self._claimed.join()
            for sender in self._senders:
                sender.cancel()
            await asyncio.gather(*self._senders, return_exceptions=True)
            self._senders = []
        await self.transport.aclose()
        await self._records.aclose()

    async def _run(self) -> None:
        while True:
            # Claim ahead of the send window, so a fast transport never waits on a claim;
            # but not more than one batch ahead, so leases do not run out while queued here.
            room = self.config.batch - self._held
            if room < self._claim_at_least:
                self._records.hurry()  # `_short` holds now: outcomes may go side by side
                self._room.clear()
                await self._room.wait()
                continue
            self._wake.clear()  # before claiming, so an accept during the claim is not missed
            try:
                claimed = await self.store.claim(self.clock(), self.config.lease, room)
            except Exception as exc:  # a database hiccup must not kill the loop
                log_failure(log, "claiming messages failed; retrying shortly", exc=exc)
                await asyncio.sleep(1)
                continue
            if len(claimed) < room:  # nothing due is left waiting in the table
                self._backlog = False
            self._held += len(claimed)
            for item in claimed:
                self._claimed.put_nowait(item)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(await self._idle_seconds()):
                        await self._wake.wait()

    async def _idle_seconds(self) -> float:
        """How long to rest with nothing to claim: until the next message falls due."""
        rest = self.config.idle_poll.total_seconds()
        try:
            due = await self.store.next_due()
        except Exception:  # the next claim's failure says what is wrong; poll meanwhile
            log.debug("reading the next due time failed", exc_info=True)
            return rest
        if due is None:
            return rest
        return min(rest, max(_SHORTEST_SLEEP, (due - self.clock()).total_seconds()))

    async def _sender(self) -> None:
        """One slot of the window: sends claimed messages one at a time, until cancelled."""
        while True:
            claimed = await self._claimed.get()
            logs.bind_message(claimed.message.account_id, claimed.message.id)
            try:
                outcome = await self._attempt(claimed)
                # Recorded by the group committer while this slot sends the next one.
                recorded = self._records.add(outcome)
                recorded.add_done_callback(self._recorded)
                if self.config.record_flights > 1 and isinstance(outcome, Submitted):
                    self._follow(outcome.receipt, recorded)
            except Exception:  # recorded nothing: the lease runs out and the message is retried
                log.exception("sending message %d failed", claimed.message.id)
                self._release()
            finally:
                self._claimed.task_done()

    def _short(self) -> bool:
        """Whether claims wait for room: what frees it is then worth a flight of its own."""
        return self.config.batch - self._held < self._claim_at_least

    def _follow(self, receipt: SendReceipt, recorded: asyncio.Future[None]) -> None:
        """Keep a submit's record in view until committed, for its report (`_report`)."""
        if not receipt.provider_message_id:
            return
        key = (receipt.transport, receipt.provider_message_id)
        self._unrecorded[key] = recorded
        recorded.add_done_callback(lambda _: self._unrecorded.pop(key, None))

    def _report(self, report: DeliveryReport) -> asyncio.Future[None]:
        """
        A delivery report to record, after its submit's outcome when that is still on its
        way: in a record beside it, the report would miss its message and be parked.
        """
        ahead = self._unrecorded.get((report.transport, report.provider_message_id))
        if ahead is None:
            return self._records.add(report)
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def add(_: asyncio.Future[None]) -> None:
            self._records.add(report).add_done_callback(lambda done: _copy(done, recorded))

        ahead.add_done_callback(add)
        return recorded

    def _recorded(self, done: asyncio.Future[None]) -> None:
        if not done.cancelled() and (failure := done.exception()) is not None:
            # Recorded nothing: the lease runs out and the message is retried.
            log_failure(log, "recording an outcome failed", exc=failure)
        self._release()

    def _release(self) -> None:
        self._held -= 1
        self._room.set()

    async def _attempt(self, claimed: Claimed) -> Submitted | Retry | GiveUp:
        message = claimed.message
        now = self.clock()
        if message.expires_at <= now:
            log.warning("message %d expired before it could be sent", message.id)
            GIVEN_UP.labels(MessageStatus.EXPIRED).inc()
            ended = "its validity ended before sending"
            return GiveUp(message.id, MessageStatus.EXPIRED, ended, kind=FailureKind.EXPIRED)
        sms = OutboundSms(
            message_id=message.id,
            mobile=message.mobile,
            sender=message.sender,
            text=message.text,
            parts=message.parts,
            expires_at=message.expires_at,
            attempt=message.attempts,
            account_id=message.account_id,
            code=claimed.code,
        )
        began = time.time_ns() if self.spans.on else 0
        try:
            receipt, backup = await self._send(sms, message.backup_sender)
        except DeliveryError as exc:
            jitter = random.uniform(0.8, 1.2)  # noqa: S311 - spreads retries, not a secret
            step = next_step(claimed, exc, now=self.clock(), config=self.config, jitter=jitter)
            log.warning("message %d attempt %d: %s", message.id, message.attempts, step)
            if isinstance(step, Retry):
                RETRIES.inc()
            else:
                GIVEN_UP.labels(step.status).inc()
            if began:
                self._dispatched(began, message, type(step).__name__.lower(), "")
            return step
        if began:
            self._dispatched(began, message, "submitted", receipt.transport)
        masked = otp.mask(message.text, claimed.code) if claimed.code else message.text
        # Stamped now, not when the batch of outcomes is written a few milliseconds later.
        at = self.clock()
        SUBMITTED.labels(receipt.transport).inc()
        # From when it was due: a scheduled message waits for its send time, not for a route.
        due = message.not_before or message.created_at
        SUBMIT_SECONDS.labels(receipt.transport).observe((at - due).total_seconds())
        return Submitted(message.id, receipt, masked, at, sender=backup)

    async def _send(self, sms: OutboundSms, backup: str | None) -> tuple[SendReceipt, str | None]:
        """
        The receipt, and the backup line when the message went out on it: tried at once
        when the message's own line cannot send (module docstring); never after an answer
        that may mean it was sent (DeliveryUncertain).
        """
        try:
            return await self.transport.send(sms), None
        except (TransportUnavailable, LineRefused) as exc:
            if backup is None or backup == sms.sender or isinstance(exc, DeliveryUncertain):
                raise
            log.info("message %d: its line cannot send (%s); its backup line", sms.message_id, exc)
        return await self.transport.send(replace(sms, sender=backup)), backup

    def _dispatched(self, began: int, message: Message, outcome: str, transport: str) -> None:
        self.spans.record(
            "quickotp.dispatch",
            began,
            {
                "quickotp.message_id": message.id,
                "quickotp.account_id": message.account_id,
                "quickotp.attempt": message.attempts,
                "quickotp.outcome": outcome,
                "quickotp.transport": transport,
            },
        )

    async def _record(self, items: Sequence[Outcome | DeliveryReport]) -> list[None]:
        outcomes = [item for item in items if not isinstance(item, DeliveryReport)]
        reports = [item for item in items if isinstance(item, DeliveryReport)]
        began = time.time_ns() if self.spans.on and reports else 0
        applied = await self.store.record(outcomes, reports, now=self.clock())
        for report in reports:
            REPORTS.labels(report.transport, report.state).inc()
        if began:
            for message_id, report in applied:
                self.spans.record(
                    "quickotp.report",
                    began,
                    {
                        "quickotp.message_id": message_id,
                        "quickotp.state": report.state.value,
                        "quickotp.transport": report.transport,
                    },
                )
        if any(isinstance(o, Retry) for o in outcomes):
            self._wake.set()
        return [None] * len(items)

    async def _reconcile(self) -> None:
        """
        Every `reconcile_every`, the store's sweep of parked reports. A task of its own: in
        the claim loop, a sweep that waits a few hundred milliseconds for SQLite's writer
        under load would hold back every claim, and the p99 of accept → submit_sm_resp with
        it (`bench/e2e_smpp.py` shows such stalls as its longest pause in submits).
        """
        while True:
            await asyncio.sleep(self.config.reconcile_every.total_seconds())
            try:
                matched = await self.store.reconcile_reports(self.clock(), self.config.report_keep)
            except Exception as exc:
                log_failure(log, "reconciling delivery reports failed", exc=exc)
                continue
            if matched:
                log.info("matched %d delivery report(s) that overtook their submit", matched)


def _copy(source: asyncio.Future[None], target: asyncio.Future[None]) -> None:
    """`source`'s end, given to `target` (unless it has ended already)."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (failure := source.exception()) is not None:
        target.set_exception(failure)
    else:
        target.set_result(None)
