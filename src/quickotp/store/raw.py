"""
Statements straight on the database driver (aiosqlite, asyncpg), inside an SQLAlchemy
transaction, for the few statements every OTP runs: accepting, and recording submits.

Why not SQLAlchemy there: measured on this machine (`bench/sql_paths.py`, SQLite), one
SQLAlchemy Core execute cost 13 times a driver call (372 against 28 us), and a batch's
INSERT ... RETURNING through its insertmanyvalues 29 times a driver executemany, per row
(194 against 7 us). Everything else (and the
schema, and the migrations) stays in SQLAlchemy. The SQL here is written with `?`
placeholders for both engines; PostgreSQL's `$n` are made from them once per statement.
The store's contract tests run every statement on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

_MARK = re.compile(r"\?")


class Tx(Protocol):
    """The driver of one open write transaction."""

    postgres: bool

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def time(self, moment: datetime | None) -> Any: ...

    def read_time(self, value: Any) -> datetime: ...

    async def new_ids(self, table: str, count: int) -> list[int]: ...


def marks(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ", ".join("?" * count)


async def driver_tx(conn: AsyncConnection) -> Tx:
    """
    The driver under `conn`, an SQLAlchemy connection inside `engine.begin()`: statements
    sent through either take part in the same transaction, which SQLAlchemy commits.
    """
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if conn.dialect.name == "postgresql":
        # SQLAlchemy opens its asyncpg transaction at the first statement it runs itself.
        await conn.exec_driver_sql("SELECT 1")
        return _PostgresTx(driver)
    return _SqliteTx(driver)  # BEGIN IMMEDIATE was sent when the block began


class _SqliteTx:
    postgres = False

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return list(await self._driver.execute_fetchall(sql, args))

    async def execute(self, sql: str, *args: Any) -> None:
        await self._driver.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._driver.executemany(sql, rows)

    def time(self, moment: datetime | None) -> Any:
        # The text SQLAlchemy's SQLite DateTime writes, so both read each other's rows
        # (isoformat with fixed microseconds: a third of strftime's cost).
        if moment is None:
            return None
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

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
