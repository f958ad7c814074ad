"""
End to end over SMPP: sustained SendQuickOTP → submit_sm_resp through the whole service (one
`quickotp serve` process on SQLite, an smpp route with one bind, receipts on) against smpp34's
Server, printed beside the bare smpp34 client against the same simulator in the same run.

    .venv/bin/python bench/e2e_smpp.py [--seconds 30] [--connections 32] [--window 10] [--rate N]

The service runs on CPU 0, wrk on CPU 1, the simulator unpinned; the bare client runs once
unpinned and once on CPU 0, and the ratio is to the faster run. Figures come from the
messages table: messages accepted during the wrk run, how many of them reached `sent`
(their submit_sm_resp came back and was recorded) and when; accept → submit_sm_resp latency
is submitted_at - created_at (created_at is stamped as the request is handled, submitted_at
as the dispatcher gets the submit_sm_resp back). The slowest message and the longest time
without a submit_sm_resp show a stall that the p99 hides. The service's CPU per accepted OTP
comes from /proc, read before and after the wrk run (steadier than OTP/s on a shared
machine).
Bounded: wrk runs --seconds, the drain waits at most 30 s.
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness import (
    HERE,
    SECRET,
    UVICORN,
    free_port,
    longest_pause,
    parse_wrk,
    pinned,
    quickotp,
    quickotp_env,
    require_wrk,
    run_wrk,
    send_form_load,
    server,
    setup_account,
    terminate,
    thread_cpu,
)
from harness import wrk as load_wrk
from smpp_client import HEADER, SIMULATOR, bare, ours

GUARD_OFF = {  # the fraud guard's per-number and rate limits would refuse a load test
    "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "0",
    "QUICKOTP_GUARD_COOLDOWN_SECONDS": "0",
    "QUICKOTP_GUARD_PER_NUMBER_HOUR": "0",
    "QUICKOTP_GUARD_PER_NUMBER_DAY": "0",
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}


@dataclass(frozen=True)
class EndToEnd:
    accepted_per_s: float  # wrk's answers/s
    accepted: int  # messages created during the run
    submitted: int  # of those, sent (submit_sm_resp back) by the end of the drain
    submit_per_s: float  # submit_sm_resp/s during the run
    p50_ms: float
    p99_ms: float
    delivered: int  # of those, delivered (receipt matched)
    wrk_p99_ms: float
    failures: int
    loop_us: float = 0.0  # the service's CPU an accepted OTP: its event loop's thread
    others_us: float = 0.0  # and its other threads (SQLite's writer, mostly)
    max_ms: float = 0.0  # the slowest accept → submit_sm_resp
    pause_ms: float = 0.0  # the longest time in the run without a submit_sm_resp
    pause_at: float = 0.0  # seconds into the run that pause began


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Measured:
    latencies: list[float]  # accept → submit_sm_resp, seconds, of the messages sent
    accepted: int  # messages created in the run
    in_run: int  # of those, sent before the run ended
    delivered: int
    pause: tuple[float, float]  # the longest pause between submits in the run, its start


def measure(db: Path, start: datetime, end: datetime) -> Measured:
    """What became of the messages accepted between `start` and `end`."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT created_at, submitted_at, status FROM messages WHERE created_at >= ?"
            " AND created_at < ?",
            (start.replace(tzinfo=None).isoformat(" "), end.replace(tzinfo=None).isoformat(" ")),
        ).fetchall()
    latencies = []
    sent_in_run = []
    delivered = 0
    for created, submitted, status in rows:
        if submitted is None:
            continue
        sent_at = _parse_time(submitted)
        latencies.append((sent_at - _parse_time(created)).total_seconds())
        if sent_at < end:
            sent_in_run.append((sent_at - start).total_seconds())
        delivered += status == "delivered"
    return Measured(latencies, len(rows), len(sent_in_run), delivered, longest_pause(sent_in_run))


