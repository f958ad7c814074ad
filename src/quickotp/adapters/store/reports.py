"""
The reads behind Statistics, GetMessage and GetMessages, in SQL.

Each reads one account's messages of one time window through `ix_messages_account_created`
(account_id, created_at, id), so its cost follows the messages in the window, never the
table (tests/adapters/store/test_query_plans.py holds them there). Texts come back with the code
masked, whatever the message's state.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Date, Select, cast, func, literal, select

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import masked_message
from quickotp.adapters.store.schema import messages
from quickotp.domain.models import DayCount, Message, MessageStatus


def day_counts_query(
    account_id: int, start: datetime, end: datetime, offset: timedelta, *, postgres: bool
) -> Select[Any]:
    """Messages begun in [start, end), counted per day (`offset` ahead of UTC) and status."""
    minutes = int(offset.total_seconds() // 60)
    if postgres:
        local = func.timezone("UTC", messages.c.created_at) + func.make_interval(
            0, 0, 0, 0, 0, literal(minutes)
        )
        day: Any = cast(local, Date)
    else:
        day = func.date(messages.c.created_at, f"{minutes:+d} minutes")
    return (
        select(
            day.label("day"),
            messages.c.status,
            func.count().label("count"),
            func.sum(messages.c.parts).label("parts"),
            func.sum(messages.c.cost).label("cost"),
        )
        .where(
            messages.c.account_id == account_id,
            messages.c.created_at >= start,
            messages.c.created_at < end,
        )
        .group_by(day, messages.c.status)
    )


def window_query(
    account_id: int, start: datetime, end: datetime, skip: int, limit: int
) -> Select[Any]:
    """A page of the messages begun in [start, end), oldest first."""
    return (
        select(messages)
        .where(
            messages.c.account_id == account_id,
            messages.c.created_at >= start,
            messages.c.created_at < end,
        )
        .order_by(messages.c.created_at, messages.c.id)
        .offset(skip)
        .limit(limit)
    )


class ReportSqlStore:
    """The ReportStore port (quickotp/reports.py) on SQLite and PostgreSQL."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._postgres = engines.dialect == "postgresql"

    async def day_counts(
        self, account_id: int, start: datetime, end: datetime, offset: timedelta
    ) -> list[DayCount]:
        statement = day_counts_query(account_id, start, end, offset, postgres=self._postgres)
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(statement)).all()
        zone = timezone(offset)
        found = [
            DayCount(
                day=datetime.combine(_day(row.day), time(), tzinfo=zone),
                status=MessageStatus(row.status),
                count=int(row.count),
                parts=int(row.parts),
                cost=int(row.cost),
            )
            for row in rows
        ]
        return sorted(found, key=lambda c: (c.day, c.status))

    async def sent_messages(
        self, account_id: int, start: datetime, end: datetime, skip: int, limit: int
    ) -> list[Message]:
        statement = window_query(account_id, start, end, skip, limit)
        async with self.engines.read.connect() as conn:
            return [masked_message(row) for row in await conn.execute(statement)]

    async def sent_message(self, account_id: int, message_id: int) -> Message | None:
        statement = select(messages).where(
            messages.c.id == message_id, messages.c.account_id == account_id
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else masked_message(row)


def _day(value: date | str) -> date:
    """A day as the database gives it (SQLite: text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value
