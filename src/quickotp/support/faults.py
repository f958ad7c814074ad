"""
Logging failures that come again and again while something is broken (a full disk, the
database or Redis gone): one line for each failure, and the traceback of each kind of error
at most once a minute. A traceback per failed request filled the disk it was reporting on
(some 20 MB of logs in 25 s of a full disk); one a minute still shows where it comes from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

TRACEBACK_EVERY = 60.0  # seconds between two tracebacks of one error class


class FaultLog:
    """Remembers when each error class last had its traceback logged (a few dozen classes)."""

    def __init__(
        self, every: float = TRACEBACK_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self._last: dict[type[BaseException], float] = {}

    def failed(
        self, logger: logging.Logger, message: str, *args: object, exc: BaseException
    ) -> None:
        """
        Log `message % args` with the error's class and first line, at ERROR; with its
        traceback if that class had none logged in the last `every` seconds.
        """
        now = self.clock()
        kind = type(exc)
        last = self._last.get(kind)
        full = last is None or now - last >= self.every
        if full:
            self._last[kind] = now
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        logger.error(
            f"{message}: %s%s",
            *args,
            kind.__name__,
            f": {text}" if text else "",
            exc_info=exc if full else None,
        )


FAULTS = FaultLog()  # the process's own: every caller shares the once-a-minute budget


def log_failure(logger: logging.Logger, message: str, *args: object, exc: BaseException) -> None:
    """FAULTS.failed: one line for this failure, a traceback at most once a minute a class."""
    FAULTS.failed(logger, message, *args, exc=exc)
