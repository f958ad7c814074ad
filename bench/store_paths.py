"""
The store's hot path, in CPU per message: accept (leased to a dispatcher), record the
submit, apply the delivery report, in batches, with the accept stream and the record stream
overlapping as they do in `quickotp serve`. Two ways, interleaved in one run.

On SQLite: the writer connection held for a run of transactions (store/raw.py, at most
MAX_RUN), and checked out of SQLAlchemy's pool for each transaction (MAX_RUN = 1).

With --postgres (a fresh database on QUICKOTP_BENCH_POSTGRES_URL's server, dropped after):
each checkout checked by asyncpg's own state (store/engine.py), and pinged by SQLAlchemy's
pool_pre_ping (BEGIN, a ping, ROLLBACK); besides this process's CPU, that of the database's
backends.

    .venv/bin/python bench/store_paths.py [--batch 12] [--rounds 400] [--repeats 3] [--postgres]

Run it pinned (taskset -c 0) for steadier figures. Bounded: rounds x batch messages a pass.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import SECRET, cpu_seconds
from scaleout import drop_database, fresh_database, pg_backends

from quickotp.adapters.store import raw
from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.models import NewMessage, Submitted
from quickotp.settings import Settings


async def prepared(database_url: str) -> tuple[Runtime, int, int]:
    """A migrated runtime (no dispatcher) with an account and its approved OTP pattern."""
    settings = Settings.from_env(
        {"QUICKOTP_SECRET_KEY": SECRET, "QUICKOTP_DATABASE_URL": database_url}
    )
    runtime = build_runtime(settings, dispatch=False)
    await upgrade(runtime.engines)
    await runtime.start()
    account = await runtime.admin.create_account(name="bench", credit=10**15, sender="10004321")
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text="کد ورود شما: %code%", is_otp=True, capped=False
    )
    await runtime.admin.approve_pattern(pattern.id)
    return runtime, account.id, pattern.id


def batch(account_id: int, pattern_id: int, first: int, size: int) -> list[NewMessage]:
    now = datetime.now(UTC)
    return [
        NewMessage(
            account_id=account_id,
            token_id=None,
            pattern_id=pattern_id,
            mobile=f"98912{n:07d}",
            sender="10004321",
            text=f"کد ورود شما: {n % 1_000_000:06d}",
            code=f"{n % 1_000_000:06d}",
            encoding="ucs2",
            parts=1,
            cost=1000,
            expires_at=now + timedelta(minutes=2),
            created_at=now,
            verification_id=os.urandom(16).hex(),
            code_digest=os.urandom(32),
            attempts_left=5,
            code_sealed=os.urandom(40),
            lease_until=now + timedelta(seconds=30),
        )
        for n in range(first, first + size)
    ]


async def one_pass(
    runtime: Runtime, account_id: int, pattern_id: int, size: int, rounds: int
) -> float:
    """CPU seconds per message of `rounds` batches through accept, outcome and report."""
    accepted: asyncio.Queue[list[int] | None] = asyncio.Queue()
    store = runtime.store

    async def accepting() -> None:
        for round_ in range(rounds):
            ids = await store.accept(
                batch(account_id, pattern_id, round_ * size, size), datetime.now(UTC)
            )
            await accepted.put([i for i in ids if i is not None])
        await accepted.put(None)

    def receipts(ids: list[int]) -> list[DeliveryReport]:
        now = datetime.now(UTC)
        return [DeliveryReport("smsc", f"{i:08X}", DeliveryState.DELIVERED, now) for i in ids]

    async def recording() -> None:
        before: list[int] = []
        while (ids := await accepted.get()) is not None:
            now = datetime.now(UTC)
            # This batch's submits and the receipts of the batch before share a transaction,
            # as they mostly do in the dispatcher's group commit.
            await store.record(
                [
                    Submitted(i, SendReceipt("smsc", f"{i:08X}"), "کد ورود شما: ******", now)
                    for i in ids
                ],
                receipts(before),
                now=now,
            )
            before = ids
        if before:
            await store.record([], receipts(before), now=datetime.now(UTC))

    started = time.process_time()
    await asyncio.gather(accepting(), recording())
    return (time.process_time() - started) / (rounds * size)


async def main(size: int, rounds: int, repeats: int) -> None:
    results: dict[str, list[float]] = {"held for a run": [], "checked out each time": []}
    with tempfile.TemporaryDirectory() as tmp:
        runtime, account_id, pattern_id = await prepared(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await one_pass(runtime, account_id, pattern_id, size, rounds // 4)  # warm-up
            for _ in range(repeats):
                for label, run in (("held for a run", 16), ("checked out each time", 1)):
                    raw._SqliteWriter.MAX_RUN = run
                    results[label].append(
                        await one_pass(runtime, account_id, pattern_id, size, rounds)
                    )
        finally:
            await runtime.aclose()
    print(
        f"SQLite store hot path, batches of {size}, {rounds} batches a pass, {repeats} passes each"
    )
    for label, figures in results.items():
        low, high = min(figures) * 1e6, max(figures) * 1e6
        print(f"  writer connection {label:22} {low:6.0f}-{high:.0f} us CPU a message")
    held = statistics.median(results["held for a run"])
    each = statistics.median(results["checked out each time"])
    print(f"ratio held / checked out each time (medians): {held / each:.2f}")


async def postgres_main(database_url: str, size: int, rounds: int, repeats: int) -> None:
    ours: dict[str, list[float]] = {"checked at checkout": [], "pinged (pool_pre_ping)": []}
    backends: dict[str, list[float]] = {label: [] for label in ours}
    runtime, account_id, pattern_id = await prepared(database_url)
    pool: Any = runtime.engines.write.sync_engine.pool
    try:
        await one_pass(runtime, account_id, pattern_id, size, rounds // 4)  # warm-up
        for _ in range(repeats):
            for label, ping in (("checked at checkout", False), ("pinged (pool_pre_ping)", True)):
                pool._pre_ping = ping
                before = {pid: cpu_seconds(pid) for pid in await pg_backends(database_url)}
                ours[label].append(await one_pass(runtime, account_id, pattern_id, size, rounds))
                after = {pid: cpu_seconds(pid) for pid in await pg_backends(database_url)}
                used = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())
                backends[label].append(used / (rounds * size))
    finally:
        await runtime.aclose()
    print(
        f"PostgreSQL store hot path, batches of {size}, {rounds} batches a pass,"
        f" {repeats} passes each (CPU us a message: this process | PostgreSQL's backends)"
    )
    for label in ours:
        mine = ", ".join(f"{v * 1e6:.0f}" for v in ours[label])
        theirs = ", ".join(f"{v * 1e6:.0f}" for v in backends[label])
        print(f"  {label:24} {mine} | {theirs}")
    checked, pinged = (statistics.median(ours[label]) for label in ours)
    print(f"ratio checked / pinged, this process (medians): {checked / pinged:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if not args.postgres:
        asyncio.run(main(args.batch, args.rounds, args.repeats))
    else:
        database = fresh_database()
        try:
            asyncio.run(postgres_main(database, args.batch, args.rounds, args.repeats))
        finally:
            drop_database(database)
