"""
SMPP client benchmark: N short Persian OTPs through SmppTransport on one bind, then through the
bare smpp34 client (as shipped, and with our TCP_NODELAY tuning) with the same window, against
smpp34's Server in another process with receipts on. Prints msg/s, p50/p99 submit -> resp
and the ratio ours/bare. Bounded: each run stops after --limit seconds.

    .venv/bin/python bench/smpp_client.py [--n 5000] [--window 10] [--limit 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import smpp34
from nodelay import tune_sockets

from quickotp.adapters.transports.smpp.transport import SmppTransport
from quickotp.domain.delivery import DeliveryReport, OutboundSms

SIMULATOR = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "adapters"
    / "transports"
    / "smpp"
    / "smsc_sim.py"
)
TEXT = "کد ورود شما: {:06d}"
HEADER = f"{'client':<30} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'receipts':>15} {'CPU us':>8}"


@dataclass(frozen=True)
class Result:
    """One client's run."""

    name: str
    sent: int
    seconds: float
    latencies: list[float]
    receipts: int
    cpu_seconds: float  # this process's CPU (all its threads, smpp34's included) for the run

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def line(self) -> str:
        cuts = statistics.quantiles(self.latencies, n=100)
        return (
            f"{self.name:<30} {self.rate:>8,.0f} {cuts[49] * 1000:>8.1f} {cuts[98] * 1000:>8.1f}"
            f" {self.receipts:>9,}/{self.sent:,} {self.cpu_seconds / self.sent * 1e6:>8.0f}"
        )


async def drive(
    n: int, window: int, limit: float, submit: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float], float]:
    """
    Submit n messages, `window` at a time, for at most `limit` seconds: the elapsed time, the
    latencies of those answered (all n, unless the limit cut the run short), CPU time.
    """
    latencies: list[float] = []
    slots = asyncio.Semaphore(window)

    async def one(i: int) -> None:
        async with slots:
            started = time.perf_counter()
            await submit(i)
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            await asyncio.gather(*(one(i) for i in range(n)))
    if len(latencies) < n:
        print(f"  (the {limit:.0f} s limit stopped the run at {len(latencies):,} of {n:,})")
    return time.perf_counter() - started, latencies, time.process_time() - cpu


class Receipts:
    """Counts delivery receipts; `wait` gives them up to ten seconds to reach a number."""

    def __init__(self, expected: int) -> None:
        self.count = 0
        self._expected = expected
        self._all = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.count >= self._expected:
            self._all.set()

    def expect(self, expected: int) -> None:
        """Wait for `expected` receipts only: the run sent no more."""
        self._expected = expected
        if self.count >= expected:
            self._all.set()

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._all.wait()


async def ours(port: int, n: int, window: int, limit: float) -> Result:
    receipts = Receipts(n)

    async def sink(report: DeliveryReport) -> None:
        receipts.add()

    transport = SmppTransport.from_url(
        f"smpp://bench:secret@127.0.0.1:{port}?window={window}&timeout=10",
        clock=lambda: datetime.now(UTC),
    )
    await transport.start(sink)
    expires = datetime.now(UTC) + timedelta(minutes=5)

    async def submit(i: int) -> None:
        await transport.send(OutboundSms(i, "989120000000", "10004321", TEXT.format(i), 1, expires))

    try:
        seconds, latencies, cpu = await drive(n, window, limit, submit)
        receipts.expect(len(latencies))
        await receipts.wait()
    finally:
        await transport.aclose()
    return Result("SmppTransport (ours)", len(latencies), seconds, latencies, receipts.count, cpu)


async def bare(port: int, n: int, window: int, limit: float, *, nodelay: bool) -> Result:
    # As SmppTransport and the floor set it: with smpp34's default inbound queue, receipts
    # the drain has not read yet can fill it, and submits then fail with ESME_RSYSERR.
    client = smpp34.Client(
        "127.0.0.1", port, "bench", "secret", window_size=window, inbound_capacity=65_536
    )
    session = await client.connect()
    if nodelay:
        tune_sockets({"127.0.0.1"}, port)
    receipts = Receipts(n)

    async def drain() -> None:
        while not isinstance(await session.next(), smpp34.Disconnected):
            receipts.add()

    draining = asyncio.create_task(drain())

    async def submit(i: int) -> None:
        await session.submit_sm(
            "989120000000",
            TEXT.format(i).encode("utf-16-be"),
            source_addr="10004321",
            data_coding=8,
            registered_delivery=1,
        )

    try:
        seconds, latencies, cpu = await drive(n, window, limit, submit)
        receipts.expect(len(latencies))
        await receipts.wait()
    finally:
        await session.unbind()
        draining.cancel()
    name = "smpp34 bare + TCP_NODELAY" if nodelay else "smpp34 bare (as shipped)"
    return Result(name, len(latencies), seconds, latencies, receipts.count, cpu)


async def main(n: int, window: int, limit: float) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    simulator = await asyncio.create_subprocess_exec(
        sys.executable, str(SIMULATOR), "--port", str(port), "--receipts",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None
        async with asyncio.timeout(10):
            await simulator.stdout.readline()
        results = [
            await ours(port, n, window, limit),
            await bare(port, n, window, limit, nodelay=False),
            await bare(port, n, window, limit, nodelay=True),
        ]
    finally:
        simulator.kill()
        await simulator.wait()
    print(f"{n:,} Persian UCS-2 submit_sm, one bind_transceiver, window {window}, receipts on")
    print(HEADER)
    for result in results:
        print(result.line())
    mine, shipped, tuned = results
    print(f"ratio ours/bare: {mine.rate / shipped.rate:.2f}", end=" ")
    print(f"(ours/bare+TCP_NODELAY: {mine.rate / tuned.rate:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per run, at most")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.n, arguments.window, arguments.limit))
