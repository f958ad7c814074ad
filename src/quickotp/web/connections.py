"""
Deadlines and a per-address cap for the connections `quickotp serve` accepts: what uvicorn
has no option for.

In uvicorn 0.55 with httptools, `timeout_keep_alive` is armed only once an answer is
complete, and the first byte of anything disarms it: a connection that never completes a
request head (it sends nothing, or half a head, or line breaks now and then) stays open for
ever, and so does one that sends a head and then stalls in its body, with the application
waiting on `receive()`. Each counts against `limit_concurrency`
(QUICKOTP_MAX_CONNECTIONS), past which every other client is answered 503.
`h11_max_incomplete_event_size` bounds the size of an incomplete head, and only in the h11
protocol; httptools (llhttp) sets no bound at all on a head's size, and uvicorn keeps what
it parses. So this protocol adds, per connection:

* a head deadline (QUICKOTP_HEADER_TIMEOUT_SECONDS): a request line and headers complete
  within it, from the connection's start or from the first byte after an answer, or the
  connection gets 408 and is closed; trickling bytes does not extend it;
* a body deadline (QUICKOTP_BODY_TIMEOUT_SECONDS) between one body chunk and the next
  (while the application reads: a paused read is the application's doing), or the
  connection is closed, and the application's `receive()` sees a disconnect;
* a head of at most MAX_HEAD bytes, else 431 and closed;
* at most QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS connections open from one client address
  (an IPv6 address's /64) in this process: one more gets 429 and is closed at once.

uvicorn takes a protocol factory as its `http` option; `limited_protocol` makes one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from quickotp.domain.addresses import client_key
from quickotp.web.problems import HEAD_TOO_LARGE, REQUEST_TIMEOUT, TOO_MANY_CONNECTIONS
from quickotp.web.protocol import ProblemHttpToolsProtocol

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024  # a request line and headers; a browser's are a few KiB


@dataclass(frozen=True)
class ConnectionLimits:
    head_seconds: float = 10.0  # QUICKOTP_HEADER_TIMEOUT_SECONDS
    body_seconds: float = 10.0  # QUICKOTP_BODY_TIMEOUT_SECONDS
    per_address: int = 256  # QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS; 0: no cap


class OpenConnections:
    """How many connections each client address has open in this process."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def take(self, address: str, cap: int) -> bool:
        if self._open[address] >= cap:
            return False
        self._open[address] += 1
        return True

    def give_back(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def __getitem__(self, address: str) -> int:
        return self._open[address]


class LimitedHttpToolsProtocol(ProblemHttpToolsProtocol):
    """ProblemHttpToolsProtocol with the deadlines and the cap of this module's docstring."""

    def __init__(
        self, *args: Any, limits: ConnectionLimits, open_connections: OpenConnections, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.limits = limits
        self.open_connections = open_connections
        self._address: str | None = None  # counted in open_connections while set
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = client_key(self.client[0]) if self.client else ""
        if address and self.limits.per_address:
            if not self.open_connections.take(address, self.limits.per_address):
                log.warning(
                    "refused a connection: %d open from its address", self.limits.per_address
                )
                self.send_problem(
                    TOO_MANY_CONNECTIONS,
                    f"at most {self.limits.per_address} connections from one address",
                    [(b"retry-after", b"1")],
                )
                return
            self._address = address
        self._arm_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head()
        self._disarm_body()
        if self._address is not None:
            self.open_connections.give_back(self._address)
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm_head()  # bytes between requests: a head must follow in time
        super().data_received(data)
        if self._head_timer is not None and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._disarm_head()
                self.send_problem(HEAD_TOO_LARGE, f"a request head is at most {MAX_HEAD} bytes")

    # parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._arm_head()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm_head()
        super().on_headers_complete()
        self._arm_body()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm_body()

    def on_message_complete(self) -> None:
        self._disarm_body()
        super().on_message_complete()

    # the deadlines ----------------------------------------------------------------------

    def _arm_head(self) -> None:
        if self._head_timer is None:
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(self.limits.head_seconds, self._head_late)

    def _disarm_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.send_problem(
                REQUEST_TIMEOUT, f"no complete request head in {self.limits.head_seconds:g} s"
            )
        else:  # an answer is on its way: a problem now would break into it
            self.transport.close()

    def _arm_body(self) -> None:
        self._disarm_body()
        self._body_timer = self.loop.call_later(self.limits.body_seconds, self._body_late)

    def _disarm_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_late(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the application is not reading: not the client's stall
            self._arm_body()
            return
        log.info("closed a connection whose request body stalled")
        if self.cycle is not None and not self.cycle.response_started:
            self.send_problem(
                REQUEST_TIMEOUT, f"the request body stalled for {self.limits.body_seconds:g} s"
            )
        else:
            self.transport.close()


def limited_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """
    A protocol factory for uvicorn's `http` option (uvicorn calls it as it would a class,
    hence the type): each process that unpickles it counts its own connections.
    """
    factory: Callable[..., asyncio.Protocol] = functools.partial(
        LimitedHttpToolsProtocol, limits=limits, open_connections=OpenConnections()
    )
    return cast(type[asyncio.Protocol], factory)
