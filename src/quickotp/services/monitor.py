"""
Live data for the operator's pages: what this process's transports say of themselves, and
what its fraud guard has refused and alarmed on.

A transport that implements ReportsRouteState (bind up/down, window, throughput, errors)
is asked; any other is shown by name, its live state unknown. The guard's figures are its
Prometheus counters: this process's, since it started.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from quickotp.domain.delivery import RouteState
from quickotp.ports.transport import ReportsRouteState, Transport
from quickotp.services.guard import PUMPING_ALARMS, REFUSALS

log = logging.getLogger(__name__)


class TransportMonitor:
    """Route state of the transports this process's dispatcher delivers through."""

    def __init__(self, transports: list[Transport]) -> None:
        self.transports = transports

    def routes(self) -> list[RouteState]:
        states = []
        for transport in self.transports:
            if isinstance(transport, ReportsRouteState):
                try:
                    states.append(transport.route_state())
                    continue
                except Exception:  # the page must show, whatever one transport does
                    log.exception("transport %s could not report its state", transport.name)
            states.append(RouteState(name=transport.name, up=None))
        return states


class CounterGuardStats:
    """The fraud guard's refusals by reason and pumping alarms by kind, from its counters."""

    def refusals(self) -> dict[str, int]:
        return _by_label(REFUSALS)

    def alarms(self) -> dict[str, int]:
        return _by_label(PUMPING_ALARMS)


def _by_label(counter: Counter) -> dict[str, int]:
    counts = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.value:
                counts[next(iter(sample.labels.values()))] = int(sample.value)
    return counts
