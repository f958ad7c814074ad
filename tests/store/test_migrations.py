"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, select

from quickotp.bootstrap import Runtime
from quickotp.store.engine import create_engines
from quickotp.store.migrate import is_current, upgrade
from quickotp.store.schema import accounts, messages, metadata, patterns

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


async def test_0030_masks_codes_left_in_texts_of_messages_never_sent(database_url: str) -> None:
    """Failed and expired messages given up before the texts were masked lose their codes."""
    engines = create_engines(database_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        await upgrade(engines, "0001")
        async with engines.write.begin() as conn:
            await conn.execute(
                insert(accounts).values(
                    id=1,
                    name="a",
                    credit=0,
                    unlimited=False,
                    sender="1",
                    active=True,
                    created_at=now,
                )
            )
            await conn.execute(
                insert(patterns).values(
                    id=1,
                    account_id=1,
                    text="code %code% - call 02112345678",
                    is_otp=True,
                    number_patterns="code",
                    state="approved",
                    created_at=now,
                )
            )
            rows = [
                (1, "failed", "code 4821 - call 02112345678", None),
                (2, "expired", "code 48213 - call 02112345678", None),
                (3, "expired", "edited 123456 text", None),  # no longer its pattern's shape
                (4, "queued", "code 7777 - call 02112345678", "7777"),  # masked when sent
            ]
            for message_id, status, text, code in rows:
                await conn.execute(
                    insert(messages).values(
                        id=message_id,
                        account_id=1,
                        pattern_id=1,
                        mobile="989120000000",
                        sender="1",
                        text=text,
                        code=code,
                        encoding="ucs2",
                        parts=1,
                        cost=0,
                        charged=0,
                        status=status,
                        attempts=0,
                        possible_duplicate=False,
                        next_attempt_at=now,
                        expires_at=now,
                        created_at=now,
                    )
                )

        await upgrade(engines)

        async with engines.read.connect() as conn:
            texts = dict((await conn.execute(select(messages.c.id, messages.c.text))).all())
    finally:
        await engines.dispose()
    assert texts == {
        1: "code **** - call 02112345678",
        2: "code ***** - call 02112345678",
        3: "edited ****** text",
        4: "code 7777 - call 02112345678",
    }
