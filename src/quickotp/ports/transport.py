"""
SMS upstreams, as the dispatcher drives them and the panel watches them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from quickotp.domain.delivery import (
    OutboundSms,
    ReportSink,
    RouteState,
    SendReceipt,
)

if TYPE_CHECKING:
    pass


class Transport(Protocol):
    """
    Delivers SMS to one upstream: an SMSC over SMPP, an HTTP provider, or the log sink.

    `send` returns once the upstream has taken the message. It raises
    TransportUnavailable when the message was certainly not sent and retrying may help,
    DeliveryUncertain when no answer came (it may have been sent), and TransportRejected
    when retrying won't help. Any other exception is a bug in the transport.
    Delivery reports, when the upstream sends them, go to the `reports` sink given to
    `start`, possibly before `send` has returned for the same message.
    """

    name: str

    async def start(self, reports: ReportSink) -> None: ...

    async def send(self, sms: OutboundSms) -> SendReceipt: ...

    async def aclose(self) -> None: ...


class RouteMonitor(Protocol):
    """Reports the live state of the routes this process delivers through. Never raises."""

    def routes(self) -> list[RouteState]: ...


@runtime_checkable
class ReportsRouteState(Protocol):
    """A transport that can say how its binds are doing (SMPP: bound, window, errors)."""

    def route_state(self) -> RouteState: ...
