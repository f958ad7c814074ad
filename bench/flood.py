"""
/rest/SendQuickOTP latency while panel sign-ins and idle sockets flood the same process.

    .venv/bin/python bench/flood.py [--rounds 3] [--seconds 10] [--sign-ins 20]
                                    [--idle 3000] [--rate 50]

One `quickotp serve` process on SQLite (CPU 0 when taskset exists) with its dispatcher
delivering to a sink file. The measuring client (this process, CPU 1) sends SendQuickOTP to
a new number at a steady `--rate` a second over keep-alive connections and times each answer
from the moment it was due, so a stalled server shows in the figures and does not just send
fewer requests. Phases alternate, `--rounds` times: a baseline with nothing else, then a flood
(a second process, CPU 1) of
  (a) wrong-password panel sign-ins at `--sign-ins` a second, each on a new connection from
      one of 250 loopback addresses (127.0.1.x) for unknown emails: every one costs an
      argon2 check unless refused first, and
  (b) `--idle` sockets that send nothing, from 127.0.2.x (at most 200 an address, under
      QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS), each opened again as soon as the server closes
      it, as an attacker holding places would.
Every loop is bounded by its phase's time; the server is stopped at the end. Besides the
latencies, each phase shows the CPU the server used a second: its event loop's thread, and
the whole process (the dispatcher's and SQLite's threads too; not the password worker).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import UNTHROTTLED, free_port, quickotp_env, server, setup_account, thread_cpu

SIGN_IN_SOURCES = [f"127.0.1.{n}" for n in range(1, 251)]
IDLE_PER_SOURCE = 200
MEASURE_CONNECTIONS = 16
LEAD = 10.0  # seconds a flood runs before the measurement starts: every idle socket is open


@dataclass
class Phase:
    name: str
    latencies: list[float]  # seconds, each from when the request was due
    failures: int
    flood: dict[str, int]
    loop_busy: float = 0.0  # the server's event-loop thread: CPU seconds a second
    process_busy: float = 0.0  # all the server process's threads

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def raise_file_limit(needed: int) -> None:
    """Let this process (and the server it starts, which inherits it) hold `needed` files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"{needed} open files are needed; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# the flood (a process of its own) -------------------------------------------------------


async def csrf_of(base: str) -> tuple[str, str]:
    """A sign-in form's CSRF token and the visitor cookie it belongs to."""
    async with httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/panel/sign-in")
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    if found is None:
        raise SystemExit("no CSRF token on the sign-in page")
    return found.group(1), "; ".join(f"{k}={v}" for k, v in page.cookies.items())


async def sign_in_once(port: int, source: str, request: bytes, counts: Counter[str]) -> None:
    try:
        async with asyncio.timeout(20):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            writer.write(request)
            line = await reader.readline()
        counts[f"sign-in {line.split(b' ')[1].decode() if line else 'closed'}"] += 1
        writer.close()
    except (OSError, TimeoutError):
        counts["sign-in error"] += 1


def form_post(path: str, body: bytes, header: str, *, close: bool) -> bytes:
    """A raw HTTP/1.1 POST of the form `body` to `path`, with `header` (one `Name: value`)."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + (b"Connection: close\r\n" if close else b"")
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"{header}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def sign_ins(
    port: int, rate: float, until: float, form: tuple[str, str], counts: Counter[str]
) -> None:
    csrf, cookie = form
    tasks: set[asyncio.Task[None]] = set()
    n = 0
    if not rate:
        return
    start = time.monotonic()
    while time.monotonic() < until:
        body = f"csrf={csrf}&email=guess{n}%40flood.test&password=wrong+password+{n}".encode()
        request = form_post("/panel/sign-in", body, f"Cookie: {cookie}", close=True)
        source = SIGN_IN_SOURCES[n % len(SIGN_IN_SOURCES)]
        task = asyncio.create_task(sign_in_once(port, source, request, counts))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
    counts["sign-in sent"] = n
    if tasks:
        await asyncio.wait(tasks, timeout=20)


async def idle_socket(
    port: int, source: str, start: float, until: float, counts: Counter[str]
) -> None:
    """Hold a connection that sends nothing; open it again whenever the server closes it."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < until:
        try:
            async with asyncio.timeout(5):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0)
                )
        except (OSError, TimeoutError):
            counts["idle connect error"] += 1
            await asyncio.sleep(0.5)
            continue
        counts["idle opened"] += 1
        try:
            async with asyncio.timeout(max(0.01, until - time.monotonic())):
                answer = await reader.read()
            counts[f"idle closed by server {answer[9:12].decode() or 'silently'}"] += 1
        except TimeoutError:
            pass  # the phase ended with the socket still held
        except OSError:
            counts["idle reset"] += 1
        writer.close()


