"""
Seed a gateway database with many messages, for timing the panel's pages at scale
(bench/panel_pages.py).

    .venv/bin/python bench/seed_messages.py --database-url sqlite:///tmp/seeded.db
    .venv/bin/python bench/seed_messages.py --database-url postgresql://postgres@127.0.0.1/bench

Migrates the database, then makes an operator and ACCOUNTS accounts, each with a user, an
approved OTP pattern and TOKENS tokens (people and tokens through the gateway's own use
cases), and then N messages (1,000,000 by default) with their verifications, spread over
DAYS days up to now: bulk-inserted (SQLite: executemany in one transaction; PostgreSQL:
COPY), since a million sends through the API would take an hour. The accounts are unequal,
as real ones are (about half the messages are the first account's), and the states are a
working gateway's: mostly delivered and verified, some failed, undelivered or expired.

The people it makes sign in with PASSWORD: ops@bench.test (operator) and
user1@bench.test ... (one a account). It prints what it made as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from harness import SECRET
from sqlalchemy.engine import make_url

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.number_index import NumberIndexer
from quickotp.bootstrap import build_runtime
from quickotp.domain.models import Role
from quickotp.settings import Settings

PASSWORD = "bench panel password 1"
OPERATOR = "ops@bench.test"
CHUNK = 20_000  # rows a batch of the bulk insert
# A working gateway's end states (the last hour's messages are still on their way).
STATES = [("delivered", 86), ("undelivered", 4), ("failed", 3), ("expired", 3), ("sent", 4)]
OUTCOMES = [("approved", 72), ("expired", 20), ("max_attempts_reached", 3), ("canceled", 5)]
MESSAGE_COLUMNS = (
    "id, account_id, token_id, pattern_id, mobile, sender, text, code, encoding, parts, cost,"
    " charged, status, attempts, possible_duplicate, next_attempt_at, expires_at, created_at,"
    " transport, submitted_at, reported_at, provider_message_id"
)
VERIFICATION_COLUMNS = (
    "id, account_id, message_id, mobile, code_digest, status, attempts_left, expires_at,"
    " created_at, updated_at, sandbox"
)


@dataclass(frozen=True)
class Account:
    id: int
    pattern_id: int
    token_ids: list[int]
    user: str


async def make_people(database_url: str, accounts: int, tokens: int) -> list[Account]:
    """Migrate; the operator, and each account with its user, approved pattern and tokens."""
    settings = Settings.from_env(
        {"QUICKOTP_SECRET_KEY": SECRET, "QUICKOTP_DATABASE_URL": database_url}, dev=False
    )
    runtime = build_runtime(settings, dispatch=False)
    await upgrade(runtime.engines)
    made = []
    try:
        await runtime.users.create_operator(email=OPERATOR, password=PASSWORD)
        for n in range(1, accounts + 1):
            account = await runtime.admin.create_account(name=f"bench-{n}", unlimited=True)
            user = f"user{n}@bench.test"
            await runtime.users.ensure_user(
                email=user, password=PASSWORD, role=Role.USER, account_id=account.id
            )
            pattern = await runtime.gateway.create_account_pattern(
                account.id, text="کد ورود شما: %code%", is_otp=True, capped=False
            )
            await runtime.admin.approve_pattern(pattern.id)
            issued = [
                await runtime.admin.issue_token(account_id=account.id, label=f"app {t}")
                for t in range(1, tokens + 1)
            ]
            made.append(Account(account.id, pattern.id, [i.token.id for i in issued], user))
    finally:
        await runtime.engines.dispose()
    return made


def _pick(choices: Sequence[tuple[str, int]], rng: random.Random) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def rows(
    accounts: Sequence[Account], count: int, days: int, now: datetime, seed: int
) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    """(message, verification) rows in id order, their times rising from `days` ago to now."""
    rng = random.Random(seed)
    weights = [2 ** (len(accounts) - i) for i in range(len(accounts))]  # 1/2, 1/4, ...
    numbers = [f"98912{n:07d}" for n in rng.sample(range(10_000_000), 200_000)]
    start = now - timedelta(days=days)
    step = (now - start) / count
    digest = bytes(32)
    for i in range(1, count + 1):
        account = rng.choices(accounts, weights)[0]
        at = start + step * i
        recent = now - at < timedelta(hours=1)
        state = "sent" if recent and rng.random() < 0.3 else _pick(STATES, rng)
        outcome = "pending" if recent and rng.random() < 0.3 else _pick(OUTCOMES, rng)
        mobile = rng.choice(numbers)
        reported = at + timedelta(seconds=5) if state in {"delivered", "undelivered"} else None
        yield (
            (
                i,
                account.id,
                rng.choice(account.token_ids),
                account.pattern_id,
                mobile,
                "10001",
                "کد ورود شما: ******",
                None,
                "ucs2",
                1,
                1000,
                0,
                state,
                1,
                False,
                at,
                at + timedelta(minutes=2),
                at,
                "bench",
                at + timedelta(seconds=1),
                reported,
                f"p{i}",
            ),
            (
                f"{i:032x}",
                account.id,
                i,
                mobile,
                digest,
                outcome,
                3,
                at + timedelta(minutes=2),
                at,
                at,
                False,
            ),
        )


def _chunks(
    source: Iterator[tuple[tuple[object, ...], tuple[object, ...]]],
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    messages: list[tuple[object, ...]] = []
    verifications: list[tuple[object, ...]] = []
    for message, verification in source:
        messages.append(message)
        verifications.append(verification)
        if len(messages) == CHUNK:
            yield messages, verifications
            messages, verifications = [], []
    if messages:
        yield messages, verifications


def _sqlite_time(value: object) -> object:
    """A time as SQLAlchemy's SQLite DateTime writes it (as the store's raw path does)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]
    return value


