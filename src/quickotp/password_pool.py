"""
A small, bounded pool of threads for password hashing, so argon2 never runs on the event
loop that serves /rest and /v1.

One argon2id hash or check takes some 50-100 ms of CPU and 64 MiB of memory (argon2-cffi's
defaults). On the event loop, ten wrong sign-ins a second held every API request behind
them. argon2-cffi calls libargon2 through cffi, which releases the GIL for the call, so a
thread does the work while the loop goes on serving. The pool is small (at most two
threads) because a hash is all CPU: more threads only share the same cores and memory.
Its threads run at a lower scheduling priority (Linux: each thread's nice value), so on
a busy machine the event loop's thread is scheduled first.

What the threads cannot take at once waits in a short queue; past it a call is refused at
once with PasswordHashingBusy (the panel answers 429 with Retry-After), so no rate of
sign-ins builds a backlog that would hold a person's sign-in for long or grow memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from quickotp.errors import PasswordHashingBusy

log = logging.getLogger(__name__)

T = TypeVar("T")

THREADS = min(2, os.cpu_count() or 1)
QUEUE = 4 * THREADS  # calls that may wait for a thread: ~0.2-0.4 s of work at most
NICE = 10  # the threads' niceness: the event loop (0) gets about nine tenths of a busy core
RETRY_AFTER = 1  # seconds a refused caller is told to wait


def _lower_priority() -> None:
    """Nice this thread (Linux schedules threads apart; elsewhere it would nice the process)."""
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        except OSError:  # not allowed here: the work runs at normal priority
            log.debug("could not lower the password threads' priority")


class PasswordPool:
    """Runs a CPU-bound call on one of `threads` threads; refuses when `queue` calls wait."""

    def __init__(self, *, threads: int = THREADS, queue: int = QUEUE) -> None:
        self.capacity = threads + queue
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._taken = 0  # calls running or waiting, until their thread is done with them

    async def run(self, call: Callable[..., T], *args: object) -> T:
        """`call(*args)` on a pool thread; PasswordHashingBusy when the pool is full."""
        with self._lock:
            if self._taken >= self.capacity:
                raise PasswordHashingBusy(
                    "every password check is busy: try again in a moment",
                    retry_after=RETRY_AFTER,
                )
            self._taken += 1
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self._threads, thread_name_prefix="password", initializer=_lower_priority
            )
        # Counted until the thread is done, not until the caller stops waiting: a caller
        # that goes away (cancelled) leaves its work running, and that work holds a thread.
        work = self._executor.submit(call, *args)
        work.add_done_callback(self._release)
        return await asyncio.wrap_future(work)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._taken -= 1

    @property
    def full(self) -> bool:
        """Whether a call now would be refused (a hint: the next run decides)."""
        return self._taken >= self.capacity

    def close(self) -> None:
        """Let the threads end once their work is done (a new call starts them again)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
