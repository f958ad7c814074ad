"""
Session's response timer and enquire_link against an SMSC that binds and then goes silent:
what the timer promises does not depend on the peer, and the simulator cannot be made to
wedge on demand. The silent SMSC is a bare asyncio server speaking smpp_pdu.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from quickotp.errors import DeliveryUncertain
from quickotp.transports import smpp_pdu
from quickotp.transports.smpp_config import SmppConfig
from quickotp.transports.smpp_session import Pdu, Session

pytestmark = pytest.mark.anyio

PDU = Pdu("989120000000", 1, 1, "10004321", 2, 1, 0, 8, "کد".encode("utf-16-be"), "")


class SilentSmsc:
    """Answers bind_transceiver, then reads every PDU and answers none."""

    def __init__(self) -> None:
        self.commands: list[int] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SilentSmsc:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(smpp_pdu.HEADER.size)
                length, command_id, _, sequence = smpp_pdu.HEADER.unpack(header)
                await reader.readexactly(length - smpp_pdu.HEADER.size)
                self.commands.append(command_id)
                if command_id == smpp_pdu.BIND_TRANSCEIVER:
                    writer.write(
                        smpp_pdu.encode(command_id | smpp_pdu.RESPONSE, sequence, b"SIM\0")
                    )
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def smsc() -> AsyncIterator[SilentSmsc]:
    async with SilentSmsc() as silent:
        yield silent


async def ignore(_: object) -> None:
    return None


async def session(smsc: SilentSmsc, *, timeout: float, enquire_link: float = 30) -> Session:
    config = SmppConfig.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout={timeout}"
        f"&enquire_link={enquire_link}"
    )
    return await Session.open(config, ignore)


async def test_the_oldest_unanswered_submit_fails_the_session_and_every_submit_in_it(
    smsc: SilentSmsc,
) -> None:
    """Past the oldest one's due time, it and the younger ones in flight are all uncertain."""
    under_test = await session(smsc, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    started = time.monotonic()
    oldest = asyncio.create_task(under_test.submit(PDU))
    await asyncio.sleep(0.2)
    younger = asyncio.create_task(under_test.submit(PDU))

    results = await asyncio.gather(oldest, younger, return_exceptions=True)

    waited = time.monotonic() - started
    assert all(isinstance(result, DeliveryUncertain) for result in results)
    assert 0.4 <= waited < 0.4 + 0.1 + 0.3  # the oldest's due time, a check's resolution
    assert await watcher == "no submit_sm_resp within 0.4 s"
    assert not under_test.alive
    await under_test.close()


async def test_an_unanswered_enquire_link_fails_the_session(smsc: SilentSmsc) -> None:
    """With nothing to submit, enquire_link finds the SMSC gone quiet within its timeout."""
    under_test = await session(smsc, timeout=0.4, enquire_link=1)
    started = time.monotonic()

    reason = await under_test.wait_dead()

    assert reason == "no enquire_link_resp within 0.4 s"
    assert 1 + 0.4 <= time.monotonic() - started < 1 + 0.4 + 0.1 + 0.3
    assert smpp_pdu.ENQUIRE_LINK in smsc.commands
    await under_test.close()


async def test_a_cancelled_submit_leaves_no_due_time_behind(smsc: SilentSmsc) -> None:
    """A caller that gives up takes its submit out of the timer: the session stays up."""
    under_test = await session(smsc, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    gave_up = asyncio.create_task(under_test.submit(PDU))
    await asyncio.sleep(0.05)
    gave_up.cancel()
    await asyncio.gather(gave_up, return_exceptions=True)

    await asyncio.sleep(0.8)  # twice the timeout

    assert under_test.alive
    under_test.fail("test over")
    assert await watcher == "test over"
    await under_test.close()


async def test_cancelling_wait_dead_as_the_session_dies_cancels_it(smsc: SilentSmsc) -> None:
    """
    A cancel that lands as the session dies still cancels (Python 3.11's wait_for returned
    the inner result instead, and the Bind, told to close, rebound and slept on: CI hung).
    """
    under_test = await session(smsc, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    await asyncio.sleep(0)  # waiting now

    under_test.fail("the SMSC closed the session")
    watcher.cancel()

    with pytest.raises(asyncio.CancelledError):
        await watcher
    await under_test.close()