def seed_sqlite(path: str, source: Iterator[tuple[tuple[object, ...], tuple[object, ...]]]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -500000")  # 500 MB: the indexes' pages stay in memory
    db.execute("BEGIN")
    message_marks = ", ".join("?" * len(MESSAGE_COLUMNS.split(",")))
    verification_marks = ", ".join("?" * len(VERIFICATION_COLUMNS.split(",")))
    for messages, verifications in _chunks(source):
        db.executemany(
            f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({message_marks})",
            [tuple(map(_sqlite_time, row)) for row in messages],
        )
        db.executemany(
            f"INSERT INTO verifications ({VERIFICATION_COLUMNS}) VALUES ({verification_marks})",
            [tuple(map(_sqlite_time, row)) for row in verifications],
        )
    db.execute("COMMIT")
    db.close()
    asyncio.run(_index_numbers(path))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


async def _index_numbers(path: str) -> None:
    """The numbers into the search's trigram index, as a running gateway adds them."""
    engines = create_engines(f"sqlite:///{path}")
    try:
        await NumberIndexer(engines, batch=100_000).catch_up()
    finally:
        await engines.dispose()


async def seed_postgres(
    url: str, source: Iterator[tuple[tuple[object, ...], tuple[object, ...]]]
) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        async with conn.transaction():
            for messages, verifications in _chunks(source):
                await conn.copy_records_to_table(
                    "messages",
                    records=messages,
                    columns=[c.strip() for c in MESSAGE_COLUMNS.split(",")],
                )
                await conn.copy_records_to_table(
                    "verifications",
                    records=verifications,
                    columns=[c.strip() for c in VERIFICATION_COLUMNS.split(",")],
                )
        await conn.execute("SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))")
        # What autovacuum does soon after a load this size: statistics for the planner, and
        # the visibility map that lets a count read an index alone.
        await conn.execute("VACUUM ANALYZE messages")
        await conn.execute("VACUUM ANALYZE verifications")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=2, help="tokens an account")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.monotonic()
    accounts = asyncio.run(make_people(args.database_url, args.accounts, args.tokens))
    people = time.monotonic()
    source = rows(accounts, args.messages, args.days, datetime.now(UTC), args.seed)
    url = make_url(args.database_url)
    if url.get_backend_name() == "sqlite":
        seed_sqlite(str(url.database), source)
    else:
        asyncio.run(seed_postgres(args.database_url, source))
    done = time.monotonic()
    print(
        json.dumps(
            {
                "messages": args.messages,
                "accounts": [a.id for a in accounts],
                "operator": OPERATOR,
                "users": [a.user for a in accounts],
                "password": PASSWORD,
                "people_seconds": round(people - began, 1),
                "messages_seconds": round(done - people, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
