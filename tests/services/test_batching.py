"""The group committer: batches, and a close that loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from quickotp.services.batching import GroupCommitter
from tests.clock import settle

pytestmark = pytest.mark.anyio


async def test_closing_finishes_the_flush_under_way() -> None:
    """A close during a flush lets it commit (a cancelled one was lost on PostgreSQL)."""
    started = asyncio.Event()
    release = asyncio.Event()
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        started.set()
        await release.wait()
        flushed.append(list(batch))
        return [n * 10 for n in batch]

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    committer.start()
    first = committer.add(1)
    await started.wait()

    closing = asyncio.create_task(committer.aclose())
    await settle()  # every turn a close that cut the flush short would need
    assert not closing.done()
    release.set()
    async with asyncio.timeout(5):
        await closing

    assert flushed == [[1]]
    assert first.result() == 10


async def test_closing_flushes_what_waits_one_flush_at_a_time() -> None:
    running = 0
    most = 0
    started, release = asyncio.Event(), asyncio.Event()
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.set()
        await release.wait()
        flushed.append(list(batch))
        running -= 1
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    committer.start()
    first = committer.add(1)
    async with asyncio.timeout(5):
        await started.wait()  # its flush is under way
    second = committer.add(2)
    closing = asyncio.create_task(committer.aclose())
    await settle()  # a second flush beside the first would have begun by now
    release.set()
    async with asyncio.timeout(5):
        await closing

    assert flushed == [[1], [2]]
    assert most == 1
    assert (first.result(), second.result()) == (1, 2)


async def test_a_failed_flush_fails_its_batch_and_the_next_goes_on() -> None:
    async def flush(batch: Sequence[int]) -> list[int]:
        if 0 in batch:
            raise ValueError("no zeros")
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    committer.start()
    failed = committer.add(0)
    with pytest.raises(ValueError, match="no zeros"):
        await failed
    assert await committer.submit(7) == 7
    await committer.aclose()


async def test_a_closed_committer_started_again_commits_again() -> None:
    async def flush(batch: Sequence[int]) -> list[int]:
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    committer.start()
    await committer.aclose()
    committer.start()

    async with asyncio.timeout(5):
        assert await committer.submit(3) == 3
        assert await committer.submit(4) == 4
    await committer.aclose()


async def _added_a_turn_apart(linger: float) -> list[list[int]]:
    """The batches flushed for 1, 2, 3 added one event-loop turn after another."""
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        flushed.append(list(batch))
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush, linger=linger)
    committer.start()
    added = []
    for n in (1, 2, 3):
        added.append(committer.add(n))
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await asyncio.gather(*added)
    await committer.aclose()
    return flushed


async def test_without_linger_a_flush_starts_at_once() -> None:
    assert await _added_a_turn_apart(0.0) == [[1], [2], [3]]


async def test_linger_gathers_what_comes_during_the_rest() -> None:
    assert await _added_a_turn_apart(0.05) == [[1, 2, 3]]


async def test_linger_is_skipped_for_a_full_batch_and_on_closing() -> None:
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        flushed.append(list(batch))
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush, max_batch=2, linger=60)
    committer.start()
    full = [committer.add(1), committer.add(2)]
    async with asyncio.timeout(5):
        await asyncio.gather(*full)  # a full batch does not rest its minute
        last = committer.add(3)
        await committer.aclose()  # nor does the last one at closing
    assert flushed == [[1, 2], [3]]
    assert last.result() == 3


async def test_flights_let_that_many_flushes_run_at_once_and_no_more() -> None:
    """With 3 flights, a batch waits for a free flight, not for the flush before it."""
    running = 0
    most = 0
    release = asyncio.Event()
    flushed: list[list[int]] = []

    async def flush(batch: Sequence[int]) -> list[int]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        flushed.append(list(batch))
        running -= 1
        return [n * 10 for n in batch]

    committer: GroupCommitter[int, int] = GroupCommitter(flush, flights=3)
    committer.start()
    futures = []
    for n in range(5):  # each waits a turn: a flush of its own while a flight is free
        futures.append(committer.add(n))
        await settle()
    assert running == 3  # three under way at once; the rest wait for a flight
    release.set()
    async with asyncio.timeout(5):
        results = await asyncio.gather(*futures)
        await committer.aclose()

    assert most == 3
    assert results == [0, 10, 20, 30, 40]
    # One flush each for the first three; what waited for a flight went as one batch.
    assert sorted(flushed) == [[0], [1], [2], [3, 4]]


async def test_closing_waits_for_every_flight() -> None:
    release = asyncio.Event()

    async def flush(batch: Sequence[int]) -> list[int]:
        await release.wait()
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush, flights=2)
    committer.start()
    first = committer.add(1)
    await settle()
    second = committer.add(2)
    await settle()
    closing = asyncio.create_task(committer.aclose())
    await settle()
    assert not closing.done()  # two flushes under way, neither cut short
    release.set()
    async with asyncio.timeout(5):
        await closing
    assert (first.result(), second.result()) == (1, 2)


async def test_a_flush_beside_another_waits_until_urgent() -> None:
    """Not urgent: what comes during a flush waits for it; urgent (and hurried): it flies."""
    running = 0
    release = asyncio.Event()
    flushed: list[list[int]] = []
    urgent = False

    async def flush(batch: Sequence[int]) -> list[int]:
        nonlocal running
        running += 1
        await release.wait()
        flushed.append(list(batch))
        running -= 1
        return list(batch)

    committer: GroupCommitter[int, int] = GroupCommitter(flush, flights=3, urgent=lambda: urgent)
    committer.start()
    futures = [committer.add(1)]
    await settle()
    futures += [committer.add(2), committer.add(3)]
    await settle()
    assert running == 1  # 2 and 3 wait for the first flight, together

    urgent = True
    committer.hurry()
    await settle()
    assert running == 2  # now they go beside it
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*futures)
        await committer.aclose()
    assert sorted(flushed) == [[1], [2, 3]]
