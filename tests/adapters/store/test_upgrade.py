"""`quickotp migrate` as the upgrade step: a database the previous release made (revision 0001),
with data in every table, comes up to the newest schema with its data intact, and the gateway
sends and verifies on it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, Table, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.migrate import SchemaState, schema_state, upgrade
from quickotp.bootstrap import Runtime, build_app, build_runtime, route_key
from quickotp.domain import keys, otp
from quickotp.domain.models import MessageStatus, VerificationStatus
from tests.adapters.store.test_migrations import _first_release_seal
from tests.conftest import OTP_PATTERN, make_settings

pytestmark = pytest.mark.anyio

TOKEN = "first-release-token-0123456789abcdefghijk"
CODE = "482193"
WAITING = "989121110000"  # its code is still pending after the upgrade
ROUTE = "smpp://shop:s3cr3t@127.0.0.1:2775"


async def _tables(conn: AsyncConnection) -> dict[str, Table]:
    """The tables as the database has them now (the first release's, before the upgrade)."""
    found = MetaData()
    await conn.run_sync(lambda sync: found.reflect(sync))
    return {table.name: table for table in found.sorted_tables}  # parents before children


def _rows(runtime: Runtime, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """One or more rows for every table of revision 0001, in the shapes it had."""
    keyed = runtime.gateway.keys
    old = now - timedelta(days=3)
    messages = [
        {
            "id": n,
            "account_id": 1,
            "token_id": 1,
            "pattern_id": 1,
            "mobile": f"98912111{n:04d}",
            "sender": "10004321",
            "text": "کد ورود شما: ******",
            "code": None,
            "encoding": "ucs2",
            "parts": 1,
            "cost": 1000,
            "charged": 1000,
            "status": status.value,
            "attempts": 1,
            "possible_duplicate": False,
            "next_attempt_at": old,
            "lease_until": None,
            "expires_at": old + timedelta(minutes=2),
            "created_at": old,
            "submitted_at": old,
            "reported_at": None,
            "transport": "smsc",
            "provider_message_id": f"p{n}",
            "error": None,
        }
        for n, status in enumerate(MessageStatus, start=1)
    ]
    waiting = len(messages) + 1
    messages.append(
        {
            **messages[0],
            "id": waiting,
            "mobile": WAITING,
            "status": MessageStatus.SENT.value,
            "created_at": now,
            "next_attempt_at": now,
            "expires_at": now + timedelta(minutes=10),
            "provider_message_id": "pw",
        }
    )
    checks = [
        {
            "id": f"v{n:031d}",
            "account_id": 1,
            "message_id": n,
            "mobile": f"98912111{n:04d}",
            "code_digest": otp.digest(keyed.code, "000000"),
            "status": status.value,
            "attempts_left": 3,
            "expires_at": old + timedelta(minutes=2),
            "created_at": old,
            "updated_at": old,
            "code_sealed": None,
            "sandbox": False,
            "metadata": '{"order": 7}',
        }
        for n, status in enumerate(VerificationStatus, start=1)
    ]
    checks.append(
        {
            **checks[0],
            "id": "w" * 32,
            "message_id": waiting,
            "mobile": WAITING,
            "code_digest": otp.digest(keyed.code, CODE),
            "status": VerificationStatus.PENDING.value,
            "expires_at": now + timedelta(minutes=10),
            "created_at": now,
            "updated_at": now,
        }
    )
    return {
        "accounts": [
            {
                "id": 1,
                "name": "shop",
                "credit": 50_000,
                "unlimited": False,
                "sender": "10004321",
                "active": True,
                "created_at": old,
            }
        ],
        "tokens": [
            {
                "id": 1,
                "account_id": 1,
                "label": "app",
                "digest": keys.token_digest(keyed.token, TOKEN),
                "active": True,
                "expires_at": None,
                "allowed_ips": "",
                "allowed_methods": "",
                "created_at": old,
                "last_used_at": old,
                "deleted_at": None,
            }
        ],
        "patterns": [
            {
                "id": 1,
                "account_id": 1,
                "text": OTP_PATTERN,
                "is_otp": True,
                "number_patterns": "",
                "state": "approved",
                "reason": "",
                "description": "login",
                "created_at": old,
                "decided_at": old,
            }
        ],
        "messages": messages,
        "verifications": checks,
        "account_settings": [
            {"account_id": 1, "settings": '{"cooldown_seconds": 0}', "updated_at": old}
        ],
        "orphan_reports": [
            {
                "id": 1,
                "transport": "smsc",
                "provider_message_id": "lost",
                "state": "delivered",
                "reported_at": old,
                "received_at": old,
            }
        ],
        "credit_changes": [
            {"id": 1, "account_id": 1, "amount": 50_000, "reason": "top-up", "created_at": old}
        ],
        "users": [
            {
                "id": 1,
                "email": "ops@shop.test",
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                "role": "operator",
                "account_id": None,
                "active": True,
                "locale": "fa",
                "created_at": old,
                "last_sign_in_at": old,
            }
        ],
        "sessions": [
            {"id": 1, "digest": b"s" * 32, "user_id": 1, "created_at": old, "expires_at": now}
        ],
        "sign_in_failures": [{"id": 1, "email": "x@shop.test", "ip": "127.0.0.1", "at": old}],
        "invitations": [
            {
                "id": 1,
                "digest": b"i" * 32,
                "email": "new@shop.test",
                "role": "user",
                "account_id": 1,
                "created_by": 1,
                "created_at": old,
                "expires_at": now,
                "used_at": None,
            }
        ],
        "audit_log": [
            {
                "id": 1,
                "actor_id": 1,
                "actor": "ops@shop.test",
                "action": "account.create",
                "target": "account:1",
                "detail": "shop",
                "ip": "127.0.0.1",
                "created_at": old,
            }
        ],
        "account_webhooks": [
            {
                "account_id": 1,
                "url": "http://127.0.0.1:9/hook",
                "secret": "whsec_x",
                "updated_at": old,
            }
        ],
        "relay_urls": [
            {
                "id": 1,
                "account_id": 1,
                "url": "http://127.0.0.1:9/relay",
                "active": True,
                "created_at": old,
            }
        ],
        "routes": [
            {
                "id": 1,
                "name": "main",
                "kind": "smpp",
                "url_sealed": _first_release_seal(
                    route_key(runtime.settings), "main", ROUTE, bytes(16)
                ),
                "shown": "smpp://shop:***@127.0.0.1:2775",
                "prefixes": "",
                "accounts": "",
                "priority": 10,
                "created_at": old,
            }
        ],
        "webhook_deliveries": [
            {
                "id": 1,
                "account_id": 1,
                "message_id": 4,
                "url": "http://127.0.0.1:9/hook",
                "status": "delivered",
                "state": "failed",
                "attempts": 8,
                "next_attempt_at": old,
                "lease_until": None,
                "last_status_code": 500,
                "last_error": "HTTP 500",
                "created_at": old,
                "done_at": old,
            }
        ],
    }


async def _dump(conn: AsyncConnection, tables: dict[str, Table]) -> dict[str, list[Any]]:
    """Every row of `tables`, in their first-release columns, ordered by primary key."""
    dumped = {}
    for name, table in tables.items():
        if name == "alembic_version":
            continue
        columns = [c for c in table.c if not (name == "routes" and c.name == "url_sealed")]
        order = list(table.primary_key.columns)
        rows = await conn.execute(select(*columns).order_by(*order))
        dumped[name] = [tuple(row) for row in rows]
    return dumped


# Tables a later revision drops on purpose: 0050 replaces the failed sign-ins, short-lived
# counts that are not carried over, with per-key sign-in limits.
DROPPED = frozenset({"sign_in_failures"})


async def test_the_previous_releases_database_upgrades_with_its_data(database_url: str) -> None:
    """Every table's rows read the same after `migrate`; then a send, and old and new verifies."""
    runtime = build_runtime(make_settings(database_url), dispatch=False)
    now = datetime.now(UTC)
    await upgrade(runtime.engines, "0001")
    async with runtime.engines.write.begin() as conn:
        tables = await _tables(conn)
        rows = _rows(runtime, now)
        assert set(rows) == set(tables) - {"alembic_version"}, "a table of 0001 has no rows here"
        for name in tables:
            if rows.get(name):
                await conn.execute(insert(tables[name]), rows[name])
        if runtime.engines.dialect == "postgresql":  # ids given above: the sequences move on
            for name, table in tables.items():
                if "id" in table.c and isinstance(rows.get(name, [{}])[0].get("id"), int):
                    await conn.execute(
                        select(
                            func.setval(
                                func.pg_get_serial_sequence(name, "id"),
                                select(func.max(table.c.id)).scalar_subquery(),
                            )
                        )
                    )
    async with runtime.engines.read.connect() as conn:
        before = await _dump(conn, tables)
    assert await schema_state(runtime.engines) is SchemaState.BEHIND

    await runtime.migrate()

    assert await schema_state(runtime.engines) is SchemaState.CURRENT
    kept = {name: table for name, table in tables.items() if name not in DROPPED}
    async with runtime.engines.read.connect() as conn:
        assert await _dump(conn, kept) == {k: v for k, v in before.items() if k not in DROPPED}
        names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        assert not names & DROPPED
    assert [route.url for route in await runtime.route_book.load()] == [ROUTE]
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=build_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            auth = {"Authorization": TOKEN}
            waiting = await http.post(
                "/rest/VerifyQuickOTP", headers=auth, data={"Mobile": WAITING, "Code": CODE}
            )
            sent = await http.post(
                "/rest/SendQuickOTP",
                headers=auth,
                data={"Mobile": "09125550000", "CodeLength": "6", "OptionalCode": ""},
            )
            code = sent.json()["Data"]["Code"]
            checked = await http.post(
                "/rest/VerifyQuickOTP", headers=auth, data={"Mobile": "09125550000", "Code": code}
            )
    finally:
        await runtime.aclose()

    assert waiting.json()["Status"] == "Success"
    assert sent.json()["Status"] == "Success"
    assert sent.json()["Data"]["MessageID"] == len(MessageStatus) + 2
    assert checked.json()["Status"] == "Success"
