"""
The daily rollup of pruned messages (`message_days`), read beside the live rows, so counts
over a window stay what they were before a prune.

A pruned day counts in a window when the day starts inside it: a prune removes whole days
(domain/retention.py's `cutoff`), so a window that starts on a day boundary of the panel's
zone, or after the newest pruned day, reads exactly as before the prune.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.schema import message_days
from quickotp.domain.models import MessageStatus, TrafficRow, VerificationStatus

_days = message_days.c


def _window(account_id: int | None, since: datetime) -> list[ColumnElement[bool]]:
    conditions = [_days.day >= since]
    if account_id is not None:
        conditions.append(_days.account_id == account_id)
    return conditions


async def traffic(
    conn: AsyncConnection,
    account_id: int | None,
    *,
    since: datetime,
    bucket: Literal["hour", "day"],
    offset: timedelta,
) -> list[TrafficRow]:
    """Pruned messages by status per bucket of the zone `offset` ahead of UTC."""
    statement = (
        select(_days.day, _days.status, func.sum(_days.messages))
        .where(*_window(account_id, since))
        .group_by(_days.day, _days.status)
    )
    zone = timezone(offset)
    rows = []
    for day, status, n in await conn.execute(statement):
        start = day.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        if bucket == "day":
            start = start.replace(hour=0)
        rows.append(TrafficRow(start, MessageStatus(status), int(n)))
    return rows


def merged(rows: list[TrafficRow]) -> list[TrafficRow]:
    """One row per (bucket, status), live and pruned counts added together."""
    counts: Counter[tuple[datetime, MessageStatus]] = Counter()
    for row in rows:
        counts[(row.bucket, row.status)] += row.count
    return [TrafficRow(bucket, status, n) for (bucket, status), n in counts.items()]


async def verification_counts(
    conn: AsyncConnection, account_id: int | None, *, since: datetime
) -> Counter[str]:
    """
    Verifications of pruned messages by the status they had when pruned; a pending one is
    counted expired, since a prune takes a pending verification only past its validity.
    """
    statement = (
        select(_days.verification, func.sum(_days.messages))
        .where(*_window(account_id, since), _days.verification != "")
        .group_by(_days.verification)
    )
    counts: Counter[str] = Counter()
    for status, n in await conn.execute(statement):
        expired = status == VerificationStatus.PENDING
        counts[VerificationStatus.EXPIRED if expired else status] += int(n)
    return counts


async def usage(conn: AsyncConnection, account_id: int, *, since: datetime) -> tuple[int, int, int]:
    """Pruned messages of the account, their parts and the credit they took."""
    statement = select(
        func.coalesce(func.sum(_days.messages), 0),
        func.coalesce(func.sum(_days.parts), 0),
        func.coalesce(func.sum(_days.charged), 0),
    ).where(*_window(account_id, since))
    count, parts, charged = (await conn.execute(statement)).one()
    return int(count), int(parts), int(charged)


async def per_account(conn: AsyncConnection, *, since: datetime) -> Counter[int]:
    """Pruned messages per account."""
    statement = (
        select(_days.account_id, func.sum(_days.messages))
        .where(*_window(None, since))
        .group_by(_days.account_id)
    )
    return Counter({account_id: int(n) for account_id, n in await conn.execute(statement)})


async def per_transport(
    conn: AsyncConnection, *, since: datetime
) -> Counter[tuple[str, MessageStatus]]:
    """Pruned messages per (transport, status); "" for those no transport took."""
    statement = (
        select(_days.transport, _days.status, func.sum(_days.messages))
        .where(*_window(None, since))
        .group_by(_days.transport, _days.status)
    )
    return Counter(
        {
            (transport, MessageStatus(status)): int(n)
            for transport, status, n in await conn.execute(statement)
        }
    )
