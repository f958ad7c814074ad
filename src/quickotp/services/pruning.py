"""
Retention: removing finished messages older than a given age, with their verifications and
webhook deliveries, parked reports, finished webhook events and alarm notices, in bounded
batches (`quickotp prune`, and once an hour inside `serve` and `dispatch`).

With an archive, each batch is written to it and made durable before the batch is deleted,
so a crash leaves rows archived and not yet deleted (archived again next time), never rows
deleted and not archived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from quickotp.domain.errors import Conflict, Subject
from quickotp.domain.retention import Outbox, PruneCounts, cutoff
from quickotp.ports.retention import Archive, RetentionStore

log = logging.getLogger(__name__)

# Messages a delete transaction removes at most: a few ms of the writer (docs/benchmarks.md).
BATCH = 100


@dataclass(frozen=True)
class Pruned:
    """What a prune did: its counts, and the time before which rows were old enough to go."""

    counts: PruneCounts
    before: datetime
    dry_run: bool


class Pruning:
    """Removes what is older than an age, batch by batch."""

    def __init__(
        self,
        store: RetentionStore,
        clock: Callable[[], datetime],
        zone: tzinfo,
        *,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.clock = clock
        self.zone = zone
        self.batch = batch

    async def prune(
        self, older_than: timedelta, *, archive: Archive | None = None, dry_run: bool = False
    ) -> Pruned:
        """
        Remove (with `dry_run`, count) what is older than `older_than`: whole days of the
        panel's zone. Conflict when another process is pruning now (PostgreSQL).
        """
        async with self.store.exclusive() as mine:
            if not mine:
                raise Conflict(
                    "another process is pruning now; nothing was removed",
                    subject=Subject.PRUNE_RUNNING,
                )
            now = self.clock()
            before = cutoff(now, older_than, self.zone)
            counts = await self._messages(before, now, archive, dry_run)
            counts += await self._orphan_reports(before, archive, dry_run)
            for outbox in Outbox:
                counts += await self._finished(outbox, before, archive, dry_run)
        return Pruned(counts, before, dry_run)

    async def _messages(
        self, before: datetime, now: datetime, archive: Archive | None, dry_run: bool
    ) -> PruneCounts:
        counts = PruneCounts()
        after = 0
        while True:
            window = await self.store.window(after, before=before, now=now, limit=self.batch)
            if window.ids and dry_run:
                counts += await self.store.count(window.ids)
            elif window.ids:
                if archive is not None:
                    await archive.write(await self.store.archive_records(window.ids))
                counts += await self.store.delete(window.candidates)
            if not window.more:
                return counts
            after = window.last_id

    async def _orphan_reports(
        self, before: datetime, archive: Archive | None, dry_run: bool
    ) -> PruneCounts:
        removed = 0
        after = 0
        while True:
            found = await self.store.orphan_reports(after, before=before, limit=self.batch)
            if not found:
                return PruneCounts(orphan_reports=removed)
            ids = [record["id"] for record in found]
            if dry_run:
                removed += len(ids)
            else:
                if archive is not None:
                    await archive.write([{"orphan_report": record} for record in found])
                removed += await self.store.delete_orphan_reports(ids)
            after = ids[-1]

    async def _finished(
        self, outbox: Outbox, before: datetime, archive: Archive | None, dry_run: bool
    ) -> PruneCounts:
        """The finished rows of `outbox` owed before `before`, `batch` at a time."""
        removed = 0
        after = 0
        while True:
            found = await self.store.finished(outbox, after, before=before, limit=self.batch)
            if not found:
                return PruneCounts.of(outbox, removed)
            ids = [record["id"] for record in found]
            if dry_run:
                removed += len(ids)
            else:
                if archive is not None:
                    await archive.write([{outbox.record: record} for record in found])
                removed += await self.store.delete_finished(outbox, ids)
            after = ids[-1]

    async def run_every(self, keep: timedelta, every: timedelta, first_after: timedelta) -> None:
        """Prune what is older than `keep` every `every`, the first time after `first_after`."""
        await asyncio.sleep(first_after.total_seconds())
        while True:
            try:
                pruned = await self.prune(keep)
            except Conflict:
                log.info("another process is pruning; this one waits for its next turn")
            except Exception:  # a database hiccup must not end retention for good
                log.exception("pruning failed; trying again at the next turn")
            else:
                counts = pruned.counts
                if counts != PruneCounts():
                    log.info(
                        "pruned %d message(s), %d verification(s), %d webhook delivery(ies),"
                        " %d parked report(s), %d webhook event(s) and %d alarm notice(s)"
                        " from before %s",
                        counts.messages,
                        counts.verifications,
                        counts.webhook_deliveries,
                        counts.orphan_reports,
                        counts.event_deliveries,
                        counts.route_alarm_notices,
                        pruned.before.isoformat(),
                    )
            await asyncio.sleep(every.total_seconds())
