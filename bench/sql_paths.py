"""
The cost of one statement through SQLAlchemy Core against the driver underneath, on SQLite,
in one run: the measurement behind adapters/store/raw.py.

    .venv/bin/python bench/sql_paths.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.schema import accounts, metadata

RAW = (
    "INSERT INTO accounts (name, credit, unlimited, sender, active, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


async def timed(label: str, rows: int, work: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await work()
    per_row = (time.perf_counter() - start) / rows * 1e6
    print(f"{label:52} {per_row:8.1f} us a row")
    return per_row


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engines = create_engines(f"sqlite:///{Path(tmp) / 'bench.db'}")
        async with engines.write.begin() as conn:
            await conn.run_sync(metadata.create_all)
        now = datetime.now(UTC)
        stamp = f"{now:%Y-%m-%d %H:%M:%S.%f}"

        def values(prefix: str) -> list[dict[str, object]]:
            return [
                {
                    "name": f"{prefix}{i}",
                    "credit": 0,
                    "unlimited": False,
                    "sender": "1",
                    "active": True,
                    "created_at": now,
                }
                for i in range(rows)
            ]

        async with engines.write.begin() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection

            async def core_each() -> None:
                for row in values("a"):
                    await conn.execute(insert(accounts), row)

            async def driver_each() -> None:
                for i in range(rows):
                    await driver.execute(RAW, (f"b{i}", 0, False, "1", True, stamp))

            async def core_many() -> None:
                await conn.execute(insert(accounts), values("c"))

            async def core_returning() -> None:
                statement = insert(accounts).returning(accounts.c.id, sort_by_parameter_order=True)
                (await conn.execute(statement, values("d"))).scalars().all()

            async def driver_many() -> None:
                await driver.executemany(
                    RAW, [(f"e{i}", 0, False, "1", True, stamp) for i in range(rows)]
                )

            each = await timed("SQLAlchemy Core, one execute a row", rows, core_each)
            raw = await timed("driver (aiosqlite), one execute a row", rows, driver_each)
            await timed("SQLAlchemy Core, executemany", rows, core_many)
            returning = await timed(
                "SQLAlchemy Core, insertmanyvalues RETURNING", rows, core_returning
            )
            many = await timed("driver (aiosqlite), executemany", rows, driver_many)
        await engines.dispose()
    print(f"\none execute: Core / driver = {each / raw:.1f}")
    print(f"a batch insert: Core RETURNING / driver executemany = {returning / many:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rows", type=int, default=2000)
    asyncio.run(main(parser.parse_args().rows))
