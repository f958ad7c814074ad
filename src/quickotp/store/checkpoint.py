"""
SQLite's WAL checkpoints, off the write path.

SQLite copies its write-ahead log back into the database file (a checkpoint, with its
fsyncs) inside whichever commit takes the log past 1,000 pages. With synchronous=FULL under
load that commit took 100 to 600 ms, and every request of its group commit waited (measured
with 64 connections, `bench/rest_send.py`). So the writer connection makes no checkpoints
(store/engine.py), and this task makes them from a reader connection, once a second, in
PASSIVE mode: SQLite runs it beside the writer and it never waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quickotp.background import stop
from quickotp.store.engine import Engines

log = logging.getLogger(__name__)


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
        """One passive checkpoint: the log's frames, and how many of them are now in the file."""
        async with self.engines.read.connect() as conn:
            # On the driver: SQLAlchemy would first open a transaction, and its read lock.
            raw = await conn.get_raw_connection()
            [row] = await raw.driver_connection.execute_fetchall(  # type: ignore[union-attr]
                "PRAGMA wal_checkpoint(PASSIVE)"
            )
        return int(row[1]), int(row[2])

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.checkpoint()
            except Exception:  # a busy or failing disk must not end the task
                log.exception("checkpointing the SQLite write-ahead log failed")
