"""
SendQuickOTP under load on SQLite, with and without the gateway's own prune of a large backlog
running beside it, interleaved: the hot path's p50/p99 and the prune's longest hold of the
writer (one write transaction, BEGIN IMMEDIATE to COMMIT, in SQLite's writer thread).

    .venv/bin/python bench/prune_under_load.py [--backlog 300000] [--rounds 3] [--seconds 10]
                                               [--batch 100]

Each run serves a fresh copy of one database holding `--backlog` delivered messages (with
their verifications) 60 to 100 days old: `quickotp serve`'s app (bench/prune_serve.py) on
CPU 0, wrk at 64 connections on CPU 1 sending to new numbers (send_form_unique.lua), the
guard's request rates off. Three kinds of run, in turn, `--rounds` times:

- none: QUICKOTP_RETENTION_DAYS=0, no prune;
- prune: QUICKOTP_RETENTION_DAYS=30, the hourly prune begins a second after start, so it
  works through the backlog during the whole measured window;
- prune, no secure_delete: the same without PRAGMA secure_delete, to see what zeroing the
  freed space costs.

Holds are counted inside wrk's measured window (after its 3 s warm-up). Needs `wrk`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import (
    HERE,
    UNTHROTTLED,
    UVICORN,
    Load,
    free_port,
    quickotp_env,
    require_wrk,
    server,
    setup_account,
    wrk,
)

MODES = {
    "none": {"QUICKOTP_RETENTION_DAYS": "0"},
    "prune": {"QUICKOTP_RETENTION_DAYS": "30"},
    "prune, no secure_delete": {"QUICKOTP_RETENTION_DAYS": "30", "BENCH_SECURE_DELETE": "0"},
}
WARMUP = 3


@dataclass(frozen=True)
class Run:
    mode: str
    load: Load
    holds: list[float]  # seconds, each write transaction of the prune in the measured window
    hot: list[float]  # seconds, each of the hot path's write transactions in the window
    finished: bool  # the prune was done before the window ended


def make_backlog(database: Path, count: int) -> None:
    """`count` delivered messages 60-100 days old, each with its verification, ids 1.."""
    now = datetime.now(UTC)
    db = sqlite3.connect(database)
    try:
        start = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0] + 1
        for first in range(start, start + count, 50_000):
            messages, checks = [], []
            for n in range(first, min(first + 50_000, start + count)):
                at = now - timedelta(days=100) + timedelta(seconds=(n * 40 * 86_400) // count)
                stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
                mobile = f"98912{n % 10_000_000:07d}"
                text = "کد ورود شما: ******"
                sent = ("delivered", 1, False, stamp, stamp, stamp, "smsc", stamp, stamp, None)
                messages.append(
                    (n, 1, 1, 1, mobile, "10004321", text, None, "ucs2", 1, 1000, 1000, *sent)
                )
                check = ("approved", 4, stamp, stamp, stamp, None, False, None)
                checks.append((f"{n:032x}", 1, n, mobile, b"d" * 32, *check))
            db.executemany(
                "INSERT INTO messages (id, account_id, token_id, pattern_id, mobile, sender,"
                " text, code, encoding, parts, cost, charged, status, attempts,"
                " possible_duplicate, next_attempt_at, expires_at, created_at, transport,"
                " submitted_at, reported_at, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                messages,
            )
            db.executemany(
                "INSERT INTO verifications (id, account_id, message_id, mobile, code_digest,"
                " status, attempts_left, expires_at, created_at, updated_at, code_sealed,"
                " sandbox, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                checks,
            )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def run(mode: str, base: Path, tmp: Path, token: str, args: argparse.Namespace, first: int) -> Run:
    seconds = args.seconds
    database = tmp / "run.db"
    for path in tmp.glob("run.db*"):
        path.unlink()
    shutil.copy(base, database)
    stats = tmp / "stats.json"
    env = quickotp_env(
        f"sqlite:///{database}",
        tmp / "sms.jsonl",
        **UNTHROTTLED,
        **MODES[mode],
        BENCH_PRUNE_AFTER="1",
        BENCH_PRUNE_BATCH=str(args.batch),
        BENCH_PRUNE_STATS=str(stats),
    )
    port = free_port()
    argv = [*UVICORN, "--port", str(port), "--app-dir", str(HERE), "--factory", "prune_serve:app"]
    with server(argv, env, f"http://127.0.0.1:{port}/healthz") as process:
        load = wrk(
            f"http://127.0.0.1:{port}/rest/SendQuickOTP",
            connections=64,
            seconds=seconds,
            script="send_form_unique.lua",
            env={"QUICKOTP_BENCH_TOKEN": token, "QUICKOTP_BENCH_FIRST": str(first)},
            warmup=WARMUP,
            server_pid=process.pid,
        )
        ended = time.time()
    began = ended - seconds
    found = json.loads(stats.read_text())
    holds = [held for at, held in found["holds"] if began <= at <= ended]
    hot = [held for at, held in found["hot"] if began <= at <= ended]
    finished = any(r.get("ended", ended + 1) < ended for r in found["runs"])
    return Run(mode, load, holds, hot, finished)


def _ms(holds: list[float], share: float) -> str:
    """The hold at `share` (1.0: the longest) in ms; "-" when too few to tell."""
    if not holds or (share < 1 and len(holds) < 100):
        return "-"
    ordered = sorted(holds)
    return f"{ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--backlog", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100, help="messages a prune batch removes")
    args = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        base = tmp / "base.db"
        env = quickotp_env(f"sqlite:///{base}", tmp / "sms.jsonl")
        token = setup_account(env)
        started = time.monotonic()
        make_backlog(base, args.backlog)
        print(
            f"backlog: {args.backlog:,} delivered messages with their verifications,"
            f" {base.stat().st_size / 2**20:.0f} MiB, made in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        results = []
        for round_ in range(args.rounds):
            for n, mode in enumerate(MODES):
                first = (round_ * len(MODES) + n) * 1_000_000
                results.append(run(mode, base, tmp, token, args, first))
                print(f"round {round_ + 1}: {mode} done", file=sys.stderr)
    print(
        f"\nc=64, {args.seconds} s a run after {WARMUP} s warm-up, {args.rounds} rounds"
        f" interleaved; backlog {args.backlog:,} messages 60-100 days old, retention 30 days,"
        f" {args.batch} messages a prune batch; holds of SQLite's writer, BEGIN to COMMIT\n"
    )
    print(
        f"{'run':24} {'answers/s':>9} {'p50 ms':>6} {'p99 ms':>6} {'fail':>4}"
        f" {'hot p99/max ms':>14} {'prune txs':>9} {'prune p50/p99/max ms':>20} {'done':>4}"
    )
    for r in results:
        print(
            f"{r.mode:24} {r.load.rps:9.0f} {r.load.p50_ms:6.1f} {r.load.p99_ms:6.1f}"
            f" {r.load.failures:4d} {_ms(r.hot, 0.99) + '/' + _ms(r.hot, 1.0):>14}"
            f" {len(r.holds):9d}"
            f" {'/'.join(_ms(r.holds, s) for s in (0.5, 0.99, 1.0)):>20}"
            f" {'yes' if r.finished else 'no':>4}"
        )


if __name__ == "__main__":
    main()
