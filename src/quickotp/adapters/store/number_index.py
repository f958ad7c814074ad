"""
SQLite's index of the numbers' trigrams (`messages_mobile`, migration 0120), written in
batches behind the accepts rather than by a trigger inside each.

A trigger that indexes each message as it is accepted costs the accept's group commit about
60-80 us of the writer thread a message: every commit flushes a small new FTS5 segment. The
same messages indexed a few hundred at a time, one statement reading them back from
`messages`, cost a few us each (`bench/number_index.py` measures both in one run). So a
background task indexes what has come since the last batch, once a second, and
`messages_mobile_progress` keeps the highest id indexed; a search reads the messages past it
directly (adapters/store/message_log.py), so nothing is ever missing from an answer.

Message ids only grow: a new one is the highest plus one, taken under SQLite's one write
lock (raw.py), so no message can appear at or below an id the index has reached.
PostgreSQL keeps its GIN index itself: there is nothing to do there.
"""

from __future__ import annotations

import asyncio
import logging

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, write_transaction
from quickotp.adapters.store.statements import WriteTransactions
from quickotp.support.background import stop
from quickotp.support.faults import log_failure

log = logging.getLogger(__name__)

BATCH = 500  # messages a transaction indexes: a few ms of the writer (bench/number_index.py)


async def _index_batch(tx: Tx, batch: int) -> int:
    [(indexed_to,)] = await tx.fetch("SELECT indexed_to FROM messages_mobile_progress")
    [(top, count)] = await tx.fetch(
        "SELECT MAX(id), COUNT(*) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
        indexed_to,
        batch,
    )
    if not count:
        return 0
    await tx.execute(
        "INSERT INTO messages_mobile (rowid, mobile)"
        " SELECT id, mobile FROM messages WHERE id > ? AND id <= ?",
        indexed_to,
        top,
    )
    await tx.execute("UPDATE messages_mobile_progress SET indexed_to = ?", top)
    return int(count)


class NumberIndexer:
    """Adds new messages to SQLite's trigram index, `batch` a transaction, every `interval` s."""

    def __init__(
        self,
        engines: Engines,
        *,
        transactions: WriteTransactions = write_transaction,
        interval: float = 1.0,
        batch: int = BATCH,
    ) -> None:
        self.engines = engines
        self.interval = interval
        self.batch = batch
        self._transactions = transactions
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="number-index")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    async def catch_up(self) -> int:
        """Index every message not indexed yet, a batch a transaction; how many it indexed."""
        indexed = 0
        while True:
            done = await self._transactions(self.engines, lambda tx: _index_batch(tx, self.batch))
            indexed += done
            if done < self.batch:
                return indexed

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception as exc:  # a busy or failing database: the next turn tries again
                log_failure(log, "indexing new messages' numbers failed", exc=exc)
            await asyncio.sleep(self.interval)
