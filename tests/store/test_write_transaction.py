"""The hot path's write transactions (store/raw.py): all or nothing, on both engines."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from quickotp.bootstrap import Runtime
from quickotp.store.raw import Tx, write_transaction
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio


async def _credit(runtime: Runtime, seeded: Seeded) -> int:
    async with runtime.engines.read.connect() as conn:
        credit = await conn.scalar(
            text("SELECT credit FROM accounts WHERE id = :id"), {"id": seeded.account_id}
        )
    return int(credit)


async def _add_one(tx: Tx, seeded: Seeded) -> None:
    await tx.execute("UPDATE accounts SET credit = credit + 1 WHERE id = ?", seeded.account_id)


async def test_work_that_returns_is_committed(runtime: Runtime, seeded: Seeded) -> None:
    before = await _credit(runtime, seeded)

    async def work(tx: Tx) -> str:
        await _add_one(tx, seeded)
        return "done"

    assert await write_transaction(runtime.engines, work) == "done"
    assert await _credit(runtime, seeded) == before + 1


async def test_work_that_raises_leaves_nothing_written(runtime: Runtime, seeded: Seeded) -> None:
    before = await _credit(runtime, seeded)

    async def work(tx: Tx) -> None:
        await _add_one(tx, seeded)  # ran, then the batch fails
        raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError, match="the batch failed"):
        await write_transaction(runtime.engines, work)

    assert await _credit(runtime, seeded) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_work_that_awaits_anything_else_is_refused_and_undone(
    runtime: Runtime, seeded: Seeded
) -> None:
    """On SQLite the work runs in the driver's thread: it may await its Tx and nothing else."""
    before = await _credit(runtime, seeded)

    async def work(tx: Tx) -> None:
        await _add_one(tx, seeded)
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than its Tx"):
        await write_transaction(runtime.engines, work)

    assert await _credit(runtime, seeded) == before
