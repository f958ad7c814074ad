"""Password hashing off the event loop, on a bounded pool that refuses at once when full."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from argon2 import PasswordHasher

from quickotp.bootstrap import Runtime
from quickotp.errors import PasswordHashingBusy, SignInFailed
from quickotp.password_pool import PasswordPool
from tests.panel.conftest import OPERATOR_EMAIL, PASSWORD, open_browser, sign_in

pytestmark = pytest.mark.anyio

# Costly enough that a hash on the loop shows as a stall, cheap enough for a test.
SLOW_HASHER = PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1)


async def test_sign_ins_leave_the_event_loop_free(runtime: Runtime) -> None:
    """While six wrong sign-ins are checked, the loop never stalls for half a hash's time."""
    runtime.users.hasher = SLOW_HASHER
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    started = time.perf_counter()
    SLOW_HASHER.hash(PASSWORD)
    one_hash = time.perf_counter() - started
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def wrong(n: int) -> None:
        with pytest.raises(SignInFailed):
            await runtime.users.sign_in(
                email=OPERATOR_EMAIL, password="wrong password", ip=f"203.0.113.{n}"
            )

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    await asyncio.gather(*(wrong(n) for n in range(6)))
    done.set()
    await ticking

    assert max(gaps) < one_hash / 2, (max(gaps), one_hash)


async def test_a_full_pool_refuses_at_once() -> None:
    """With its threads busy and its queue full, the next call is refused without waiting."""
    pool = PasswordPool(threads=1, queue=1)
    release = threading.Event()
    held = [asyncio.ensure_future(pool.run(release.wait, 5)) for _ in range(2)]
    await asyncio.sleep(0.05)

    started = time.perf_counter()
    with pytest.raises(PasswordHashingBusy) as refused:
        await pool.run(time.sleep, 0)
    refused_in = time.perf_counter() - started
    release.set()
    await asyncio.gather(*held)
    after = await pool.run(sum, [1, 2])
    pool.close()

    assert refused_in < 0.05
    assert refused.value.retry_after >= 1
    assert after == 3


async def test_a_full_pool_answers_the_panel_429_with_retry_after(runtime: Runtime) -> None:
    """A sign-in that finds every password thread busy gets 429, Retry-After and a sentence."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    runtime.users.pool = PasswordPool(threads=1, queue=0)
    release = threading.Event()
    held = asyncio.ensure_future(runtime.users.pool.run(release.wait, 5))
    await asyncio.sleep(0.05)
    english = await open_browser(runtime, language="en")
    persian = await open_browser(runtime, ip="198.51.100.21", language="fa")

    busy = await sign_in(english, OPERATOR_EMAIL)
    busy_fa = await sign_in(persian, OPERATOR_EMAIL)
    release.set()
    await held
    later = await sign_in(english, OPERATOR_EMAIL)

    assert busy.status_code == busy_fa.status_code == 429
    assert busy.headers["retry-after"] == "1"
    assert "The panel is busy right now" in busy.text
    assert "پنل اکنون سرش شلوغ است" in busy_fa.text
    assert later.status_code == 303  # the refusal counted against no limit
