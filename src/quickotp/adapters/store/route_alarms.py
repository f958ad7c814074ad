"""
Route alarms in SQL: one row a spell of a route being down or failing, at most one open a
route (a partial unique index), so every dispatching process that watches the same route
shares one alarm, and an alarm outlives the process that opened it.

The notices owed to the operator's alarm URL (`route_alarm_notices`) are written in the
transaction that opens, changes or clears the alarm, and claimed under a lease as
`event_deliveries` are (store/alerts.py), so a notice outlives the process too, and two
processes never post one at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.owed import lease_due, state_after
from quickotp.adapters.store.rows import record
from quickotp.adapters.store.schema import route_alarm_notices, route_alarms
from quickotp.domain.models import WebhookState
from quickotp.domain.route_alarms import MAX_DETAIL, AlarmNotice, Health, RouteAlarm, Step

MAX_NOTICE = 300


class AlarmSqlStore:
    """The `route_alarms` table."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._postgres = engines.dialect == "postgresql"

    async def open_alarms(self) -> list[RouteAlarm]:
        async with self.engines.read.connect() as conn:
            rows = await conn.execute(
                select(route_alarms)
                .where(route_alarms.c.cleared_at.is_(None))
                .order_by(route_alarms.c.id)
            )
            return [_alarm(row) for row in rows]

    async def recent_alarms(self, limit: int, route: str | None = None) -> list[RouteAlarm]:
        """The latest alarms, open or cleared, newest first (of one route, when named)."""
        query = select(route_alarms).order_by(route_alarms.c.id.desc()).limit(limit)
        if route is not None:
            query = query.where(route_alarms.c.route == route)
        async with self.engines.read.connect() as conn:
            return [_alarm(row) for row in await conn.execute(query)]

    async def open_alarm(
        self, route: str, kind: Health, detail: str, now: datetime, *, notify: bool = False
    ) -> RouteAlarm | None:
        """A new open alarm; None when the route has one open already (another process's)."""
        try:
            async with self.engines.write.begin() as conn:
                new_id = await conn.scalar(
                    insert(route_alarms)
                    .values(route=route, kind=kind, detail=detail[:MAX_DETAIL], opened_at=now)
                    .returning(route_alarms.c.id)
                )
                if notify:
                    await _owe(conn, int(new_id), Step.OPEN, kind, detail, now)
        except IntegrityError:
            return None
        return RouteAlarm(int(new_id), route, kind, detail[:MAX_DETAIL], now)

    async def change_alarm(
        self, alarm_id: int, kind: Health, detail: str, now: datetime, *, notify: bool = False
    ) -> bool:
        """Whether the open alarm took the new kind (False: it was cleared meanwhile)."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id, route_alarms.c.cleared_at.is_(None))
                .values(kind=kind, detail=detail[:MAX_DETAIL])
            )
            if done.rowcount and notify:
                await _owe(conn, alarm_id, Step.CHANGE, kind, detail, now)
        return bool(done.rowcount)

    async def clear_alarm(self, alarm_id: int, now: datetime, *, notify: bool = False) -> bool:
        """Whether this call cleared the alarm (False: it was cleared already)."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id, route_alarms.c.cleared_at.is_(None))
                .values(cleared_at=now)
                .returning(route_alarms.c.kind, route_alarms.c.detail)
            )
            row = done.first()
            if row is not None and notify:
                await _owe(conn, alarm_id, Step.CLEAR, Health(row.kind), row.detail, now)
        return row is not None

    async def note(self, alarm_id: int, notice: str) -> None:
        """Record what came of telling the operator's alarm URL about the alarm."""
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id)
                .values(notice=notice[:MAX_NOTICE])
            )

    async def claim_notices(self, now: datetime, lease: timedelta, limit: int) -> list[AlarmNotice]:
        n = route_alarm_notices.c
        async with self.engines.write.begin() as conn:
            ids = await lease_due(
                conn,
                route_alarm_notices,
                now=now,
                lease=lease,
                limit=limit,
                postgres=self._postgres,
            )
            if not ids:
                return []
            rows = (
                await conn.execute(
                    select(
                        n.id,
                        n.step,
                        n.kind,
                        n.detail,
                        n.attempts,
                        n.created_at,
                        route_alarms.c.id.label("alarm_id"),
                        route_alarms.c.route,
                        route_alarms.c.opened_at,
                    )
                    .join(route_alarms, route_alarms.c.id == n.alarm_id)
                    .where(n.id.in_(ids))
                    .order_by(n.id)
                )
            ).all()
        return [_notice(row) for row in rows]

    async def record_notice(
        self,
        notice: AlarmNotice,
        *,
        retry_at: datetime | None,
        error: str | None,
        note: str | None,
        now: datetime,
    ) -> None:
        state = state_after(delivered=error is None, retry_at=retry_at)
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(route_alarm_notices)
                .where(route_alarm_notices.c.id == notice.id)
                .values(
                    state=state,
                    next_attempt_at=retry_at or now,
                    lease_until=None,
                    last_error=None if error is None else error[:MAX_NOTICE],
                    done_at=None if state is WebhookState.PENDING else now,
                )
            )
            if note is not None:
                await conn.execute(
                    update(route_alarms)
                    .where(route_alarms.c.id == notice.alarm.id)
                    .values(notice=note[:MAX_NOTICE])
                )


async def _owe(
    conn: AsyncConnection, alarm_id: int, step: Step, kind: Health, detail: str, now: datetime
) -> None:
    """A notice of `step` owed to the alarm URL, due at once (inside the caller's transaction)."""
    await conn.execute(
        insert(route_alarm_notices).values(
            alarm_id=alarm_id,
            step=step,
            kind=kind,
            detail=detail[:MAX_DETAIL],
            state=WebhookState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def _notice(row: Any) -> AlarmNotice:
    step = Step(row.step)
    alarm = RouteAlarm(
        id=row.alarm_id,
        route=row.route,
        kind=Health(row.kind),
        detail=row.detail,
        opened_at=row.opened_at,
        cleared_at=row.created_at if step is Step.CLEAR else None,
    )
    return AlarmNotice(row.id, step, alarm, row.attempts)


def _alarm(row: Row[Any]) -> RouteAlarm:
    return record(RouteAlarm, row, kind=Health(row.kind))
