"""
The per-bind Gate on its own: window, order of admission, the `tps` cap and the throttling
back-off, the last two on a ManualTimer: their pace is read off its clock, not waited for.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from quickotp.adapters.transports.smpp import timer as smpp_timer
from quickotp.adapters.transports.smpp.gate import Gate
from tests.clock import ManualTimer

pytestmark = pytest.mark.anyio


async def test_retried_message_goes_before_later_ones() -> None:
    """With the window full, the lowest ticket is admitted first, whatever the arrival order."""
    gate = Gate(window=1, tps=0)
    await gate.acquire(ticket=5)
    admitted: list[int] = []

    async def wait(ticket: int) -> None:
        await gate.acquire(ticket)
        admitted.append(ticket)
        gate.release()

    async with asyncio.timeout(2), asyncio.TaskGroup() as group:
        for ticket in (9, 7, 3):
            group.create_task(wait(ticket))
        await asyncio.sleep(0)
        gate.release()

    assert admitted == [3, 7, 9]


async def test_throttled_bind_rests_then_resumes_slower() -> None:
    """After a throttled answer nothing is admitted for the pause, then admission resumes."""
    timer = ManualTimer()
    gate = Gate(window=10, tps=0, timer=timer)
    await gate.acquire(0)
    gate.throttled()
    gate.release()
    waiting = asyncio.create_task(gate.acquire(1))

    await timer.advance(0.099)
    assert not waiting.done()  # resting
    await timer.advance(0.002)

    assert waiting.done()
    assert timer.scheduled == [pytest.approx(0.1)]  # one rest, of the first pause's length


async def test_tps_spaces_admissions_evenly() -> None:
    """With tps=20, each admission comes 0.05 s after the one before it."""
    timer = ManualTimer()
    gate = Gate(window=100, tps=20, timer=timer)
    admitted: list[float] = []

    async def submit(ticket: int) -> None:
        await gate.acquire(ticket)
        admitted.append(timer.now)
        gate.release()

    sending = asyncio.gather(*(submit(i) for i in range(21)))
    await timer.advance(1.0)
    await sending

    gaps = [later - earlier for earlier, later in itertools.pairwise(admitted)]
    assert gaps == [pytest.approx(0.05)] * 20


class RateLimitedSmsc:
    """
    An SMSC's answers as the SMPP tests' simulator gives them when it throttles: past
    `per_second` submit_sm in one second of the timer's clock, ESME_RTHROTTLED.
    """

    def __init__(self, timer: ManualTimer, per_second: int) -> None:
        self._timer = timer
        self._per_second = per_second
        self._second = (0, 0)  # (second, submit_sm seen in it)
        self.taken = 0
        self.throttled = 0

    def answer(self) -> bool:
        """Whether a submit_sm now is taken (else throttled)."""
        second = int(self._timer.now)
        seen = self._second[1] + 1 if self._second[0] == second else 1
        self._second = (second, seen)
        if seen > self._per_second:
            self.throttled += 1
            return False
        self.taken += 1
        return True


@pytest.mark.parametrize("phase", [0.0, 0.5, 0.9])
async def test_throttling_paces_a_bind_to_the_smscs_limit(phase: float) -> None:
    """
    600 submits against an SMSC that throttles past 200 a second, answering each 2 ms
    later: resting and going on at a cut rate, the bind has them all taken within 6 seconds
    of the gate's clock (the limit allows no fewer than three of the SMSC's seconds), most
    at their first try, so SmppTransport's six tries are plenty. `phase`: how far into the
    SMSC's second it starts.
    """
    timer = ManualTimer(start=1000.0 + phase)
    gate = Gate(window=10, tps=0, timer=timer)
    smsc = RateLimitedSmsc(timer, per_second=200)

    async def submit(ticket: int) -> None:
        for _ in range(6):  # SmppTransport's tries a part
            await gate.acquire(ticket)
            try:
                await smpp_timer.sleep(timer, 0.002)  # the round trip
                taken = smsc.answer()
                if not taken:
                    gate.throttled()
            finally:
                gate.release()
            if taken:
                return
        raise AssertionError(f"submit {ticket} was throttled six times")

    started = timer.now
    sending = asyncio.gather(*(submit(i) for i in range(600)))
    while not sending.done() and timer.now - started < 30:
        await timer.advance(0.01)
    await sending

    assert smsc.taken == 600
    assert int(timer.now) - int(started) >= 2  # 200 a second: three of the SMSC's seconds
    assert timer.now - started < 6.0
    assert smsc.throttled < 600  # backed off, rather than retrying into the limit


async def test_cancelled_waiter_frees_its_place() -> None:
    """A waiter cancelled while waiting is skipped and holds no window slot."""
    gate = Gate(window=1, tps=0)
    await gate.acquire(0)
    waiter = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)

    waiter.cancel()
    gate.release()
    await asyncio.gather(waiter, return_exceptions=True)

    assert waiter.cancelled()
    async with asyncio.timeout(1):
        await gate.acquire(2)


async def test_waiter_cancelled_as_it_is_admitted_gives_the_slot_back() -> None:
    """A waiter admitted and cancelled before it resumed releases the slot it was given."""
    gate = Gate(window=1, tps=0)
    await gate.acquire(0)
    waiter = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)

    gate.release()  # admits the waiter...
    waiter.cancel()  # ...which is cancelled before it runs again
    await asyncio.gather(waiter, return_exceptions=True)

    assert waiter.cancelled()
    async with asyncio.timeout(1):
        await gate.acquire(2)
