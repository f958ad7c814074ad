"""Scheduled sends and backup lines, against a real store and dispatcher, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain import phone
from quickotp.domain.delivery import OutboundSms, SendReceipt
from quickotp.domain.errors import (
    Conflict,
    DeliveryError,
    DeliveryUncertain,
    LineRefused,
    NotFound,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.models import FailureKind, MessageStatus, VerificationStatus
from quickotp.services.dispatcher import DispatchConfig, Dispatcher
from quickotp.services.sends import Outgoing, SentOtp
from tests.adapters.store.test_dispatcher import ScriptedTransport, until
from tests.conftest import Seeded, make_settings, seed

pytestmark = pytest.mark.anyio

NUMBER = phone.normalise("09120000000")
LEASE = timedelta(seconds=30)


async def schedule(
    runtime: Runtime, seeded: Seeded, at: datetime | None, **outgoing: object
) -> SentOtp:
    caller = await runtime.gateway.authenticate(seeded.token, method=None, ip=None)
    message = Outgoing(text="hello", not_before=at, **outgoing)  # type: ignore[arg-type]
    return await runtime.gateway.send(caller, NUMBER, message)


async def status_of(runtime: Runtime, seeded: Seeded, message_id: int) -> MessageStatus:
    found = await runtime.store.get_messages(seeded.account_id, [message_id])
    return found[message_id].status


async def test_no_claim_takes_a_scheduled_message_before_its_time(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Stored queued with its send time as its next attempt: claimed at that time, not before."""
    at = datetime.now(UTC) + timedelta(hours=1)
    sent = await schedule(runtime, seeded, at)

    early = await runtime.store.claim(at - timedelta(seconds=1), LEASE, 10)
    due = await runtime.store.claim(at, LEASE, 10)

    assert early == []
    assert [c.message.id for c in due] == [sent.message_id]
    assert due[0].message.text == "hello"


async def test_the_next_due_time_is_the_earliest_queued(runtime: Runtime, seeded: Seeded) -> None:
    """next_due names the soonest scheduled message; None when nothing is queued."""
    empty = await runtime.store.next_due()
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    sooner = later - timedelta(hours=1)
    await schedule(runtime, seeded, later)
    await schedule(runtime, seeded, sooner)

    assert empty is None
    assert await runtime.store.next_due() == sooner


