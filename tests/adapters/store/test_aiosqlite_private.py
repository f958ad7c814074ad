"""
The two private names of aiosqlite the SQLite hot path stands on (store/raw.py's
in_driver_thread: Connection._execute and Connection._conn), checked on the installed
aiosqlite, so an aiosqlite that renames or reshapes them fails here by name, not as a
stalled or broken write path.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from importlib.metadata import version

import aiosqlite
import pytest

from quickotp.adapters.store.raw import in_driver_thread

pytestmark = pytest.mark.anyio

BROKEN = (
    f"aiosqlite {version('aiosqlite')} no longer has the private Connection._execute(fn, *args)"
    " / Connection._conn that quickotp.adapters.store.raw.in_driver_thread relies on: adapt it,"
    " or keep aiosqlite below this release in pyproject.toml"
)


async def test_a_function_runs_on_the_sqlite3_connection_in_aiosqlites_thread() -> None:
    """One hop: the function gets the sqlite3 connection, in aiosqlite's thread, not the loop's."""
    seen: list[tuple[int, object]] = []

    def work(conn: sqlite3.Connection, value: int) -> int:
        seen.append((threading.get_ident(), conn))
        [(doubled,)] = conn.execute("SELECT ? * 2", (value,)).fetchall()
        return int(doubled)

    try:
        async with aiosqlite.connect(":memory:") as driver, asyncio.timeout(10):
            result = await in_driver_thread(driver, work, 21)
    except (AttributeError, TypeError) as error:
        pytest.fail(f"{BROKEN} ({error!r})")

    assert result == 42, BROKEN
    [(thread, conn)] = seen
    assert isinstance(conn, sqlite3.Connection), BROKEN
    assert thread != threading.get_ident(), BROKEN


async def test_an_exception_in_the_function_reaches_the_caller() -> None:
    """What the transaction raises (a rollback's cause) comes back to the awaiting caller."""

    def failing(conn: sqlite3.Connection, _: None) -> None:
        raise ValueError("no such row")

    async with aiosqlite.connect(":memory:") as driver:
        with pytest.raises(ValueError, match="no such row"):
            async with asyncio.timeout(10):
                await in_driver_thread(driver, failing, None)
