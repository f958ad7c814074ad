"""
The app `quickotp serve` runs, for bench/prune_under_load.py (uvicorn's factory: `app`), with
its pruner starting BENCH_PRUNE_AFTER seconds after start instead of minutes, and every write
transaction the prune makes timed from BEGIN IMMEDIATE to COMMIT in SQLite's writer thread.
At shutdown the holds (start time, seconds) and the prune's start, end and counts are written
to BENCH_PRUNE_STATS as JSON, with the holds of the hot path's own write transactions (accepts,
claims, outcomes) beside them. BENCH_SECURE_DELETE=0 leaves PRAGMA secure_delete out, to
measure what it costs; BENCH_PRUNE_BATCH sets the prune's batch size.
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

holds: list[tuple[float, float]] = []  # the prune's: (wall time it began, seconds held)
hot: list[tuple[float, float]] = []  # every other write transaction's, the same way
runs: list[dict[str, Any]] = []


def _timed(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(conn: sqlite3.Connection, work: Callable[..., Any]) -> Any:
        kept = holds if "RetentionSqlStore" in getattr(work, "__qualname__", "") else hot
        began, start = time.time(), time.perf_counter()
        try:
            return original(conn, work)
        finally:
            kept.append((began, time.perf_counter() - start))

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
    pruning.batch = int(os.environ.get("BENCH_PRUNE_BATCH", pruning.batch))
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
        stats = json.dumps({"holds": holds, "hot": hot, "runs": runs})
        await asyncio.to_thread(Path(os.environ["BENCH_PRUNE_STATS"]).write_text, stats)

    runtime.aclose = aclose  # type: ignore[method-assign]
    return build_app(runtime, settle=True)
