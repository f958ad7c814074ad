"""
Retention on SQL: old finished messages, their verifications, webhook deliveries and parked
reports, read in windows of the messages table off the writer and removed in short write
transactions, their counts moved to the daily rollup (`message_days`) as they go.

The deletes go through `write_transaction`, the hot path's own writer: on SQLite they take
their turn with the accepts and outcomes of this process instead of waiting in the pool
behind a run of them, and each holds the writer for one batch only (`bench/prune_under_load.py`
measures the longest hold). The window is read first on a reader connection, so the write
transaction only checks its rows again, deletes and counts.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select, text

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, marks, write_transaction
from quickotp.adapters.store.schema import (
    messages,
    orphan_reports,
    verifications,
    webhook_deliveries,
)
from quickotp.domain import otp
from quickotp.domain.retention import PruneCounts, archived_text, day_start, prunable
from quickotp.ports.retention import Window

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
_ARCHIVED_MESSAGE = [c for c in messages.c if c.name not in {"code", "lease_until"}]
_ARCHIVED_VERIFICATION = [
    c for c in verifications.c if c.name not in {"code_digest", "code_sealed", "mobile"}
]
_ARCHIVED_DELIVERY = [c for c in webhook_deliveries.c if c.name not in {"lease_until"}]


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
        query = (
            select(
                messages.c.id,
                messages.c.status,
                messages.c.created_at,
                verifications.c.status.label("verification"),
                verifications.c.expires_at.label("verification_expires_at"),
            )
            .select_from(
                messages.outerjoin(verifications, verifications.c.message_id == messages.c.id)
            )
            .where(messages.c.id > after)
            .order_by(messages.c.id)
            .limit(limit)
        )
        if not self._postgres:
            # SQLite numbers new messages from the highest id stored: the newest message
            # stays, so a MessageID a client holds never comes back as another message.
            newest = select(func.max(messages.c.id)).scalar_subquery()
            query = query.where(messages.c.id < newest)
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(query)).all()
        ids = [
            row.id
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
            ids=ids,
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

    async def delete(self, ids: Sequence[int], *, before: datetime, now: datetime) -> PruneCounts:
        zone = self.zone

        async def work(tx: Tx) -> PruneCounts:
            if not tx.postgres:
                # Freed pages and cells are overwritten with zeros: the numbers are gone
                # from the file, not only from the tables (docs/operations.md#retention).
                await tx.execute("PRAGMA secure_delete = ON")
            try:
                return await _delete(tx, ids, before=before, now=now, zone=zone)
            finally:
                if not tx.postgres:
                    await tx.execute("PRAGMA secure_delete = OFF")

        return await write_transaction(self.engines, work)

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


async def _delete(
    tx: Tx, ids: Sequence[int], *, before: datetime, now: datetime, zone: tzinfo
) -> PruneCounts:
    """One batch of `delete`, inside its transaction."""
    if not ids:
        return PruneCounts()
    # PostgreSQL: locked first, so a report applied meanwhile waits and then finds no row.
    lock = " FOR UPDATE OF m SKIP LOCKED" if tx.postgres else ""
    rows = await tx.fetch(
        "SELECT m.id, m.account_id, m.transport, m.status, m.created_at, m.parts, m.charged,"
        " v.status, v.expires_at FROM messages m"
        " LEFT JOIN verifications v ON v.message_id = m.id"
        f" WHERE m.id IN ({marks(len(ids))}){lock}",
        *ids,
    )
    going = [
        row
        for row in rows
        if prunable(
            row[3],
            tx.read_time(row[4]),
            row[7],
            None if row[8] is None else tx.read_time(row[8]),
            before=before,
            now=now,
        )
    ]
    if not going:
        return PruneCounts()
    listed = marks(len(going))
    gone_ids = [row[0] for row in going]
    deliveries = await tx.fetch(
        f"DELETE FROM webhook_deliveries WHERE message_id IN ({listed}) RETURNING id", *gone_ids
    )
    checks = await tx.fetch(
        f"DELETE FROM verifications WHERE message_id IN ({listed}) RETURNING id", *gone_ids
    )
    await tx.execute(f"DELETE FROM messages WHERE id IN ({listed})", *gone_ids)
    days: dict[tuple[int, datetime, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for _, account_id, transport, status, created, parts, charged, verification, _ in going:
        key = (
            account_id,
            day_start(tx.read_time(created), zone),
            transport or "",
            status,
            verification or "",
        )
        counts = days[key]
        counts[0] += 1
        counts[1] += parts
        counts[2] += charged
    await tx.executemany(
        _ROLLUP,
        [
            (account_id, tx.time(day), transport, status, verification, *counts)
            for (account_id, day, transport, status, verification), counts in sorted(days.items())
        ],
    )
    return PruneCounts(len(going), len(checks), len(deliveries))


def _plain(row: Any, columns: Sequence[Any]) -> dict[str, Any]:
    """A row's `columns` as a dict of plain values (bytes as hex) for an archive line."""
    record = {}
    for column in columns:
        value = row._mapping[column.name]
        record[str(column.name)] = value.hex() if isinstance(value, bytes | memoryview) else value
    return record
