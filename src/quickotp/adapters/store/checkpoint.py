"""
SQLite's WAL checkpoints, off the write path.

SQLite copies its write-ahead log back into the database file (a checkpoint, with its
fsyncs) inside whichever commit takes the log past 1,000 pages. With synchronous=FULL under
load (64 connections, `bench/rest_send.py`) that commit takes 100 to 600 ms, and every
request of its group commit waits. So the writer connection makes no checkpoints
(store/engine.py), and this task makes them from a reader connection, once a second, in
PASSIVE mode: SQLite runs it beside the writer and it never waits for one.

A passive checkpoint never starts the log over, though: SQLite does that only at a write
that finds every frame copied back and no reader in the log, which a steady load never
leaves. Under load the log would grow by about 12 KB an OTP, to hundreds of megabytes in a
benchmark's half minute, every commit extending the file. So once the log passes
`RESTART_FRAMES`, a passive checkpoint is followed by a RESTART one: it copies the few
frames written since, waits for readers to leave the log (at most `RESTART_WAIT_MS`; else
it gives up and tries again next time) and holds new writers back meanwhile, and the next
commit starts the log over, cut back to `journal_size_limit` (store/engine.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from quickotp.adapters.store.engine import BUSY_TIMEOUT_MS, Engines
from quickotp.support.background import stop
from quickotp.support.faults import log_failure

log = logging.getLogger(__name__)

RESTART_FRAMES = 1000  # SQLite's own auto-checkpoint threshold (4 MB of 4 KB pages)
RESTART_WAIT_MS = 20  # the longest a RESTART may hold writers back waiting for readers


class WalCheckpointer:
    """Checkpoints an SQLite database every `interval` seconds while started."""

    def __init__(self, engines: Engines, *, interval: float = 1.0) -> None:
        self.engines = engines
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="wal-checkpointer")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None
        with contextlib.suppress(Exception):  # at shutdown, a last one is a courtesy
            await self.checkpoint()

    async def checkpoint(self) -> tuple[int, int]:
        """
        One passive checkpoint, and a RESTART one when the log is long: the log's frames
        and how many of them are now in the file, as the last of the two left them.
        """
        async with self.engines.read.connect() as conn:
            # On the driver: SQLAlchemy would first open a transaction, and its read lock.
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            [(_, frames, copied)] = await driver.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            if frames >= RESTART_FRAMES:
                await driver.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                try:
                    [(_, frames, copied)] = await driver.execute_fetchall(
                        "PRAGMA wal_checkpoint(RESTART)"
                    )
                finally:
                    await driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return int(frames), int(copied)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.checkpoint()
            except Exception as exc:  # a busy or failing disk must not end the task
                log_failure(log, "checkpointing the SQLite write-ahead log failed", exc=exc)
