"""
The message log's pages read a range of one index in (created_at, id) order on SQLite, with
no sort and no scan of the table, for every filter: a page then costs the same at a
thousand messages or millions. The planner has no statistics here (the gateway runs no
ANALYZE), so it picks from the statement alone, as it would in production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Select
from sqlalchemy.dialects import sqlite

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.message_log import page_statement
from quickotp.adapters.store.migrate import upgrade
from quickotp.domain.models import LogCursor, MessageQuery, MessageStatus, VerificationStatus

pytestmark = pytest.mark.anyio

AT = datetime(2026, 3, 1, tzinfo=UTC)
CURSOR = LogCursor(AT, 1000)


async def _plan(tmp_path: Path, statement: Select[tuple[object, ...]]) -> str:
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    engines = create_engines(f"sqlite:///{tmp_path / 'plans.db'}")
    try:
        await upgrade(engines)
        async with engines.read.connect() as conn:
            raw = await conn.get_raw_connection()
            rows = await raw.driver_connection.execute_fetchall(  # type: ignore[union-attr]
                f"EXPLAIN QUERY PLAN {compiled}"
            )
    finally:
        await engines.dispose()
    return "\n".join(str(row[3]) for row in rows)


@pytest.mark.parametrize(
    ("account_id", "query", "index"),
    [
        (1, MessageQuery(), "ix_messages_account_created (account_id=?)"),
        (
            1,
            MessageQuery(before=CURSOR),
            "ix_messages_account_created (account_id=? AND created_at<?)",
        ),
        (
            1,
            MessageQuery(since=AT, until=AT, before=CURSOR),
            "ix_messages_account_created (account_id=? AND created_at>? AND created_at<?)",
        ),
        (
            1,
            MessageQuery(status=MessageStatus.FAILED, before=CURSOR),
            "ix_messages_account_status (account_id=? AND status=? AND created_at<?)",
        ),
        (
            1,
            MessageQuery(token_id=3, before=CURSOR),
            "ix_messages_token (token_id=? AND created_at<?)",
        ),
        (1, MessageQuery(mobile="989120000000"), "ix_messages_mobile (mobile=?)"),
        (
            1,
            MessageQuery(verification=VerificationStatus.EXPIRED),
            "ix_messages_account_created (account_id=?)",
        ),
        (None, MessageQuery(), "ix_messages_created"),
        (None, MessageQuery(before=CURSOR), "ix_messages_created (created_at<?)"),
        (
            None,
            MessageQuery(status=MessageStatus.FAILED, before=CURSOR),
            "ix_messages_status_created (status=? AND created_at<?)",
        ),
        (None, MessageQuery(mobile="989120000000"), "ix_messages_mobile (mobile=?)"),
        (
            None,
            MessageQuery(since=AT, until=AT),
            "ix_messages_created (created_at>? AND created_at<?)",
        ),
    ],
)
async def test_a_page_is_a_range_of_its_filter_s_index(
    tmp_path: Path, account_id: int | None, query: MessageQuery, index: str
) -> None:
    plan = await _plan(tmp_path, page_statement(account_id, query))

    assert index in plan
    assert "TEMP B-TREE" not in plan  # no sort: the index gives the order
    assert "SCAN messages\n" not in plan + "\n"  # never the table itself


async def test_a_part_of_a_number_reads_a_window_of_the_account_s_newest(tmp_path: Path) -> None:
    """Inside numbers no index helps: the search reads the newest `window` messages, no more."""
    query = MessageQuery(mobile_digits="1234", window=20_000)

    plan = await _plan(tmp_path, page_statement(1, query))

    assert "ix_messages_account_created (account_id=?)" in plan
    assert "LIMIT 20000" in str(
        page_statement(1, query).compile(compile_kwargs={"literal_binds": True})
    )


async def test_a_message_id_is_read_by_its_key(tmp_path: Path) -> None:
    plan = await _plan(tmp_path, page_statement(None, MessageQuery(message_id=42)))

    assert "INTEGER PRIMARY KEY (rowid=?)" in plan
