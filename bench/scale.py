"""
Speed, in one run: the bare ASGI hello-world (the yardstick), then SendQuickOTP on SQLite
in one process, on PostgreSQL + Redis with one and with two API processes beside one
dispatcher, and end to end to an SMSC simulator with receipts on.

    .venv/bin/python bench/scale.py [--connections 64] [--seconds 10] [--idle-wait 60]
    .venv/bin/python bench/scale.py --only e2e --rounds 3 \
        --src before=/tmp/before/src --src after=src

`--only e2e` runs the end-to-end row alone; each `--src` is a source tree (its `src/`, put
first on PYTHONPATH) whose end-to-end row runs in turn within each of `--rounds` rounds, so a
change's before and after come from neighbouring minutes; `--env KEY=VALUE` sets a variable
for the servers of every tree.

Each row: answers/s, p50/p99, the ratio to the yardstick's answers/s; the server's CPU per
answer (every process of ours: API workers and the dispatcher, from /proc) and the
yardstick's CPU per answer divided by it, which holds steadier than answers/s on a machine
others use; and PostgreSQL's CPU per answer (the backends serving this run's database).
Rows marked "half" are paced at half the row above's answers/s, for the latency there.

Pinning (2 CPUs): wrk on CPU 1; one API process on CPU 0; two API processes, the
dispatcher, PostgreSQL and Redis unpinned. Each server gets a fresh database: SQLite in a
temporary directory, PostgreSQL on QUICKOTP_BENCH_POSTGRES_URL's server (dropped after);
Redis on QUICKOTP_BENCH_REDIS_URL (db 13; its quickotp:* keys are cleared between rows).
Before each run the harness waits (up to --idle-wait s) for the machine to be nearly idle,
and reports how busy it was during the run beyond our own processes. The fraud guard runs as
deployed except its request rates and pumping rule (one client, one address); each request
goes to a new number. Bounded: 3 s warm-up and --seconds per run; the end-to-end row waits
at most 60 s for its last receipts. Needs wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness import (
    HERE,
    UVICORN,
    cpu_seconds,
    free_port,
    quickotp,
    quickotp_env,
    require_wrk,
    setup_account,
)
from scaleout import (
    GUARD_FOR_ONE_CLIENT,
    REDIS,
    Offered,
    busy_jiffies,
    clear_redis,
    cpu_of,
    drop_database,
    fresh_database,
    offer,
    outcome,
    percentile,
    pg_backends,
    redis_pid,
    running,
    smsc,
    wait_idle,
    wait_until_settled,
)


@dataclass(frozen=True)
class Row:
    name: str
    run: Offered
    cpu_us: float  # our processes' CPU per answer
    db_us: float  # PostgreSQL backends' CPU per answer (0: SQLite)
    redis_us: float  # the Redis server's CPU per answer (shared: others' use included)
    others: float  # share of the machine busy beyond our processes and our backends
    note: str = ""
    load: float = 0.0  # the machine's 1-minute load average at the end of the run
    parts: dict[str, float] = dataclasses.field(default_factory=dict)  # CPU us/answer by process


class Bench:
    def __init__(self, connections: int, seconds: int, *, idle_wait: float = 60) -> None:
        self.connections = connections
        self.seconds = seconds
        self.idle_wait = idle_wait  # seconds to wait at most for a nearly idle machine
        self.rows: list[Row] = []
        self._first = 0
        self.window = (datetime.now(UTC), datetime.now(UTC))  # the last measured run's

    def numbers(self) -> int:
        """Where the next run's numbers start: runs never share a number."""
        self._first += 500_000
        return self._first

    def measure(
        self,
        name: str,
        base: str,
        token: str,
        pids: dict[str, int],
        *,
        rate: int = 0,
        database: str | None = None,
        statuses: bool = True,
    ) -> Row:
        """Warm up, then one measured run; the row is kept and returned."""
        # Paced runs wait between requests: more connections keep the offer near `rate`.
        load = {"connections": self.connections * 2 if rate else self.connections, "rate": rate}
        offer(base, token, seconds=3, first=self.numbers(), **load)
        wait_idle(limit=self.idle_wait)
        postgres = bool(database and database.startswith("postgres"))
        backends = (
            {p: cpu_seconds(p) for p in asyncio.run(pg_backends(database))}
            if database and postgres
            else {}
        )
        ours_before = {name: cpu_of([pid]) for name, pid in pids.items()}
        redis = redis_pid() if postgres else None
        redis_before = cpu_seconds(redis) if redis else 0.0
        busy_before = busy_jiffies()
        began = datetime.now(UTC)
        run = offer(base, token, seconds=self.seconds, first=self.numbers(), **load)
        self.window = (began, datetime.now(UTC))
        busy_after = busy_jiffies()
        if not statuses:  # the yardstick answers hello, not a Status
            run = dataclasses.replace(run, not_success=0)
        parts = {name: cpu_of([pid]) - ours_before[name] for name, pid in pids.items()}
        ours = sum(parts.values())
        redis_cpu = cpu_seconds(redis) - redis_before if redis else 0.0
        # Backends that came during the run count from 0; one that left loses its share.
        now = (
            {p: cpu_seconds(p) for p in asyncio.run(pg_backends(database))}
            if database and postgres
            else {}
        )
        db = sum(max(0.0, cpu - backends.get(p, 0.0)) for p, cpu in now.items())
        answers = max(1, run.requests)
        ticks = busy_after[1] - busy_before[1]
        machine = (busy_after[0] - busy_before[0]) / max(1, ticks) * 2  # in CPUs, of 2
        row = Row(
            name,
            run,
            ours / answers * 1e6,
            db / answers * 1e6,
            redis_cpu / answers * 1e6,
            max(0.0, machine - (ours + db + redis_cpu) / self.seconds),
            load=os.getloadavg()[0],
            parts={name: cpu / answers * 1e6 for name, cpu in parts.items()},
        )
        self.rows.append(row)
        print(f"  {name}: {run.load.rps:.0f}/s", flush=True)
        return row


