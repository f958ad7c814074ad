"""
The delivery path's lookups stay on their indexes on SQLite (the embedded default), whose
planner picks a plan from the statement alone until statistics exist: a statement that
wandered onto the wrong index read every message, and grew slower as the table grew.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from quickotp.adapters.store.engine import create_engines
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.raw import marks
from quickotp.adapters.store.retention import (
    DELETE_DELIVERIES,
    DELETE_MESSAGES,
    DELETE_VERIFICATIONS,
)
from quickotp.adapters.store.sql import PARKED_REPORTS, REPORTED_MESSAGES
from quickotp.adapters.store.webhooks import OWED, claim_ids

pytestmark = pytest.mark.anyio


async def _plan(tmp_path: Path, sql: str, count: int) -> str:
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


async def test_reports_find_their_messages_by_transport_and_provider_id(tmp_path: Path) -> None:
    plan = await _plan(tmp_path, REPORTED_MESSAGES.format(ids=marks(30)), 31)
    assert "ix_messages_provider (transport=? AND provider_message_id=?)" in plan
    assert "SCAN" not in plan


async def test_parked_reports_are_found_by_transport_and_provider_id(tmp_path: Path) -> None:
    plan = await _plan(tmp_path, PARKED_REPORTS.format(ids=marks(30)), 31)
    assert "ix_orphan_reports_provider (transport=? AND provider_message_id=?)" in plan
    assert "SCAN orphan_reports" not in plan


async def test_owed_webhooks_read_the_batch_by_id_not_every_delivered_message(
    tmp_path: Path,
) -> None:
    plan = await _plan(tmp_path, OWED.format(now="?", ids=marks(30)), 32)
    assert "SEARCH messages USING INTEGER PRIMARY KEY" in plan
    assert "ix_messages_due" not in plan
    assert "SCAN messages" not in plan


async def test_a_webhook_claim_reads_only_the_batch_from_the_due_index(tmp_path: Path) -> None:
    """Not every due delivery, collected and sorted: the claim stays cheap behind a backlog."""
    claim = select(claim_ids(datetime.now(UTC), 50, postgres=False)).compile(
        dialect=sqlite.dialect()
    )
    plan = await _plan(tmp_path, str(claim), len(claim.positiontup or ()))
    assert "ix_webhook_deliveries_due (state=? AND next_attempt_at<?)" in plan
    assert "TEMP B-TREE" not in plan
    assert "SCAN webhook_deliveries" not in plan


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
    plan = await _plan(tmp_path, statement, statement.count("?"))
    assert f"SEARCH {index}" in plan.splitlines()[0]
    assert "ix_messages_due" not in plan
    assert "SCAN" not in plan
