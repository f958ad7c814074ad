"""
`RouteWatch`: a look at this process's routes every few seconds, opening, changing and
clearing route alarms (domain/route_alarms.py decides which), which are kept in the
database, logged, and, when QUICKOTP_ROUTE_ALARM_URL is set, posted to the operator's URL.

The watch runs beside the dispatcher, in every process that sends. Alarms are shared: one
open alarm a route in the database, whichever process opened it; each process reads them
back at every look, so an alarm opened before a restart is cleared by the first look that
finds the route healthy again.

A notice to the operator's URL is a signed JSON POST through the same poster as delivery
reports (public addresses only, unless QUICKOTP_WEBHOOK_PRIVATE_URLS), tried up to
NOTICE_ATTEMPTS times with a growing pause; what came of it is recorded on the alarm.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from quickotp.domain.route_alarms import (
    FAILING_AFTER,
    RouteAlarm,
    Step,
    describe,
    health,
    step,
)
from quickotp.ports.routes import AlarmStore
from quickotp.ports.transport import RouteMonitor
from quickotp.ports.webhooks import ReportPoster
from quickotp.services.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from quickotp.support.background import stop
from quickotp.support.faults import log_failure

log = logging.getLogger(__name__)

NOTICE_ATTEMPTS = 5
NOTICE_TIMEOUT = 10.0  # seconds a POST may take
FIRST_PAUSE = timedelta(seconds=10)  # before the second attempt; doubling after


@dataclass(frozen=True)
class AlarmHook:
    """Where alarm notices go: the operator's URL, and the secret that signs them ("": none)."""

    url: str
    secret: str
    poster: ReportPoster


@dataclass
class _Notice:
    alarm: RouteAlarm
    step: Step
    attempts: int = 0
    due: datetime | None = None  # None: at once
    failure: str = ""  # why the last attempt failed


class RouteWatch:
    def __init__(
        self,
        monitor: RouteMonitor,
        alarms: AlarmStore,
        clock: Callable[[], datetime],
        *,
        hook: AlarmHook | None = None,
        every: float = 10.0,
        failing_after: int = FAILING_AFTER,
    ) -> None:
        """`every`: seconds between looks; `hook`: the operator's URL, if one is set."""
        self.monitor = monitor
        self.alarms = alarms
        self.clock = clock
        self.hook = hook
        self.every = every
        self.failing_after = failing_after
        self._notices: list[_Notice] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="route-alarms")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None
        if self.hook is not None:
            await self.hook.poster.aclose()

    async def look(self) -> list[tuple[Step, RouteAlarm]]:
        """One look at every route: the alarms this look opened, changed or cleared."""
        now = self.clock()
        states = {state.name: state for state in self.monitor.routes()}
        open_alarms = {alarm.route: alarm for alarm in await self.alarms.open_alarms()}
        done: list[tuple[Step, RouteAlarm]] = []
        for name in sorted(states.keys() | open_alarms.keys()):
            state = states.get(name)
            seen = health(state, failing_after=self.failing_after) if state else None
            alarm = open_alarms.get(name)
            what = step(alarm, seen)
            if what is Step.OPEN and state is not None and seen is not None:
                opened = await self.alarms.open_alarm(name, seen, describe(state), now)
                if opened is None:  # another process opened it a moment ago
                    continue
                alarm = opened
            elif what is Step.CHANGE and alarm is not None and state is not None and seen:
                if not await self.alarms.change_alarm(alarm.id, seen, describe(state)):
                    continue
                alarm = replace(alarm, kind=seen, detail=describe(state))
            elif what is Step.CLEAR and alarm is not None:
                if not await self.alarms.clear_alarm(alarm.id, now):
                    continue
                alarm = replace(alarm, cleared_at=now)
            else:
                continue
            self._tell(what, alarm, in_use=state is not None)
            done.append((what, alarm))
        return done

    async def post_notices(self) -> None:
        """Post the notices that are due to the operator's URL; record what came of each."""
        if self.hook is None:
            return
        now = self.clock()
        for notice in [n for n in self._notices if n.due is None or n.due <= now]:
            notice.attempts += 1
            outcome = await self._post(self.hook, notice)
            if outcome is None:
                if notice.attempts < NOTICE_ATTEMPTS:
                    notice.due = now + FIRST_PAUSE * 2 ** (notice.attempts - 1)
                    continue
                outcome = f"{notice.step}: not taken ({notice.failure}) in {notice.attempts} tries"
            self._notices.remove(notice)
            await self.alarms.note(notice.alarm.id, outcome)

    def _tell(self, what: Step, alarm: RouteAlarm, *, in_use: bool) -> None:
        if what is Step.CLEAR:
            why = "" if in_use else " (it is no longer in use)"
            log.info("route %s alarm %d cleared%s", alarm.route, alarm.id, why)
        else:
            log.warning(
                "route %s is %s (alarm %d): %s", alarm.route, alarm.kind, alarm.id, alarm.detail
            )
        if self.hook is not None:
            self._notices.append(_Notice(alarm, what))

    async def _post(self, hook: AlarmHook, notice: _Notice) -> str | None:
        """What came of one POST ("opened: HTTP 200"), or None for a failure to try again."""
        alarm = notice.alarm
        body = json.dumps(
            {
                "event": "route.alarm",
                "step": str(notice.step),
                "alarm": alarm.id,
                "route": alarm.route,
                "kind": str(alarm.kind),
                "detail": alarm.detail,
                "opened_at": alarm.opened_at.isoformat(),
                "cleared_at": alarm.cleared_at.isoformat() if alarm.cleared_at else None,
            }
        ).encode()
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "QuickOTP-Alarms/1",
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: f"alarm-{alarm.id}-{notice.step}",
        }
        if hook.secret:
            headers[SIGNATURE_HEADER] = sign(hook.secret, timestamp, body)
        posted = await hook.poster.post(hook.url, body, headers, wait=NOTICE_TIMEOUT)
        if posted.status is not None and 200 <= posted.status < 300:
            return f"{notice.step}: HTTP {posted.status}"
        notice.failure = (
            f"HTTP {posted.status}" if posted.status is not None else posted.failure or "failed"
        )
        log.warning(
            "route alarm %d: the alarm URL did not take the notice (%s) %s",
            alarm.id,
            notice.failure,
            posted.detail,
        )
        return None

    async def _run(self) -> None:
        while True:
            try:
                await self.look()
                await self.post_notices()
            except Exception as exc:  # a database hiccup must not end the watch
                log_failure(log, "watching routes failed; looking again shortly", exc=exc)
            await asyncio.sleep(self.every)
