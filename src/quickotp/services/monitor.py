"""
Live data for the operator's pages and /metrics: what this process's transports say of
themselves, and what its fraud guard has refused and alarmed on.

A transport that implements ReportsRouteState (bind up/down, window, throughput, errors)
is asked; any other is shown by name, its live state unknown. The guard's figures are its
Prometheus counters: this process's, since it started. `ROUTE_METRICS` shows the same route
states to Prometheus, read from memory at each scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from quickotp.domain.delivery import RouteState
from quickotp.ports.transport import ReportsRouteState, RouteMonitor, Transport
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


class RouteCollector(Collector):
    """
    The route states of the monitors it watches (a dispatching process's router), as gauges:
    read from memory at each scrape, so a route shows as it is now, and a removed one not
    at all. A route two monitors know of is shown once, as the first one says.
    """

    def __init__(self) -> None:
        self._monitors: list[RouteMonitor] = []

    def watch(self, monitor: RouteMonitor) -> None:
        self._monitors.append(monitor)

    def forget(self, monitor: RouteMonitor) -> None:
        self._monitors = [m for m in self._monitors if m is not monitor]

    def describe(self) -> Iterable[Metric]:
        return list(_route_families())

    def collect(self) -> Iterable[Metric]:
        up, binds_up, binds, in_use, size, breaker = families = list(_route_families())
        seen: set[str] = set()
        for state in (s for monitor in self._monitors for s in monitor.routes()):
            if state.name in seen:
                continue
            seen.add(state.name)
            name = [state.name]
            if state.up is not None:
                up.add_metric([state.name, state.kind or ""], 1.0 if state.up else 0.0)
            for family, value in (
                (binds_up, state.binds_up),
                (binds, state.binds),
                (in_use, state.window_in_use),
                (size, state.window_size),
            ):
                if value is not None:
                    family.add_metric(name, value)
            if state.breaker is not None:
                breaker.add_metric(name, 0.0 if state.breaker == "closed" else 1.0)
        return families


def _route_families() -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily(
        "quickotp_route_up",
        "1 while a route can take messages (SMPP: a bind is up; its breaker is not open), 0"
        " while it cannot; absent while an HTTP route has not been used yet",
        labels=["route", "kind"],
    )
    yield GaugeMetricFamily(
        "quickotp_route_binds_up", "SMPP binds of a route that are bound", labels=["route"]
    )
    yield GaugeMetricFamily(
        "quickotp_route_binds", "SMPP binds a route is configured with", labels=["route"]
    )
    yield GaugeMetricFamily(
        "quickotp_route_window_in_use", "Sends in flight on a route", labels=["route"]
    )
    yield GaugeMetricFamily(
        "quickotp_route_window_size", "Sends a route may have in flight", labels=["route"]
    )
    yield GaugeMetricFamily(
        "quickotp_route_breaker_open",
        "1 while a route's breaker is open or probing after failures in a row, else 0",
        labels=["route"],
    )


ROUTE_METRICS = RouteCollector()
REGISTRY.register(ROUTE_METRICS)
