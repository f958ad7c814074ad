"""
CPU per delivery-report POST, by HTTP client: what one report costs the event loop that also
serves the API.

    .venv/bin/python bench/report_clients.py [--posts 4000] [--concurrency 16] [--rounds 3]

Each client POSTs --posts signed reports (the worker's headers, a real report body) to
`report_receiver.py` on 127.0.0.1, a process of its own, --concurrency at a time, on uvloop
(as `quickotp serve` runs), over kept-alive connections. The clients, in turn, --rounds times:

- httpx: a pooled `httpx.AsyncClient` (the gateway posted through one, over httpcore's pool
  with a network backend connecting to checked addresses, which cost the same);
- aiohttp: a pooled `ClientSession` (when aiohttp is installed; it is not a dependency);
- h11: a keep-alive writer on the loop with h11 (pure Python) reading the answers;
- ReportClient: the runtime's (`adapters/report_client.py`, llhttp through httptools);
- a worker process: the loop hands each report to a child process over a pipe (length-
  prefixed JSON) and reads back its status; the child posts with ReportClient. Its loop's
  CPU is the first figure, the child's the second.

CPU is this process's (user + system, all threads) per POST, steadier than POSTs a second on
a shared machine; the table shows the median round and the range. httpcore looks for sniffio
each time it makes a lock (several a request): without sniffio installed (anyio 4 no longer
brings it) each look is a failed import searching sys.path, which the httpx rows pay; the
command says whether it is there.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import h11
import httpx
import orjson
import uvloop
from reports import receiver

from quickotp.adapters.report_client import ReportClient
from quickotp.services.webhooks import sign

BODY = orjson.dumps(
    {
        "Event": "delivery",
        "MessageID": 123456,
        "Mobile": 9120000000,
        "DeliveryType": 1,
        "Status": "delivered",
        "Cost": 1000,
        "RegDateTime": "2025-11-27T11:30:00.120",
        "SendDateTime": "2025-11-27T11:30:00.160",
        "DeliveryDateTime": "2025-11-27T11:30:02.010",
    }
)
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "QuickOTP-Webhooks/1",
    "X-QuickOTP-Timestamp": "1764230400",
    "X-QuickOTP-Signature": sign("whsec_bench", 1764230400, BODY),
    "X-QuickOTP-Delivery": "812",
}
Post = Callable[[str], Awaitable[int]]


class Literal:
    """A resolver for IP literals only (the receiver's URL has no name)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return [host]


class H11Client:
    """Kept-alive connections, one request at a time each, answers read by h11."""

    def __init__(self) -> None:
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]] = []

    async def post(self, url: str) -> int:
        host, port = url.split("/")[2].split(":")
        if self.idle:
            reader, writer, conn = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(host, int(port))
            conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method="POST",
            target="/hook",
            headers=[
                ("Host", f"{host}:{port}"),
                *HEADERS.items(),
                ("Content-Length", str(len(BODY))),
            ],
        )
        writer.write(
            conn.send(request) + conn.send(h11.Data(data=BODY)) + conn.send(h11.EndOfMessage())
        )
        status = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
            if isinstance(event, h11.EndOfMessage):
                break
        conn.start_next_cycle()
        self.idle.append((reader, writer, conn))
        return status

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


