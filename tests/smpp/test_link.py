"""
What the SMPP session says to an SMSC's own requests and to bytes that are no PDU, against a
scripted peer (tests/smpp/scripted.py): answered, refused, or the session ends; never a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from quickotp.errors import TransportUnavailable
from quickotp.transports import smpp_pdu
from quickotp.transports.smpp_config import SmppConfig
from quickotp.transports.smpp_pdu import DeliverSm
from quickotp.transports.smpp_session import Session

from .scripted import ScriptedSmsc, receipt

pytestmark = pytest.mark.anyio

RECEIPT = receipt(41)


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
    handler = Handler()
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=1")
    session = await Session.open(config, handler)
    await smsc.next(smpp_pdu.BIND_TRANSCEIVER)
    yield session, handler
    session.fail("test over")
    await session.close()


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


async def test_a_receipt_the_handler_failed_on_is_not_answered(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    """Unanswered, the SMSC keeps it and sends it again: the receipt is not lost."""
    bound[1].failing = True
    smsc.send(RECEIPT)
    smsc.send(smpp_pdu.encode(smpp_pdu.ENQUIRE_LINK, 78))  # answered after the receipt's turn

    await smsc.next(smpp_pdu.ENQUIRE_LINK | smpp_pdu.RESPONSE)
    await asyncio.sleep(0.1)

    assert smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE not in smsc.commands
    assert bound[0].alive


async def test_a_malformed_deliver_sm_is_refused_alone(
    smsc: ScriptedSmsc, bound: tuple[Session, Handler]
) -> None:
    smsc.send(smpp_pdu.encode(smpp_pdu.DELIVER_SM, 9, b"\x00\x01\x01" + b"9" * 30))

    nack = await smsc.next(smpp_pdu.GENERIC_NACK)

    assert (nack.sequence, nack.status) == (9, smpp_pdu.ESME_RINVCMDLEN)
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


async def test_a_bind_refused_says_its_status(smsc: ScriptedSmsc) -> None:
    """A bind_resp with an error status is no bind, and says which."""
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=0.3")
    smsc.refuse_binds = 0x0E  # ESME_RINVPASWD

    with pytest.raises(TransportUnavailable, match="refused: command_status 0x0000000E"):
        await Session.open(config, Handler())
