"""
The app `quickotp serve` runs, for bench/prune_under_load.py (uvicorn's factory: `app`), with
its pruner starting BENCH_PRUNE_AFTER seconds after start instead of minutes, and every write
transaction the prune makes timed from BEGIN IMMEDIATE to COMMIT in SQLite's writer thread.
At shutdown the holds (start time, seconds) and the prune's start, end and counts are written
to BENCH_PRUNE_STATS as JSON. BENCH_SECURE_DELETE=0 leaves PRAGMA secure_delete out, to
measure what it costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from quickotp.adapters.store import raw
from quickotp.bootstrap import PruneSchedule, build_app, build_runtime
from quickotp.services.pruning import Pruned
from quickotp.settings import Settings

holds: list[tuple[float, float]] = []  # (wall time it began, seconds held)
runs: list[dict[str, Any]] = []


def _timed(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(conn: sqlite3.Connection, work: Callable[..., Any]) -> Any:
        if "RetentionSqlStore" not in getattr(work, "__qualname__", ""):
            return original(conn, work)
        began, start = time.time(), time.perf_counter()
        try:
            return original(conn, work)
        finally:
            holds.append((began, time.perf_counter() - start))

    return run


def _without_secure_delete(original: Callable[..., Awaitable[None]]) -> Callable[..., Any]:
    async def execute(self: Any, sql: str, *args: Any) -> None:
        if not sql.startswith("PRAGMA secure_delete"):
            await original(self, sql, *args)

    return execute


def app() -> ASGIApp:
    raw._in_sqlite_transaction = _timed(raw._in_sqlite_transaction)
    if os.environ.get("BENCH_SECURE_DELETE") == "0":
        raw._BlockingSqliteTx.execute = _without_secure_delete(  # type: ignore[method-assign]
            raw._BlockingSqliteTx.execute
        )
    runtime = build_runtime(Settings.from_env(os.environ))
    runtime.prune_schedule = PruneSchedule(
        every=timedelta(hours=1),
        first_after=timedelta(seconds=float(os.environ.get("BENCH_PRUNE_AFTER", "0"))),
    )
    pruning = runtime.pruning
    prune = pruning.prune

    async def timed_prune(older_than: timedelta, **kwargs: Any) -> Pruned:
        run: dict[str, Any] = {"began": time.time()}
        runs.append(run)
        pruned = await prune(older_than, **kwargs)
        run.update(ended=time.time(), messages=pruned.counts.messages)
        return pruned

    pruning.prune = timed_prune  # type: ignore[method-assign]
    close = runtime.aclose

    async def aclose() -> None:
        await close()
        stats = json.dumps({"holds": holds, "runs": runs})
        await asyncio.to_thread(Path(os.environ["BENCH_PRUNE_STATS"]).write_text, stats)

    runtime.aclose = aclose  # type: ignore[method-assign]
    return build_app(runtime, settle=True)
