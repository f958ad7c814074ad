"""
`RouteTrials`: what the operator's route pages ask of this process's routes (the RouteSwitch
port): apply the routes table at once after a change, and send one test message through one
route alone.

A test goes through the route's running transport when this process runs the route exactly
as stored (its binds and window, as a message would), and otherwise through a transport made
for that one send and closed after it: a route switched off, a route being changed, or a
process that runs no dispatcher. A one-off transport's delivery reports are dropped (no
message of the gateway's waits for them). Neither touches the route's circuit breaker or
counters: a test is not traffic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from quickotp.adapters.transports.routed import RoutingTransport
from quickotp.domain.delivery import DeliveryReport, OutboundSms, SendReceipt
from quickotp.domain.errors import DeliveryUncertain
from quickotp.domain.routing import Route
from quickotp.ports.transport import Transport

log = logging.getLogger(__name__)

TRIAL_SECONDS = 30.0  # a test send ends within this, answered or not (SMPP waits up to 25 s)


async def _drop(report: DeliveryReport) -> None:
    log.info("route test: a delivery report from %s, not recorded", report.transport)


class RouteTrials:
    def __init__(
        self,
        router: RoutingTransport | None,
        build: Callable[[Route], Transport],
        *,
        seconds: float = TRIAL_SECONDS,
    ) -> None:
        """`router`: this process's (None without a dispatcher); `build` makes a one-off."""
        self.router = router
        self.build = build
        self.seconds = seconds

    async def reload(self) -> None:
        if self.router is not None:
            await self.router.reload()

    async def trial(self, route: Route, sms: OutboundSms) -> SendReceipt:
        running = self.router.transport_of(route) if self.router is not None else None
        if running is not None:
            return await self._bounded(running, sms)
        transport = self.build(route)
        await transport.start(_drop)
        try:
            return await self._bounded(transport, sms)
        finally:
            await transport.aclose()

    async def _bounded(self, transport: Transport, sms: OutboundSms) -> SendReceipt:
        try:
            async with asyncio.timeout(self.seconds):
                return await transport.send(sms)
        except TimeoutError:
            raise DeliveryUncertain(
                f"{transport.name}: no answer within {self.seconds:.0f} s"
            ) from None
