"""
An account's sender lines and its free-text permission, in SQL.

The default line is `accounts.sender` (the one `accounts create --sender` gives); further
lines are rows of `account_lines`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.accounts import update_account
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.schema import account_lines, accounts
from quickotp.domain.errors import Conflict, InvalidInput, NotFound, Subject
from quickotp.domain.models import Account

MAX_LINES = 50  # lines an account may have besides its default one


class SqlLines:
    """The LineStore port on SQLite or PostgreSQL."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    async def lines(self, account_id: int) -> list[str]:
        """The account's lines, its default first; NotFound for no such account."""
        async with self.engines.read.connect() as conn:
            return await self._lines(conn, account_id)

    async def add_line(self, account_id: int, line: str, now: datetime) -> list[str]:
        """Add `line`; Conflict when the account has it already or has MAX_LINES more."""
        async with self.engines.write.begin() as conn:
            found = await self._lines(conn, account_id)
            if line in found:
                raise Conflict(
                    f"account {account_id} has the line {line} already", subject=Subject.LINE_TAKEN
                )
            if len(found) > MAX_LINES:
                raise Conflict(
                    f"an account has at most {MAX_LINES} lines besides its default",
                    subject=Subject.LINES_FULL,
                    most=MAX_LINES,
                )
            await conn.execute(
                insert(account_lines).values(account_id=account_id, line=line, created_at=now)
            )
            return [*found, line]

    async def remove_line(self, account_id: int, line: str) -> list[str]:
        """Remove `line`: NotFound when the account lacks it, InvalidInput for its default line."""
        async with self.engines.write.begin() as conn:
            found = await self._lines(conn, account_id)
            if found[0] == line:
                raise InvalidInput(
                    f"{line} is the account's default line: it stays", subject=Subject.LINE_DEFAULT
                )
            done = await conn.execute(
                delete(account_lines).where(
                    account_lines.c.account_id == account_id, account_lines.c.line == line
                )
            )
            if not done.rowcount:
                raise NotFound(f"account {account_id} has no line {line}")
            return [other for other in found if other != line]

    async def set_free_text(self, account_id: int, allowed: bool) -> Account:
        async with self.engines.write.begin() as conn:
            return await update_account(conn, account_id, free_text=allowed)

    async def _lines(self, conn: AsyncConnection, account_id: int) -> list[str]:
        default = await conn.scalar(select(accounts.c.sender).where(accounts.c.id == account_id))
        if default is None:
            raise NotFound(f"no account {account_id}")
        rows = await conn.execute(
            select(account_lines.c.line)
            .where(account_lines.c.account_id == account_id)
            .order_by(account_lines.c.id)
        )
        return [default, *(line for (line,) in rows if line != default)]
