"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from quickotp.adapters.store.migrate import is_current, upgrade
from quickotp.adapters.store.schema import metadata
from quickotp.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def test_migrated_schema_matches_the_declared_one(runtime: Runtime) -> None:
    """After `migrate`, Alembic finds nothing to change: no table or column was forgotten."""

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with runtime.engines.read.connect() as conn:
        found = await conn.run_sync(differences)

    assert found == []


async def test_migrating_twice_changes_nothing(runtime: Runtime) -> None:
    """`migrate` on a current database is a no-op, and the schema reads as current."""
    await upgrade(runtime.engines)

    assert await is_current(runtime.engines)
