"""
Session's response timer alone, with a stand-in for smpp34's session and client: what it
promises does not depend on the peer, and a real one cannot be made to wedge on demand.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from quickotp.errors import DeliveryUncertain
from quickotp.transports.smpp_config import SmppConfig
from quickotp.transports.smpp_session import Pdu, Session

pytestmark = pytest.mark.anyio

PDU = Pdu("989120000000", 1, 1, "10004321", 2, 1, 0, 8, "کد".encode("utf-16-be"), "")


class SilentSmsc:
    """Takes every submit_sm and never answers: the futures stay pending."""

    def __init__(self) -> None:
        self.submitted: list[asyncio.Future[object]] = []

    def submit_sm(self, *_: object, **__: object) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.submitted.append(future)
        return future


class Client:
    """Answers is_alive after `delay` seconds (a wedged runtime: a long delay)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def is_alive(self) -> bool:
        await asyncio.sleep(self.delay)
        return True

    async def stop(self) -> None:
        return None


async def ignore(_: object) -> None:
    return None


def session(*, timeout: float, alive_delay: float = 0.0) -> tuple[Session, SilentSmsc]:
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:2775?timeout={timeout}")
    smsc = SilentSmsc()
    client = Client(alive_delay)
    return Session(config, [client], smsc, [], ignore), smsc  # type: ignore[list-item,arg-type]


async def test_the_oldest_unanswered_submit_fails_the_session_and_every_submit_in_it() -> None:
    """Past the oldest one's due time, it and the younger ones in flight are all uncertain."""
    under_test, _ = session(timeout=0.4)
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


async def test_a_slow_liveness_answer_does_not_hold_up_the_response_timer() -> None:
    """smpp34 answering is_alive late (its runtime wedged) does not delay the timeout."""
    under_test, _ = session(timeout=0.4, alive_delay=5.0)
    watcher = asyncio.create_task(under_test.wait_dead())
    started = time.monotonic()

    with pytest.raises(DeliveryUncertain):
        await under_test.submit(PDU)

    assert time.monotonic() - started < 0.4 + 0.1 + 0.3
    assert await watcher == "no submit_sm_resp within 0.4 s"


async def test_a_cancelled_submit_leaves_no_due_time_behind() -> None:
    """A caller that gives up takes its submit out of the timer: the session stays up."""
    under_test, _ = session(timeout=0.4)
    watcher = asyncio.create_task(under_test.wait_dead())
    gave_up = asyncio.create_task(under_test.submit(PDU))
    await asyncio.sleep(0.05)
    gave_up.cancel()
    await asyncio.gather(gave_up, return_exceptions=True)

    await asyncio.sleep(0.8)  # twice the timeout

    assert under_test.alive
    under_test.fail("test over")
    assert await watcher == "test over"


async def test_cancelling_wait_dead_as_the_session_dies_cancels_it() -> None:
    """
    A cancel that lands as the session dies still cancels (Python 3.11's wait_for returned
    the inner result instead, and the Bind, told to close, rebound and slept on: CI hung).
    """
    under_test, _ = session(timeout=2)
    watcher = asyncio.create_task(under_test.wait_dead())
    await asyncio.sleep(0)  # waiting now

    under_test.fail("the SMSC closed the session")
    watcher.cancel()

    with pytest.raises(asyncio.CancelledError):
        await watcher