def hello(bench: Bench, root: Path) -> Row:
    port = free_port()
    argv = [*UVICORN, "--app-dir", str(HERE), "--port", str(port), "hello_asgi:app"]
    base = f"http://127.0.0.1:{port}"
    with running(argv, {}, root / "hello.log", health_url=f"{base}/", cpu=0) as process:
        return bench.measure(
            "hello-world, raw ASGI, 1 process", base, "", {"hello": process.pid}, statuses=False
        )


def sqlite(bench: Bench, root: Path) -> None:
    database = f"sqlite:///{root / 'bench.db'}"
    env = quickotp_env(database, root / "sink-sqlite.jsonl", **GUARD_FOR_ONE_CLIENT)
    token = setup_account(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
    with running(argv, env, root / "sqlite.log", health_url=f"{base}/readyz", cpu=0) as p:
        pids = {"serve": p.pid}
        peak = bench.measure("SendQuickOTP, SQLite, 1 process", base, token, pids)
        bench.measure(
            "  the same at half that rate", base, token, pids, rate=round(peak.run.load.rps / 2)
        )


def postgres(bench: Bench, root: Path, workers: int) -> None:
    database = fresh_database()
    clear_redis()
    try:
        env = quickotp_env(
            database,
            root / f"sink-pg{workers}.jsonl",
            **GUARD_FOR_ONE_CLIENT,
            QUICKOTP_REDIS_URL=REDIS,
        )
        token = setup_account(env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-m", "quickotp", "serve", "--port", str(port), "--no-dispatch"]
        serve += ["--workers", str(workers)] if workers > 1 else []
        dispatch = [sys.executable, "-m", "quickotp", "dispatch"]
        name = f"SendQuickOTP, PG + Redis, {workers} API process{'es' if workers > 1 else ''}"
        with (
            running(
                serve,
                env,
                root / f"pg{workers}.log",
                health_url=f"{base}/readyz",
                cpu=0 if workers == 1 else None,
            ) as api,
            running(dispatch, env, root / f"d{workers}.log", ready_line="dispatching from") as d,
        ):
            pids = {"api": api.pid, "dispatch": d.pid}
            peak = bench.measure(name + " + dispatcher", base, token, pids, database=database)
            bench.measure(
                "  the same at half that rate",
                base,
                token,
                pids,
                rate=round(peak.run.load.rps / 2),
                database=database,
            )
    finally:
        drop_database(database)
        clear_redis()


def end_to_end(
    bench: Bench,
    root: Path,
    workers: int = 2,
    *,
    label: str = "",
    extra: dict[str, str] | None = None,
) -> None:
    """Two API processes and a dispatcher with an SMPP route to the simulator, receipts on."""
    database = fresh_database()
    clear_redis()
    try:
        env = quickotp_env(
            database,
            root / "sink-e2e.jsonl",
            **GUARD_FOR_ONE_CLIENT,
            QUICKOTP_REDIS_URL=REDIS,
            **(extra or {}),
        )
        token = setup_account(env)
        smsc_port, port = free_port(), free_port()
        url = f"smpp://bench:secret@127.0.0.1:{smsc_port}?window=10&timeout=10"
        quickotp(env, "routes", "add", "smsc", "--url", url)
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-m", "quickotp", "serve", "--port", str(port), "--no-dispatch"]
        serve += ["--workers", str(workers)]
        dispatch = [sys.executable, "-m", "quickotp", "dispatch"]
        with (
            smsc(smsc_port, root / "smsc.log"),
            running(serve, env, root / "e2e.log", health_url=f"{base}/readyz") as api,
            running(dispatch, env, root / "e2e-d.log", ready_line="dispatching from") as d,
        ):
            start = datetime.now(UTC)
            row = bench.measure(
                f"{label}end to end: {workers} API + dispatcher, SMPP",
                base,
                token,
                {"api": api.pid, "dispatch": d.pid},
                database=database,
            )
            began, ended = bench.window
            wait_until_settled(database, start, 60, receipts=True)
        run = outcome(database, began, ended)  # what was accepted in the measured run
        seconds = (ended - began).total_seconds()
        sent = run.sent_between(began, ended)
        bench.rows[-1] = dataclasses.replace(
            row,
            note=f"{sent / seconds:.0f} OTP/s reached the SMSC during the run (accepted"
            f" {run.accepted / seconds:.0f}/s); accept -> SMSC p50"
            f" {percentile(run.submit_s, 0.5) * 1000:.0f} ms,"
            f" p99 {percentile(run.submit_s, 0.99) * 1000:.0f} ms; receipts applied"
            f" {run.by_status.get('delivered', 0)} of {run.accepted}",
        )
    finally:
        drop_database(database)
        clear_redis()


def table(rows: list[Row]) -> str:
    yardstick = rows[0] if rows and rows[0].name.startswith("hello") else None
    lines = [
        f"{'server':52} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}"
        f" {'CPU us':>7} {'CPU ratio':>9} {'PG us':>6} {'Redis':>6} {'others':>6}"
        f" {'fail':>5} {'load':>5}"
    ]
    for row in rows:
        load = row.run.load
        lines.append(
            f"{row.name:52} {load.rps:9.0f} {load.p50_ms:7.2f} {load.p99_ms:7.2f}"
            f" {load.rps / yardstick.run.load.rps if yardstick else 0:6.2f} {row.cpu_us:7.0f}"
            f" {yardstick.cpu_us / row.cpu_us if yardstick and row.cpu_us else 0:9.2f}"
            f" {row.db_us:6.0f}"
            f" {row.redis_us:6.0f}"
            f" {row.others:6.2f} {load.failures + max(0, row.run.not_success):5d}"
            f" {row.load:5.1f}"
        )
        if len(row.parts) > 1:
            split = ", ".join(f"{name} {us:.0f}" for name, us in row.parts.items())
            lines.append(f"    CPU us per answer: {split}")
        if row.note:
            lines.append(f"    {row.note}")
        if row.run.statuses and row.run.not_success:
            lines.append(f"    not Success: {row.run.statuses}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60,
        help="seconds to wait at most, before each run, for the machine to be nearly idle",
    )
    parser.add_argument("--only", choices=["e2e"], help="run only the end-to-end row")
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a source tree for the end-to-end row (its src/); repeat to interleave several",
    )
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end rounds of every --src")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="for every server"
    )
    parser.add_argument("--logs", help="a directory to keep the servers' logs in (default: none)")
    args = parser.parse_args()
    require_wrk()
    given = dict(item.partition("=")[::2] for item in args.env)
    sources = [
        (label, str(Path(path).resolve()))
        for label, _, path in (item.partition("=") for item in args.src)
    ] or [("", "")]
    bench = Bench(args.connections, args.seconds, idle_wait=args.idle_wait)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.logs or tmp)
        root.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(KeyboardInterrupt):
            if args.only is None:
                hello(bench, root)
                sqlite(bench, root)
                postgres(bench, root, workers=1)
                postgres(bench, root, workers=2)
            for round_ in range(1, args.rounds + 1):
                for label, path in sources:
                    extra = dict(given)
                    if path:
                        extra["PYTHONPATH"] = os.pathsep.join(
                            filter(None, [path, os.environ.get("PYTHONPATH")])
                        )
                    tag = f"{label} #{round_}: " if label else ""
                    run_root = root / f"e2e-{label or 'tree'}-{round_}"
                    run_root.mkdir()
                    end_to_end(bench, run_root, label=tag, extra=extra)
    print(
        f"\nc={args.connections}, {args.seconds} s a run after a 3 s warm-up; wrk -t1 on CPU 1;"
        " 'fail' counts socket errors, non-2xx and answers other than Success;"
        " 'PG us', 'Redis': CPU us per answer of this run's PostgreSQL backends and of the"
        " Redis server; 'others': how many of the 2 CPUs were busy beyond all these (other"
        " people's work on this shared machine); 'load': the 1-minute load average at the"
        " run's end\n"
    )
    print(table(bench.rows))


if __name__ == "__main__":
    main()
