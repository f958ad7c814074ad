"""
Idempotency inside one process: concurrent repeats of a request share its one answer
(single flight), and answers are kept for the request's window, bounded in number.

Across processes the Limiter's claim does the same job (see `Sending._once` in
services/sending.py): a repeat that lands on another process finds the claim and is
answered from the database (services/repeats.py).

Answers are kept packed into plain tuples of plain values (`pack`; a send's is in
repeats.py), which the garbage collector stops tracking. Kept as objects, the 40,000 of a
ten-second window at 3,000 answers/s would be walked by every full collection: pauses of up
to 43 ms under load, the p99 tail (gc.callbacks shows the pauses).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quickotp.domain.errors import IdempotencyConflict

T = TypeVar("T")


@dataclass
class _Flight:
    fingerprint: str
    future: asyncio.Future[Any]


class Idempotency(Generic[T]):
    """
    Single flight plus recent answers, keyed by request; at most `max_answers` kept, each
    dropped once its window is over. Use one instance per window length. `pack` makes an
    answer a tuple of numbers, strings and times; `unpack` makes it again.
    """

    def __init__(
        self,
        pack: Callable[[T], tuple[Any, ...]],
        unpack: Callable[[tuple[Any, ...]], T],
        *,
        max_answers: int = 50_000,
    ) -> None:
        self.max_answers = max_answers
        self._pack = pack
        self._unpack = unpack
        # key -> (fingerprint, until in the callers' time, *packed answer): one flat tuple,
        # which the collector drops from its scans at its first pass (a nested one: two)
        self._answers: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
        self._flights: dict[str, _Flight] = {}

    async def run(
        self,
        key: str,
        fingerprint: str,
        *,
        now: float,
        seconds: float,
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """
        `work()`'s answer; a repeat of `key` inside `seconds` gets the same answer (or the same
        exception, while the first is in flight) without running `work` again. Raises
        IdempotencyConflict when `key` comes back with another fingerprint.
        """
        answer = self._answers.get(key)
        if answer is not None and answer[1] > now:
            if answer[0] != fingerprint:
                raise IdempotencyConflict("this idempotency key was used with another request")
            return self._unpack(answer[2:])
        flight = self._flights.get(key)
        if flight is not None:
            if flight.fingerprint != fingerprint:
                raise IdempotencyConflict("this idempotency key is in use by another request")
            shared: T = await asyncio.shield(flight.future)
            return shared
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = _Flight(fingerprint, future)
        try:
            value = await work()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result(value)
            self._remember(key, (fingerprint, now + seconds, *self._pack(value)), now)
            return value
        finally:
            del self._flights[key]

    def _remember(self, key: str, answer: tuple[Any, ...], now: float) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        # Oldest first: with one window per instance, the expired ones lead. Answers can hold
        # codes, so they go when their window ends rather than when space runs out.
        while self._answers and (
            len(self._answers) > self.max_answers or next(iter(self._answers.values()))[1] <= now
        ):
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