class WorkerProcess:
    """Hands each POST to a child process over a pipe; the child posts with ReportClient."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting: dict[int, asyncio.Future[int]] = {}
        self.next = 0
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> WorkerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def post(self, url: str) -> int:
        assert self.process.stdin is not None
        self.next += 1
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[self.next] = answer
        frame = orjson.dumps([self.next, url, HEADERS, BODY.decode()])
        self.process.stdin.write(struct.pack("!I", len(frame)) + frame)
        return await answer

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            ident, status = struct.unpack("!II", await self.process.stdout.readexactly(8))
            self.waiting.pop(ident).set_result(status)

    async def cpu(self) -> float:
        """The child's CPU seconds so far (it answers frame 0 with them, in 10 µs units)."""
        assert self.process.stdin is not None
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[0] = answer
        frame = orjson.dumps([0])
        self.process.stdin.write(struct.pack("!I", len(frame)) + frame)
        return await answer / 100_000

    async def aclose(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()
        self.reader.cancel()


async def child() -> None:
    """The worker process: frames in on stdin, (id, status) out on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)
    client = ReportClient(Literal(), allow_private=True)
    tasks: set[asyncio.Task[None]] = set()

    async def one(ident: int, url: str, headers: dict[str, str], body: str) -> None:
        posted = await client.post(url, body.encode(), headers, wait=10)
        transport.write(struct.pack("!II", ident, posted.status or 0))

    while True:
        try:
            (size,) = struct.unpack("!I", await reader.readexactly(4))
        except asyncio.IncompleteReadError:
            break
        frame = orjson.loads(await reader.readexactly(size))
        if frame == [0]:
            transport.write(struct.pack("!II", 0, round(time.process_time() * 100_000)))
            continue
        task = asyncio.create_task(one(*frame))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    await client.aclose()


async def measure(name: str, url: str, posts: int, concurrency: int) -> tuple[float, float, float]:
    """(CPU µs per POST in this process, in a child process, POSTs a second)."""
    closers: list[Callable[[], Awaitable[object]]] = []
    if name == "httpx AsyncClient":
        client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=concurrency))
        closers.append(client.aclose)

        async def post(url: str) -> int:
            return (await client.post(url, content=BODY, headers=HEADERS, timeout=10)).status_code

    elif name == "aiohttp ClientSession":
        aiohttp: Any = importlib.import_module("aiohttp")  # not a dependency: untyped here

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit_per_host=concurrency))
        closers.append(session.close)

        async def post(url: str) -> int:
            async with session.post(url, data=BODY, headers=HEADERS) as answer:
                await answer.read()
                return int(answer.status)

    elif name == "h11 keep-alive writer":
        h11_client = H11Client()
        closers.append(h11_client.aclose)
        post = h11_client.post
    elif name == "ReportClient (httptools)":
        ours = ReportClient(Literal(), allow_private=True)
        closers.append(ours.aclose)

        async def post(url: str) -> int:
            return (await ours.post(url, BODY, HEADERS, wait=10)).status or 0

    else:
        worker = await WorkerProcess.start()
        post = worker.post
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            if await post(url) != 200:
                raise SystemExit(f"{name}: a POST was not answered 200")

    await asyncio.gather(*(one() for _ in range(concurrency)))  # the connections, opened
    child = await worker.cpu() if name.startswith("a worker process") else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    async with asyncio.timeout(120):
        await asyncio.gather(*(one() for _ in range(posts)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if name.startswith("a worker process"):
        child = await worker.cpu() - child
        await worker.aclose()
    for close in closers:
        await close()
    return cpu / posts * 1e6, child / posts * 1e6, posts / wall


def _sniffio() -> str:
    return "installed" if importlib.util.find_spec("sniffio") else "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        uvloop.run(child())
        return
    names = [
        "httpx AsyncClient",
        "h11 keep-alive writer",
        "ReportClient (httptools)",
        "a worker process (loop's side; child's)",
    ]
    if importlib.util.find_spec("aiohttp") is None:
        print("aiohttp is not installed: its row is left out")
    else:
        names.insert(2, "aiohttp ClientSession")
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp, receiver(Path(tmp) / "got.jsonl") as port:
        url = f"http://127.0.0.1:{port}/hook"
        print(f"load average {os.getloadavg()[0]:.1f}; sniffio {_sniffio()}", flush=True)
        for round_ in range(args.rounds):
            for name in names:
                figures[name].append(uvloop.run(measure(name, url, args.posts, args.concurrency)))
            print(f"round {round_ + 1} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(
        f"\n{args.posts:,} POSTs a round, {args.concurrency} at a time, {args.rounds} rounds"
        f" interleaved\n\n{'client':44} {'CPU µs/POST':>12} {'range':>11} {'child µs':>9}"
        f" {'POSTs/s':>8}"
    )
    for name in names:
        rows = figures[name]
        cpus = sorted(row[0] for row in rows)
        in_child = statistics.median(row[1] for row in rows)
        rate = statistics.median(row[2] for row in rows)
        print(
            f"{name:44} {statistics.median(cpus):12.0f} {cpus[0]:5.0f}-{cpus[-1]:<5.0f}"
            f" {in_child if in_child else float('nan'):9.0f} {rate:8.0f}"
        )


if __name__ == "__main__":
    main()
