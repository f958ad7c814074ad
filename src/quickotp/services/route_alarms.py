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
NOTICE_ATTEMPTS times with a growing pause; what came of it is recorded on the alarm. Notices
are owed in the database, in the transaction that opens, changes or clears the alarm, and
claimed under a lease: one owed when a process stops is posted by the next look of any
process, and never by two at once.
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
    AlarmNotice,
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
NOTICE_BATCH = 20  # notices claimed at one look
NOTICE_LEASE = timedelta(seconds=NOTICE_TIMEOUT * NOTICE_BATCH * 2)  # each posted in turn


@dataclass(frozen=True)
class AlarmHook:
    """Where alarm notices go: the operator's URL, and the secret that signs them ("": none)."""

    url: str
    secret: str
    poster: ReportPoster


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
            notify = self.hook is not None
            if what is Step.OPEN and state is not None and seen is not None:
                opened = await self.alarms.open_alarm(
                    name, seen, describe(state), now, notify=notify
                )
                if opened is None:  # another process opened it a moment ago
                    continue
                alarm = opened
            elif what is Step.CHANGE and alarm is not None and state is not None and seen:
                changed = await self.alarms.change_alarm(
                    alarm.id, seen, describe(state), now, notify=notify
                )
                if not changed:
                    continue
                alarm = replace(alarm, kind=seen, detail=describe(state))
            elif what is Step.CLEAR and alarm is not None:
                if not await self.alarms.clear_alarm(alarm.id, now, notify=notify):
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
        for notice in await self.alarms.claim_notices(self.clock(), NOTICE_LEASE, NOTICE_BATCH):
            taken, answer = await self._post(self.hook, notice)
            now = self.clock()
            if taken:
                note = f"{notice.step}: {answer}"
                await self.alarms.record_notice(
                    notice, retry_at=None, error=None, note=note, now=now
                )
            elif notice.attempts < NOTICE_ATTEMPTS:
                again = now + FIRST_PAUSE * 2 ** (notice.attempts - 1)
                await self.alarms.record_notice(
                    notice, retry_at=again, error=answer, note=None, now=now
                )
            else:
                note = f"{notice.step}: not taken ({answer}) in {notice.attempts} tries"
                await self.alarms.record_notice(
                    notice, retry_at=None, error=answer, note=note, now=now
                )

    def _tell(self, what: Step, alarm: RouteAlarm, *, in_use: bool) -> None:
        if what is Step.CLEAR:
            why = "" if in_use else " (it is no longer in use)"
            log.info("route %s alarm %d cleared%s", alarm.route, alarm.id, why)
        else:
            log.warning(
                "route %s is %s (alarm %d): %s", alarm.route, alarm.kind, alarm.id, alarm.detail
            )

    async def _post(self, hook: AlarmHook, notice: AlarmNotice) -> tuple[bool, str]:
        """Whether the URL took one POST, and its answer ("HTTP 200") or why it failed."""
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
            return True, f"HTTP {posted.status}"
        failure = (
            f"HTTP {posted.status}" if posted.status is not None else posted.failure or "failed"
        )
        log.warning(
            "route alarm %d: the alarm URL did not take the notice (%s) %s",
            alarm.id,
            failure,
            posted.detail,
        )
        return False, failure

    async def _run(self) -> None:
        while True:
            try:
                await self.look()
                await self.post_notices()
            except Exception as exc:  # a database hiccup must not end the watch
                log_failure(log, "watching routes failed; looking again shortly", exc=exc)
            await asyncio.sleep(self.every)
