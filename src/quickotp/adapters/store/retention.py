"""
Retention on SQL: old finished messages, their verifications, webhook deliveries, parked
reports, finished webhook events and route alarm notices, read in windows off the writer
and removed in short write transactions, the messages' counts moved to the daily rollup
(`message_days`) as they go.

The deletes go through `write_transaction`, the hot path's own writer: on SQLite they take
their turn with the accepts and outcomes of this process instead of waiting in the pool
behind a run of them, and each holds the writer for one batch only (`bench/prune_under_load.py`
measures the longest hold). The window is read first on a reader connection, and the write
transaction only deletes what was read, as it was read, and adds the counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Table, func, select, text

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, marks, write_transaction
from quickotp.adapters.store.schema import (
    event_deliveries,
    messages,
    orphan_reports,
    route_alarm_notices,
    verifications,
    webhook_deliveries,
)
from quickotp.domain import otp
from quickotp.domain.retention import (
    FINISHED_POSTS,
    Outbox,
    PruneCounts,
    archived_text,
    day_start,
    prunable,
)
from quickotp.ports.retention import Candidate, Window

log = logging.getLogger(__name__)

# PostgreSQL: the advisory lock one pruning process holds (a fixed number of our own).
PRUNE_LOCK = int.from_bytes(hashlib.sha256(b"quickotp.prune").digest()[:8], "big", signed=True)

_ROLLUP = (
    "INSERT INTO message_days"
    " (account_id, day, transport, status, verification, messages, parts, charged)"
    f" VALUES ({marks(8)})"
    " ON CONFLICT (account_id, day, transport, status, verification) DO UPDATE SET"
    " messages = message_days.messages + excluded.messages,"
    " parts = message_days.parts + excluded.parts,"
    " charged = message_days.charged + excluded.charged"
)
# Each batch by id, on the primary key and message_id's unique index. The status, which makes
# each DELETE remove only rows still as they were read, is `+status` on SQLite: a plain
# `status = ?` sent its planner down ix_messages_due through every message of that status
# (25 ms for 100 rows at 60,000 messages; tests/adapters/store/test_query_plans.py holds the plans).
DELETE_MESSAGES = "DELETE FROM messages WHERE {status} = ? AND id IN ({ids})"
DELETE_VERIFICATIONS = "DELETE FROM verifications WHERE {status} = ? AND message_id IN ({ids})"
DELETE_DELIVERIES = "DELETE FROM webhook_deliveries WHERE message_id IN ({ids})"
_ARCHIVED_MESSAGE = [c for c in messages.c if c.name not in {"code", "lease_until"}]
_ARCHIVED_VERIFICATION = [
    c for c in verifications.c if c.name not in {"code_digest", "code_sealed", "mobile"}
]
_ARCHIVED_DELIVERY = [c for c in webhook_deliveries.c if c.name not in {"lease_until"}]
_OUTBOXES: dict[Outbox, Table] = {
    Outbox.EVENTS: event_deliveries,
    Outbox.NOTICES: route_alarm_notices,
}
_FINISHED = ", ".join(f"'{state}'" for state in FINISHED_POSTS)


class RetentionSqlStore:
    """The RetentionStore on SQLite and PostgreSQL; days of the rollup are days of `zone`."""

    def __init__(self, engines: Engines, zone: tzinfo) -> None:
        self.engines = engines
        self.zone = zone
        self._postgres = engines.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[bool]:
        if not self._postgres:  # one writer at a time: two prunes only take turns
            yield True
            return
        # Autocommit: the lock belongs to the session, and no transaction stays open beside it.
        async with self.engines.write.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": PRUNE_LOCK})
            )
            try:
                yield got
            finally:
                if got:
                    try:
                        await conn.execute(
                            text("SELECT pg_advisory_unlock(:key)"), {"key": PRUNE_LOCK}
                        )
                    except BaseException:
                        # Never back into the pool still holding the lock: closing the
                        # session releases it.
                        await conn.invalidate()
                        raise

    async def window(self, after: int, *, before: datetime, now: datetime, limit: int) -> Window:
        m, v = messages.c, verifications.c
        query = (
            select(
                m.id,
                m.account_id,
                m.created_at,
                m.transport,
                m.status,
                m.parts,
                m.charged,
                v.status.label("verification"),
                v.expires_at.label("verification_expires_at"),
            )
            .select_from(messages.outerjoin(verifications, v.message_id == m.id))
            .where(m.id > after)
            .order_by(m.id)
            .limit(limit)
        )
        if not self._postgres:
            # SQLite numbers new messages from the highest id stored: the newest message
            # stays, so a MessageID a client holds never comes back as another message.
            query = query.where(m.id < select(func.max(m.id)).scalar_subquery())
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(query)).all()
        candidates = [
            Candidate(
                row.id,
                row.account_id,
                row.created_at,
                row.transport,
                row.status,
                row.parts,
                row.charged,
                row.verification,
            )
            for row in rows
            if prunable(
                row.status,
                row.created_at,
                row.verification,
                row.verification_expires_at,
                before=before,
                now=now,
            )
        ]
        old_enough = any(row.created_at < before for row in rows)
        return Window(
            candidates=candidates,
            last_id=rows[-1].id if rows else after,
            more=len(rows) == limit and old_enough,
        )

    async def archive_records(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        async with self.engines.read.connect() as conn:
            found = (
                await conn.execute(
                    select(*_ARCHIVED_MESSAGE, messages.c.code)
                    .where(messages.c.id.in_(list(ids)))
                    .order_by(messages.c.id)
                )
            ).all()
            checks = {
                row.message_id: row
                for row in await conn.execute(
                    select(*_ARCHIVED_VERIFICATION).where(verifications.c.message_id.in_(list(ids)))
                )
            }
            deliveries: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in await conn.execute(
                select(*_ARCHIVED_DELIVERY)
                .where(webhook_deliveries.c.message_id.in_(list(ids)))
                .order_by(webhook_deliveries.c.id)
            ):
                deliveries[row.message_id].append(_plain(row, _ARCHIVED_DELIVERY))
        records = []
        for row in found:
            message = _plain(row, _ARCHIVED_MESSAGE)
            masked = otp.mask(row.text, row.code) if row.code else row.text
            message["text"] = archived_text(masked, row.status)
            check = checks.get(row.id)
            records.append(
                {
                    "message": message,
                    "verification": None
                    if check is None
                    else _plain(check, _ARCHIVED_VERIFICATION),
                    "webhook_deliveries": deliveries.get(row.id, []),
                }
            )
        return records

    async def count(self, ids: Sequence[int]) -> PruneCounts:
        listed = list(ids)
        async with self.engines.read.connect() as conn:
            checks = await conn.scalar(
                select(func.count()).where(verifications.c.message_id.in_(listed))
            )
            deliveries = await conn.scalar(
                select(func.count()).where(webhook_deliveries.c.message_id.in_(listed))
            )
        return PruneCounts(len(listed), int(checks or 0), int(deliveries or 0))

    async def delete(self, candidates: Sequence[Candidate]) -> PruneCounts:
        if not candidates:
            return PruneCounts()
        rollup = _rollup(candidates, self.zone)

        async def work(tx: Tx) -> PruneCounts:
            if not tx.postgres:
                # Freed pages and cells are overwritten with zeros: the numbers are gone
                # from the file, not only from the tables (docs/operations.md#retention).
                await tx.execute("PRAGMA secure_delete = ON")
            try:
                return await _delete(tx, candidates, rollup)
            finally:
                if not tx.postgres:
                    await tx.execute("PRAGMA secure_delete = OFF")

        try:
            return await write_transaction(self.engines, work)
        except _Changed:
            log.debug("a batch changed while it was pruned; the next prune reads it again")
            return PruneCounts()

    async def orphan_reports(
        self, after: int, *, before: datetime, limit: int
    ) -> list[dict[str, Any]]:
        query = (
            select(orphan_reports)
            .where(orphan_reports.c.id > after, orphan_reports.c.received_at < before)
            .order_by(orphan_reports.c.id)
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [_plain(row, list(orphan_reports.c)) for row in await conn.execute(query)]

    async def delete_orphan_reports(self, ids: Sequence[int]) -> int:
        async def work(tx: Tx) -> int:
            gone = await tx.fetch(
                f"DELETE FROM orphan_reports WHERE id IN ({marks(len(ids))}) RETURNING id", *ids
            )
            return len(gone)

        return await write_transaction(self.engines, work) if ids else 0

    async def finished(
        self, outbox: Outbox, after: int, *, before: datetime, limit: int
    ) -> list[dict[str, Any]]:
        # Walked by id, as the parked reports are: an outbox without a message is small
        # (an event a crossing of a threshold, a notice a route alarm's step), so no index
        # but the primary key's.
        table = _OUTBOXES[outbox]
        columns = [c for c in table.c if c.name != "lease_until"]
        query = (
            select(*columns)
            .where(
                table.c.id > after,
                table.c.created_at < before,
                table.c.state.in_([str(state) for state in FINISHED_POSTS]),
            )
            .order_by(table.c.id)
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [_plain(row, columns) for row in await conn.execute(query)]

    async def delete_finished(self, outbox: Outbox, ids: Sequence[int]) -> int:
        # Only rows still finished: one owed again since it was read (a retry) stays.
        sql = (
            f"DELETE FROM {_OUTBOXES[outbox].name} WHERE id IN ({marks(len(ids))})"
            f" AND state IN ({_FINISHED}) RETURNING id"
        )

        async def work(tx: Tx) -> int:
            return len(await tx.fetch(sql, *ids))

        return await write_transaction(self.engines, work) if ids else 0


class _Changed(Exception):
    """A batch no longer is as it was read: its transaction is rolled back."""


async def _delete(
    tx: Tx, candidates: Sequence[Candidate], rollup: Sequence[tuple[Any, ...]]
) -> PruneCounts:
    """
    One batch of `delete`, inside its transaction: children first (foreign keys), each
    DELETE conditioned on the state the batch was read in, and counted. A statement that
    removes fewer rows than read means something changed meanwhile: all is rolled back.

    A handful of statements whatever the batch's size, none returning rows: on SQLite each
    row a statement steps through hands the GIL over and waits to take it back from the
    busy event loop, which made a 500-row batch hold the writer for 40 ms and more under load.
    """
    ids = [c.id for c in candidates]
    deliveries = await tx.changed(DELETE_DELIVERIES.format(ids=marks(len(ids))), *ids)
    checks = 0
    for status, group in _by(candidates, "verification").items():
        if status is not None:
            checks += await _changed_exactly(tx, DELETE_VERIFICATIONS, status, group)
    for status, group in _by(candidates, "status").items():
        await _changed_exactly(tx, DELETE_MESSAGES, status, group)
    await tx.executemany(
        _ROLLUP, [(account_id, tx.time(day), *rest) for account_id, day, *rest in rollup]
    )
    return PruneCounts(len(ids), checks, deliveries)


async def _changed_exactly(tx: Tx, sql: str, status: str, ids: Sequence[int]) -> int:
    column = "status" if tx.postgres else "+status"
    changed = await tx.changed(sql.format(status=column, ids=marks(len(ids))), status, *ids)
    if changed != len(ids):
        raise _Changed
    return changed


def _by(candidates: Sequence[Candidate], field: str) -> dict[Any, list[int]]:
    grouped: dict[Any, list[int]] = defaultdict(list)
    for candidate in candidates:
        grouped[getattr(candidate, field)].append(candidate.id)
    return grouped


def _rollup(candidates: Sequence[Candidate], zone: tzinfo) -> list[tuple[Any, ...]]:
    """The batch's counts per (account, day of `zone`, transport, status, verification)."""
    days: dict[tuple[int, datetime, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for c in candidates:
        key = (
            c.account_id,
            day_start(c.created_at, zone),
            c.transport or "",
            c.status,
            c.verification or "",
        )
        counts = days[key]
        counts[0] += 1
        counts[1] += c.parts
        counts[2] += c.charged
    return [(*key, *counts) for key, counts in sorted(days.items())]


def _plain(row: Any, columns: Sequence[Any]) -> dict[str, Any]:
    """A row's `columns` as a dict of plain values (bytes as hex) for an archive line."""
    record = {}
    for column in columns:
        value = row._mapping[column.name]
        record[str(column.name)] = value.hex() if isinstance(value, bytes | memoryview) else value
    return record
