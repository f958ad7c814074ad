"""
What pruning needs (services/pruning.py): the database's old rows in bounded batches, and
an archive to write them to before they go.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from quickotp.domain.retention import Outbox, PruneCounts


@dataclass(frozen=True)
class Candidate:
    """A message that may go, as it was read: what its removal adds to the daily rollup."""

    id: int
    account_id: int
    created_at: datetime
    transport: str | None
    status: str
    parts: int
    charged: int
    verification: str | None  # its verification's status; None: it has none


@dataclass(frozen=True)
class Window:
    """One stretch of the messages table, oldest first, as a prune walks it."""

    candidates: list[Candidate]  # the messages in it that may go
    last_id: int  # where the next stretch starts (after this id)
    more: bool  # False: the table ends here, or every message in it is too young

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.candidates]


class RetentionStore(Protocol):
    """
    Old rows, read in windows off the hot path's writer, and removed in short transactions.
    Every `delete` is one transaction: when it returns, what it removed is gone.
    """

    def exclusive(self) -> AbstractAsyncContextManager[bool]:
        """
        Held while a prune runs: True when this process may prune now, False when another
        process is pruning (PostgreSQL's advisory lock; SQLite serialises writers anyway).
        """
        ...

    async def window(
        self, after: int, *, before: datetime, now: datetime, limit: int
    ) -> Window: ...

    async def archive_records(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The messages `ids` with their verification and webhook deliveries, codes masked."""
        ...

    async def count(self, ids: Sequence[int]) -> PruneCounts:
        """What deleting the messages `ids` would remove now (for --dry-run)."""
        ...

    async def delete(self, candidates: Sequence[Candidate]) -> PruneCounts:
        """
        Remove `candidates` with their verifications and webhook deliveries, adding their
        counts to the daily rollup, in one transaction; or, if any of them changed since it
        was read (a late delivery report, a check of its code), nothing (PruneCounts()):
        the next prune reads it again.
        """
        ...

    async def orphan_reports(
        self, after: int, *, before: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` parked delivery reports past id `after` received before `before`."""
        ...

    async def delete_orphan_reports(self, ids: Sequence[int]) -> int: ...

    async def finished(
        self, outbox: Outbox, after: int, *, before: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """
        Up to `limit` rows of `outbox` past id `after`, owed before `before` and finished
        (delivered or given up), oldest first, as plain values for an archive.
        """
        ...

    async def delete_finished(self, outbox: Outbox, ids: Sequence[int]) -> int:
        """Remove those of `ids` still finished, in one transaction; how many went."""
        ...


class Archive(Protocol):
    """Where a prune writes what it removes, before it removes it."""

    async def write(self, records: Sequence[dict[str, Any]]) -> None:
        """Append `records` and make them durable (flushed to disk) before returning."""
        ...
