"""
Group commit: many concurrent callers share one transaction, and each gets its answer
only after that transaction committed ("answered => durable", at a fraction of the cost).

No timer by default: a batch is whatever arrived while the previous flush was running,
which beats a fixed window at every concurrency for callers who wait on the commit (each
waits at most one flush, never a window). Where no caller waits, `linger` rests between flushes
so that each carries more: the dispatcher's outcomes and reports (see Dispatcher).
`flights` above 1 lets that many flushes run at once, each on its own transaction, for a
database where they do not queue on one writer (PostgreSQL): a batch then waits for a free
flight, not for the previous batch's commit. With `urgent`, a flush beside one under way
starts only while `urgent()` says its items are awaited (`hurry` asks it again); otherwise
the batch grows until a flight lands, as with one flight: fewer, fuller transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommitter(Generic[Item, Result]):
    """Feeds `flush` batches of submitted items; `flush` returns one result per item, in order."""

    def __init__(
        self,
        flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 500,
        linger: float = 0.0,
        flights: int = 1,
        urgent: Callable[[], bool] | None = None,
    ) -> None:
        self._linger = linger  # seconds of rest before each flush, unless a batch is full
        self._flush = flush
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._flights = flights  # flushes under way at most
        self._urgent = urgent
        self._flying: set[asyncio.Task[None]] = set()
        self._landed = asyncio.Event()  # a flight ended, or `hurry`: look again

    def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="group-committer")

    async def aclose(self) -> None:
        """Flush what is pending, then stop: a flush under way is finished, never cancelled."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        self._landed.set()
        await self._task
        self._task = None

    async def submit(self, item: Item) -> Result:
        """Wait until `item` is committed; its result, or the exception its batch raised."""
        return await self.add(item)

    def add(self, item: Item) -> asyncio.Future[Result]:
        """Queue `item`; the future is done once it is committed (for callers that move on)."""
        if self._task is None:
            raise RuntimeError("GroupCommitter.add before start()")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wake.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self._linger and not self._closing and len(self._pending) < self._max_batch:
                    await asyncio.sleep(self._linger)
                while not self._may_fly():  # what comes meanwhile joins this batch
                    self._landed.clear()
                    await self._landed.wait()
                batch = self._pending[: self._max_batch]
                del self._pending[: len(batch)]
                if self._flights == 1:  # each flush awaited in turn: no task for it
                    await self._flush_once(batch)
                    continue
                flight = asyncio.create_task(self._flush_once(batch), name="group-commit")
                self._flying.add(flight)
                flight.add_done_callback(self._land)
            if self._closing:
                if self._flying:
                    await asyncio.gather(*self._flying)
                return

    def hurry(self) -> None:
        """`urgent` may say otherwise now: look again whether a flush may start."""
        self._landed.set()

    def _may_fly(self) -> bool:
        if not self._flying:
            return True
        if len(self._flying) >= self._flights:
            return False
        return self._closing or self._urgent is None or self._urgent()

    def _land(self, flight: asyncio.Task[None]) -> None:
        self._flying.discard(flight)
        self._landed.set()

    async def _flush_once(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except (
            Exception
        ) as exc:  # every waiter learns of the failure (and logs it); the loop lives on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
