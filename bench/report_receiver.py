"""
A fast delivery-report receiver for the benchmarks: HTTP/1.1 keep-alive on 127.0.0.1, every
POST answered 200 at once, and the arrival time of each kept in memory. It runs as a process
of its own (uvloop, httptools' parser: a few tens of µs a POST), so what it costs is never
charged to the server under test.

    python bench/report_receiver.py [--port 0] --out FILE

It prints `READY <port>` when it listens. On SIGTERM it writes one JSON line per POST,
`[arrival (epoch s), X-QuickOTP-Delivery, MessageID]`, to FILE and exits. A body is parsed
only then, so the receiving loop does no JSON work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

import httptools
import orjson
import uvloop

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
Arrival = tuple[float, bytes, bytes]  # arrival, the delivery header, the body


class Hook(asyncio.Protocol):
    """One client connection: parses requests, answers 200 to each, keeps their arrivals."""

    def __init__(self, got: list[Arrival]) -> None:
        self.got = got
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.delivery = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_begin(self) -> None:
        self.delivery = b""
        self.body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-quickotp-delivery":
            self.delivery = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.got.append((time.time(), self.delivery, b"".join(self.body)))
        assert self.transport is not None
        self.transport.write(OK)


def dump(got: list[Arrival], out: Path) -> None:
    with out.open("wb") as file:
        for arrival, delivery, body in got:
            message_id = orjson.loads(body).get("MessageID") if body else None
            file.write(orjson.dumps([arrival, delivery.decode(), message_id]) + b"\n")


async def receive(port: int, out: Path) -> None:
    got: list[Arrival] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Hook(got), "127.0.0.1", port, backlog=1024)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await stopped.wait()
    server.close()
    dump(got, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    uvloop.run(receive(args.port, args.out))
    sys.exit(0)


if __name__ == "__main__":
    main()
