"""
Statements straight on the database driver (sqlite3 in aiosqlite's thread, asyncpg), in
the driver's own transaction on a connection from SQLAlchemy's pool, for the few
statements every OTP runs: accepting, and recording submits.

Why not SQLAlchemy there: on SQLite (`bench/sql_paths.py`) one SQLAlchemy Core execute
costs about 13 times a driver call, and a batch's INSERT ... RETURNING through its
insertmanyvalues about 29 times a driver executemany, per row. Everything else (and the
schema, and the migrations) stays in SQLAlchemy. The SQL here is written with `?`
placeholders for both engines; PostgreSQL's `$n` are made from them once per statement.
The store's contract tests run every statement on SQLite and PostgreSQL.

`write_transaction` runs the batches of the hot path (accept, claim, outcomes, reports).
On SQLite it runs the whole transaction in aiosqlite's thread, in one hop: a transaction
of ten statements would otherwise wait for ten turns of a busy event loop, and under load
(64 connections, `bench/rest_send.py`) a group-committed batch would take 20 ms on average
and 100 to 600 ms at worst, with every request of the batch waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quickotp.adapters.store.engine import Engines

T = TypeVar("T")
U = TypeVar("U")

log = logging.getLogger(__name__)

_MARK = re.compile(r"\?")


class Tx(Protocol):
    """The driver of one open write transaction."""

    postgres: bool

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def changed(self, sql: str, *args: Any) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def time(self, moment: datetime | None) -> Any: ...

    def read_time(self, value: Any) -> datetime: ...

    async def new_ids(self, table: str, count: int) -> list[int]: ...


def marks(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ", ".join("?" * count)


def among(tx: Tx, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """
    What follows a column to match any of `values`, and its arguments: `IN (?, ?, ...)` on
    SQLite; on PostgreSQL `= ANY(?)` with the values as one array, one statement text for
    every count, which asyncpg prepares once (an IN list is a statement of its own for each
    count: a prepare round trip whenever a batch's size is new to its 100-statement cache).
    """
    if tx.postgres:
        return "= ANY(?)", (list(values),)
    return f"IN ({marks(len(values))})", tuple(values)


async def write_transaction(engines: Engines, work: Callable[[Tx], Awaitable[T]]) -> T:
    """
    `work`'s result, with its statements in one write transaction, committed when it
    returns (rolled back when it raises). `work` must await nothing but its Tx.
    """
    if engines.dialect == "postgresql":
        # asyncpg's own transaction on a pooled connection, not SQLAlchemy's: that one opens
        # at the first statement SQLAlchemy runs itself, and the `SELECT 1` it would need for
        # that costs about 170 us of CPU and a round trip a transaction (a third of a hot
        # transaction's CPU). SQLAlchemy's reset on check-in is then a no-op: it started
        # nothing.
        async with engines.write.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            async with driver.transaction():
                return await work(_PostgresTx(driver))
    writer = _WRITERS.get(engines.write)
    if writer is None or writer.loop is not asyncio.get_running_loop():  # one per event loop
        writer = _WRITERS[engines.write] = _SqliteWriter(engines.write)
    return await writer.run(work)


class _SqliteWriter:
    """
    The hot path's hold on SQLite's one writer connection. It is checked out of the pool for
    a run of back-to-back transactions rather than for each: a checkout and check-in per
    transaction costs the store's hot path about a quarter more CPU a message
    (`bench/store_paths.py` compares the two). The hold ends as soon as no hot
    transaction waits, and after `MAX_RUN` transactions in any case, so another writer
    (panel, admin, webhooks) waiting in the pool gets the connection within one run.
    """

    MAX_RUN = 16

    def __init__(self, engine: AsyncEngine) -> None:
        self.loop = asyncio.get_running_loop()  # its lock works in this loop only
        self._engine = engine
        self._turn = asyncio.Lock()
        self._waiting = 0  # hot transactions waiting for their turn
        self._held: tuple[AsyncConnection, Any] | None = None  # the connection and its driver
        self._run = 0  # transactions in the current hold

    async def run(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        self._waiting += 1
        try:
            await self._turn.acquire()
        finally:
            self._waiting -= 1
        try:
            driver = await self._driver()
            try:
                return await in_driver_thread(driver, _in_sqlite_transaction, work)
            finally:
                self._run += 1
                if not self._waiting or self._run >= self.MAX_RUN:
                    await self._let_go()
        finally:
            self._turn.release()

    async def _driver(self) -> Any:
        if self._held is None:
            conn = await self._engine.connect()
            try:
                raw = await conn.get_raw_connection()
            except BaseException:
                await conn.close()
                raise
            self._held = (conn, raw.driver_connection)
        return self._held[1]

    async def _let_go(self) -> None:
        held, self._held, self._run = self._held, None, 0
        if held is None:
            return
        try:
            await held[0].close()  # back to the pool, for whoever waits there
        except Exception:
            # The transaction before is over (committed or rolled back) and its caller gets
            # that outcome, not this: an accept answered as failed after its COMMIT would be
            # sent anyway, and sent again when the client retries. Dropping the connection
            # gives its place in the pool back; the pool opens a new one when next asked.
            log.warning("returning SQLite's writer connection failed; dropped", exc_info=True)
            with contextlib.suppress(Exception):
                await held[0].invalidate()


_WRITERS: weakref.WeakKeyDictionary[AsyncEngine, _SqliteWriter] = weakref.WeakKeyDictionary()


async def in_driver_thread(
    driver: Any, function: Callable[[sqlite3.Connection, U], T], argument: U
) -> T:
    """
    `function(connection, argument)` in the thread of the aiosqlite connection `driver`, on
    its sqlite3 connection, in one hop. aiosqlite has no public call for this (its
    maintainers prefer a statement a hop); `Connection._execute`, which every public method
    goes through, and `Connection._conn` are private. pyproject.toml pins aiosqlite to the
    releases checked to have both, and tests/adapters/store/test_aiosqlite_private.py fails by name
    when an installed one does not.
    """
    result: T = await driver._execute(function, driver._conn, argument)
    return result


def _in_sqlite_transaction(conn: sqlite3.Connection, work: Callable[[Tx], Awaitable[T]]) -> T:
    """In aiosqlite's thread: `work` run to its end on the blocking connection, in a transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = _run_to_end(work(_BlockingSqliteTx(conn)))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _run_to_end(awaitable: Awaitable[T]) -> T:
    """The result of a coroutine that never suspends (it awaits only blocking statements)."""
    coroutine: Coroutine[Any, Any, T] = awaitable  # type: ignore[assignment]
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a write transaction's work awaited something other than its Tx")


class _BlockingSqliteTx:
    """
    Statements on the sqlite3 connection itself, in aiosqlite's thread: never suspends.
    Times are kept as SQLite keeps them, and new ids are taken under its one write lock.
    """

    postgres = False

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, args).fetchall()

    async def execute(self, sql: str, *args: Any) -> None:
        self._conn.execute(sql, args)

    async def changed(self, sql: str, *args: Any) -> int:
        changed: int = self._conn.execute(sql, args).rowcount
        return changed

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)

    def time(self, moment: datetime | None) -> Any:
        # The text SQLAlchemy's SQLite DateTime writes, so both read each other's rows
        # (isoformat with fixed microseconds: a third of strftime's cost). A UTC time, as
        # the hot path's all are, is written as is less its "+00:00": 0.9 us, not 1.4.
        if moment is None:
            return None
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        return moment.isoformat(" ", "microseconds")[:-6]

    def read_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    async def new_ids(self, table: str, count: int) -> list[int]:
        # Safe: BEGIN IMMEDIATE holds SQLite's one write lock until COMMIT.
        [(top,)] = await self.fetch(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return list(range(top + 1, top + 1 + count))


class _PostgresTx:
    postgres = True

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._driver.fetch(_numbered(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> None:
        await self._driver.execute(_numbered(sql), *args)

    async def changed(self, sql: str, *args: Any) -> int:
        status: str = await self._driver.execute(_numbered(sql), *args)  # as "DELETE 12"
        return int(status.rsplit(" ", 1)[-1])

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._driver.executemany(_numbered(sql), rows)

    def time(self, moment: datetime | None) -> Any:
        return moment

    def read_time(self, value: Any) -> datetime:
        moment: datetime = value  # asyncpg gives timestamptz as an aware datetime
        return moment.astimezone(UTC)

    async def new_ids(self, table: str, count: int) -> list[int]:
        rows = await self.fetch(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
            " FROM generate_series(1, ?::int)",
            count,
        )
        return [row[0] for row in rows]


_NUMBERED: dict[str, str] = {}


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (cached: the statements are few)."""
    found = _NUMBERED.get(sql)
    if found is None:
        counter = iter(range(1, 100_000))
        found = _MARK.sub(lambda _: f"${next(counter)}", sql)
        if len(_NUMBERED) < 1000:  # IN lists of many lengths must not grow this forever
            _NUMBERED[sql] = found
    return found
