"""SQLite's query plans of the store's statements, on a database migrated to the current schema."""

from __future__ import annotations

from pathlib import Path

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.migrate import upgrade


async def sqlite_plan(tmp_path: Path, sql: str, count: int = 0) -> str:
    """EXPLAIN QUERY PLAN of `sql` (with `count` arguments, each 1), a step a line."""
    engines = create_engines(f"sqlite:///{tmp_path / 'plans.db'}")
    try:
        await upgrade(engines)
        async with engines.read.connect() as conn:
            raw = await conn.get_raw_connection()
            rows = await raw.driver_connection.execute_fetchall(  # type: ignore[union-attr]
                f"EXPLAIN QUERY PLAN {sql}", [1] * count
            )
    finally:
        await engines.dispose()
    return "\n".join(str(row[3]) for row in rows)
