"""
SMPP bind slots shared by every dispatcher on one PostgreSQL database: session-level
advisory locks, so a slot is leased for as long as its holder's session lives.

A route of `binds` binds has slots 0..binds-1, each an exclusive advisory lock; a process
that dispatches through the route also holds the route's presence lock, shared, so that
pg_locks counts the route's dispatchers. A process that dies loses its session and with it
every slot at once: at once when its socket closes (a crash, SIGKILL), or once TCP
keepalive gives up on a machine that vanished (about 15 s with the settings below). No
clock, table or sweeper is involved, and nothing is left behind to clean up.

The locks need a session of their own, so this connection goes straight to PostgreSQL (or
through a pooler in session mode), never through PgBouncer's transaction mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import zlib
from collections.abc import Callable
from typing import Any

import asyncpg

from quickotp.adapters.store.notify import asyncpg_dsn
from quickotp.domain.errors import TransportUnavailable

log = logging.getLogger(__name__)

# Advisory lock keys are (int4, int4): a namespace of ours, then the route's name hashed.
PRESENCE = 0x51540000  # "QT" 0 0: the route's dispatchers, shared
SLOT = 0x51540100  # + the slot's number: one bind, exclusive
_TIMEOUT = 5.0  # seconds for any one statement; longer is an outage
_KEEPALIVE = (  # how soon the server notices that this session's machine is gone
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 10000",
)
_LIVE = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND mode = 'ShareLock'
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = $1::int8::oid AND objid = $2::int8::oid AND objsubid = 2
"""


class SlotsUnavailable(TransportUnavailable):
    """The database that holds the slots cannot be reached: hold no bind until it can."""


def route_key(name: str) -> int:
    """A route name as the second half of its lock keys (CRC-32, kept positive)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class BindLeases:
    """
    This process's session that holds its bind slots, shared by all its SMPP routes; one
    statement at a time. `route` gives each route's handle.
    """

    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._conn: Any = None  # asyncpg.Connection
        self._lock = asyncio.Lock()
        self.generation = 0  # +1 per session: slots taken in an older one are gone
        self._owners: dict[tuple[int, int], RouteSlots] = {}  # slot locks held, by handle
        self._on_lost: dict[RouteSlots, Callable[[], None]] = {}

    def route(self, name: str, binds: int) -> RouteSlots:
        return RouteSlots(self, name, binds)

    async def aclose(self) -> None:
        """End the session: every slot of this process is free for the others."""
        async with self._lock:
            conn, self._conn = self._conn, None  # first: its end is no loss to report
            self._owners.clear()
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                    async with asyncio.timeout(_TIMEOUT):
                        await conn.close()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """One statement on the session (opened on first use); SlotsUnavailable if it fails."""
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = None
                    conn = await asyncpg.connect(self._dsn, timeout=_TIMEOUT)
                    for statement in _KEEPALIVE:  # refused by some servers: then the defaults
                        with contextlib.suppress(asyncpg.PostgresError):
                            await conn.execute(statement)
                    conn.add_termination_listener(self._terminated)
                    self._conn = conn
                    self.generation += 1
                async with asyncio.timeout(_TIMEOUT):
                    return await self._conn.fetchval(sql, *args)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                await self._lose(self._conn)
                raise SlotsUnavailable(f"bind slots: {type(exc).__name__}: {exc}") from exc

    def _terminated(self, conn: Any) -> None:
        """asyncpg's word that the session ended: every slot of this process is gone."""
        if conn is self._conn:
            asyncio.get_running_loop().create_task(self._lose(conn))

    async def _lose(self, conn: Any) -> None:
        if conn is None or conn is not self._conn:
            return
        self._conn = None
        self._owners.clear()
        if not conn.is_closed():
            conn.terminate()
        log.warning("the bind slots' session ended: this process holds no SMPP bind slot now")
        for on_lost in list(self._on_lost.values()):
            on_lost()

    def alive(self, generation: int) -> bool:
        conn = self._conn
        return conn is not None and not conn.is_closed() and generation == self.generation


class RouteSlots:
    """
    One route's slots as one SMPP transport of this process sees them: join the route's
    dispatchers, learn the share to hold, take and give back slots.
    """

    def __init__(self, leases: BindLeases, name: str, binds: int) -> None:
        self.leases = leases
        self.name = name
        self.binds = binds
        self.key = route_key(name)
        self._generation = -1
        self._held: set[int] = set()

    @property
    def joined(self) -> bool:
        """Whether this handle is counted, in the session that is open now."""
        return self.leases.alive(self._generation)

    async def join(self, on_lost: Callable[[], None]) -> None:
        """Count this process among the route's dispatchers; `on_lost` hears of a lost session."""
        await self.leases.fetchval("SELECT pg_advisory_lock_shared($1, $2)", PRESENCE, self.key)
        self._generation = self.leases.generation
        self._held.clear()
        self.leases._on_lost[self] = on_lost

    async def share(self) -> int:
        """How many slots this process may hold: the route's binds over its dispatchers."""
        live = await self.leases.fetchval(_LIVE, PRESENCE, self.key)
        return math.ceil(self.binds / max(1, int(live)))

    async def take(self, slot: int) -> bool:
        """Hold `slot` if it is free (in every process, this one's other handles included)."""
        key = (SLOT + slot, self.key)
        owner = self.leases._owners.get(key)
        if owner is not None:
            return owner is self
        taken = bool(await self.leases.fetchval("SELECT pg_try_advisory_lock($1, $2)", *key))
        if taken:
            self.leases._owners[key] = self
            self._held.add(slot)
        return taken

    async def give_back(self, slot: int) -> None:
        """Free `slot` (after its bind is closed: the limit holds at every moment)."""
        key = (SLOT + slot, self.key)
        if self.leases._owners.get(key) is not self:
            return
        del self.leases._owners[key]
        self._held.discard(slot)
        if self.joined:
            await self.leases.fetchval("SELECT pg_advisory_unlock($1, $2)", *key)

    async def leave(self) -> None:
        """Give back every slot and stop being counted."""
        for slot in sorted(self._held):
            await self.give_back(slot)
        self.leases._on_lost.pop(self, None)
        if self.joined:
            self._generation = -1
            await self.leases.fetchval(
                "SELECT pg_advisory_unlock_shared($1, $2)", PRESENCE, self.key
            )
