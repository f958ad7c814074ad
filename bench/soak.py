"""
Soak: a steady load for five minutes, end to end to an SMSC with receipts. Reports each
process's resident memory at the start, every 30 s and at the end; every answer that was not
Success; and every accepted message that did not end delivered (lost).

    .venv/bin/python bench/soak.py [--seconds 300] [--rate 300] [--sqlite]

By default the scale-out shape: PostgreSQL (a fresh database on QUICKOTP_BENCH_POSTGRES_URL)
and Redis (QUICKOTP_BENCH_REDIS_URL), `serve --workers 2 --no-dispatch` and one `quickotp
dispatch`; with --sqlite, one `serve` process that also dispatches. The SMSC is smpp34's
simulator, receipts on. wrk (CPU 1) offers --rate requests a second, each to a new number,
so the fraud guard's per-number rules (on, as deployed) never refuse one. Bounded: a 10 s
warm-up, --seconds of load, at most 60 s for the last receipts.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import free_port, quickotp, quickotp_env, require_wrk
from harness import setup_account as make_account
from scaleout import (
    GUARD_FOR_ONE_CLIENT,
    REDIS,
    busy_jiffies,
    bytes_per_message,
    clear_redis,
    drop_database,
    fresh_database,
    machine_busy,
    offer,
    percentile,
    rss_mib,
    running,
    smsc,
    wait_idle,
    wait_until_settled,
    write_counters,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rate", type=int, default=300, help="requests a second offered")
    parser.add_argument("--sqlite", action="store_true", help="one process on SQLite")
    args = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        database = f"sqlite:///{root / 'soak.db'}" if args.sqlite else fresh_database()
        try:
            soak(args, root, database)
        finally:
            if not args.sqlite:
                drop_database(database)
                clear_redis()


def soak(args: argparse.Namespace, root: Path, database: str) -> None:
    extra = {**GUARD_FOR_ONE_CLIENT, **({} if args.sqlite else {"QUICKOTP_REDIS_URL": REDIS})}
    env = quickotp_env(database, root / "sink.jsonl", **extra)
    token = make_account(env)
    smsc_port, port = free_port(), free_port()
    url = f"smpp://bench:secret@127.0.0.1:{smsc_port}?window=10&timeout=10"
    quickotp(env, "routes", "add", "smsc", "--url", url)
    base = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
    if not args.sqlite:
        serve += ["--workers", "2", "--no-dispatch"]
    dispatch = [sys.executable, "-m", "quickotp", "dispatch"]
    with contextlib.ExitStack() as stack:
        stack.enter_context(smsc(smsc_port, root / "smsc.log"))
        server = stack.enter_context(
            running(serve, env, root / "serve.log", health_url=f"{base}/readyz")
        )
        pids = {"serve": server.pid}
        if not args.sqlite:
            log = root / "dispatch.log"
            pids["dispatch"] = stack.enter_context(
                running(dispatch, env, log, ready_line="dispatching from")
            ).pid
        offer(base, token, seconds=10, rate=args.rate)  # warm-up: pools, caches, binds
        wait_until_settled(database, datetime(2000, 1, 1, tzinfo=UTC), 60)
        samples: list[tuple[float, dict[str, float]]] = [(0.0, memory(pids))]
        stop = threading.Event()
        sampler = threading.Thread(target=sample, args=(pids, samples, stop))
        wait_idle()
        busy = busy_jiffies()
        writes = None if args.sqlite else write_counters(database)
        start = datetime.now(UTC)
        sampler.start()
        try:
            run = offer(base, token, seconds=args.seconds, rate=args.rate, first=5_000_000)
        finally:
            stop.set()
            sampler.join()
        end = datetime.now(UTC)
        machine = machine_busy(busy)
        settled = wait_until_settled(database, start, 60, receipts=True)
        if writes is not None:
            after = write_counters(database)
            writes = (after[0] - writes[0], after[1] - writes[1])
        samples.append(((end - start).total_seconds(), memory(pids)))
    sizes = {} if args.sqlite else bytes_per_message(database)
    delivered = settled.by_status.get("delivered", 0)
    shape = (
        "SQLite, one process" if args.sqlite else "PostgreSQL + Redis, 2 API workers + 1 dispatcher"
    )
    print(
        f"\n{args.seconds} s at {args.rate}/s offered ({run.load.rps:.0f} answers/s measured,"
        f" p50 {run.load.p50_ms:.1f} ms, p99 {run.load.p99_ms:.1f} ms); {shape};"
        " SMPP to smpp34's simulator, receipts on;"
        f" the machine (shared with others' runs) was {machine:.2f} of 2 CPUs busy, ours included\n"
    )
    print(f"{'s':>5} " + " ".join(f"{name + ' RSS MiB':>18}" for name in pids))
    for at, rss in samples:
        print(f"{at:5.0f} " + " ".join(f"{rss[name]:18.1f}" for name in pids))
    lost = settled.accepted - delivered
    print(
        f"\nanswers {run.requests}: not Success {run.not_success}, socket errors and non-2xx"
        f" {run.load.failures} (accepted counts also the requests in flight when wrk stopped)"
    )
    print(
        f"accepted {settled.accepted}: {settled.by_status}; possible duplicates {settled.flagged}"
    )
    print(
        f"accept -> SMSC p50 {percentile(settled.submit_s, 0.5) * 1000:.0f} ms,"
        f" p99 {percentile(settled.submit_s, 0.99) * 1000:.0f} ms"
    )
    print(f"lost (accepted, not delivered): {lost}")
    for name in pids:
        first, last = samples[0][1][name], samples[-1][1][name]
        print(f"{name} RSS {first:.1f} -> {last:.1f} MiB ({last - first:+.1f})")
    if writes is not None and settled.accepted:
        print(
            f"PostgreSQL per message: {writes[1] / settled.accepted:.2f} commits in this database,"
            f" {writes[0] / settled.accepted:.0f} bytes of WAL (the whole server's: others'"
            " databases on it included)"
        )
    if sizes:
        print(
            "PostgreSQL bytes per message, indexes included: "
            + ", ".join(f"{table} {size:.0f}" for table, size in sizes.items())
        )
    if run.not_success:
        print(f"not Success: {run.statuses}")


def memory(pids: dict[str, int]) -> dict[str, float]:
    return {name: rss_mib(pid) for name, pid in pids.items()}


def sample(
    pids: dict[str, int], samples: list[tuple[float, dict[str, float]]], stop: threading.Event
) -> None:
    began = time.monotonic()
    while not stop.wait(30):
        samples.append((time.monotonic() - began, memory(pids)))


if __name__ == "__main__":
    main()
