"""
Session's response timer and enquire_link against an SMSC that binds and then goes silent:
what the timer promises does not depend on the peer, and the simulator cannot be made to
wedge on demand. The session's time is a ManualTimer the test moves, so each promise is
checked to the timer's resolution and nothing waits on the machine's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.adapters.transports.smpp.config import SmppConfig
from quickotp.adapters.transports.smpp.session import Pdu, Session
from quickotp.domain.errors import DeliveryUncertain
from tests.clock import ManualTimer

from .scripted import ScriptedSmsc

pytestmark = pytest.mark.anyio

PDU = Pdu("989120000000", 1, 1, "10004321", 2, 1, 0, 8, "کد".encode("utf-16-be"), "")


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    async with ScriptedSmsc() as silent:  # answers the bind, then nothing
        yield silent


async def ignore(_: object) -> None:
    return None


async def session(
    smsc: ScriptedSmsc, timer: ManualTimer, *, timeout: float, enquire_link: float = 30
) -> Session:
    config = SmppConfig.from_url(
        f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout={timeout}"
        f"&enquire_link={enquire_link}"
    )
    return await Session.open(config, ignore, timer)


async def close(under_test: Session, timer: ManualTimer) -> None:
    """Close the session; the silent SMSC never answers its unbind, which is waited out."""
    closing = asyncio.create_task(under_test.close())
    await timer.advance(1.0)  # past the timeout
    async with asyncio.timeout(5):
        await closing


def when_done(timer: ManualTimer, *tasks: asyncio.Task[object]) -> list[float]:
    """The timer's time at which each of `tasks` ends, filled in as they end."""
    ended: list[float] = []
    for task in tasks:
        task.add_done_callback(lambda _: ended.append(timer.now))
    return ended


async def test_the_oldest_unanswered_submit_fails_the_session_and_every_submit_in_it(
    smsc: ScriptedSmsc,
) -> None:
    """Past the oldest one's due time, it and the younger ones in flight are all uncertain."""
    timer = ManualTimer()
    under_test = await session(smsc, timer, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    started = timer.now
    oldest = asyncio.create_task(under_test.submit(PDU))
    await smsc.next(smpp_pdu.SUBMIT_SM)
    await timer.advance(0.2)
    younger = asyncio.create_task(under_test.submit(PDU))
    await smsc.next(smpp_pdu.SUBMIT_SM)
    ended = when_done(timer, oldest, younger)

    await timer.advance(1.0)

    results = await asyncio.gather(oldest, younger, return_exceptions=True)
    assert all(isinstance(result, DeliveryUncertain) for result in results)
    # Both at the first check at or past the oldest's due time: the checks are a quarter
    # of the timeout apart, so at 0.4 s, or a float's rounding later at 0.5 s.
    assert len(ended) == 2
    assert all(0.4 <= at - started <= 0.5 + 1e-6 for at in ended)
    assert await watcher == "no submit_sm_resp within 0.4 s"
    assert not under_test.alive
    await close(under_test, timer)


async def test_an_unanswered_enquire_link_fails_the_session(smsc: ScriptedSmsc) -> None:
    """With nothing to submit, enquire_link finds the SMSC gone quiet within its timeout."""
    timer = ManualTimer()
    under_test = await session(smsc, timer, timeout=0.4, enquire_link=1)
    started = timer.now
    dead = asyncio.create_task(under_test.wait_dead())
    ended = when_done(timer, dead)

    await timer.advance(3.0)

    assert await dead == "no enquire_link_resp within 0.4 s"
    # Asked at the first check at or past 1 s, failed at the first check at or past 0.4 s
    # later (checks are 0.1 s apart, give or take a float's rounding); a failure only at the
    # next enquire_link (2 s) would be later.
    [at] = ended
    assert 1 + 0.4 <= at - started <= 1 + 0.4 + 2 * 0.1 + 1e-6
    await smsc.next(smpp_pdu.ENQUIRE_LINK)
    await close(under_test, timer)


async def test_a_cancelled_submit_leaves_no_due_time_behind(smsc: ScriptedSmsc) -> None:
    """A caller that gives up takes its submit out of the timer: the session stays up."""
    timer = ManualTimer()
    under_test = await session(smsc, timer, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    gave_up = asyncio.create_task(under_test.submit(PDU))
    await smsc.next(smpp_pdu.SUBMIT_SM)
    await timer.advance(0.05)
    gave_up.cancel()
    await asyncio.gather(gave_up, return_exceptions=True)

    await timer.advance(0.8)  # twice the timeout

    assert under_test.alive
    under_test.fail("test over")
    assert await watcher == "test over"
    await close(under_test, timer)


async def test_cancelling_wait_dead_as_the_session_dies_cancels_it(smsc: ScriptedSmsc) -> None:
    """
    A cancel that lands as the session dies still cancels (Python 3.11's wait_for returned
    the inner result instead, and the Bind, told to close, rebound and slept on: CI hung).
    """
    timer = ManualTimer()
    under_test = await session(smsc, timer, timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    await asyncio.sleep(0)  # waiting now

    under_test.fail("the SMSC closed the session")
    watcher.cancel()

    with pytest.raises(asyncio.CancelledError):
        await watcher
    await close(under_test, timer)
