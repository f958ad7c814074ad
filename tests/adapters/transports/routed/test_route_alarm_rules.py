"""How a route's live state reads, and what becomes of its alarm: open, change, clear."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickotp.domain.delivery import RouteState
from quickotp.domain.route_alarms import Health, RouteAlarm, Step, health, step

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "reads"),
    [
        (RouteState("r", up=False, failures=0), Health.DOWN),  # breaker open, no bind
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
