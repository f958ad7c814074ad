"""
Wake-ups across processes on PostgreSQL: accepting processes NOTIFY, dispatchers LISTEN.

A dispatcher sleeps until a NOTIFY (or its idle poll) instead of polling the outbox. The
listening connection is asyncpg's own (SQLAlchemy has no LISTEN API), kept up with a
reconnect loop; while it is down, dispatchers fall back to their idle poll.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from quickotp.adapters.store.schema import OUTBOX_CHANNEL
from quickotp.support.background import stop

log = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    """A libpq-style DSN for asyncpg from the user's postgresql:// URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class OutboxListener:
    """Calls `wake` whenever any process commits an accepted message."""

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._wake = wake
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-listener")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    def _on_notify(self, *_: Any) -> None:
        self._wake()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(functools.partial(_set, lost))
                await connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
                self.connected.set()
                self._wake()  # whatever was accepted while we were away
                delay = 0.5
                await lost.wait()
                log.warning("outbox listener's connection closed; reconnecting")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox listener lost PostgreSQL (%s); polling until it is back", exc)
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    await connection.close()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
            delay = min(delay * 2, 30)


def _set(event: asyncio.Event, *_: Any) -> None:
    event.set()
