"""
What crosses the seam between the gateway and an SMS upstream: the message a transport hands
on, the receipt it gets back, delivery reports, and a route's live state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class OutboundSms:
    """One SMS for a transport to hand on."""

    message_id: int
    mobile: str  # E.164 digits without '+', already normalised: 989120000000
    sender: str  # the account's sender line, the SMS source address
    text: str
    parts: int
    expires_at: datetime  # the code's validity ends here: never deliver after it (UTC)
    attempt: int = 1  # 1 on the first try; a higher number is a retry
    account_id: int | None = None  # whose message: routes may be chosen by account
    # The code alone, for upstreams that render their own template (Amoot, Kavenegar).
    code: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SendReceipt:
    """The upstream took the message and gave it this id."""

    transport: str
    provider_message_id: str


class DeliveryState(StrEnum):
    """What an upstream's delivery report says became of a message."""

    DELIVERED = "delivered"  # reached the handset
    UNDELIVERED = "undelivered"  # the network gave up on it
    EXPIRED = "expired"  # validity ran out inside the network
    REJECTED = "rejected"  # refused by the network after acceptance
    ACCEPTED = "accepted"  # an intermediate report: still on its way
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery report, keyed by the id the transport's SendReceipt carried."""

    transport: str
    provider_message_id: str
    state: DeliveryState
    at: datetime  # when the upstream says it happened (UTC)


# Takes a report to be recorded; what it returns is done once the report is committed. A
# coroutine or a future: the dispatcher's sink hands back its group commit's future, so a
# transport that keeps many reports in flight needs no task of its own for each.
ReportSink = Callable[[DeliveryReport], Awaitable[None]]


@dataclass(frozen=True)
class RouteState:
    """
    The live state of one route (a transport and its binds), as far as it is known:
    None means "this transport does not say".
    """

    name: str
    up: bool | None  # bound / reachable
    binds_up: int | None = None
    binds: int | None = None
    window_in_use: int | None = None
    window_size: int | None = None
    throughput: float | None = None  # messages per second, recently
    errors: int | None = None  # recent errors the transport counted
    detail: str = ""
    kind: str | None = None  # smpp, amoot, kavenegar, log
    sent: int | None = None  # messages it took since this process started
    breaker: str | None = None  # closed, open (cooling down) or half-open (probing)
    failures: int | None = None  # sends failed in a row since its last success
    last_error: str = ""  # the last failure's own words
