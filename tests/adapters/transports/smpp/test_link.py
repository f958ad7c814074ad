"""
What the SMPP session says to an SMSC's own requests and to bytes that are no PDU, against a
scripted peer (tests/adapters/transports/smpp/scripted.py): answered, refused, or the session
ends; never a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.adapters.transports.smpp.config import SmppConfig
from quickotp.adapters.transports.smpp.pdu import DeliverSm
from quickotp.adapters.transports.smpp.session import Bind, Pdu, Session
from quickotp.domain.errors import TransportUnavailable
from tests.clock import ManualTimer, settle

from .scripted import ScriptedSmsc, Seen, receipt

pytestmark = pytest.mark.anyio

RECEIPT = receipt(41)
PDU = Pdu("989120000000", 1, 1, "10004321", 2, 1, 0, 8, "کد".encode("utf-16-be"), "")


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    async with ScriptedSmsc() as scripted:
        yield scripted


class Handler:
    """Takes receipts, or fails on them when told to."""

    def __init__(self) -> None:
        self.taken: list[DeliverSm] = []
        self.failing = False

    async def __call__(self, event: DeliverSm) -> None:
        if self.failing:
            raise RuntimeError("the sink is down")
        self.taken.append(event)


@pytest.fixture
async def bound(smsc: ScriptedSmsc) -> AsyncIterator[tuple[Session, Handler]]:
    """A session bound to the scripted SMSC, on a timer that moves only at the end."""
    handler = Handler()
    timer = ManualTimer()
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=1")
    session = await Session.open(config, handler, timer)
    await smsc.next(smpp_pdu.BIND_TRANSCEIVER)
    yield session, handler
    session.fail("test over")
    await close(session, timer)


async def close(session: Session, timer: ManualTimer) -> None:
    """Close `session`; an unbind the scripted SMSC does not answer is waited out."""
    closing = asyncio.create_task(session.close())
    await timer.advance(10)  # past any timeout here
    async with asyncio.timeout(5):
        await closing


async def test_the_smscs_enquire_link_is_answered(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    smsc.send(smpp_pdu.encode(smpp_pdu.ENQUIRE_LINK, 77))

    answer = await smsc.next(smpp_pdu.ENQUIRE_LINK | smpp_pdu.RESPONSE)

    assert (answer.sequence, answer.status) == (77, 0)
    assert bound[0].alive


async def test_an_unknown_request_gets_generic_nack_and_the_session_stays(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    smsc.send(smpp_pdu.encode(0x00000103, 5, b"\x00"))  # data_sm: not spoken here

    nack = await smsc.next(smpp_pdu.GENERIC_NACK)

    assert (nack.sequence, nack.status) == (5, smpp_pdu.ESME_RINVCMDID)
    assert bound[0].alive


async def test_a_receipt_is_answered_once_taken(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    smsc.send(RECEIPT)

    answer = await smsc.next(smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE)

    assert (answer.sequence, answer.status, answer.body) == (41, 0, b"\x00")
    [taken] = bound[1].taken
    assert taken.short_message.startswith(b"id:1F ")


async def test_a_receipt_the_handler_failed_on_is_answered_send_again_later(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    """ESME_RX_T_APPN (§5.1.3): the SMSC keeps the receipt and sends it again later."""
    bound[1].failing = True
    smsc.send(RECEIPT)

    answer = await smsc.next(smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE)

    assert (answer.sequence, answer.status) == (41, smpp_pdu.ESME_RX_T_APPN)
    assert bound[1].taken == []
    assert bound[0].alive


async def test_a_malformed_deliver_sm_is_refused_alone(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    """Refused for good (ESME_RX_P_APPN): it would not read any better a second time."""
    smsc.send(smpp_pdu.encode(smpp_pdu.DELIVER_SM, 9, b"\x00\x01\x01" + b"9" * 30))

    answer = await smsc.next(smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE)

    assert (answer.sequence, answer.status) == (9, smpp_pdu.ESME_RX_P_APPN)
    assert bound[1].taken == []
    assert bound[0].alive


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x00\x00\x05\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x01",  # length < header
        b"\x7f\xff\xff\xff" + bytes(12),  # a 2 GB PDU
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not SMPP at all
    ],
)
async def test_bytes_that_are_no_pdu_end_the_session(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler], garbage: bytes
) -> None:
    smsc.send(garbage)

    async with asyncio.timeout(5):
        reason = await bound[0].wait_dead()

    assert reason.startswith("malformed PDU from the SMSC: command_length")
    async with asyncio.timeout(5):
        await smsc.closed.wait()


async def test_the_smscs_unbind_is_answered_and_ends_the_session(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    smsc.send(smpp_pdu.encode(smpp_pdu.UNBIND, 12))

    answer = await smsc.next(smpp_pdu.UNBIND | smpp_pdu.RESPONSE)
    async with asyncio.timeout(5):
        reason = await bound[0].wait_dead()

    assert answer.sequence == 12
    assert reason == "the SMSC unbound"
    await bound[0].close()
    assert smpp_pdu.UNBIND not in smsc.commands  # nothing to unbind from: it already did


async def test_receipts_read_before_the_smscs_unbind_are_answered_before_it(
    smsc: ScriptedSmsc,
) -> None:
    """Nothing follows unbind_resp (§4.2): the receipts ahead of the unbind are answered first."""
    release = asyncio.Event()
    taken: list[DeliverSm] = []

    async def slow(event: DeliverSm) -> None:
        await release.wait()
        taken.append(event)

    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=2")
    session = await Session.open(config, slow)
    try:
        smsc.send(receipt(41) + receipt(42) + smpp_pdu.encode(smpp_pdu.UNBIND, 43))
        async with asyncio.timeout(5):
            assert await session.wait_dead() == "the SMSC unbound"
        release.set()
        closing = asyncio.create_task(session.close())

        answers: list[Seen] = []
        async with asyncio.timeout(5):
            while len(answers) < 3:
                seen = await smsc.seen.get()
                if seen.command_id & smpp_pdu.RESPONSE:  # the bind and nothing else before
                    answers.append(seen)

        assert [(a.command_id, a.sequence, a.status) for a in answers] == [
            (smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE, 41, smpp_pdu.ESME_ROK),
            (smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE, 42, smpp_pdu.ESME_ROK),
            (smpp_pdu.UNBIND | smpp_pdu.RESPONSE, 43, smpp_pdu.ESME_ROK),
        ]
        assert len(taken) == 2
        async with asyncio.timeout(5):
            await closing
            await smsc.closed.wait()
        assert smpp_pdu.UNBIND not in smsc.commands  # it unbound: nothing to unbind from
    finally:
        release.set()
        session.fail("test over")
        await session.close()


async def test_a_bind_refused_says_its_status(smsc: ScriptedSmsc) -> None:
    """A bind_resp with an error status is no bind, and says which."""
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=0.3")
    smsc.refuse_binds = 0x0E  # ESME_RINVPASWD

    with pytest.raises(TransportUnavailable, match="refused: command_status 0x0000000E"):
        await Session.open(config, Handler())


async def test_receipts_piling_up_pause_reading_without_failing_the_submits(
    smsc: ScriptedSmsc,
) -> None:
    """
    A handler slower than the receipts stops the reading, and with it the submit_sm_resp
    behind them: the response timer rests meanwhile, so the answered submit is not lost.
    """
    taking, release = asyncio.Event(), asyncio.Event()

    async def slow(event: DeliverSm) -> None:
        taking.set()
        await release.wait()

    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=0.4")
    timer = ManualTimer()
    session = await Session.open(config, slow, timer, inbox_high=2)
    watcher = asyncio.create_task(session.wait_dead())
    try:
        smsc.send(receipt(41))
        async with asyncio.timeout(5):  # the handler is stuck on the first
            await taking.wait()
        smsc.send(receipt(42) + receipt(43))
        await settle()  # read: paused
        submitting = asyncio.create_task(session.submit(PDU))
        submit = await smsc.next(smpp_pdu.SUBMIT_SM)
        smsc.send(
            smpp_pdu.encode(smpp_pdu.SUBMIT_SM | smpp_pdu.RESPONSE, submit.sequence, b"ABC\0")
        )
        await timer.advance(1.0)  # past the timeout, twice over, while paused

        assert session.alive
        release.set()
        async with asyncio.timeout(5):
            answer = await submitting
        assert (answer.status, answer.message_id) == (0, "ABC")
        assert session.alive
    finally:
        session.fail("test over")
        await close(session, timer)
        await asyncio.gather(watcher, return_exceptions=True)


async def test_close_cancelled_half_way_still_closes_the_connection(smsc: ScriptedSmsc) -> None:
    """The scripted SMSC never answers unbind; close is cancelled while it waits for it."""
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=5")
    session = await Session.open(config, Handler())
    closing = asyncio.create_task(session.close())
    await smsc.next(smpp_pdu.UNBIND)

    closing.cancel()
    await asyncio.gather(closing, return_exceptions=True)

    async with asyncio.timeout(2):
        await smsc.closed.wait()
    assert closing.cancelled()


def test_the_back_off_stays_bounded_however_long_the_outage() -> None:
    """Past a thousand failed binds in a row (2 ** 1024 overflowed), still a delay."""
    config = SmppConfig.from_url("smpp://quickotp:secret@127.0.0.1:2775?reconnect_max=1")
    bind = Bind(config, 0, Handler(), ManualTimer())

    assert all(0.25 <= bind._backoff(failures) <= 1 for failures in (1, 2, 1025, 10**6))


async def test_refused_binds_are_retried_after_a_growing_jittered_back_off(
    smsc: ScriptedSmsc,
) -> None:
    """Each retry waits in [half, all] of 0.5 s doubled per failure, capped at reconnect_max."""
    smsc.refuse_binds = 0x0E  # ESME_RINVPASWD, every time
    timeout = 7.0  # told apart from the back-off among the timer's waits
    config = SmppConfig.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout={timeout}&reconnect_max=2"
    )
    timer = ManualTimer()

    def back_offs() -> list[float]:
        return [delay for delay in timer.scheduled if delay != pytest.approx(timeout)]

    bind = Bind(config, 0, Handler(), timer)
    bind.start()
    try:
        for tries in range(1, 6):
            await smsc.next(smpp_pdu.BIND_TRANSCEIVER)
            async with asyncio.timeout(5):  # the refusal read, the back-off begun
                while len(back_offs()) < tries:
                    await asyncio.sleep(0.001)
            await timer.advance(back_offs()[-1])  # to the end of this back-off, no further
        await smsc.next(smpp_pdu.BIND_TRANSCEIVER)
    finally:
        await bind.aclose()

    ceilings = [0.5, 1.0, 2.0, 2.0, 2.0]  # (a sixth may have begun as it closed)
    delays = back_offs()[: len(ceilings)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert not bind.up
