"""
Overload: twice what the route can deliver, offered for a minute. Every message the gateway
accepts must reach the SMSC before its code expires; the rest must be refused at once
(Route_Overloaded). Prints the refused share, how long accepted messages waited, and the
route's estimated wait as the gateway saw it, every ten seconds.

    .venv/bin/python bench/overload.py [--tps 300] [--seconds 60] [--validity 20] [--postgres]

The route is an SMPP route to smpp34's simulator (receipts on) capped at `--tps` submit_sm a
second, as an operator caps an account: that is the end-to-end capacity, and wrk (paced,
on CPU 1) offers twice it, each request to a new number. The code's validity is `--validity`
seconds (20, so that the queue reaches admission control's limit, half of it, within the
minute). One `quickotp serve` process on CPU 0, on SQLite, or with --postgres on a fresh
PostgreSQL database and Redis (QUICKOTP_BENCH_POSTGRES_URL, QUICKOTP_BENCH_REDIS_URL).
Bounded: the load runs --seconds, the drain waits at most validity + 30 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness import METRICS_HEADERS, free_port, quickotp, quickotp_env, require_wrk
from harness import setup_account as make_account
from scaleout import (
    GUARD_FOR_ONE_CLIENT,
    REDIS,
    busy_jiffies,
    clear_redis,
    drop_database,
    fresh_database,
    machine_busy,
    metric,
    offer,
    percentile,
    responses,
    running,
    smsc,
    wait_idle,
    wait_until_settled,
)

CONNECTIONS = 128  # paced: each waits between requests, so latency barely slows the offer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tps", type=int, default=300, help="the route's submit_sm/s cap")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--validity", type=int, default=20, help="the code's validity, s")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis")
    args = parser.parse_args()
    require_wrk()
    offered = 2 * args.tps
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        database = fresh_database() if args.postgres else f"sqlite:///{root / 'bench.db'}"
        try:
            run(args, root, database, offered)
        finally:
            if args.postgres:
                drop_database(database)
                clear_redis()


def run(args: argparse.Namespace, root: Path, database: str, offered: int) -> None:
    extra = {
        **GUARD_FOR_ONE_CLIENT,
        "QUICKOTP_OTP_TTL_SECONDS": str(args.validity),
        **({"QUICKOTP_REDIS_URL": REDIS} if args.postgres else {}),
    }
    env = quickotp_env(database, root / "sink.jsonl", **extra)
    token = make_account(env)
    smsc_port, port = free_port(), free_port()
    quickotp(
        env,
        "routes",
        "add",
        "smsc",
        "--url",
        f"smpp://bench:secret@127.0.0.1:{smsc_port}?window=10&tps={args.tps}&timeout=10",
    )
    base = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
    with (
        smsc(smsc_port, root / "smsc.log"),
        running(serve, env, root / "serve.log", health_url=f"{base}/healthz", cpu=0),
    ):
        # Warm up at half the capacity, and let that drain.
        offer(base, token, seconds=3, rate=args.tps // 2, connections=CONNECTIONS)
        wait_until_settled(database, datetime(2000, 1, 1, tzinfo=UTC), 30)
        before = responses(base)
        timeline: list[tuple[float, float, float]] = []  # (s, estimated wait, refused so far)
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(base, before, timeline, stop))
        wait_idle()
        busy = busy_jiffies()
        start = datetime.now(UTC)
        watcher.start()
        try:
            load = offer(
                base,
                token,
                seconds=args.seconds,
                rate=offered,
                connections=CONNECTIONS,
                first=5_000_000,
            ).load
        finally:
            stop.set()
            watcher.join()
        end = datetime.now(UTC)
        machine = machine_busy(busy)
        after = responses(base)
        settled = wait_until_settled(database, start, args.validity + 30)
    answered = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    total = sum(answered.values())
    refused = answered.get("Route_Overloaded", 0)
    seconds = (end - start).total_seconds()
    sent = settled.by_status.get("sent", 0) + settled.by_status.get("delivered", 0)
    print(
        f"\nroute capped at {args.tps} submit_sm/s; offered {offered}/s for {args.seconds} s"
        f" (wrk measured {load.rps:.0f} answers/s, p50 {load.p50_ms:.1f} ms,"
        f" p99 {load.p99_ms:.1f} ms); code validity {args.validity} s;"
        f" {'PostgreSQL + Redis' if args.postgres else 'SQLite'}, one process; the machine"
        f" (shared with others' runs) was {machine:.2f} of 2 CPUs busy, ours included\n"
    )
    print(f"{'s':>4} {'est. wait s':>11} {'refused':>8}")
    for at, wait, count in timeline[::10]:
        print(f"{at:4.0f} {wait:11.1f} {count:8.0f}")
    print(
        f"\nanswers {total:.0f}: Success {answered.get('Success', 0):.0f},"
        f" Route_Overloaded {refused:.0f} ({refused / total:.1%} refused),"
        f" other {total - answered.get('Success', 0) - refused:.0f}"
        + "".join(
            f", {name} {count:.0f}"
            for name, count in sorted(answered.items())
            if name not in {"Success", "Route_Overloaded"} and count
        )
    )
    capacity = settled.sent_between(start, end) / seconds
    print(
        f"accepted {settled.accepted}: {settled.by_status}; the route took {capacity:.0f}/s"
        f" during the run, so the offer was {load.rps / capacity:.1f}x what it delivered"
    )
    waits = settled.submit_s
    print(
        f"accept -> SMSC: p50 {percentile(waits, 0.5):.1f} s, p99 {percentile(waits, 0.99):.1f} s,"
        f" max {max(waits, default=0):.1f} s; sent after expiry: {settled.late};"
        f" still waiting: {settled.waiting}; expired unsent: {settled.by_status.get('expired', 0)}"
    )
    ok = (
        settled.late == 0
        and settled.waiting == 0
        and sent == settled.accepted
        and max(waits, default=0) < args.validity
    )
    print("every accepted message reached the SMSC before its code expired:", "yes" if ok else "NO")


def watch(
    base: str,
    before: dict[str, float],
    timeline: list[tuple[float, float, float]],
    stop: threading.Event,
) -> None:
    """Once a second: the route's estimated wait and the refusals so far, from /metrics."""
    began = time.monotonic()
    while not stop.wait(1.0):
        try:
            text = httpx.get(f"{base}/metrics", headers=METRICS_HEADERS, timeout=2).text
        except httpx.HTTPError:
            continue
        wait = metric(text, "quickotp_route_queue_wait_seconds", route="smsc")
        refused = metric(
            text, "quickotp_rest_responses_total", method="SendQuickOTP", status="Route_Overloaded"
        ) - before.get("Route_Overloaded", 0)
        timeline.append((time.monotonic() - began, wait, refused))


if __name__ == "__main__":
    main()
