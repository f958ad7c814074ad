"""
Delivery reports under load: does one `quickotp serve` process post a report for every
message while SendQuickOTP saturates it, and how late?

    .venv/bin/python bench/reports.py [--seconds 20] [--connections 32] [--rounds 2]
                                      [--base main] [--no-paced]

Each run is one `quickotp serve` process (SQLite, an smpp route with one bind, window 10, to
smpp34's simulator with receipts on) on CPU 0, loaded by wrk on CPU 1 for --seconds after a
3 s warm-up. Three kinds of run, interleaved, --rounds times:

- **no webhook**: the account has no relay URL (the yardstick: OTP/s without reports);
- **webhook**: one relay URL, pointing to `report_receiver.py` on 127.0.0.1 (a process of its
  own, unpinned), so every message owes one POST;
- **paced**: the same, offered half the no-webhook run's OTP/s of the same round (the goal:
  half the rate, every report within 2 s).

With `--base REV`, the webhook run is made a second time by the tree at REV (`git archive`d,
first on PYTHONPATH), next to this tree's, for a before/after pair.

Figures: OTP/s (wrk), reports posted a second during the load, lateness (the receiver's
arrival time minus the message's `reported_at`, when the server took its receipt) p50 / p99
/ max over every message accepted in the run, and the service's CPU per message from /proc
(all threads, from the start of the load until every report is posted): the webhook run's
minus the no-webhook run's is the CPU one report costs, steadier than rates on a shared
machine. The machine's load average is printed with each run. Bounded: each wrk run lasts
--seconds, each drain at most 90 s.
"""

from __future__ import annotations

import argparse
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
import orjson
from e2e_smpp import serving, simulator, smpp_service
from harness import (
    HERE,
    free_port,
    parse_wrk,
    require_wrk,
    run_wrk,
    send_form_load,
    terminate,
    thread_cpu,
)
from tracing_cost import base_tree

DRAIN = 90.0  # seconds a run waits, at most, for its receipts and reports after the load


@dataclass(frozen=True)
class Run:
    name: str
    load: float  # the machine's 1-minute load average as the run began
    otp_per_s: float  # wrk's answers/s
    accepted: int  # messages accepted during the load
    reported: int  # of those, with their receipt applied
    posted: int  # of those, whose report reached the receiver
    posted_per_s: float  # reports that reached the receiver during the load, a second
    late_p50: float  # seconds from receipt to report, over every message of the run
    late_p99: float
    late_max: float
    within_2s: float  # share of the run's messages whose report came within 2 s
    cpu_us: float  # the service's CPU (all threads) per accepted message, load + drain
    loop_us: float  # of which its event loop's thread
    duplicates: int  # reports received more than once
    failures: int


def _stamp(moment: datetime) -> str:
    """A time as the messages table keeps it (naive UTC)."""
    return moment.replace(tzinfo=None).isoformat(" ")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@contextmanager
