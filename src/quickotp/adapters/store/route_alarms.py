"""
Route alarms in SQL: one row a spell of a route being down or failing, at most one open a
route (a partial unique index), so every dispatching process that watches the same route
shares one alarm, and an alarm outlives the process that opened it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import record
from quickotp.adapters.store.schema import route_alarms
from quickotp.domain.route_alarms import MAX_DETAIL, Health, RouteAlarm

MAX_NOTICE = 300


class AlarmSqlStore:
    """The `route_alarms` table."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

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
        self, route: str, kind: Health, detail: str, now: datetime
    ) -> RouteAlarm | None:
        """A new open alarm; None when the route has one open already (another process's)."""
        try:
            async with self.engines.write.begin() as conn:
                new_id = await conn.scalar(
                    insert(route_alarms)
                    .values(route=route, kind=kind, detail=detail[:MAX_DETAIL], opened_at=now)
                    .returning(route_alarms.c.id)
                )
        except IntegrityError:
            return None
        return RouteAlarm(int(new_id), route, kind, detail[:MAX_DETAIL], now)

    async def change_alarm(self, alarm_id: int, kind: Health, detail: str) -> bool:
        """Whether the open alarm took the new kind (False: it was cleared meanwhile)."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id, route_alarms.c.cleared_at.is_(None))
                .values(kind=kind, detail=detail[:MAX_DETAIL])
            )
        return bool(done.rowcount)

    async def clear_alarm(self, alarm_id: int, now: datetime) -> bool:
        """Whether this call cleared the alarm (False: it was cleared already)."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id, route_alarms.c.cleared_at.is_(None))
                .values(cleared_at=now)
            )
        return bool(done.rowcount)

    async def note(self, alarm_id: int, notice: str) -> None:
        """Record what came of telling the operator's alarm URL about the alarm."""
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(route_alarms)
                .where(route_alarms.c.id == alarm_id)
                .values(notice=notice[:MAX_NOTICE])
            )


def _alarm(row: Row[Any]) -> RouteAlarm:
    return record(RouteAlarm, row, kind=Health(row.kind))