def wait_drained(db: Path, start: datetime, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            (left,) = conn.execute(
                "SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')"
                " AND created_at >= ?",
                (start.replace(tzinfo=None).isoformat(" "),),
            ).fetchone()
        if not left:
            return
        time.sleep(0.5)


@contextmanager
def serving(
    argv: list[str], env: dict[str, str], health_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The service on CPU 0, its output in `log`, up for the block (harness.server, logged)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinned(0, argv),
            env={**env, "PYTHONFAULTHANDLER": "1"},  # a crash leaves its traceback in `log`
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"the service exited early:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(health_url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process
    finally:
        terminate(process)


def wait_reported(db: Path, start: datetime, limit: float) -> None:
    """Until every message sent in the run has its receipt applied, or `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            (left,) = conn.execute(
                "SELECT count(*) FROM messages WHERE status = 'sent' AND created_at >= ?",
                (start.replace(tzinfo=None).isoformat(" "),),
            ).fetchone()
        if not left:
            return
        time.sleep(0.5)


def smpp_service(
    db: Path, smsc_port: int | None, window: int, extra: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """
    The service's environment (with `extra` last) on the SQLite file `db`, migrated, with
    the bench account and an smpp route of `window` to `smsc_port` (None: no route, the log
    sink takes all); and the account's token.
    """
    env = {
        **quickotp_env(f"sqlite:///{db}", db.with_name("sink.jsonl"), **GUARD_OFF),
        "QUICKOTP_DISPATCH_CONCURRENCY": str(window),
        **(extra or {}),
    }
    token = setup_account(env)
    if smsc_port is not None:
        url = f"smpp://bench:secret@127.0.0.1:{smsc_port}?window={window}&timeout=10"
        quickotp(env, "routes", "add", "smsc", "--url", url)
    return env, token


def end_to_end(
    smsc_port: int | None, seconds: int, connections: int, window: int, rate: int = 0
) -> EndToEnd:
    """One run of the service; with no SMSC port, no route: the dev log sink takes all."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        env, token = smpp_service(db, smsc_port, window)
        port = free_port()
        argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        url = f"http://127.0.0.1:{port}/rest/SendQuickOTP"
        wrk, wrk_env = send_form_load(connections, rate, token)
        log = Path(tmp) / "serve.log"
        with serving(argv, env, f"http://127.0.0.1:{port}/healthz", log) as process:
            run_wrk(wrk, 3, url, wrk_env)  # the warm-up
            wait_drained(db, datetime(2000, 1, 1, tzinfo=UTC), 30)
            start = datetime.now(UTC)
            before = thread_cpu(process.pid)  # taskset execs the service: the same pid
            done = run_wrk(wrk, seconds, url, wrk_env)
            cpu = thread_cpu(process.pid) - before
            end = datetime.now(UTC)
            if done.returncode:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(
                    f"wrk failed:\n{done.stdout}{done.stderr}\n"
                    f"server (exit {process.poll()}):\n{tail}"
                )
            wait_drained(db, start, 30)
            wait_reported(db, start, 30)
        load = parse_wrk(done.stdout)
        run = measure(db, start, end)
    cuts = statistics.quantiles(run.latencies, n=100) if len(run.latencies) > 1 else [0.0] * 99
    return EndToEnd(
        accepted_per_s=load.rps,
        accepted=run.accepted,
        submitted=len(run.latencies),
        submit_per_s=run.in_run / (end - start).total_seconds(),
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        delivered=run.delivered,
        wrk_p99_ms=load.p99_ms,
        failures=load.failures,
        loop_us=cpu.main / run.accepted * 1e6 if run.accepted else 0.0,
        others_us=cpu.others / run.accepted * 1e6 if run.accepted else 0.0,
        max_ms=max(run.latencies, default=0.0) * 1000,
        pause_ms=run.pause[0] * 1000,
        pause_at=run.pause[1],
    )


def floor_end_to_end(smsc_port: int, seconds: int, connections: int, window: int) -> EndToEnd:
    """The floor (floor_asgi.py) delivering over SMPP to the same simulator, measured alike."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "floor.db"
        env = {
            **os.environ,
            "FLOOR_DATABASE": str(db),
            "FLOOR_SINK": str(Path(tmp) / "floor.jsonl"),
            "FLOOR_TOKEN": SECRET,
            "FLOOR_SMSC_PORT": str(smsc_port),
            "FLOOR_WINDOW": str(window),
        }
        port = free_port()
        argv = [*UVICORN, "--app-dir", str(HERE), "--port", str(port), "floor_asgi:app"]
        url = f"http://127.0.0.1:{port}/rest/SendQuickOTP"
        wrk_env = {"QUICKOTP_BENCH_TOKEN": SECRET}
        with server(argv, env, f"http://127.0.0.1:{port}/"):
            load_wrk(url, connections=connections, seconds=3, env=wrk_env, warmup=0)
            start = time.time()
            load = load_wrk(url, connections=connections, seconds=seconds, env=wrk_env, warmup=0)
            end = time.time()
            query = "SELECT count(*) FROM messages WHERE status = 'queued'"
            for _ in range(60):  # the drain: until every message is submitted, or 30 s
                with sqlite3.connect(db) as conn:
                    if not conn.execute(query).fetchone()[0]:
                        break
                time.sleep(0.5)
            time.sleep(2)  # the last receipts (the floor drops those that beat their resp)
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT created_at, submitted_at, status FROM messages"
                " WHERE created_at >= ? AND created_at < ?",
                (start, end),
            ).fetchall()
    latencies = [sent - created for created, sent, _ in rows if sent is not None]
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return EndToEnd(
        accepted_per_s=load.rps,
        accepted=len(rows),
        submitted=len(latencies),
        submit_per_s=sum(1 for _, sent, _ in rows if sent is not None and sent < end)
        / (end - start),
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        delivered=sum(1 for _, _, status in rows if status == "delivered"),
        wrk_p99_ms=load.p99_ms,
        failures=load.failures,
    )


@contextmanager
def on_cpu0() -> Iterator[None]:
    """This process on CPU 0 alone for the block (where the service runs), when it has two."""
    everywhere = os.sched_getaffinity(0)
    if len(everywhere) < 2 or 0 not in everywhere:
        yield
        return
    os.sched_setaffinity(0, {0})
    try:
        yield
    finally:
        os.sched_setaffinity(0, everywhere)


@contextmanager
def simulator() -> Iterator[int]:
    """
    smpp34's Server (tests/adapters/transports/smpp/smsc_sim.py) with receipts on, up for the
    block; its port.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SIMULATOR), "--port", str(port), "--receipts"],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # READY
        yield port
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--n", type=int, default=30_000, help="messages for the bare clients")
    parser.add_argument(
        "--rate", type=int, default=0, help="also a paced run offering about this many OTP/s"
    )
    args = parser.parse_args()
    require_wrk()
    # A fresh simulator for each run, so none depends on what the runs before it left behind.
    with simulator() as smsc_port:
        e2e = end_to_end(smsc_port, args.seconds, args.connections, args.window)
    sink = end_to_end(None, args.seconds, args.connections, args.window)
    with simulator() as smsc_port:
        floor = floor_end_to_end(smsc_port, args.seconds, args.connections, args.window)
    paced = None
    if args.rate:
        with simulator() as smsc_port:
            paced = end_to_end(smsc_port, args.seconds, args.connections, args.window, args.rate)
    with simulator() as smsc_port:
        transport = asyncio.run(ours(smsc_port, args.n, args.window, float(args.seconds)))
    with simulator() as smsc_port:
        client = asyncio.run(
            bare(smsc_port, args.n, args.window, float(args.seconds), nodelay=True)
        )
    # The bare client again on CPU 0 alone, where the service runs. Either placement can be
    # the faster from one run to the next, so the ratio is taken to the faster of the two.
    with simulator() as smsc_port, on_cpu0():
        client_cpu0 = asyncio.run(
            bare(smsc_port, args.n, args.window, float(args.seconds), nodelay=True)
        )
    best = max(client, client_cpu0, key=lambda result: result.rate)

    print(
        f"\nSendQuickOTP → submit_sm_resp, {args.seconds} s, wrk -c{args.connections} on CPU 1,"
        f" `quickotp serve` (SQLite, one smpp route, one bind, window {args.window}, receipts"
        " on) on CPU 0, smpp34's Server unpinned\n"
    )
    print(
        f"  answers/s (wrk)                   {e2e.accepted_per_s:10,.0f}"
        f"  (wrk p99 {e2e.wrk_p99_ms:.1f} ms, failures {e2e.failures})"
    )
    print(f"  accepted in the run               {e2e.accepted:10,}")
    print(f"  submit_sm_resp/s in the run       {e2e.submit_per_s:10,.0f}")
    print(f"  accept → submit_sm_resp p50 / p99 {e2e.p50_ms:8.1f} / {e2e.p99_ms:.1f} ms")
    print(
        f"  slowest / longest pause in submits  {e2e.max_ms:6.1f} / {e2e.pause_ms:.1f} ms"
        f"  (the pause {e2e.pause_at:.1f} s into the run)"
    )
    print(
        f"  sent by the end of the drain      {e2e.submitted:10,}"
        f"  receipts applied {e2e.delivered:,}"
    )
    print(
        f"  service CPU an accepted OTP       {e2e.loop_us + e2e.others_us:10,.0f} µs"
        f"  (event loop's thread {e2e.loop_us:,.0f}, other threads {e2e.others_us:,.0f})"
    )
    if paced is not None:
        print(
            f"\nPaced at about {args.rate:,} OTP/s offered: {paced.accepted_per_s:,.0f} answers/s,"
            f" {paced.submit_per_s:,.0f} submit_sm_resp/s, accept → submit_sm_resp p50 / p99"
            f" {paced.p50_ms:.1f} / {paced.p99_ms:.1f} ms (slowest {paced.max_ms:.1f} ms, longest"
            f" pause in submits {paced.pause_ms:.1f} ms), receipts {paced.delivered:,}"
            f" of {paced.accepted:,}"
        )
    print(
        f"\nThe same service without a route (the log sink: no SMPP), for where the time goes:"
        f"\n  answers/s {sink.accepted_per_s:,.0f}, sent/s {sink.submit_per_s:,.0f},"
        f" accept → sent p50 / p99 {sink.p50_ms:.1f} / {sink.p99_ms:.1f} ms"
    )
    print(
        f"\nThe floor (floor_asgi.py: durable accept + SMPP delivery, nothing else) alike:"
        f"\n  answers/s {floor.accepted_per_s:,.0f}, submit_sm_resp/s {floor.submit_per_s:,.0f},"
        f" accept → submit_sm_resp p50 / p99 {floor.p50_ms:.1f} / {floor.p99_ms:.1f} ms,"
        f" receipts applied {floor.delivered:,} of {floor.accepted:,}"
    )
    print(
        f"\nThe same simulator, {args.n:,} messages (at most {args.seconds} s),"
        f" window {args.window}:"
    )
    print(f"  {HEADER}  (CPU: the client process's, all threads, per message)")
    for result in (transport, client):
        print("  " + result.line())
    print("  " + dataclasses.replace(client_cpu0, name="smpp34 bare + NODELAY, CPU 0").line())
    print(
        f"\nratio end to end / bare smpp34 client (its faster run):"
        f" {e2e.submit_per_s / best.rate:.2f}"
        f"  (end to end / SmppTransport alone: {e2e.submit_per_s / transport.rate:.2f};"
        f" the floor / bare smpp34 client: {floor.submit_per_s / best.rate:.2f})"
    )


if __name__ == "__main__":
    main()
