"""
One `quickotp serve` process on SQLite + the in-process limiter against the same process on
PostgreSQL + Redis: CPU per SendQuickOTP answer, runs interleaved in one invocation.

    .venv/bin/python bench/backends.py [--rounds 2] [--seconds 10] [--connections 64]
        [--rate 0] [--idle-wait 60] [--logs DIR] [--src LABEL=PATH ...]

Each round runs SQLite then PostgreSQL + Redis for every source tree given (`--src`, a
`src/` directory put first on PYTHONPATH; without one, the installed tree), so each tree's
pair and each tree against the others come from neighbouring minutes of a machine that
others share. Both servers are one process pinned to CPU 0 with their dispatcher inside,
delivering to a sink file; wrk runs on CPU 1, each request to a new number, the guard as
deployed but for its request rates and pumping rule (one client on one address). Each
PostgreSQL run gets a fresh database on QUICKOTP_BENCH_POSTGRES_URL's server (dropped
after); Redis is QUICKOTP_BENCH_REDIS_URL (db 13 by default; its quickotp:* keys cleared
between runs). With --rate, every server is offered the same paced load (closed loops of
twice --connections, each pausing between requests), so that the PostgreSQL path's group
commits and pipelines carry about as many requests as SQLite's: unpaced, each backend's
batches follow its own answers a second.

The figure: the server's CPU per answer (every thread and child, from /proc), and the ratio
of PostgreSQL + Redis to SQLite within each pair. PostgreSQL's backends and the Redis server
are listed beside it and not counted in the ratio: they run on other machines at scale.
Bounded: a 3 s warm-up and --seconds per run; needs wrk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness import free_port, quickotp_env, require_wrk, setup_account
from scaleout import (
    GUARD_FOR_ONE_CLIENT,
    REDIS,
    clear_redis,
    drop_database,
    fresh_database,
    running,
)

from scale import Bench, Row


@dataclass(frozen=True)
class Pair:
    source: str
    round: int
    sqlite: Row
    postgres: Row

    @property
    def ratio(self) -> float:
        return self.postgres.cpu_us / self.sqlite.cpu_us if self.sqlite.cpu_us else 0.0


def serve(
    bench: Bench, log: Path, name: str, env: Mapping[str, str], database: str | None, rate: int
) -> Row:
    """One measured run of one `quickotp serve` (dispatcher inside) on CPU 0."""
    token = setup_account(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
    with running(argv, env, log, health_url=f"{base}/readyz", cpu=0) as process:
        pids = {"serve": process.pid}
        return bench.measure(name, base, token, pids, database=database, rate=rate)


def pair(bench: Bench, root: Path, source: str, path: str | None, round_: int, rate: int) -> Pair:
    extra = dict(GUARD_FOR_ONE_CLIENT)
    if path:
        extra["PYTHONPATH"] = os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")]))
    tag = f"{source} #{round_}"
    lite = root / f"lite-{source}-{round_}"
    lite.mkdir()
    env = quickotp_env(f"sqlite:///{lite / 'bench.db'}", lite / "sink.jsonl", **extra)
    sqlite = serve(bench, lite / "sqlite.log", f"{tag}: SQLite + memory", env, None, rate)
    database = fresh_database()
    clear_redis()
    try:
        env = quickotp_env(database, lite / "sink-pg.jsonl", QUICKOTP_REDIS_URL=REDIS, **extra)
        postgres = serve(
            bench, lite / "postgres.log", f"{tag}: PostgreSQL + Redis", env, database, rate
        )
    finally:
        drop_database(database)
        clear_redis()
    return Pair(source, round_, sqlite, postgres)


def report(pairs: list[Pair], seconds: int, connections: int, rate: int) -> str:
    offered = f"paced at {rate}/s over c={connections * 2}" if rate else f"c={connections}"
    lines = [
        f"{offered}, {seconds} s a run after a 3 s warm-up; one serve process on CPU 0"
        " (dispatcher inside, sink file), wrk -t1 on CPU 1; 'others': CPUs (of 2) busy beyond"
        " ours, PostgreSQL's backends and Redis during the run",
        "",
        f"{'run':42} {'answers/s':>9} {'p99 ms':>7} {'CPU us':>7} {'PG us':>6} {'Redis':>6}"
        f" {'others':>6} {'fail':>5}",
    ]
    for found in pairs:
        for row in (found.sqlite, found.postgres):
            load = row.run.load
            lines.append(
                f"{row.name:42} {load.rps:9.0f} {load.p99_ms:7.2f} {row.cpu_us:7.0f}"
                f" {row.db_us:6.0f} {row.redis_us:6.0f} {row.others:6.2f}"
                f" {load.failures + max(0, row.run.not_success):5d}"
            )
        lines.append(f"{'':42} PostgreSQL + Redis / SQLite CPU per answer: {found.ratio:.2f}")
    lines.append("")
    for source in dict.fromkeys(p.source for p in pairs):
        ratios = [p.ratio for p in pairs if p.source == source]
        lite = [p.sqlite.cpu_us for p in pairs if p.source == source]
        pg = [p.postgres.cpu_us for p in pairs if p.source == source]
        lines.append(
            f"{source}: ratio median {statistics.median(ratios):.2f}"
            f" ({', '.join(f'{r:.2f}' for r in ratios)}); CPU us per answer, median:"
            f" SQLite {statistics.median(lite):.0f}, PostgreSQL + Redis {statistics.median(pg):.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rate",
        type=int,
        default=0,
        help="offer about this many requests a second to every server (0: as fast as answered)",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60,
        help="seconds to wait at most, before each run, for the machine to be nearly idle",
    )
    parser.add_argument(
        "--logs", help="a directory to keep the servers' logs and databases in (default: none)"
    )
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a source tree to run (its src/ directory); repeat to interleave several",
    )
    args = parser.parse_args()
    require_wrk()
    sources: list[tuple[str, str | None]] = [
        (label, str(Path(path).resolve()))
        for label, _, path in (given.partition("=") for given in args.src)
    ] or [("installed", None)]
    bench = Bench(args.connections, args.seconds, idle_wait=args.idle_wait)
    pairs: list[Pair] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.logs or tmp)
        root.mkdir(parents=True, exist_ok=True)
        try:
            for round_ in range(1, args.rounds + 1):
                for label, path in sources:
                    pairs.append(pair(bench, root, label, path, round_, args.rate))
        except KeyboardInterrupt:
            pass
    print()
    print(report(pairs, args.seconds, args.connections, args.rate))


if __name__ == "__main__":
    main()
