"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, column, insert, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import TableClause

from quickotp.adapters.store.engine import Engines, create_engines
from quickotp.adapters.store.migrate import alembic_config, is_current, upgrade
from quickotp.adapters.store.schema import UNDECLARED_OBJECTS, messages, metadata, routes
from quickotp.bootstrap import Runtime, build_runtime, route_key
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


async def test_migrated_schema_matches_the_declared_one(runtime: Runtime) -> None:
    """
    After `migrate`, Alembic finds nothing to change: no table or column was forgotten
    (aside from what no Table declares: the numbers' trigram index, PostgreSQL's index of
    pending verifications).
    """

    def declared(name: str | None, kind: str, parents: object) -> bool:
        return name not in UNDECLARED_OBJECTS

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": declared}
        )
        return list(compare_metadata(context, metadata))

    async with runtime.engines.read.connect() as conn:
        found = await conn.run_sync(differences)

    assert found == []


async def test_migrating_twice_changes_nothing(runtime: Runtime) -> None:
    """`migrate` on a current database is a no-op, and the schema reads as current."""
    await upgrade(runtime.engines)

    assert await is_current(runtime.engines)


def _first_release_seal(key: bytes, name: str, url: str, nonce: bytes) -> bytes:
    """A route URL as the first release sealed it (HMAC-SHA256 counter mode, then a MAC)."""
    enc = hmac.digest(key, b"enc", hashlib.sha256)
    mac = hmac.digest(key, b"mac", hashlib.sha256)
    raw = url.encode()
    stream = b"".join(
        hmac.digest(enc, nonce + i.to_bytes(4, "big"), hashlib.sha256)
        for i in range((len(raw) + 31) // 32)
    )
    ciphertext = bytes(a ^ b for a, b in zip(raw, stream, strict=False))
    label = name.encode()
    signed = b"\x01" + nonce + len(label).to_bytes(2, "big") + label + ciphertext
    return b"\x01" + nonce + ciphertext + hmac.digest(mac, signed, hashlib.sha256)


# The routes table as the first release made it: later columns are not there yet.
FIRST_RELEASE_ROUTES = table(
    "routes",
    *(
        column(name)
        for name in ("name", "kind", "url_sealed", "shown", "prefixes", "accounts", "priority")
    ),
    column("created_at"),
)


async def _first_release_with_a_route(database_url: str, sealed: bytes) -> Runtime:
    runtime = build_runtime(make_settings(database_url), dispatch=False)
    await upgrade(runtime.engines, "0001")
    async with runtime.engines.write.begin() as conn:
        await conn.execute(
            insert(FIRST_RELEASE_ROUTES).values(
                name="main",
                kind="smpp",
                url_sealed=sealed,
                shown="smpp://shop:***@127.0.0.1:2775",
                prefixes="",
                accounts="",
                priority=10,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return runtime


async def test_route_urls_of_the_first_release_are_resealed(database_url: str) -> None:
    """Migration 0002 opens first-release route seals and seals them again with AES-GCM."""
    url = "smpp://shop:s3cr3t@127.0.0.1:2775?window=20"
    key = route_key(make_settings(database_url))
    runtime = await _first_release_with_a_route(
        database_url, _first_release_seal(key, "main", url, bytes(16))
    )
    try:
        await runtime.migrate()

        assert [route.url for route in await runtime.route_book.load()] == [url]
        async with runtime.engines.read.connect() as conn:
            stored = (await conn.execute(select(routes.c.url_sealed))).scalar_one()
        assert bytes(stored)[:1] == b"\x02"
        assert b"s3cr3t" not in bytes(stored)
    finally:
        await runtime.engines.dispose()


async def test_resealing_needs_the_key(database_url: str) -> None:
    """Without the routes key, an upgrade over first-release routes stops and says why."""
    key = route_key(make_settings(database_url))
    runtime = await _first_release_with_a_route(
        database_url, _first_release_seal(key, "main", "amoot://t@127.0.0.1", bytes(16))
    )
    try:
        with pytest.raises(RuntimeError, match="quickotp migrate"):
            await upgrade(runtime.engines)
    finally:
        await runtime.engines.dispose()


def _first_release(name: str, *columns: str) -> TableClause:
    """A table as the first release made it, with just the columns a test writes."""
    return table(name, *(column(c) for c in columns))


async def _put(conn: AsyncConnection, table_name: str, /, **values: Any) -> None:
    """A row with just `values`' columns, in the table as an earlier release had it."""
    await conn.execute(insert(_first_release(table_name, *values)).values(**values))


def _first_account(now: datetime) -> dict[str, Any]:
    return {
        "id": 1,
        "name": "a",
        "credit": 0,
        "unlimited": False,
        "sender": "1",
        "active": True,
        "created_at": now,
    }


def _first_message(message_id: int, now: datetime) -> dict[str, Any]:
    """The columns every message of the first release needs, for account 1."""
    return {
        "id": message_id,
        "account_id": 1,
        "mobile": "989120000000",
        "sender": "1",
        "encoding": "ucs2",
        "parts": 1,
        "cost": 0,
        "charged": 0,
        "possible_duplicate": False,
        "next_attempt_at": now,
        "expires_at": now,
        "created_at": now,
    }


async def test_0030_masks_codes_left_in_texts_of_messages_never_sent(database_url: str) -> None:
    """Failed and expired messages given up before the texts were masked lose their codes."""
    engines = create_engines(database_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        await upgrade(engines, "0001")
        async with engines.write.begin() as conn:
            await _put(conn, "accounts", **_first_account(now))
            await conn.execute(
                insert(
                    _first_release(
                        "patterns",
                        "id",
                        "account_id",
                        "text",
                        "is_otp",
                        "number_patterns",
                        "state",
                        "reason",
                        "description",
                        "created_at",
                    )
                ).values(
                    id=1,
                    account_id=1,
                    text="code %code% - call 02112345678",
                    is_otp=True,
                    number_patterns="code",
                    state="approved",
                    reason="",
                    description="",
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
                await _put(
                    conn,
                    "messages",
                    **_first_message(message_id, now),
                    pattern_id=1,
                    text=text,
                    code=code,
                    status=status,
                    attempts=0,
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


async def test_0130_reads_the_kind_of_stored_failures_from_their_words(database_url: str) -> None:
    """Failures stored before messages.failure_kind get the kind their words name, once."""
    engines = create_engines(database_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    words = {
        1: ("failed", "TransportRejected: submit_sm answered ESME_RINVDSTADR", "refused"),
        2: ("failed", "gave up after 6 attempts: LineRefused: ESME_RINVSRCADR", "refused"),
        3: ("failed", "gave up after 6 attempts: TransportUnavailable: no route", "unavailable"),
        4: ("expired", "code expired while retrying: DeliveryUncertain: no answer", "uncertain"),
        5: ("expired", "its validity ended before sending", "expired"),
        6: ("queued", "TransportUnavailable: bind lost", "unavailable"),
        7: ("failed", "stale", "other"),
        8: ("sent", None, None),
        9: ("failed", "canceled by the operator before it was sent", "canceled"),
    }
    try:
        await upgrade(engines, "0110")
        async with engines.write.begin() as conn:
            await _put(conn, "accounts", **_first_account(now))
            for message_id, (status, error, _) in words.items():
                await _put(
                    conn,
                    "messages",
                    **_first_message(message_id, now),
                    text="code ****",
                    status=status,
                    attempts=1,
                    error=error,
                )

        await upgrade(engines)

        async with engines.read.connect() as conn:
            kinds = dict((await conn.execute(select(messages.c.id, messages.c.failure_kind))).all())
    finally:
        await engines.dispose()
    assert kinds == {message_id: kind for message_id, (_, _, kind) in words.items()}


async def _downgrade(engines: Engines, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engines.write.begin() as conn:
        await conn.run_sync(run)


async def _triggers(engines: Engines) -> set[str]:
    """SQLite's triggers on `messages`; on PostgreSQL none are ours."""
    if engines.dialect != "sqlite":
        return set()
    async with engines.read.connect() as conn:
        rows = await conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'")
        )
        return {name for (name,) in rows}


async def test_the_newest_migrations_go_down_and_up_again(database_url: str) -> None:
    """
    Down to 0110 and up again: each downgrade undoes its upgrade, and going down past 0130
    keeps the triggers of the numbers' trigram index (a copy of `messages` would drop them).
    """
    engines = create_engines(database_url)
    sqlite = engines.dialect == "sqlite"
    kept = {"messages_mobile_delete", "messages_mobile_update"} if sqlite else set()
    try:
        await upgrade(engines)
        await _downgrade(engines, "0120")

        assert await _triggers(engines) == kept

        await _downgrade(engines, "0110")

        assert await _triggers(engines) == set()

        await upgrade(engines)

        assert await is_current(engines)
        assert await _triggers(engines) == kept
    finally:
        await engines.dispose()
