"""In-process idempotency: single flight, recent answers, conflicts, and its bounds."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

import pytest

from quickotp.domain.errors import IdempotencyConflict
from quickotp.domain.phone import Mobile
from quickotp.services.idempotency import Idempotency
from quickotp.services.repeats import pack, unpack
from quickotp.services.sends import SentOtp

pytestmark = pytest.mark.anyio


def ints(*, max_answers: int = 50_000) -> Idempotency[int]:
    return Idempotency(lambda n: (n,), lambda kept: int(kept[0]), max_answers=max_answers)


class Work:
    """Counts its runs; each answers its run number after a short pause, or fails."""

    def __init__(self, *, fail: bool = False) -> None:
        self.runs = 0
        self.fail = fail

    async def __call__(self) -> int:
        self.runs += 1
        run = self.runs
        await asyncio.sleep(0.01)
        if self.fail:
            raise RuntimeError(f"run {run} failed")
        return run


async def test_concurrent_repeats_share_one_run() -> None:
    """Twenty concurrent calls with one key run the work once and get one answer."""
    once, work = ints(), Work()

    answers = await asyncio.gather(
        *(once.run("k", "fp", now=0, seconds=10, work=work) for _ in range(20))
    )

    assert (work.runs, set(answers)) == (1, {1})


async def test_a_repeat_inside_the_window_gets_the_first_answer() -> None:
    """After the first answer, a repeat inside the window gets it; after the window, a new run."""
    once, work = ints(), Work()
    await once.run("k", "fp", now=0, seconds=10, work=work)

    inside = await once.run("k", "fp", now=9.9, seconds=10, work=work)
    after = await once.run("k", "fp", now=10, seconds=10, work=work)

    assert (inside, after) == (1, 2)


async def test_another_fingerprint_is_a_conflict() -> None:
    """The same key with other content is refused, while in flight and after."""
    once, work = ints(), Work()
    first = asyncio.ensure_future(once.run("k", "a", now=0, seconds=10, work=work))
    await asyncio.sleep(0)

    with pytest.raises(IdempotencyConflict):
        await once.run("k", "b", now=0, seconds=10, work=work)
    await first
    with pytest.raises(IdempotencyConflict):
        await once.run("k", "b", now=1, seconds=10, work=work)


async def test_concurrent_repeats_share_a_failure_and_a_later_call_runs_again() -> None:
    """Waiters get the first run's exception; a failure is not remembered."""
    once, work = ints(), Work(fail=True)

    outcomes = await asyncio.gather(
        *(once.run("k", "fp", now=0, seconds=10, work=work) for _ in range(5)),
        return_exceptions=True,
    )
    with pytest.raises(RuntimeError, match="run 2"):
        await once.run("k", "fp", now=1, seconds=10, work=work)

    assert [str(o) for o in outcomes] == ["run 1 failed"] * 5


async def test_answers_are_bounded_and_dropped_when_their_window_ends() -> None:
    """At most max_answers are kept, and an answer goes once its window is over."""
    once = ints(max_answers=3)
    for i in range(5):
        await once.run(f"k{i}", "fp", now=i, seconds=10, work=Work())
    assert len(once) == 3

    await once.run("late", "fp", now=100, seconds=10, work=Work())

    assert len(once) == 1


async def test_kept_answers_leave_the_garbage_collectors_scans() -> None:
    """A kept answer is a plain tuple: after a collection the collector no longer tracks it."""
    once: Idempotency[SentOtp] = Idempotency(pack, unpack)
    sent = SentOtp(7, Mobile("989120000000", 9120000000, "IR"), "0421", "v" * 32, datetime.now(UTC))

    async def work() -> SentOtp:
        return sent

    await once.run("k", "fp", now=0, seconds=10, work=work)
    gc.collect()

    assert await once.run("k", "fp", now=1, seconds=10, work=work) == sent
    assert not any(gc.is_tracked(kept) for kept in once._answers.values())
