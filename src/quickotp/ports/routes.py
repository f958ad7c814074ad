"""
Routes as the operator manages them: the stored routes, this process's routes in use, their
alarms, and what reads a route URL typed into a form.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from quickotp.domain.delivery import OutboundSms, SendReceipt
from quickotp.domain.route_alarms import AlarmNotice, Health, RouteAlarm
from quickotp.domain.routing import Route


class RouteStore(Protocol):
    """
    The routes table (adapters/store/routes.py): URLs sealed at rest; Conflict for a name
    taken, NotFound for a name unknown.
    """

    async def add(self, route: Route, now: datetime) -> Route: ...

    async def remove(self, name: str) -> None: ...

    async def replace(self, route: Route, now: datetime) -> Route: ...

    async def set_enabled(self, name: str, enabled: bool, now: datetime) -> None: ...

    async def get(self, name: str) -> Route: ...

    async def listing(self) -> list[Route]: ...


class RouteSwitch(Protocol):
    """The routes this process sends through (the router), and one-off sends through one."""

    async def reload(self) -> None:
        """Apply the routes table now (a process without a dispatcher has nothing to do)."""
        ...

    async def trial(self, route: Route, sms: OutboundSms) -> SendReceipt:
        """
        Send `sms` through `route` alone: its running transport when this process runs it
        as stored, else one made for this send and closed after it. Raises what a
        Transport's send raises.
        """
        ...


class ReadRouteUrl(Protocol):
    """A route URL's kind and the URL as it may be shown; InvalidInput says what is wrong."""

    def __call__(self, url: str) -> tuple[str, str]: ...


class AlarmStore(Protocol):
    """The route_alarms table and the notices owed for them (adapters/store/route_alarms.py)."""

    async def open_alarms(self) -> list[RouteAlarm]: ...

    async def recent_alarms(self, limit: int, route: str | None = None) -> list[RouteAlarm]: ...

    async def open_alarm(
        self, route: str, kind: Health, detail: str, now: datetime, *, notify: bool = False
    ) -> RouteAlarm | None:
        """
        A new open alarm (None: the route has one open already); with `notify`, its notice
        owed to the alarm URL in the same transaction. So for `change_alarm`, `clear_alarm`.
        """
        ...

    async def change_alarm(
        self, alarm_id: int, kind: Health, detail: str, now: datetime, *, notify: bool = False
    ) -> bool: ...

    async def clear_alarm(self, alarm_id: int, now: datetime, *, notify: bool = False) -> bool: ...

    async def note(self, alarm_id: int, notice: str) -> None: ...

    async def claim_notices(self, now: datetime, lease: timedelta, limit: int) -> list[AlarmNotice]:
        """Lease up to `limit` due notices (pending and due, or sending past their lease)."""
        ...

    async def record_notice(
        self,
        notice: AlarmNotice,
        *,
        retry_at: datetime | None,
        error: str | None,
        note: str | None,
        now: datetime,
    ) -> None:
        """
        What came of posting `notice`: taken (`error` None), owed again at `retry_at`, or
        given up; `note` (when given) is what the alarm records of its notices.
        """
        ...
