"""
Fixtures for the SMPP transport tests: a simulator SMSC (smpp34's Server) on a free port of
127.0.0.1, a sink that collects delivery reports, and transports bound to the simulator,
on the running loop's time or on a ManualTimer (tests/clock.py) the test moves.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.adapters.transports.smpp.timer import Timer
from quickotp.adapters.transports.smpp.transport import SmppTransport
from quickotp.domain.delivery import DeliveryReport, OutboundSms
from tests.clock import ManualTimer, WallClock

from .smsc_sim import Simulator

PERSIAN_OTP = "کد ورود شما: 048213"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sms(
    text: str = PERSIAN_OTP,
    *,
    message_id: int = 1,
    mobile: str = "989120000000",
    sender: str = "10004321",
    valid_for: timedelta = timedelta(minutes=2),
) -> OutboundSms:
    """An OutboundSms whose code is valid for `valid_for` from now."""
    return OutboundSms(
        message_id=message_id,
        mobile=mobile,
        sender=sender,
        text=text,
        parts=1,
        expires_at=datetime.now(UTC) + valid_for,
    )


class Reports:
    """A ReportSink that keeps what it is given."""

    def __init__(self) -> None:
        self.received: list[DeliveryReport] = []
        self._changed = asyncio.Event()

    async def __call__(self, report: DeliveryReport) -> None:
        self.received.append(report)
        self._changed.set()

    async def wait_for(self, count: int) -> list[DeliveryReport]:
        """Wait until `count` reports arrived (at most five seconds); return them all."""
        async with asyncio.timeout(5):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.received


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    """A running simulator that sends a text receipt after each submit_sm_resp."""
    async with Simulator(free_port()) as simulator:
        yield simulator


@pytest.fixture
def reports() -> Reports:
    """The sink the transports under test report to."""
    return Reports()


Connect = Callable[..., Awaitable[SmppTransport]]


async def until_bound(transport: SmppTransport, binds: int = 1) -> None:
    """Wait until `binds` binds are up (generously: a loaded machine binds slowly)."""
    async with asyncio.timeout(10):
        while transport.bound < binds:
            await asyncio.sleep(0.01)


@pytest.fixture
async def connect(reports: Reports) -> AsyncIterator[Connect]:
    """
    Start an SmppTransport on `port` with URL query `options`, on `timer` (None: the loop's
    time), and wait for its first bind unless `bound=False`; closed after the test.
    """
    started: list[tuple[SmppTransport, Timer | None]] = []

    async def start(
        port: int, *, timer: Timer | None = None, bound: bool = True, **options: object
    ) -> SmppTransport:
        query = "&".join(f"{key}={value}" for key, value in {"timeout": 2, **options}.items())
        transport = SmppTransport.from_url(
            f"smpp://quickotp:secret@127.0.0.1:{port}?{query}", clock=WallClock(), timer=timer
        )
        await transport.start(reports)
        started.append((transport, timer))
        if bound:
            await until_bound(transport)
        return transport

    yield start
    for transport, timer in started:
        closing = asyncio.create_task(transport.aclose())
        if isinstance(timer, ManualTimer):
            await timer.advance(30)  # past the waits for answers to unbind
        async with asyncio.timeout(10):
            await closing
