"""Each credit change is kept with its reason: the account's ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quickotp.adapters.store.schema import credit_changes
from quickotp.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def _ledger(runtime: Runtime, account_id: int) -> list[tuple[int, str]]:
    async with runtime.engines.read.connect() as conn:
        rows = await conn.execute(
            select(credit_changes.c.amount, credit_changes.c.reason)
            .where(credit_changes.c.account_id == account_id)
            .order_by(credit_changes.c.id)
        )
        return [(row.amount, row.reason) for row in rows]


async def test_each_change_is_kept_with_its_reason_and_a_blank_one_reads_top_up(
    runtime: Runtime,
) -> None:
    account = await runtime.admin.create_account(name="ledger", credit=1_000, sender="1000")

    await runtime.admin.add_credit(account.id, 5_000, "  invoice 17 ")
    await runtime.admin.add_credit(account.id, 2_000, "   ")
    after, line = await runtime.admin.add_credit(account.id, -500, "refund of a bad batch")

    assert after.credit == 1_000 + 5_000 + 2_000 - 500
    assert (line.amount, line.reason) == (-500, "refund of a bad batch")
    assert await _ledger(runtime, account.id) == [
        (1_000, "opening credit"),
        (5_000, "invoice 17"),
        (2_000, "top-up"),
        (-500, "refund of a bad batch"),
    ]
