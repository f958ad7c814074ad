"""
Route alarms, decided: how a route's live state reads (healthy, failing, down, or not known),
what an alarm that is open, or none, becomes when the route is seen again, and the one state
the panel shows for a route. Pure.

A route is down when it cannot be reached (an SMPP route has no bind up; another's circuit
breaker is open), failing when its last sends failed and none succeeded since (an SMPP route
that is bound while its breaker is open is failing: the SMSC answers and refuses). An alarm
opens when
a route is down or failing, changes when it goes from one to the other, and clears only on
positive evidence (the route up and its last send fine) or when the route is no longer in
use: a route that says nothing of itself, as an HTTP upstream that has not been used since
the process started, keeps its alarm open, so an alarm outlives a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from quickotp.domain.delivery import RouteState

FAILING_AFTER = 2  # sends failed in a row (and none succeeded since) that make a route failing
MAX_DETAIL = 500


class Health(StrEnum):
    HEALTHY = "healthy"  # up, and its last send (if any) went through
    UNKNOWN = "unknown"  # it says nothing of itself yet
    FAILING = "failing"  # its last sends failed, none succeeded since
    DOWN = "down"  # its breaker is open, or it has no bind up


ALARMING = frozenset({Health.FAILING, Health.DOWN})


class Step(StrEnum):
    OPEN = "opened"
    CHANGE = "changed"
    CLEAR = "cleared"


@dataclass(frozen=True)
class RouteAlarm:
    """One spell of a route being down or failing."""

    id: int
    route: str
    kind: Health  # FAILING or DOWN (the latest, when it changed while open)
    detail: str  # what the route said of itself when the alarm opened or last changed
    opened_at: datetime
    cleared_at: datetime | None = None  # None: still open
    notice: str = ""  # what came of telling the operator's alarm URL, when one is set


class Condition(StrEnum):
    """The one state the panel shows for a route."""

    UP = "up"  # sending fine
    FAILING = "failing"  # its recent sends fail, or a failing alarm is open
    DOWN = "down"  # unreachable: no bind up, or its breaker open, or a down alarm open
    OFF = "off"  # switched off
    UNKNOWN = "unknown"  # nothing says yet: not run by this process, or not used since


@dataclass(frozen=True)
class AlarmNotice:
    """A notice of one step of an alarm owed to the operator's alarm URL, as claimed."""

    id: int
    step: Step
    alarm: RouteAlarm  # as it was at the step (cleared_at set on a clear)
    attempts: int  # this attempt included


def health(state: RouteState, *, failing_after: int = FAILING_AFTER) -> Health:
    """How a route's live state reads (see the module docstring)."""
    if state.up is False:
        if state.binds_up:  # bound, its breaker open all the same: the SMSC refuses
            return Health.FAILING
        return Health.DOWN
    if state.failures is not None and state.failures >= failing_after:
        return Health.FAILING
    if state.up is None:
        return Health.UNKNOWN
    return Health.HEALTHY


def step(alarm: RouteAlarm | None, seen: Health | None) -> Step | None:
    """
    What becomes of a route's open alarm (or none) when the route reads `seen` (None: the
    route is no longer in use): opened, changed, cleared, or nothing.
    """
    if alarm is None:
        return Step.OPEN if seen in ALARMING else None
    if seen is None or seen is Health.HEALTHY:
        return Step.CLEAR
    if seen in ALARMING and seen is not alarm.kind:
        return Step.CHANGE
    return None


def describe(state: RouteState) -> str:
    """What an alarm records of the route's state: its own words, bounded."""
    return (state.detail or state.name)[:MAX_DETAIL]


def condition(
    state: RouteState | None,
    *,
    enabled: bool,
    alarm: RouteAlarm | None,
    taken: int,
    failed: int,
    failing_after: int = FAILING_AFTER,
) -> Condition:
    """
    The state the panel shows: off when switched off; down or failing when this process's
    live state says so; else as its open alarm says (the alarms are shared, so a process
    that does not send still knows); else failing when the database's recent messages
    failed on it (`failed`, at least `failing_after`) and it took none (`taken`); else up
    when its live state is healthy; else unknown.
    """
    if not enabled:
        return Condition.OFF
    seen = health(state, failing_after=failing_after) if state is not None else Health.UNKNOWN
    if seen in ALARMING:
        return Condition(seen.value)
    if alarm is not None and alarm.cleared_at is None:
        return Condition(alarm.kind.value)
    if failed >= failing_after and not taken:
        return Condition.FAILING
    return Condition.UP if seen is Health.HEALTHY else Condition.UNKNOWN
