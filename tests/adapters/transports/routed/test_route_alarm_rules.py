"""How a route's live state reads, and what becomes of its alarm: open, change, clear."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickotp.domain.delivery import RouteState
from quickotp.domain.route_alarms import (
    Condition,
    Health,
    RouteAlarm,
    Step,
    condition,
    health,
    step,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "reads"),
    [
        (RouteState("r", up=False, failures=0), Health.DOWN),  # breaker open, no bind
        (RouteState("r", up=False, binds_up=0, binds=1), Health.DOWN),  # its bind lost
        # bound, its breaker open: the SMSC answers and refuses
        (RouteState("r", up=False, binds_up=1, binds=1, failures=5), Health.FAILING),
        (RouteState("r", up=True, failures=2), Health.FAILING),
        (RouteState("r", up=None, failures=3), Health.FAILING),
        (RouteState("r", up=True, failures=1), Health.HEALTHY),  # one failure is no alarm
        (RouteState("r", up=True), Health.HEALTHY),
        (RouteState("r", up=None), Health.UNKNOWN),  # an HTTP upstream not used yet
    ],
)
def test_health(state: RouteState, reads: Health) -> None:
    assert health(state) is reads


def alarm(kind: Health) -> RouteAlarm:
    return RouteAlarm(1, "r", kind, "", NOW)


@pytest.mark.parametrize(
    ("open_alarm", "seen", "then"),
    [
        (None, Health.DOWN, Step.OPEN),
        (None, Health.FAILING, Step.OPEN),
        (None, Health.HEALTHY, None),
        (None, Health.UNKNOWN, None),
        (None, None, None),
        (alarm(Health.FAILING), Health.DOWN, Step.CHANGE),
        (alarm(Health.DOWN), Health.FAILING, Step.CHANGE),
        (alarm(Health.DOWN), Health.DOWN, None),
        (alarm(Health.DOWN), Health.UNKNOWN, None),  # no evidence: it stays open
        (alarm(Health.DOWN), Health.HEALTHY, Step.CLEAR),
        (alarm(Health.FAILING), None, Step.CLEAR),  # no longer in use
    ],
)
def test_step(open_alarm: RouteAlarm | None, seen: Health | None, then: Step | None) -> None:
    assert step(open_alarm, seen) is then


@pytest.mark.parametrize(
    ("state", "enabled", "open_alarm", "taken", "failed", "reads"),
    [
        (RouteState("r", up=True), True, None, 5, 0, Condition.UP),
        (RouteState("r", up=True), False, None, 0, 0, Condition.OFF),
        (RouteState("r", up=True, failures=1), False, Health.FAILING, 0, 9, Condition.OFF),
        (RouteState("r", up=True, failures=3), True, None, 0, 0, Condition.FAILING),
        # up, yet a failing alarm is open: failing, never a green "Up"
        (RouteState("r", up=True), True, Health.FAILING, 0, 0, Condition.FAILING),
        (RouteState("r", up=False, binds_up=0, binds=1), True, None, 0, 0, Condition.DOWN),
        (RouteState("r", up=False, binds_up=1, binds=1), True, None, 0, 0, Condition.FAILING),
        # not run here: the shared alarm says, then the database's counts
        (None, True, Health.DOWN, 0, 0, Condition.DOWN),
        (None, True, None, 0, 3, Condition.FAILING),
        (None, True, None, 4, 3, Condition.UNKNOWN),
        (RouteState("r", up=True), True, None, 0, 1, Condition.UP),  # one failure is no alarm
        # a route that answers every message with a refusal: its breaker stays closed
        (RouteState("r", up=True, failures=0), True, None, 0, 3, Condition.FAILING),
        (RouteState("r", up=None), True, None, 0, 0, Condition.UNKNOWN),
    ],
)
def test_condition(
    state: RouteState | None,
    enabled: bool,
    open_alarm: Health | None,
    taken: int,
    failed: int,
    reads: Condition,
) -> None:
    found = alarm(open_alarm) if open_alarm is not None else None
    seen = condition(state, enabled=enabled, alarm=found, taken=taken, failed=failed)
    assert seen is reads
