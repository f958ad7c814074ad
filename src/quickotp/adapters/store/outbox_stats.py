"""
The outbox's queue figures, for admission control (admission.py): how late the head of the
queue is, and, per route, how many messages wait and how many arrived after a given id.

Read in the background, about once a second per process, never per request. The cheap
reading (`head`) is two index lookups; the per-route one (`routes`) reads the backlog's rows,
so admission.py runs it only while a queue is forming. A message's route is its first
choice under routing.plan with no breaker open: the same rule, as one SQL CASE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, literal, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.schema import messages
from quickotp.domain.models import MessageStatus
from quickotp.domain.queue import Head, RouteQueue
from quickotp.domain.routing import FALLBACK, Route, first_choices

_BACKLOG = (MessageStatus.QUEUED, MessageStatus.SENDING)


def _route_case(pairs: Sequence[tuple[Route, str]]) -> ColumnElement[str | None]:
    """routing.first_choice as SQL. Names, prefixes and account ids are checked on input."""
    if not pairs:
        return literal(FALLBACK)
    whens = []
    for route, prefix in pairs:
        test = []
        if prefix:
            test.append(messages.c.mobile.startswith(prefix, autoescape=True))
        if route.accounts:
            test.append(messages.c.account_id.in_(list(route.accounts)))
        whens.append((and_(*test) if test else literal(True), literal(route.name)))
    return case(*whens, else_=None)


class OutboxStats:
    """Reads the queue figures on the read engine."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    async def head(self, now: datetime) -> Head:
        """Two lookups, each on an index (ix_messages_due, the primary key)."""
        oldest = select(func.min(messages.c.next_attempt_at)).where(
            messages.c.status == MessageStatus.QUEUED, messages.c.next_attempt_at <= now
        )
        newest = select(func.max(messages.c.id))
        async with self.engines.read.connect() as conn:
            due_since = await conn.scalar(oldest)
            last_id = await conn.scalar(newest)
        return Head(_aware(due_since), int(last_id or 0))

    async def routes(
        self, routes: Sequence[Route], now: datetime, *, after_id: int
    ) -> tuple[dict[str | None, RouteQueue], int]:
        """
        Each route's queue, and its arrivals: the messages with ids above `after_id`; and the
        newest id seen. One statement, so one snapshot: a message accepted while the figures
        are read is either in both the backlog and the arrivals, or in neither.
        """
        pairs = first_choices(routes)
        key = _route_case(pairs).label("route")
        due = and_(messages.c.status == MessageStatus.QUEUED, messages.c.next_attempt_at <= now)
        waiting = messages.c.status.in_(_BACKLOG)
        fresh = messages.c.id > after_id
        # Test numbers are stored delivered and never queue: no arrivals of a route.
        counted = and_(
            fresh, or_(messages.c.transport.is_(None), messages.c.transport != "sandbox")
        )
        query = (
            select(
                key,
                func.count(case((waiting, 1))),
                func.count(case((due, 1))),
                func.min(case((due, messages.c.next_attempt_at))),
                func.count(case((counted, 1))),
                func.max(messages.c.id),
            )
            .where(or_(waiting, fresh))
            # By position: PostgreSQL takes a repeated CASE with bound values for another one.
            .group_by(literal_column("1"))
        )
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(query)).all()
        found = {
            row[0]: RouteQueue(int(row[1]), int(row[2]), _aware(row[3]), int(row[4]))
            for row in rows
        }
        return found, max([after_id, *(int(row[5]) for row in rows)])


def _aware(value: object) -> datetime | None:
    """A time read back through an aggregate, which bypasses the column type's conversion."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands an aggregate of a DATETIME back as text
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
