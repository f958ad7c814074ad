"""
The delivery path's lookups and the reports' window reads stay on their indexes on SQLite
(the embedded default), whose planner picks a plan from the statement alone until statistics
exist: a statement that wandered onto the wrong index read every message, and grew slower
as the table grew.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select
from sqlalchemy.dialects import sqlite

from quickotp.adapters.store.outbox import CLAIM_DUE, NEXT_DUE, PARKED_REPORTS, REPORTED_MESSAGES
from quickotp.adapters.store.raw import marks
from quickotp.adapters.store.reports import day_counts_query, window_query
from quickotp.adapters.store.retention import (
    DELETE_DELIVERIES,
    DELETE_MESSAGES,
    DELETE_VERIFICATIONS,
)
from quickotp.adapters.store.webhooks import CLAIM, OWED
from tests.adapters.store.plans import sqlite_plan

pytestmark = pytest.mark.anyio


async def _statement_plan(tmp_path: Path, statement: Select[Any]) -> str:
    """`sqlite_plan` of a SQLAlchemy statement, compiled for SQLite."""
    query = statement.compile(dialect=sqlite.dialect())
    return await sqlite_plan(tmp_path, str(query), len(query.positiontup or ()))


async def test_reports_find_their_messages_by_transport_and_provider_id(tmp_path: Path) -> None:
    plan = await sqlite_plan(tmp_path, REPORTED_MESSAGES.format(ids=f"IN ({marks(30)})"), 31)
    assert "ix_messages_provider (transport=? AND provider_message_id=?)" in plan
    assert "SCAN" not in plan


async def test_parked_reports_are_found_by_transport_and_provider_id(tmp_path: Path) -> None:
    plan = await sqlite_plan(tmp_path, PARKED_REPORTS.format(ids=f"IN ({marks(30)})"), 31)
    assert "ix_orphan_reports_provider (transport=? AND provider_message_id=?)" in plan
    assert "SCAN orphan_reports" not in plan


async def test_owed_webhooks_read_the_batch_by_id_not_every_delivered_message(
    tmp_path: Path,
) -> None:
    plan = await sqlite_plan(tmp_path, OWED.format(now="?", ids=f"IN ({marks(30)})"), 32)
    assert "SEARCH messages USING INTEGER PRIMARY KEY" in plan
    assert "ix_messages_due" not in plan
    assert "SCAN messages" not in plan


async def test_a_webhook_claim_reads_only_the_batch_from_the_due_index(tmp_path: Path) -> None:
    """Not every due delivery, collected and sorted: the claim stays cheap behind a backlog."""
    plan = await sqlite_plan(tmp_path, CLAIM.format(lock=""), 6)
    assert "ix_webhook_deliveries_due (state=? AND next_attempt_at<?)" in plan
    assert "TEMP B-TREE" not in plan
    assert "SCAN webhook_deliveries" not in plan


async def test_statistics_reads_one_accounts_window_from_its_index(tmp_path: Path) -> None:
    """Statistics walks the account's messages of the window only, not the account's all."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    query = day_counts_query(
        7, start, start + timedelta(days=32), timedelta(hours=3, minutes=30), postgres=False
    )
    plan = await _statement_plan(tmp_path, query)
    assert "ix_messages_account_created (account_id=? AND created_at>? AND created_at<?)" in plan
    assert "SCAN messages" not in plan


async def test_a_page_of_messages_is_read_in_index_order(tmp_path: Path) -> None:
    """GetMessages reads its page off the index in order: no sort of the whole window."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    query = window_query(7, start, start + timedelta(days=365), 100, 1000)
    plan = await _statement_plan(tmp_path, query)
    assert "ix_messages_account_created (account_id=? AND created_at>? AND created_at<?)" in plan
    assert "TEMP B-TREE" not in plan
    assert "SCAN messages" not in plan


async def test_a_claim_reads_due_messages_from_the_due_index(tmp_path: Path) -> None:
    """Scheduled messages wait in ix_messages_due under their send time: a claim skips them."""
    plan = await sqlite_plan(tmp_path, CLAIM_DUE.format(lock=""), 8)
    assert "ix_messages_due (status=? AND next_attempt_at<?)" in plan
    assert "SCAN messages" not in plan


async def test_the_next_due_time_is_one_step_down_the_due_index(tmp_path: Path) -> None:
    """The idle dispatcher's look at the next scheduled time reads no table."""
    plan = await sqlite_plan(tmp_path, str(NEXT_DUE.compile(dialect=sqlite.dialect())), 1)
    assert "COVERING INDEX ix_messages_due (status=?)" in plan


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        (DELETE_MESSAGES, "messages USING INTEGER PRIMARY KEY (rowid=?)"),
        (DELETE_VERIFICATIONS, "verifications USING INDEX sqlite_autoindex_verifications_2"),
        (
            DELETE_DELIVERIES,
            "webhook_deliveries USING COVERING INDEX ix_webhook_deliveries_message",
        ),
    ],
)
async def test_a_prune_batch_deletes_by_id_not_by_status(
    tmp_path: Path, sql: str, index: str
) -> None:
    """Each DELETE of a prune batch finds its rows by id, never through every row of a status."""
    statement = sql.format(status="+status", ids=marks(30))
    plan = await sqlite_plan(tmp_path, statement, statement.count("?"))
    assert f"SEARCH {index}" in plan.splitlines()[0]
    assert "ix_messages_due" not in plan
    assert "SCAN" not in plan
