"""
What indexing the numbers' trigrams (SQLite FTS5, migration 0120) costs the writer a message,
two ways in one run: by a trigger inside each group commit of accepts, and in batches behind
them (adapters/store/number_index.py), against no index at all.

    .venv/bin/python bench/number_index.py [--messages 30000] [--group 30] [--rounds 3]

Each way gets a fresh database migrated to the current schema and takes the same messages,
inserted `--group` a transaction as the accept's group commit writes them (WAL,
synchronous=FULL); "batched" then indexes them with the gateway's own NumberIndexer. The
figure is the process's CPU per message (inserts, commits and indexing), the ways taking
turns within each round. Bounded: rounds x 3 x messages.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.number_index import NumberIndexer

TRIGGER = (
    "CREATE TRIGGER bench_index_each AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_mobile (rowid, mobile) VALUES (new.id, new.mobile);"
    " UPDATE messages_mobile_progress SET indexed_to = new.id; END"
)
COLUMNS = (
    "id, account_id, mobile, sender, text, encoding, parts, cost, charged, status, attempts,"
    " possible_duplicate, next_attempt_at, expires_at, created_at"
)


async def _migrated(path: Path) -> None:
    engines = create_engines(f"sqlite:///{path}")
    try:
        await upgrade(engines)
    finally:
        await engines.dispose()


async def _index(path: Path) -> None:
    engines = create_engines(f"sqlite:///{path}")
    try:
        await NumberIndexer(engines).catch_up()
    finally:
        await engines.dispose()


def _insert(path: Path, messages: int, group: int, seed: int) -> None:
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "INSERT INTO accounts (id, name, credit, unlimited, sender, active, created_at)"
        " VALUES (1, 'a', 0, 1, '1', 1, '2026-01-01')"
    )
    at = "2026-12-01 10:00:00.000000"
    for first in range(1, messages + 1, group):
        ids = range(first, min(first + group, messages + 1))
        numbers = [f"98912{rng.randrange(10**7):07d}" for _ in ids]
        rows = [
            (n, 1, mobile, "1", "x", "ucs2", 1, 0, 0, "sending", 1, 0, at, at, at)
            for n, mobile in zip(ids, numbers, strict=True)
        ]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(f"INSERT INTO messages ({COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
        db.execute("COMMIT")
    db.close()


def run(way: str, messages: int, group: int, seed: int) -> float:
    """CPU seconds of this process (every thread) a message, for one way."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(_migrated(path))
        if way == "trigger":
            db = sqlite3.connect(path)
            db.execute(TRIGGER)
            db.close()
        elif way == "none":
            db = sqlite3.connect(path)
            db.execute("DROP TABLE messages_mobile")
            db.close()
        started = time.process_time()
        _insert(path, messages, group, seed)
        if way == "batched":
            asyncio.run(_index(path))
        return (time.process_time() - started) / messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--group", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ways = ("none", "trigger", "batched")
    figures: dict[str, list[float]] = {way: [] for way in ways}
    for round_ in range(args.rounds):
        for way in ways:
            figures[way].append(run(way, args.messages, args.group, seed=round_))
    base = statistics.median(figures["none"])
    print(f"{args.messages:,} messages, {args.group} a commit, {args.rounds} rounds")
    print(f"{'way':<10} {'CPU us a message, each round':>36} {'median':>8} {'over none':>10}")
    for way in ways:
        each = ", ".join(f"{value * 1e6:.1f}" for value in figures[way])
        median = statistics.median(figures[way])
        print(f"{way:<10} {each:>36} {median * 1e6:8.1f} {(median - base) * 1e6:10.1f}")


if __name__ == "__main__":
    main()
