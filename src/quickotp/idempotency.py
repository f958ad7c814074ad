"""
Idempotency inside one process: concurrent repeats of a request share its one answer
(single flight), and answers are kept for the request's window, bounded in number.

Across processes the Limiter's claim does the same job (see `Gateway._once`): a repeat that
lands on another process finds the claim and is answered from the database.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

from quickotp.errors import IdempotencyConflict

T = TypeVar("T")


class _Answer(NamedTuple):
    """A kept answer: a tuple, so that it leaves the garbage collector's scans (see SentOtp)."""

    fingerprint: str
    until: float  # in the callers' time
    value: Any


@dataclass
class _Flight:
    fingerprint: str
    future: asyncio.Future[Any]


class Idempotency:
    """
    Single flight plus recent answers, keyed by request; at most `max_answers` kept, each
    dropped once its window is over. Use one instance per window length.
    """

    def __init__(self, *, max_answers: int = 50_000) -> None:
        self.max_answers = max_answers
        self._answers: OrderedDict[str, _Answer] = OrderedDict()
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
        if answer is not None and answer.until > now:
            if answer.fingerprint != fingerprint:
                raise IdempotencyConflict("this idempotency key was used with another request")
            return cast(T, answer.value)
        flight = self._flights.get(key)
        if flight is not None:
            if flight.fingerprint != fingerprint:
                raise IdempotencyConflict("this idempotency key is in use by another request")
            return cast(T, await asyncio.shield(flight.future))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
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
            self._remember(key, _Answer(fingerprint, now + seconds, value), now)
            return value
        finally:
            del self._flights[key]

    def _remember(self, key: str, answer: _Answer, now: float) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        # Oldest first: with one window per instance, the expired ones lead. Answers can hold
        # codes, so they go when their window ends rather than when space runs out.
        while self._answers and (
            len(self._answers) > self.max_answers or next(iter(self._answers.values())).until <= now
        ):
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