async def flood(port: int, seconds: float, sign_in_rate: float, idle: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    form = await csrf_of(f"http://127.0.0.1:{port}")
    now = time.monotonic()
    until = now + seconds
    sources = [f"127.0.2.{1 + n // IDLE_PER_SOURCE}" for n in range(idle)]
    # Opened evenly over LEAD (the server's head deadline by default), and each again as
    # soon as the server closes it: a steady churn that keeps `idle` sockets open, as an
    # attacker would hold them. All at once would overflow the listen backlog, and the
    # measurement would show the kernel's SYN retries rather than the server.
    await asyncio.gather(
        sign_ins(port, sign_in_rate, until, form, counts),
        *(
            idle_socket(port, source, now + n * LEAD / max(1, idle), until, counts)
            for n, source in enumerate(sources)
        ),
    )
    return dict(counts)


def flood_process(
    port: int, seconds: float, sign_in_rate: float, idle: int, out: multiprocessing.Queue[object]
) -> None:
    out.put(asyncio.run(flood(port, seconds, sign_in_rate, idle)))


# the measurement ------------------------------------------------------------------------


class KeptConnection:
    """One keep-alive connection for the measurement: raw HTTP/1.1, cheap for the client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, request: bytes) -> bytes:
        """Write a request; the answer's body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        return await self.reader.readexactly(int(length.group(1)) if length else 0)


async def measure(port: int, token: str, seconds: float, rate: float, first: int) -> Phase:
    latencies: list[float] = []
    failures = 0
    idle: asyncio.Queue[KeptConnection] = asyncio.Queue()
    for _ in range(MEASURE_CONNECTIONS):
        idle.put_nowait(KeptConnection(*await asyncio.open_connection("127.0.0.1", port)))

    async def one(due: float, n: int) -> None:
        nonlocal failures
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        body = f"Mobile=0912{first + n:07d}&CodeLength=5".encode()
        request = form_post("/rest/SendQuickOTP", body, f"Authorization: {token}", close=False)
        connection = await idle.get()
        try:
            async with asyncio.timeout(30):
                answer = await connection.send(request)
            if b'"Status":"Success"' not in answer:
                failures += 1
            idle.put_nowait(connection)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            failures += 1
            idle.put_nowait(KeptConnection(*await asyncio.open_connection("127.0.0.1", port)))
        latencies.append(time.monotonic() - due)

    start = time.monotonic() + 0.05
    count = int(seconds * rate)
    await asyncio.gather(*(one(start + n / rate, n) for n in range(count)))
    while not idle.empty():
        idle.get_nowait().writer.close()
    return Phase("", latencies, failures, {})


def run_phase(
    name: str,
    server_pid: int,
    port: int,
    token: str,
    args: argparse.Namespace,
    first: int,
    flooding: bool,
) -> Phase:
    results: multiprocessing.Queue[object] = multiprocessing.Queue()
    process = None
    if flooding:
        process = multiprocessing.Process(
            target=flood_process,
            args=(port, args.seconds + LEAD, args.sign_ins, args.idle, results),
        )
        process.start()
        time.sleep(LEAD)  # the idle sockets are open and the sign-ins going before measuring
    before, started = thread_cpu(server_pid), time.monotonic()
    phase = asyncio.run(measure(port, token, args.seconds, args.rate, first))
    used, wall = thread_cpu(server_pid) - before, time.monotonic() - started
    phase.name = name
    phase.loop_busy = used.main / wall
    phase.process_busy = used.total / wall
    if process is not None:
        phase.flood = results.get(timeout=60)  # type: ignore[assignment]
        process.join(30)
    return phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--sign-ins", type=float, default=20.0, help="wrong sign-ins a second")
    parser.add_argument("--idle", type=int, default=3000, help="idle sockets held open")
    parser.add_argument("--rate", type=float, default=50.0, help="SendQuickOTP a second")
    parser.add_argument(
        "--pin", action="store_true", help="server on CPU 0, clients on CPU 1 (a quiet machine)"
    )
    args = parser.parse_args()
    if args.idle > IDLE_PER_SOURCE * 250:
        raise SystemExit(f"--idle is at most {IDLE_PER_SOURCE * 250}")
    raise_file_limit(args.idle + 2048)
    if args.pin and sys.platform == "linux" and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {1})  # this process and the flood's; the server gets CPU 0

    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = quickotp_env(
            f"sqlite:///{tmp}/bench.db",
            Path(tmp) / "sms.jsonl",
            **UNTHROTTLED,
            QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS=str(IDLE_PER_SOURCE + 16),
        )
        token = setup_account(env)
        port = free_port()
        # A session of its own: Linux's autogroups share the CPU between sessions first, and
        # in this one the server would share its part with the flood's clients, which on a
        # real network run on other machines.
        setsid = ["setsid"] if shutil.which("setsid") else []
        argv = [*setsid, sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        with server(
            argv, env, f"http://127.0.0.1:{port}/healthz", cpu=0 if args.pin else None
        ) as process:
            asyncio.run(measure(port, token, 2, args.rate, 9_000_000))  # warm-up
            first = 0
            for round_number in range(1, args.rounds + 1):
                for flooding in (False, True):
                    name = f"{round_number} {'flood' if flooding else 'baseline'}"
                    phases.append(run_phase(name, process.pid, port, token, args, first, flooding))
                    first += int(args.seconds * args.rate)

    print(
        f"\nSendQuickOTP at {args.rate:g}/s for {args.seconds:g} s a phase; flood: "
        f"{args.sign_ins:g} wrong sign-ins/s and {args.idle} idle sockets; "
        f"{'server on CPU 0, clients on CPU 1' if args.pin else 'no CPU pinning'}\n"
    )
    columns = ("answers", "fail", "p50 ms", "p90 ms", "p99 ms", "max ms", "loop", "process")
    print(f"{'phase':16} " + " ".join(f"{c:>7}" for c in columns))
    for phase in phases:
        print(
            f"{phase.name:16} {len(phase.latencies):7d} {phase.failures:7d}"
            f" {phase.percentile(50):7.1f} {phase.percentile(90):7.1f}"
            f" {phase.percentile(99):7.1f} {max(phase.latencies) * 1000:7.1f}"
            f" {phase.loop_busy:7.0%} {phase.process_busy:7.0%}"
        )
    for kind in ("baseline", "flood"):
        chosen = [p for p in phases if kind in p.name]
        print(
            f"{'median ' + kind:16} p99 over the rounds:"
            f" {statistics.median(p.percentile(99) for p in chosen):.1f} ms"
        )
    for phase in phases:
        if phase.flood:
            print(f"{phase.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(phase.flood.items())))


if __name__ == "__main__":
    main()
