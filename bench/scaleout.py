"""
Pieces the scale-out benchmarks share (soak.py, overload.py, scale.py), beside harness.py:
throwaway PostgreSQL databases, processes with their logs kept, a process tree's CPU and
memory from /proc, the SMSC simulator as a process, /metrics, and what the messages table
says about a run.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from harness import HERE, METRICS_HEADERS, Load, cpu_seconds, parse_wrk, pinned, terminate
from redis import Redis
from smpp_client import SIMULATOR
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.schema import messages

POSTGRES = os.environ.get(
    "QUICKOTP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("QUICKOTP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
# The guard as a real deployment runs it (per-number cooldown and caps, idempotency claims)
# but for the rates and the pumping rule, which one load generator on one address would trip.
GUARD_FOR_ONE_CLIENT = {
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}


# databases ----------------------------------------------------------------------------------


async def _admin(base: str) -> asyncpg.Connection:
    url = make_url(base)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )


def fresh_database(base: str = POSTGRES) -> str:
    """A new, empty PostgreSQL database on `base`'s server; its URL."""
    name = f"quickotp_bench_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await _admin(base)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def pg_backends(database_url: str) -> list[int]:
    """PIDs of the backends connected to this database but the one asking."""
    url = make_url(database_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def drop_database(url: str, base: str = POSTGRES) -> None:
    name = make_url(url).database

    async def drop() -> None:
        conn = await _admin(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def clear_redis(url: str = REDIS) -> None:
    """Drop the gateway's keys from the benchmarks' Redis database (13 by default)."""
    client = Redis.from_url(url)
    try:
        keys = list(client.scan_iter("quickotp:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


# processes ------------------------------------------------------------------------------


@contextmanager
def running(
    argv: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    *,
    health_url: str | None = None,
    ready_line: str | None = None,
    cpu: int | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen[bytes]]:
    """A process, its output in `log`, up (health URL answers, or the line logged) for the block."""
    command = pinned(cpu, argv) if cpu is not None else list(argv)
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{argv[2:4]} exited early:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{argv[2:4]} did not come up:\n{log.read_text()[-3000:]}")
            if health_url is not None:
                try:
                    if httpx.get(health_url, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            elif ready_line is None or ready_line in log.read_text(errors="replace"):
                break
            time.sleep(0.1)
        yield process
    finally:
        terminate(process, 30)


@contextmanager
def smsc(port: int, log: Path, *, receipts: bool = True) -> Iterator[subprocess.Popen[bytes]]:
    """smpp34's SMSC simulator (tests/adapters/transports/smpp/smsc_sim.py), a process, unpinned."""
    argv = [sys.executable, str(SIMULATOR), "--port", str(port)]
    with running(
        [*argv, "--receipts"] if receipts else argv, os.environ, log, ready_line="READY"
    ) as p:
        yield p


def children(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    family = [pid]
    for child in sorted(parents):
        if parents[child] in family:
            family.append(child)
    return family


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and its descendants, in MiB (VmRSS from /proc)."""
    total = 0
    for member in children(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) if found else 0
    return total / 1024


def redis_pid() -> int | None:
    """The local redis-server's PID (for its CPU time), if one runs."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "redis-server":
                return int(comm.parent.name)
        except OSError:
            continue
    return None


def cpu_of(pids: Sequence[int]) -> float:
    """CPU seconds of these processes and their descendants."""
    return sum(cpu_seconds(pid) for pid in pids)


# what the gateway says ----------------------------------------------------------------------


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`, in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def responses(base_url: str) -> dict[str, float]:
    """SendQuickOTP answers by Status, from one process's /metrics."""
    text = httpx.get(f"{base_url}/metrics", headers=METRICS_HEADERS, timeout=5).text
    counts: dict[str, float] = {}
    for status in re.findall(
        r'quickotp_rest_responses_total\{method="SendQuickOTP",status="([^"]+)"\}', text
    ):
        counts[status] = metric(
            text, "quickotp_rest_responses_total", method="SendQuickOTP", status=status
        )
    return counts


@dataclass(frozen=True)
class Outcome:
    """What became of the messages accepted in a window of time."""

    by_status: dict[str, int]
    flagged: int  # possible duplicates
    submit_s: list[float]  # accept -> the SMSC took it, per message sent, in seconds
    late: int  # sent after their code expired (must be 0)
    submitted: list[datetime]  # when the SMSC took each (its submit recorded)

    def sent_between(self, start: datetime, end: datetime) -> int:
        return sum(1 for at in self.submitted if start <= at < end)

    @property
    def accepted(self) -> int:
        return sum(self.by_status.values())

    @property
    def waiting(self) -> int:
        return self.by_status.get("queued", 0) + self.by_status.get("sending", 0)


def outcome(database_url: str, since: datetime, until: datetime) -> Outcome:
    async def read() -> Outcome:
        engines = create_engines(database_url)
        window = (messages.c.created_at >= since, messages.c.created_at < until)
        try:
            async with engines.read.connect() as conn:
                by_status = {
                    str(s): int(n)
                    for s, n in await conn.execute(
                        select(messages.c.status, func.count())
                        .where(*window)
                        .group_by(messages.c.status)
                    )
                }
                flagged = await conn.scalar(
                    select(func.count()).where(*window, messages.c.possible_duplicate)
                )
                rows = (
                    await conn.execute(
                        select(
                            messages.c.created_at, messages.c.submitted_at, messages.c.expires_at
                        ).where(*window, messages.c.submitted_at.is_not(None))
                    )
                ).all()
        finally:
            await engines.dispose()
        return Outcome(
            by_status,
            int(flagged or 0),
            sorted((r.submitted_at - r.created_at).total_seconds() for r in rows),
            sum(1 for r in rows if r.submitted_at > r.expires_at),
            [r.submitted_at for r in rows],
        )

    return asyncio.run(read())


def wait_until_settled(
    database_url: str, since: datetime, limit: float, *, receipts: bool = False
) -> Outcome:
    """
    Until nothing accepted since `since` is queued or being sent (with `receipts`, nor sent
    and waiting for its receipt), or `limit` seconds.
    """
    deadline = time.monotonic() + limit
    while True:
        found = outcome(database_url, since, since + timedelta(days=1))
        left = found.waiting + (found.by_status.get("sent", 0) if receipts else 0)
        if not left or time.monotonic() > deadline:
            return found
        time.sleep(1)


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    """One wrk run of send_form_unique.lua."""

    load: Load
    requests: int  # answers received
    not_success: int  # answers whose Status was not Success
    statuses: dict[str, int]  # those, by Status (or "HTTP <code>")


def offer(
    base: str,
    token: str,
    *,
    seconds: int,
    rate: int = 0,
    connections: int = 64,
    first: int = 0,
    cpu: int | None = 1,
) -> Offered:
    """
    wrk against SendQuickOTP, each request to a new number from `first` on; with `rate`,
    paced to about that many requests a second (each connection waits between requests).
    """
    delay = max(1, round(connections * 1000 / rate)) if rate else 0
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "send_form_unique.lua"),
        f"{base}/rest/SendQuickOTP",
    ]
    done = subprocess.run(
        pinned(cpu, argv) if cpu is not None else argv,
        env={
            **os.environ,
            "QUICKOTP_BENCH_TOKEN": token,
            "QUICKOTP_BENCH_DELAY_MS": str(delay),
            "QUICKOTP_BENCH_FIRST": str(first),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    requests = re.search(r"(\d+) requests in", done.stdout)
    failed = re.search(r"Non-Success answers: (\d+)", done.stdout)
    return Offered(
        parse_wrk(done.stdout),
        int(requests.group(1)) if requests else 0,
        int(failed.group(1)) if failed else -1,
        {k: int(v) for k, v in re.findall(r"^Status (\S+): (\d+)$", done.stdout, re.M)},
    )


# the machine ----------------------------------------------------------------------------


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat, in ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(since: tuple[int, int]) -> float:
    """How many CPUs the whole machine kept busy since a busy_jiffies() reading."""
    busy, total = busy_jiffies()
    return (busy - since[0]) / max(1, total - since[1]) * (os.cpu_count() or 1)


def wait_idle(share: float = 0.25, quiet: float = 1.0, limit: float = 60) -> float:
    """
    Wait (at most `limit` s) until the machine was busy less than `share` of its CPUs for
    `quiet` seconds: other people's runs share it. The busy share last seen.
    """
    deadline = time.monotonic() + limit
    while True:
        busy, total = busy_jiffies()
        time.sleep(quiet)
        busy2, total2 = busy_jiffies()
        seen = (busy2 - busy) / max(1, total2 - total)
        if seen < share or time.monotonic() > deadline:
            return seen


def bytes_per_message(database_url: str) -> dict[str, float]:
    """PostgreSQL: each hot table's size (rows, TOAST and indexes) over its messages."""

    async def read() -> dict[str, float]:
        url = make_url(database_url)
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            await conn.execute("VACUUM ANALYZE")
            count = await conn.fetchval("SELECT count(*) FROM messages")
            sizes = {
                table: await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
                for table in ("messages", "verifications", "webhook_deliveries", "orphan_reports")
            }
        finally:
            await conn.close()
        return {table: size / max(1, count) for table, size in sizes.items()}

    return asyncio.run(read())


def write_counters(database_url: str) -> tuple[int, int]:
    """PostgreSQL: (WAL bytes written so far by the whole server, commits in this database)."""

    async def read() -> tuple[int, int]:
        url = make_url(database_url)
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            wal = await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            commits = await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        finally:
            await conn.close()
        return int(wal), int(commits)

    return asyncio.run(read())
