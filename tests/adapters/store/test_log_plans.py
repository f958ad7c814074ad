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
from sqlalchemy.dialects import postgresql, sqlite

from quickotp.adapters.store.message_log import count_statement, page_statement
from quickotp.domain.models import LogCursor, MessageQuery, MessageStatus, VerificationStatus
from tests.adapters.store.plans import sqlite_plan

pytestmark = pytest.mark.anyio

AT = datetime(2026, 3, 1, tzinfo=UTC)
CURSOR = LogCursor(AT, 1000)


async def _plan(tmp_path: Path, statement: Select[tuple[object, ...]]) -> str:
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    return await sqlite_plan(tmp_path, str(compiled))


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


@pytest.mark.parametrize("account_id", [1, None])
async def test_a_rare_part_of_a_number_reads_the_messages_its_trigrams_give(
    tmp_path: Path, account_id: int | None
) -> None:
    """
    By id, from the trigram index's matches and past the index's end, then sorted: never a
    walk of an index.
    """
    query = MessageQuery(mobile_digits="1234", before=CURSOR)

    plan = await _plan(tmp_path, page_statement(account_id, query, part_by="ids"))

    assert "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" in plan
    assert "SEARCH messages USING INTEGER PRIMARY KEY (rowid>?)" in plan
    assert "SCAN messages_mobile VIRTUAL TABLE" in plan
    assert "ix_messages_" not in plan


async def test_a_common_part_of_a_number_walks_the_filter_s_index(tmp_path: Path) -> None:
    plan = await _plan(tmp_path, page_statement(1, MessageQuery(mobile_digits="912")))

    assert "ix_messages_account_created (account_id=?)" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize(
    ("query", "lookup"),
    [
        (
            MessageQuery(mobile_digits="912"),
            "SEARCH messages USING COVERING INDEX ix_messages_account (account_id=? AND id=?",
        ),
        (
            MessageQuery(mobile_digits="912", since=AT),
            "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)",
        ),
    ],
)
async def test_a_part_s_count_reads_the_trigram_matches_each_by_its_message(
    tmp_path: Path, query: MessageQuery, lookup: str
) -> None:
    """
    The matches in the index's order, each message looked up until the cap: in the narrow
    index of the account's ids when no other filter needs the message's row; then the
    messages past the index's end, by id whatever the filters.
    """
    statement = count_statement(1, query, cap=100, part_by="matches")

    plan = await _plan(tmp_path, statement)

    assert "SCAN messages_mobile VIRTUAL TABLE" in plan
    assert lookup in plan
    assert "SEARCH messages USING INTEGER PRIMARY KEY (rowid>?)" in plan


async def test_a_message_id_is_read_by_its_key(tmp_path: Path) -> None:
    plan = await _plan(tmp_path, page_statement(None, MessageQuery(message_id=42)))

    assert "INTEGER PRIMARY KEY (rowid=?)" in plan


def test_a_part_and_a_limit_are_written_into_the_statement_postgresql_plans() -> None:
    """
    Not bound: PostgreSQL keeps a generic plan for a prepared statement after a few runs,
    and one kept for a common part (or for any LIMIT) walks the whole account for a rare one.
    """
    query = MessageQuery(mobile_digits="1234")
    page = page_statement(1, query)
    count = count_statement(1, query, cap=10_000)

    dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    for statement, limit in ((page, "LIMIT 51"), (count, "LIMIT 10001")):
        sql = str(statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
        assert "LIKE '%1234%'" in sql
        assert limit in sql
