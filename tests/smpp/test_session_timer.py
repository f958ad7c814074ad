"""
Session's response timer and enquire_link against an SMSC that binds and then goes silent:
what the timer promises does not depend on the peer, and the simulator cannot be made to
wedge on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.adapters.transports.smpp.config import SmppConfig
from quickotp.adapters.transports.smpp.session import Pdu, Session
from quickotp.domain.errors import DeliveryUncertain

from .scripted import ScriptedSmsc

pytestmark = pytest.mark.anyio

PDU = Pdu("989120000000", 1, 1, "10004321", 2, 1, 0, 8, "کد".encode("utf-16-be"), "")


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    async with ScriptedSmsc() as silent:  # answers the bind, then nothing
        yield silent


async def ignore(_: object) -> None:
    return None


async def session(smsc: ScriptedSmsc, *, timeout: float, enquire_link: float = 30) -> Session:
    config = SmppConfig.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout={timeout}"
        f"&enquire_link={enquire_link}"
    )
    return await Session.open(config, ignore)


async def test_the_oldest_unanswered_submit_fails_the_session_and_every_submit_in_it(
    smsc: ScriptedSmsc,
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
    # The oldest's due time, a check's resolution, and scheduling on a loaded machine (two
    # test processes on two cores were 0.48 s late): still far from the SMSC never answering.
    assert 0.4 <= waited < 0.4 + 0.1 + 1.0
    assert await watcher == "no submit_sm_resp within 0.4 s"
    assert not under_test.alive
    await under_test.close()


async def test_an_unanswered_enquire_link_fails_the_session(smsc: ScriptedSmsc) -> None:
    """With nothing to submit, enquire_link finds the SMSC gone quiet within its timeout."""
    under_test = await session(smsc, timeout=0.4, enquire_link=1)
    started = time.monotonic()

    reason = await under_test.wait_dead()

    assert reason == "no enquire_link_resp within 0.4 s"
    # Scheduling slack as above; a failure only at the next enquire_link (2 s) would be later.
    assert 1 + 0.4 <= time.monotonic() - started < 1 + 0.4 + 0.8
    assert smpp_pdu.ENQUIRE_LINK in smsc.commands
    await under_test.close()


async def test_a_cancelled_submit_leaves_no_due_time_behind(smsc: ScriptedSmsc) -> None:
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


async def test_cancelling_wait_dead_as_the_session_dies_cancels_it(smsc: ScriptedSmsc) -> None:
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
