"""
Engines for the two supported databases, set up the way the gateway needs them.

SQLite runs in WAL mode with one writer connection that takes its lock up front
(BEGIN IMMEDIATE), so writers never deadlock on a lock upgrade, and a separate pool
for readers. Its file is made readable by its owner alone (0600) before SQLite opens it;
SQLite gives the -wal and -shm files the main file's mode. PostgreSQL uses one asyncpg
pool for both, whose connections are checked at checkout without a round trip.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from quickotp.domain.errors import ConfigurationError

BUSY_TIMEOUT_MS = 10_000  # how long a connection waits for SQLite's locks


@dataclass(frozen=True)
class Engines:
    """The engine writes go through and the engine reads go through (the same one on PG)."""

    write: AsyncEngine
    read: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def async_url(database_url: str) -> URL:
    """The async-driver form of a user's database URL (`sqlite:///x.db`, `postgresql://...`)."""
    try:
        url = make_url(database_url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError alike here
        raise ConfigurationError(f"QUICKOTP_DATABASE_URL is not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
            # Each pooled connection would open a database of its own, and every message
            # would be gone at exit.
            raise ConfigurationError(
                "QUICKOTP_DATABASE_URL names an in-memory SQLite database, which keeps no"
                " message: give a file, as in sqlite:///quickotp.db"
            )
        return url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return url.set(drivername="postgresql+asyncpg")
    raise ConfigurationError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def create_engines(
    database_url: str, *, sqlite_synchronous: str = "FULL", sqlite_checkpoints: bool = True
) -> Engines:
    """
    Engines for `database_url`; nothing connects until first use. `sqlite_checkpoints`
    False: the writer leaves WAL checkpoints to a WalCheckpointer (store/checkpoint.py).
    """
    url = async_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        _check_on_checkout(engine)
        return Engines(write=engine, read=engine)
    synchronous = sqlite_synchronous.upper()
    if synchronous not in {"FULL", "NORMAL", "EXTRA"}:
        raise ConfigurationError(f"unsupported SQLite synchronous mode {synchronous!r}")
    if url.database and not url.query.get("uri"):
        create_private(url.database)
    write = create_async_engine(url, pool_size=1, max_overflow=0)
    read = create_async_engine(url, pool_size=4, max_overflow=4)
    _configure_sqlite(write, synchronous, immediate=True, checkpoints=sqlite_checkpoints)
    _configure_sqlite(read, synchronous, immediate=False, checkpoints=True)
    return Engines(write=write, read=read)


def create_private(path: str) -> None:
    """
    Make an empty file at `path` that only its owner can read and write, unless one is
    there: SQLite would make it with the process's umask (world-readable under the usual
    022), and its -wal and -shm files copy the main file's mode. An existing file keeps
    the mode its operator gave it.
    """
    # An existing file, or none that can be made here (no such folder, no permission): left
    # to SQLite, whose error at the first connection says which.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _check_on_checkout(engine: AsyncEngine) -> None:
    """
    A pooled PostgreSQL connection is handed out only if asyncpg still holds it open and
    idle; otherwise the pool drops it and takes or opens another (SQLAlchemy's pessimistic
    disconnect handling, raising DisconnectionError at checkout).

    The check reads the driver's own state, no round trip: a server restart, a terminated
    backend or a PgBouncer restart closes the socket, which asyncpg sees at once. A
    connection left inside a transaction (work on the driver cancelled at the wrong
    moment) is dropped too: asyncpg would refuse the next transaction on it. SQLAlchemy's
    `pool_pre_ping` instead spends three round trips a checkout (BEGIN, a ping, ROLLBACK):
    with the checkout, about a third of a group-committed accept's CPU in the gateway.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def on_checkout(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver.is_closed() or driver.is_in_transaction():
            raise DisconnectionError("the pooled connection is closed or inside a transaction")


def _configure_sqlite(
    engine: AsyncEngine, synchronous: str, *, immediate: bool, checkpoints: bool
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's BEGIN below be the only one (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Once checkpointed, a log that grew under a burst goes back to 64 MiB at most.
        cursor.execute("PRAGMA journal_size_limit=67108864")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
