"""
Accounts in SQL: opening them, their credit and its changes, switching them on and off,
and their own settings (the fraud guard's per-account policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import account_from
from quickotp.adapters.store.schema import account_settings, accounts, credit_changes
from quickotp.domain.errors import AmountInvalid, Conflict, CreditOverdrawn, NotFound, Subject
from quickotp.domain.models import Account, CreditChange


class AccountSql:
    """The accounts part of SqlStore (sql.py)."""

    engines: Engines

    async def create_account(
        self, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
    ) -> Account:
        async with self.engines.write.begin() as conn:
            new_id = await insert_account(
                conn, name=name, credit=credit, unlimited=unlimited, sender=sender, now=now
            )
            if credit:
                await conn.execute(
                    insert(credit_changes).values(
                        account_id=new_id, amount=credit, reason="opening credit", created_at=now
                    )
                )
            return await account_row(conn, new_id)

    async def get_account(self, account_id: int) -> Account:
        async with self.engines.read.connect() as conn:
            return await account_row(conn, account_id)

    async def list_accounts(self) -> list[Account]:
        async with self.engines.read.connect() as conn:
            rows = await conn.execute(select(accounts).order_by(accounts.c.id))
            return [account_from(row) for row in rows]

    async def lowest_credits(self, limit: int) -> list[Account]:
        """The `limit` active, limited accounts with the least credit, least first."""
        query = (
            select(accounts)
            .where(accounts.c.active, ~accounts.c.unlimited)
            .order_by(accounts.c.credit, accounts.c.id)
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [account_from(row) for row in await conn.execute(query)]

    async def add_credit(
        self, account_id: int, amount: int, reason: str, now: datetime, *, ceiling: int
    ) -> tuple[Account, CreditChange]:
        """
        Add `amount`, and the line it writes to the ledger; nothing is stored when the
        credit would pass `ceiling` (AmountInvalid) or, taking credit, go below zero by more
        than the account's overdraft (CreditOverdrawn).
        """
        a = accounts.c
        bound = a.credit + amount <= ceiling if amount > 0 else a.credit + amount >= -a.overdraft
        async with self.engines.write.begin() as conn:
            await account_row(conn, account_id)
            done = await conn.execute(
                update(accounts).where(a.id == account_id, bound).values(credit=a.credit + amount)
            )
            if done.rowcount != 1:  # one statement: two changes at once cannot both pass it
                if amount > 0:
                    raise AmountInvalid(f"a credit is at most {ceiling:,} rial")
                raise CreditOverdrawn("the credit would go below zero past the overdraft")
            written = await conn.execute(
                insert(credit_changes)
                .values(account_id=account_id, amount=amount, reason=reason, created_at=now)
                .returning(credit_changes.c.id)
            )
            change = CreditChange(amount, reason, now, id=written.scalar_one())
            return await account_row(conn, account_id), change

    async def set_overdraft(self, account_id: int, overdraft: int) -> Account:
        async with self.engines.write.begin() as conn:
            return await update_account(conn, account_id, overdraft=overdraft)

    async def set_account_active(self, account_id: int, active: bool) -> Account:
        async with self.engines.write.begin() as conn:
            return await update_account(conn, account_id, active=active)

    async def get_account_settings(self, account_id: int) -> dict[str, Any]:
        """The account's own settings (fraud-guard overrides); {} when it has none."""
        query = select(account_settings.c.settings).where(
            account_settings.c.account_id == account_id
        )
        async with self.engines.read.connect() as conn:
            text = await conn.scalar(query)
        if not text:
            return {}
        loaded = orjson.loads(text)
        return loaded if isinstance(loaded, dict) else {}

    async def set_account_settings(
        self, account_id: int, settings: Mapping[str, Any], now: datetime
    ) -> None:
        """Replace the account's own settings."""
        text = orjson.dumps(dict(settings)).decode()
        async with self.engines.write.begin() as conn:
            await account_row(conn, account_id)
            done = await conn.execute(
                update(account_settings)
                .where(account_settings.c.account_id == account_id)
                .values(settings=text, updated_at=now)
            )
            if done.rowcount == 0:
                await conn.execute(
                    insert(account_settings).values(
                        account_id=account_id, settings=text, updated_at=now
                    )
                )


async def account_row(conn: AsyncConnection, account_id: int) -> Account:
    """The account `account_id` as `conn` reads it; NotFound when there is none."""
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    if row is None:
        raise NotFound(f"no account {account_id}")
    return account_from(row)


async def require_account(conn: AsyncConnection, account_id: int, *, lock: bool = False) -> None:
    """
    NotFound unless the account `account_id` is there as `conn` reads it; with `lock`, its
    row stays locked (PostgreSQL) to the end of the transaction.
    """
    query = select(accounts.c.id).where(accounts.c.id == account_id)
    if await conn.scalar(query.with_for_update() if lock else query) is None:
        raise NotFound(f"no account {account_id}")


async def update_account(conn: AsyncConnection, account_id: int, **values: Any) -> Account:
    """Set `values` on the account `account_id` and read it back; NotFound when there is none."""
    done = await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    if done.rowcount == 0:
        raise NotFound(f"no account {account_id}")
    return await account_row(conn, account_id)


async def insert_account(
    conn: AsyncConnection, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
) -> int:
    """A new active account's id; Conflict when the name is taken."""
    taken = await conn.scalar(select(accounts.c.id).where(accounts.c.name == name))
    if taken is not None:
        raise Conflict(
            f"an account named {name!r} exists already", subject=Subject.ACCOUNT_NAME_TAKEN
        )
    new_id = await conn.scalar(
        insert(accounts)
        .values(
            name=name,
            credit=credit,
            unlimited=unlimited,
            sender=sender,
            active=True,
            created_at=now,
        )
        .returning(accounts.c.id)
    )
    return int(new_id)
