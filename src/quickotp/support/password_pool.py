"""
Password hashing off the event loop, in a worker process of low priority, with a short
queue: sign-ins never slow /rest and /v1, and those the worker cannot take are refused.

One argon2id hash or check (argon2-cffi's defaults) takes some 50-100 ms of CPU on four
threads of its own (one per lane) and 64 MiB of memory. On the event loop, ten wrong
sign-ins a second held every API request behind them. argon2-cffi releases the GIL, so a
thread pool frees the loop of the work, but not of the CPU: with `bench/flood.py` at 20
sign-ins a second on two busy cores, the four lane threads of each hash took the loop's
share of the process's CPU, and with a lowered priority a pool thread that was preempted
while it held the GIL for a moment stalled the loop for longer still (SendQuickOTP p50 of
1-2 s either way). A process of its own shares no GIL, and at the lowest priority (nice
19, which its lane threads inherit) it gets the CPU the API leaves.

One worker process serves every PasswordPool of the server process (started at the first
hash, on `spawn`: a fork of a process running threads is unsafe). Each pool lets
`capacity` calls run or wait; past it a call is refused at once with PasswordHashingBusy
(the panel answers 429 with Retry-After), so no rate of sign-ins builds a backlog that
holds a person's sign-in for long or grows memory.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from quickotp.domain.errors import PasswordHashingBusy

log = logging.getLogger(__name__)

T = TypeVar("T")

QUEUE = 4  # calls that may run or wait at once: ~0.2-0.4 s of work
NICE = 19  # the worker's niceness: it runs on what the API leaves
RETRY_AFTER = 1  # seconds a refused caller is told to wait

_shared: ProcessPoolExecutor | None = None
_shared_lock = threading.Lock()


def _start_worker() -> None:
    """The worker process at the lowest priority (its threads inherit it), bound to its parent."""
    try:
        os.nice(NICE)
    except OSError:  # not allowed here: the work runs at normal priority
        log.debug("could not lower the password worker's priority")
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    """
    End this worker as soon as its server process is gone. The pool's own shutdown runs only
    when the server exits through the interpreter's exit path; a server killed, or ended by
    os._exit, would otherwise leave the worker waiting on its queue for good.
    """
    parent.join()
    os._exit(0)


def _executor() -> ProcessPoolExecutor:
    global _shared  # one worker process for the whole server process
    with _shared_lock:
        if _shared is None:
            _shared = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
            )
        return _shared


def _replace_broken(broken: ProcessPoolExecutor) -> None:
    """Drop a pool whose worker died (killed, out of memory): the next call starts another."""
    global _shared
    with _shared_lock:
        if _shared is broken:
            _shared = None
    broken.shutdown(wait=False)


async def shutdown() -> None:
    """
    Stop the worker process, if one runs, and free its queues (from a thread: joining it
    takes a moment). The server calls this as it stops; a server that stops any other way
    leaves a worker that ends by itself (_exit_with).
    """
    global _shared
    with _shared_lock:
        executor, _shared = _shared, None
    if executor is not None:
        await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)


class PasswordPool:
    """Runs `call(*args)` in the password worker; refuses at once past `capacity` calls."""

    def __init__(self, *, capacity: int = QUEUE) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._taken = 0  # calls running or waiting, until the worker is done with them

    async def run(self, call: Callable[..., T], *args: object) -> T:
        """`call(*args)` (picklable) in the worker; PasswordHashingBusy when full."""
        with self._lock:
            if self._taken >= self.capacity:
                raise PasswordHashingBusy(
                    "every password check is busy: try again in a moment",
                    retry_after=RETRY_AFTER,
                )
            self._taken += 1
        executor = _executor()
        try:
            # Counted until the worker is done, not until the caller stops waiting: a
            # caller that goes away (cancelled) leaves its work running in the worker.
            work = executor.submit(call, *args)
        except BrokenProcessPool:
            self._release(None)
            _replace_broken(executor)
            raise PasswordHashingBusy("the password worker restarts", retry_after=1) from None
        work.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(work)
        except BrokenProcessPool:
            log.error("the password worker died; a new one starts with the next call")
            _replace_broken(executor)
            raise PasswordHashingBusy("the password worker restarts", retry_after=1) from None

    async def start(self) -> None:
        """
        Start the worker now, from a thread: starting a process takes tens of milliseconds
        that would otherwise fall on the event loop at the first sign-in.
        """
        await asyncio.to_thread(lambda: _executor().submit(int).result())

    def _release(self, _: Future[Any] | None) -> None:
        with self._lock:
            self._taken -= 1

    @property
    def full(self) -> bool:
        """Whether a call now would be refused (a hint: the next run decides)."""
        return self._taken >= self.capacity
