"""
The per-bind Gate on its own: window, order of admission, and the throttling back-off.
"""

from __future__ import annotations

import asyncio

import pytest

from quickotp.adapters.transports.smpp.gate import Gate

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
    gate = Gate(window=10, tps=0)
    loop = asyncio.get_running_loop()
    await gate.acquire(0)
    gate.throttled()
    gate.release()
    started = loop.time()

    async with asyncio.timeout(2):
        await gate.acquire(1)

    assert loop.time() - started >= 0.09


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
