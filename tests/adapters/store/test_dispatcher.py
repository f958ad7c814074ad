"""The dispatcher against a real store and an in-test transport that fails on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from quickotp.bootstrap import Runtime
from quickotp.domain.delivery import (
    DeliveryReport,
    DeliveryState,
    OutboundSms,
    ReportSink,
    SendReceipt,
)
from quickotp.domain.errors import (
    CreditNotEnough,
    DeliveryError,
    LineRefused,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.models import Claimed, FailureKind, GiveUp, MessageStatus, Retry, Submitted
from quickotp.ports.store import OutboxStore
from quickotp.services.dispatcher import DispatchConfig, Dispatcher
from quickotp.services.gateway import Gateway
from tests.adapters.store.test_outbox import new_message
from tests.clock import WallClock
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio


class ScriptedTransport:
    """Fails each message with the errors scripted for it, then takes it and reports it."""

    name = "scripted"

    def __init__(self, failures: list[DeliveryError] | None = None, report_first: bool = False):
        self.failures = list(failures or [])
        self.report_first = report_first
        self.sent: list[OutboundSms] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.reports: ReportSink | None = None
        self.gate: asyncio.Semaphore | None = None  # when set, each send waits for a permit

    async def start(self, reports: ReportSink) -> None:
        self.reports = reports

    async def send(self, sms: OutboundSms) -> SendReceipt:
        if self.gate is not None:
            await self.gate.acquire()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append(sms)
            receipt = SendReceipt(self.name, f"P{sms.message_id:08d}")
            if self.report_first and self.reports is not None:
                await self.reports(
                    DeliveryReport(
                        self.name,
                        receipt.provider_message_id,
                        DeliveryState.DELIVERED,
                        datetime.now(UTC),
                    )
                )
            return receipt
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None


async def send_otps(
    runtime: Runtime, seeded: Seeded, count: int, gateway: Gateway | None = None
) -> list[int]:
    """`count` OTPs accepted by `gateway` (the runtime's unless given)."""
    gateway = gateway or runtime.gateway
    caller = await gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    sent = [
        await gateway.send_quick_otp(caller, mobile=f"0912000{i:04d}", code_length=6)
        for i in range(count)
    ]
    return [s.message_id for s in sent]


async def until(predicate: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def statuses(runtime: Runtime, seeded: Seeded, ids: list[int]) -> list[MessageStatus]:
    found = await runtime.store.get_messages(seeded.account_id, ids)
    return [found[i].status for i in ids]


def dispatcher(
    runtime: Runtime,
    transport: ScriptedTransport,
    store: OutboxStore | None = None,
    **config: object,
) -> Dispatcher:
    """A dispatcher on `store` (the runtime's unless given)."""
    settings = DispatchConfig(first_delay=timedelta(milliseconds=50), **config)  # type: ignore[arg-type]
    return Dispatcher(store or runtime.store, transport, lambda: datetime.now(UTC), settings)


async def test_every_message_is_sent_once_within_the_window(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Accepted messages are each submitted once, never more than `concurrency` at a time."""
    ids = await send_otps(runtime, seeded, 30)
    transport = ScriptedTransport()
    worker = dispatcher(runtime, transport, concurrency=4)

    await worker.start()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
    await worker.aclose()

    assert sorted(s.message_id for s in transport.sent) == ids
    assert transport.most_in_flight <= 4


async def test_transient_failures_are_retried(runtime: Runtime, seeded: Seeded) -> None:
    """A transport that is down for a while still delivers everything, later."""
    ids = await send_otps(runtime, seeded, 3)
    transport = ScriptedTransport([TransportUnavailable("bind lost")] * 4)
    clock = WallClock()
    worker = Dispatcher(
        runtime.store, transport, clock, DispatchConfig(first_delay=timedelta(milliseconds=50))
    )

    async def sent_once_retries_are_due() -> bool:
        if not transport.in_flight:  # no lease in use runs out meanwhile
            clock.advance(timedelta(seconds=0.5))  # past any back-off planned so far
            worker.wake()  # look for what is due now, not at the next idle poll
        return await _all(runtime, seeded, ids, MessageStatus.SENT)

    await worker.start()
    await until(sent_once_retries_are_due)
    await worker.aclose()

    assert sorted(s.message_id for s in transport.sent) == ids


async def test_a_rejected_message_fails_and_is_refunded(runtime: Runtime, seeded: Seeded) -> None:
    """A permanent refusal ends the message FAILED and gives its charge back."""
    [message_id] = await send_otps(runtime, seeded, 1)
    worker = dispatcher(runtime, ScriptedTransport([TransportRejected("barred")]))

    await worker.start()
    await until(lambda: _all(runtime, seeded, [message_id], MessageStatus.FAILED))
    await worker.aclose()

    assert (await runtime.store.get_account(seeded.account_id)).credit == 1_000_000


async def test_a_stale_code_is_never_sent(runtime: Runtime, seeded: Seeded) -> None:
    """A message whose code expired before dispatch is marked expired, not sent."""
    [message_id] = await send_otps(runtime, seeded, 1)
    transport = ScriptedTransport()
    later = datetime.now(UTC) + timedelta(minutes=3)
    worker = Dispatcher(runtime.store, transport, lambda: later, DispatchConfig())

    await worker.start()
    await until(lambda: _all(runtime, seeded, [message_id], MessageStatus.EXPIRED))
    await worker.aclose()

    assert transport.sent == []
    found = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert found.failure_kind is FailureKind.EXPIRED


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        # Words that name no class: the kind comes from the error, not from its text.
        (TransportRejected("the SMSC said no"), FailureKind.REFUSED),
        (LineRefused("TransportUnavailable: an SMSC's odd text"), FailureKind.REFUSED),
    ],
)
async def test_a_failed_sends_kind_is_stored(
    runtime: Runtime, seeded: Seeded, failure: DeliveryError, kind: FailureKind
) -> None:
    """A message given up records its failure's kind as a code beside the route's words."""
    [message_id] = await send_otps(runtime, seeded, 1)
    worker = dispatcher(runtime, ScriptedTransport([failure]))

    await worker.start()
    await until(lambda: _all(runtime, seeded, [message_id], MessageStatus.FAILED))
    await worker.aclose()

    found = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert found.failure_kind is kind
    assert found.error == f"{type(failure).__name__}: {failure}"  # the words, kept


async def test_a_retried_sends_kind_is_stored(runtime: Runtime, seeded: Seeded) -> None:
    """A message waiting for its next attempt holds the kind of the attempt that failed."""
    [message_id] = await send_otps(runtime, seeded, 1)
    transport = ScriptedTransport([TransportUnavailable("bind lost")])
    config = DispatchConfig(first_delay=timedelta(seconds=30))  # not due again in the test
    worker = Dispatcher(runtime.store, transport, lambda: datetime.now(UTC), config)

    async def retried() -> bool:
        found = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
        return (found.status, found.attempts) == (MessageStatus.QUEUED, 1)  # tried, queued again

    await worker.start()
    await until(retried)
    await worker.aclose()

    found = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert found.failure_kind is FailureKind.UNAVAILABLE


async def test_reports_that_overtake_the_submit_land(runtime: Runtime, seeded: Seeded) -> None:
    """Receipts sent before `send` returns still mark their messages delivered."""
    ids = await send_otps(runtime, seeded, 5)
    worker = dispatcher(runtime, ScriptedTransport(report_first=True))

    await worker.start()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.DELIVERED))
    await worker.aclose()


async def test_a_submit_is_stamped_when_the_upstream_answered(
    runtime: Runtime, seeded: Seeded
) -> None:
    """submitted_at is the clock when `send` returned, not when its batch was written."""
    [message_id] = await send_otps(runtime, seeded, 1)
    moment = [datetime.now(UTC)]
    answered = moment[0] + timedelta(milliseconds=7)
    written = answered + timedelta(seconds=2)

    class AnswerThenTimePasses(ScriptedTransport):
        async def send(self, sms: OutboundSms) -> SendReceipt:
            receipt = await super().send(sms)
            moment[0] = answered
            # Runs once this step has built and queued the outcome, before it is written.
            asyncio.get_running_loop().call_soon(moment.__setitem__, 0, written)
            return receipt

    config = DispatchConfig(first_delay=timedelta(milliseconds=50))
    worker = Dispatcher(runtime.store, AnswerThenTimePasses(), lambda: moment[0], config)

    await worker.start()
    await until(lambda: _all(runtime, seeded, [message_id], MessageStatus.SENT))
    await worker.aclose()

    [stored] = (await runtime.store.get_messages(seeded.account_id, [message_id])).values()
    assert stored.submitted_at == answered


class Outbox:
    """The store's outbox as the dispatcher works it, each call passed on to `store`."""

    def __init__(self, store: OutboxStore) -> None:
        self.store = store

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        return await self.store.claim(now, lease, limit)

    async def record(
        self,
        outcomes: Sequence[Submitted | Retry | GiveUp] = (),
        reports: Sequence[DeliveryReport] = (),
        *,
        now: datetime,
    ) -> list[tuple[int, DeliveryReport]]:
        return await self.store.record(outcomes, reports, now=now)

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int:
        return await self.store.reconcile_reports(now, keep)

    async def next_due(self) -> datetime | None:
        return await self.store.next_due()


class CountingClaims(Outbox):
    """The store's outbox, counting the messages its claims hand out."""

    def __init__(self, store: OutboxStore) -> None:
        super().__init__(store)
        self.claimed: list[int] = []
        self.open = asyncio.Event()  # cleared: claims wait
        self.open.set()

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        await self.open.wait()
        got = await self.store.claim(now, lease, limit)
        self.claimed += [c.message.id for c in got]
        return got


@dataclass
class Handover:
    """A started dispatcher, its claims counted, and a gateway that hands it what it accepts."""

    worker: Dispatcher
    claims: CountingClaims
    gateway: Gateway


@pytest.fixture
async def handing_over(runtime: Runtime) -> AsyncIterator[Callable[..., Awaitable[Handover]]]:
    """Makes Handovers on the runtime's store and keys; their gateways close at the end."""
    gateways: list[Gateway] = []

    async def make(transport: ScriptedTransport, **config: object) -> Handover:
        claims = CountingClaims(runtime.store)
        worker = dispatcher(runtime, transport, claims, **config)
        await worker.start()
        gateway = replace(runtime.gateway, outbox=worker)
        gateway.start()
        gateways.append(gateway)
        return Handover(worker, claims, gateway)

    yield make
    for gateway in gateways:
        await gateway.aclose()


async def test_messages_accepted_here_are_handed_over_without_a_claim(
    runtime: Runtime, seeded: Seeded, handing_over: Callable[..., Awaitable[Handover]]
) -> None:
    """With room in the dispatcher, an accepted message goes to it in memory, leased."""
    transport = ScriptedTransport()
    handover = await handing_over(transport, concurrency=4)
    worker, claims = handover.worker, handover.claims

    ids = await send_otps(runtime, seeded, 5, handover.gateway)
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
    await worker.aclose()

    assert sorted(s.message_id for s in transport.sent) == ids  # each once
    assert [s.attempt for s in transport.sent] == [1] * 5
    assert claims.claimed == []
    found = await runtime.store.get_messages(seeded.account_id, ids)
    assert {m.attempts for m in found.values()} == {1}
    assert not any(m.possible_duplicate for m in found.values())


async def test_a_full_dispatcher_leaves_accepted_messages_to_its_claims(
    runtime: Runtime, seeded: Seeded, handing_over: Callable[..., Awaitable[Handover]]
) -> None:
    """Past `batch` held messages, accepts are stored queued and claimed once there is room."""
    transport = ScriptedTransport()
    transport.gate = asyncio.Semaphore(0)
    handover = await handing_over(transport, concurrency=2, batch=2)
    worker, claims = handover.worker, handover.claims

    ids = await send_otps(runtime, seeded, 5, handover.gateway)
    assert (
        await statuses(runtime, seeded, ids)
        == [MessageStatus.SENDING] * 2 + [MessageStatus.QUEUED] * 3
    )
    for _ in ids:
        transport.gate.release()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
    await worker.aclose()

    assert sorted(s.message_id for s in transport.sent) == ids
    assert sorted(claims.claimed) == ids[2:]


async def test_accepts_after_a_full_dispatcher_queue_behind_the_backlog(
    runtime: Runtime, seeded: Seeded, handing_over: Callable[..., Awaitable[Handover]]
) -> None:
    """
    Messages go out in accept order: once an accept found no room, a slot freed later goes
    to the messages waiting in the table (by a claim), not to the next accept.
    """
    transport = ScriptedTransport()
    transport.gate = steps = asyncio.Semaphore(0)
    handover = await handing_over(transport, concurrency=1, batch=2)
    worker, claims = handover.worker, handover.claims
    claims.open.clear()  # the claim that would take the queued message waits

    first = await send_otps(runtime, seeded, 3, handover.gateway)  # two in memory, one queued
    steps.release()  # the first is sent and recorded: a slot is free

    async def first_sent() -> bool:
        return await statuses(runtime, seeded, first[:1]) == [MessageStatus.SENT]

    await until(first_sent)
    later = await send_otps(runtime, seeded, 2, handover.gateway)  # the free slot is not theirs
    assert await statuses(runtime, seeded, first[2:] + later) == [MessageStatus.QUEUED] * 3
    claims.open.set()
    for _ in range(4):
        steps.release()
    await until(lambda: _all(runtime, seeded, first + later, MessageStatus.SENT))
    await worker.aclose()

    assert [s.message_id for s in transport.sent] == first + later
    assert claims.claimed == first[2:] + later


async def test_a_refused_accept_gives_its_slot_back(
    runtime: Runtime, seeded: Seeded, handing_over: Callable[..., Awaitable[Handover]]
) -> None:
    """Sends the credit cannot cover reserve nothing for good: later ones still go in memory."""
    transport = ScriptedTransport()
    handover = await handing_over(transport, batch=2)
    worker, claims, gateway = handover.worker, handover.claims, handover.gateway
    await runtime.admin.add_credit(seeded.account_id, -1_000_000)
    caller = await gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)

    for _ in range(3):  # more than `batch`: a slot kept by any would show below
        with pytest.raises(CreditNotEnough):
            await gateway.send_quick_otp(caller, mobile="09120001111", code_length=6)
    await runtime.admin.add_credit(seeded.account_id, 1_000_000)
    ids = await send_otps(runtime, seeded, 2, gateway)
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
    await worker.aclose()

    assert claims.claimed == []
    assert sorted(s.message_id for s in transport.sent) == ids


async def test_a_slow_sweep_of_parked_reports_holds_no_claim_back(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Messages waiting in the table are claimed and sent while a reconcile sweep waits."""
    sweeping = asyncio.Event()

    class StuckSweeps(Outbox):
        async def reconcile_reports(self, now: datetime, keep: timedelta) -> int:
            sweeping.set()
            await asyncio.Event().wait()  # as long as the test: cancelled by aclose
            return 0

    transport = ScriptedTransport()
    worker = dispatcher(
        runtime,
        transport,
        StuckSweeps(runtime.store),
        reconcile_every=timedelta(milliseconds=1),
        idle_poll=timedelta(milliseconds=20),
    )
    await worker.start()
    async with asyncio.timeout(5):
        await sweeping.wait()

    ids = await send_otps(runtime, seeded, 3)  # stored queued: only a claim sends them
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
    await worker.aclose()

    assert sorted(s.message_id for s in transport.sent) == ids


async def test_closing_waits_for_a_reserved_message(runtime: Runtime, seeded: Seeded) -> None:
    """A message reserved before the dispatcher stopped is still sent by it, not left leased."""
    transport = ScriptedTransport()
    worker = dispatcher(runtime, transport)
    await worker.start()
    lease = worker.reserve()
    assert lease is not None
    item = replace(new_message(seeded), lease_until=lease, expires_at=lease)

    closing = asyncio.create_task(worker.aclose())
    async with asyncio.timeout(10):  # until it has stopped taking reservations
        while (extra := worker.reserve()) is not None:
            worker.unreserve()  # given back: only the first one stays open
            await asyncio.sleep(0)
    assert extra is None  # stopping: no more reservations
    assert not closing.done()
    [message_id] = await runtime.store.accept([item], datetime.now(UTC))
    assert message_id is not None
    worker.hand(item.claimed(message_id))
    async with asyncio.timeout(10):
        await closing

    assert [s.message_id for s in transport.sent] == [message_id]
    assert await statuses(runtime, seeded, [message_id]) == [MessageStatus.SENT]


async def _all(runtime: Runtime, seeded: Seeded, ids: list[int], status: MessageStatus) -> bool:
    return set(await statuses(runtime, seeded, ids)) == {status}


async def test_records_in_flight_side_by_side_keep_each_report_after_its_submit(
    runtime: Runtime, seeded: Seeded
) -> None:
    """
    With several record transactions at once, a receipt that comes while its submit's
    outcome is still being written is recorded after it, on its message: none is parked
    (no sweep runs here to match a parked one).
    """
    recording = 0
    most_recording = 0

    class SlowRecords(Outbox):
        async def record(
            self,
            outcomes: Sequence[Submitted | Retry | GiveUp] = (),
            reports: Sequence[DeliveryReport] = (),
            *,
            now: datetime,
        ) -> list[tuple[int, DeliveryReport]]:
            nonlocal recording, most_recording
            recording += 1
            most_recording = max(most_recording, recording)
            try:
                if outcomes:  # a busy database: a record of submits takes a while
                    await asyncio.sleep(0.05)
                return await self.store.record(outcomes, reports, now=now)
            finally:
                recording -= 1

    class ReportsAtOnce(ScriptedTransport):
        """Each receipt arrives just after its submit is answered (smpp34's simulator)."""

        def __init__(self) -> None:
            super().__init__()
            self.recorded: list[asyncio.Future[None]] = []

        async def send(self, sms: OutboundSms) -> SendReceipt:
            receipt = await super().send(sms)
            assert self.reports is not None
            report = DeliveryReport(
                self.name, receipt.provider_message_id, DeliveryState.DELIVERED, datetime.now(UTC)
            )
            sink = self.reports
            loop = asyncio.get_running_loop()
            # While the outcome's record (50 ms) is under way.
            loop.call_later(0.02, lambda: self.recorded.append(asyncio.ensure_future(sink(report))))
            return receipt

    ids = await send_otps(runtime, seeded, 40)
    transport = ReportsAtOnce()
    worker = dispatcher(
        runtime,
        transport,
        SlowRecords(runtime.store),
        concurrency=8,
        batch=12,  # claims wait for room, so records go side by side
        record_flights=4,
        reconcile_every=timedelta(hours=1),
    )
    await worker.start()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.DELIVERED))
    await asyncio.gather(*transport.recorded)
    await worker.aclose()

    assert most_recording > 1  # the records did run side by side
    async with runtime.engines.read.connect() as conn:
        parked = await conn.scalar(text("SELECT count(*) FROM orphan_reports"))
    assert parked == 0