async def test_an_idle_dispatcher_wakes_for_a_scheduled_message(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Sent within a second of its time even when the idle poll is far longer."""
    transport = ScriptedTransport()
    worker = Dispatcher(
        runtime.store,
        transport,
        lambda: datetime.now(UTC),
        DispatchConfig(idle_poll=timedelta(seconds=60)),
    )
    await worker.start()
    try:
        at = datetime.now(UTC) + timedelta(seconds=1.5)
        sent = await schedule(runtime, seeded, at)
        worker.wake()  # as the gateway does after storing a queued message

        async def taken() -> bool:
            return bool(transport.sent)

        await until(taken, timeout=10)
        taken_at = datetime.now(UTC)
    finally:
        await worker.aclose()

    assert transport.sent[0].message_id == sent.message_id
    assert at <= taken_at < at + timedelta(seconds=1)


async def test_a_scheduled_message_survives_a_restart(database_url: str) -> None:
    """Scheduled by one process that then stops, sent by the next one at its time."""
    settings = make_settings(database_url)
    first = build_runtime(settings, dispatch=False)
    await upgrade(first.engines)
    await first.start()
    try:
        seeded = await seed(first)
        at = datetime.now(UTC) + timedelta(seconds=1)
        sent = await schedule(first, seeded, at)
    finally:
        await first.aclose()

    transport = ScriptedTransport()
    second = build_runtime(settings, dispatch=True, transport=transport)
    await second.start()
    try:

        async def delivered() -> bool:
            return await status_of(second, seeded, sent.message_id) is MessageStatus.SENT

        await until(delivered, timeout=10)
    finally:
        await second.aclose()

    assert [sms.message_id for sms in transport.sent] == [sent.message_id]
    assert datetime.now(UTC) >= at


async def test_the_operator_cancels_a_scheduled_message(runtime: Runtime, seeded: Seeded) -> None:
    """Canceled before its time: never claimed, failed with a reason, its charge returned."""
    at = datetime.now(UTC) + timedelta(hours=1)
    sent = await schedule(runtime, seeded, at)
    listed = await runtime.admin.scheduled(seeded.account_id)

    canceled = await runtime.admin.cancel_message(sent.message_id)

    assert [m.id for m in listed] == [sent.message_id]
    assert canceled.status is MessageStatus.FAILED
    assert "canceled" in (canceled.error or "")
    assert canceled.failure_kind is FailureKind.CANCELED
    assert await runtime.store.claim(at + timedelta(seconds=1), LEASE, 10) == []
    assert await runtime.admin.scheduled(seeded.account_id) == []
    assert (await runtime.store.get_account(seeded.account_id)).credit == 1_000_000


async def test_canceling_a_scheduled_code_cancels_its_verification(
    runtime: Runtime, seeded: Seeded
) -> None:
    """A scheduled code canceled is a canceled verification too."""
    at = datetime.now(UTC) + timedelta(hours=1)
    sent = await schedule(runtime, seeded, at, code_length=5)

    await runtime.admin.cancel_message(sent.message_id)

    verification = await runtime.store.get_verification(seeded.account_id, sent.verification_id)
    assert verification is not None
    assert verification.status is VerificationStatus.CANCELED


async def test_too_late_to_cancel_and_nothing_to_cancel(runtime: Runtime, seeded: Seeded) -> None:
    """A message a dispatcher took is Conflict; an id that is no message is NotFound."""
    sent = await schedule(runtime, seeded, None)
    await runtime.store.claim(datetime.now(UTC), LEASE, 10)

    with pytest.raises(Conflict):
        await runtime.admin.cancel_message(sent.message_id)
    with pytest.raises(NotFound):
        await runtime.admin.cancel_message(sent.message_id + 100)
    assert await status_of(runtime, seeded, sent.message_id) is MessageStatus.SENDING


# backup lines ------------------------------------------------------------------------------


class LineTransport:
    """Fails every message sent on `broken` with `error`; takes those on any other line."""

    name = "lines"

    def __init__(self, broken: str, error: DeliveryError) -> None:
        self.broken = broken
        self.error = error
        self.tried: list[str] = []

    async def start(self, reports: object) -> None:
        return None

    async def send(self, sms: OutboundSms) -> SendReceipt:
        self.tried.append(sms.sender)
        if sms.sender == self.broken:
            raise self.error
        return SendReceipt(self.name, f"L{sms.message_id}")

    async def aclose(self) -> None:
        return None


async def run_once(runtime: Runtime, transport: LineTransport) -> None:
    worker = Dispatcher(
        runtime.store,
        transport,
        lambda: datetime.now(UTC),
        DispatchConfig(first_delay=timedelta(seconds=30)),
    )
    await worker.start()
    try:

        async def tried() -> bool:
            return bool(transport.tried)

        await until(tried)
        await asyncio.sleep(0.1)
    finally:
        await worker.aclose()


@pytest.mark.parametrize(
    "error",
    [
        TransportUnavailable("every route for this message is cooling down"),
        LineRefused("the SMSC refused the sender line: ESME_RINVSRCADR"),
    ],
)
async def test_the_backup_line_sends_when_the_line_cannot(
    runtime: Runtime, seeded: Seeded, error: DeliveryError
) -> None:
    """The line down or refused: sent at once on the backup line, which the message records."""
    sent = await schedule(runtime, seeded, None, sender="3000123", backup_sender="10004321")
    transport = LineTransport("3000123", error)

    await run_once(runtime, transport)

    found = (await runtime.store.get_messages(seeded.account_id, [sent.message_id]))[
        sent.message_id
    ]
    assert transport.tried == ["3000123", "10004321"]
    assert (found.status, found.sender) == (MessageStatus.SENT, "10004321")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DeliveryUncertain("no answer"), MessageStatus.QUEUED),  # may be sent: retried later
        (TransportRejected("invalid destination"), MessageStatus.FAILED),  # the message itself
    ],
)
async def test_the_backup_line_is_not_for_the_messages_own_faults(
    runtime: Runtime, seeded: Seeded, error: DeliveryError, status: MessageStatus
) -> None:
    """A send that may have gone out, or a refusal of the message, never tries the backup."""
    sent = await schedule(runtime, seeded, None, sender="3000123", backup_sender="10004321")
    transport = LineTransport("3000123", error)

    await run_once(runtime, transport)

    assert transport.tried == ["3000123"]
    assert await status_of(runtime, seeded, sent.message_id) is status
