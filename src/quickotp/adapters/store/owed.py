"""
Tables of owed posts (`event_deliveries`, `route_alarm_notices`): claiming the due rows
under a lease, and the state one attempt leaves a row in. A row is due while pending and
past its `next_attempt_at`, or while sending past its `lease_until` (the process that
claimed it stopped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.domain.models import WebhookState


async def lease_due(
    conn: AsyncConnection,
    table: Table,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    postgres: bool,
) -> Sequence[int]:
    """
    The ids of up to `limit` due rows of `table`, soonest due first, marked sending until
    `now + lease` with one attempt more. On PostgreSQL the rows another transaction holds
    are skipped, so two processes never claim one row.
    """
    c = table.c
    due = (
        select(c.id)
        .where(
            or_(
                (c.state == WebhookState.PENDING) & (c.next_attempt_at <= now),
                (c.state == WebhookState.SENDING) & (c.lease_until < now),
            )
        )
        .order_by(c.next_attempt_at, c.id)
        .limit(limit)
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    ids = (await conn.execute(due)).scalars().all()
    if ids:
        await conn.execute(
            update(table)
            .where(c.id.in_(ids))
            .values(state=WebhookState.SENDING, lease_until=now + lease, attempts=c.attempts + 1)
        )
    return ids


def state_after(*, delivered: bool, retry_at: datetime | None) -> WebhookState:
    """Delivered; else pending again when there is a retry, else failed for good."""
    if delivered:
        return WebhookState.DELIVERED
    return WebhookState.PENDING if retry_at is not None else WebhookState.FAILED