def receiver(out: Path) -> Iterator[int]:
    """report_receiver.py in a process of its own for the block; its port."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "report_receiver.py"), "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise SystemExit("the report receiver did not start")
        yield int(ready[1])
    finally:
        terminate(process)


def _left(db: Path, start: datetime, *, webhooks: bool) -> int:
    """Messages of the run still waiting for a submit or a receipt (and reports owed)."""
    since = _stamp(start)
    with sqlite3.connect(db, timeout=30) as conn:
        (left,) = conn.execute(
            "SELECT count(*) FROM messages WHERE status IN ('queued', 'sending', 'sent')"
            " AND created_at >= ?",
            (since,),
        ).fetchone()
        if webhooks:
            (owed,) = conn.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE state IN ('pending', 'sending')"
            ).fetchone()
            left += owed
    return int(left)


def _drain(db: Path, start: datetime, *, webhooks: bool, limit: float = DRAIN) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and _left(db, start, webhooks=webhooks):
        time.sleep(0.25)


def run_once(
    name: str,
    smsc_port: int,
    *,
    seconds: int,
    connections: int,
    webhook: bool,
    rate: float = 0.0,
    extra_env: Mapping[str, str] | None = None,
) -> Run:
    """One server, loaded for `seconds`; with `webhook`, one relay URL to a receiver."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        private = {"QUICKOTP_WEBHOOK_PRIVATE_URLS": "1"}  # the receiver is on 127.0.0.1
        env, token = smpp_service(db, smsc_port, 10, {**private, **(extra_env or {})})
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        wrk, wrk_env = send_form_load(connections, rate, token)
        arrivals = Path(tmp) / "arrivals.jsonl"
        with (
            receiver(arrivals) as hook_port,
            serving(argv, env, f"{base}/healthz", Path(tmp) / "serve.log") as process,
        ):
            if webhook:
                answer = httpx.post(
                    f"{base}/rest/RelayMessageDeliveryCreate",
                    headers={"Authorization": token},
                    data={"URLAddress": f"http://127.0.0.1:{hook_port}/hook"},
                ).json()
                if answer.get("Status") != "Success":
                    raise SystemExit(f"RelayMessageDeliveryCreate: {answer}")
            run_wrk(wrk, 3, f"{base}/rest/SendQuickOTP", wrk_env)  # the warm-up
            _drain(db, datetime(2000, 1, 1, tzinfo=UTC), webhooks=webhook)
            load_average = os.getloadavg()[0]
            start = datetime.now(UTC)
            before = thread_cpu(process.pid)
            done = run_wrk(wrk, seconds, f"{base}/rest/SendQuickOTP", wrk_env)
            end = datetime.now(UTC)
            if done.returncode:
                raise SystemExit(f"wrk failed:\n{done.stdout}{done.stderr}")
            _drain(db, start, webhooks=webhook)
            cpu = thread_cpu(process.pid) - before
        got = [orjson.loads(line) for line in arrivals.read_bytes().splitlines()]
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT id, reported_at FROM messages WHERE created_at >= ? AND created_at < ?",
                (_stamp(start), _stamp(end)),
            ).fetchall()
    wrk_load = parse_wrk(done.stdout)
    first: dict[int, float] = {}
    for arrival, _, message_id in got:
        first[message_id] = min(arrival, first.get(message_id, arrival))
    deliveries = [delivery for _, delivery, _ in got]
    lateness = [
        first[message_id] - _epoch(reported) if message_id in first else float("inf")
        for message_id, reported in rows
        if reported is not None
    ]
    finite = sorted(x for x in lateness if x != float("inf")) or [0.0]
    cuts = statistics.quantiles(lateness, n=100) if len(lateness) > 1 and webhook else [0.0] * 99
    in_load = sum(1 for arrival, _, _ in got if start.timestamp() <= arrival < end.timestamp())
    return Run(
        name=name,
        load=load_average,
        otp_per_s=wrk_load.rps,
        accepted=len(rows),
        reported=sum(1 for _, reported in rows if reported is not None),
        posted=sum(1 for message_id, _ in rows if message_id in first),
        posted_per_s=in_load / (end - start).total_seconds(),
        late_p50=cuts[49],
        late_p99=cuts[98],
        late_max=finite[-1] if webhook else 0.0,
        within_2s=sum(1 for x in lateness if x <= 2.0) / len(lateness) if lateness else 0.0,
        cpu_us=cpu.total / len(rows) * 1e6 if rows else 0.0,
        loop_us=cpu.main / len(rows) * 1e6 if rows else 0.0,
        duplicates=len(deliveries) - len(set(deliveries)),
        failures=wrk_load.failures,
    )


HEADER = (
    f"{'run':34} {'load':>5} {'OTP/s':>6} {'accepted':>8} {'reported':>8} {'posted':>7}"
    f" {'posts/s':>7} {'late p50':>8} {'p99':>6} {'max':>6} {'<=2s':>5} {'CPU us':>6}"
    f" {'loop us':>7} {'dup':>4}"
)


def line(run: Run) -> str:
    return (
        f"{run.name:34} {run.load:5.1f} {run.otp_per_s:6.0f} {run.accepted:8d} {run.reported:8d}"
        f" {run.posted:7d} {run.posted_per_s:7.0f} {run.late_p50:8.2f} {run.late_p99:6.2f}"
        f" {run.late_max:6.2f} {run.within_2s:5.2f} {run.cpu_us:6.0f} {run.loop_us:7.0f}"
        f" {run.duplicates:4d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base", help="also the webhook run by the tree at this git revision")
    parser.add_argument("--no-paced", action="store_true", help="leave out the paced run")
    args = parser.parse_args()
    require_wrk()
    options = {"seconds": args.seconds, "connections": args.connections}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        before = {"PYTHONPATH": str(base_tree(args.base, Path(tmp)))} if args.base else None
        print(HEADER, flush=True)
        for round_ in range(1, args.rounds + 1):
            kinds: list[tuple[str, bool, float, Mapping[str, str] | None]] = [
                ("no webhook", False, 0.0, None),
                ("webhook", True, 0.0, None),
            ]
            if before is not None:
                kinds.append((f"webhook, before ({args.base})", True, 0.0, before))
            for name, webhook, rate, extra in kinds:
                with simulator() as smsc_port:
                    run = run_once(
                        f"{round_}: {name}",
                        smsc_port,
                        webhook=webhook,
                        rate=rate,
                        extra_env=extra,
                        **options,
                    )
                runs.append(run)
                print(line(run), flush=True)
                if name == "no webhook" and not args.no_paced:
                    half = run.otp_per_s / 2
                    kinds.append((f"webhook, paced at {half:,.0f}/s", True, half, None))
    yardsticks = [r for r in runs if r.name.endswith("no webhook")]
    base_cpu = statistics.median(r.cpu_us for r in yardsticks)
    print(
        f"\nCPU per report (a webhook run's CPU per message minus {base_cpu:.0f} µs,"
        " the median of the no-webhook runs):"
    )
    for run in runs:
        if run not in yardsticks:
            print(f"  {run.name:34} {run.cpu_us - base_cpu:6.0f} µs")


if __name__ == "__main__":
    main()
