"""The dispatcher against a real store and an in-test transport that fails on demand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.bootstrap import Runtime
from quickotp.dispatcher import DispatchConfig, Dispatcher
from quickotp.errors import DeliveryError, TransportRejected, TransportUnavailable
from quickotp.models import MessageStatus
from quickotp.ports import (
    DeliveryReport,
    DeliveryState,
    OutboundSms,
    ReportSink,
    SendReceipt,
)
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

    async def start(self, reports: ReportSink) -> None:
        self.reports = reports

    async def send(self, sms: OutboundSms) -> SendReceipt:
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


async def send_otps(runtime: Runtime, seeded: Seeded, count: int) -> list[int]:
    caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    sent = [
        await runtime.gateway.send_quick_otp(caller, mobile=f"0912000{i:04d}", code_length=6)
        for i in range(count)
    ]
    return [s.message_id for s in sent]


async def until(predicate: object, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not await predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def statuses(runtime: Runtime, seeded: Seeded, ids: list[int]) -> list[MessageStatus]:
    found = await runtime.store.get_messages(seeded.account_id, ids)
    return [found[i].status for i in ids]


def dispatcher(runtime: Runtime, transport: ScriptedTransport, **config: object) -> Dispatcher:
    settings = DispatchConfig(first_delay=timedelta(milliseconds=50), **config)  # type: ignore[arg-type]
    return Dispatcher(runtime.store, transport, lambda: datetime.now(UTC), settings)


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
    worker = dispatcher(runtime, transport)

    await worker.start()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.SENT))
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


async def test_reports_that_overtake_the_submit_land(runtime: Runtime, seeded: Seeded) -> None:
    """Receipts sent before `send` returns still mark their messages delivered."""
    ids = await send_otps(runtime, seeded, 5)
    worker = dispatcher(runtime, ScriptedTransport(report_first=True))

    await worker.start()
    await until(lambda: _all(runtime, seeded, ids, MessageStatus.DELIVERED))
    await worker.aclose()


async def _all(runtime: Runtime, seeded: Seeded, ids: list[int], status: MessageStatus) -> bool:
    return set(await statuses(runtime, seeded, ids)) == {status}
