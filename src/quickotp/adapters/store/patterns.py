"""
Patterns in SQL: an account's submissions (at most so many pending at once), the
operator's decisions, and the newest approved OTP pattern a send uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.accounts import account_row
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import pattern_from
from quickotp.adapters.store.schema import accounts, patterns
from quickotp.domain.errors import NotFound, PatternLimitReached
from quickotp.domain.models import Pattern, PatternState


class PatternSql:
    """The patterns part of SqlStore (sql.py)."""

    engines: Engines

    async def create_pattern(
        self,
        *,
        account_id: int,
        text: str,
        is_otp: bool,
        number_patterns: Sequence[str],
        description: str,
        now: datetime,
        max_pending: int | None = None,
    ) -> Pattern:
        async with self.engines.write.begin() as conn:
            if max_pending is None:
                await account_row(conn, account_id)
            else:
                # The account's row locked (SQLite: the writer holds every row), so two
                # submissions at once cannot both pass a count taken before either wrote.
                locked = select(accounts.c.id).where(accounts.c.id == account_id)
                if await conn.scalar(locked.with_for_update()) is None:
                    raise NotFound(f"no account {account_id}")
                pending = await conn.scalar(
                    select(func.count())
                    .select_from(patterns)
                    .where(
                        patterns.c.account_id == account_id,
                        patterns.c.state == PatternState.PENDING,
                    )
                )
                if (pending or 0) >= max_pending:
                    raise PatternLimitReached(
                        f"{pending} patterns of this account await approval: at most {max_pending}"
                    )
            new_id = await conn.scalar(
                insert(patterns)
                .values(
                    account_id=account_id,
                    text=text,
                    is_otp=is_otp,
                    number_patterns=" ".join(number_patterns),
                    state=PatternState.PENDING,
                    reason="",
                    description=description,
                    created_at=now,
                )
                .returning(patterns.c.id)
            )
            return await pattern_row(conn, int(new_id))

    async def get_pattern(self, pattern_id: int) -> Pattern:
        async with self.engines.read.connect() as conn:
            return await pattern_row(conn, pattern_id)

    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]:
        query = select(patterns).order_by(patterns.c.id)
        if account_id is not None:
            query = query.where(patterns.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [pattern_from(row) for row in await conn.execute(query)]

    async def pattern_text_taken(self, account_id: int, text: str) -> bool:
        query = select(patterns.c.id).where(
            patterns.c.account_id == account_id, patterns.c.text == text
        )
        async with self.engines.read.connect() as conn:
            return (await conn.scalar(query)) is not None

    async def decide_pattern(
        self, pattern_id: int, state: PatternState, reason: str, now: datetime
    ) -> Pattern:
        async with self.engines.write.begin() as conn:
            await pattern_row(conn, pattern_id)
            await conn.execute(
                update(patterns)
                .where(patterns.c.id == pattern_id)
                .values(state=state, reason=reason, decided_at=now)
            )
            return await pattern_row(conn, pattern_id)

    async def otp_pattern(self, account_id: int) -> Pattern | None:
        """The account's newest approved OTP pattern, if it has one."""
        query = (
            select(patterns)
            .where(
                patterns.c.account_id == account_id,
                patterns.c.is_otp.is_(True),
                patterns.c.state == PatternState.APPROVED,
            )
            .order_by(patterns.c.decided_at.desc(), patterns.c.id.desc())
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else pattern_from(row)


async def pattern_row(conn: AsyncConnection, pattern_id: int) -> Pattern:
    """The pattern `pattern_id` as `conn` reads it; NotFound when there is none."""
    row = (await conn.execute(select(patterns).where(patterns.c.id == pattern_id))).first()
    if row is None:
        raise NotFound(f"no pattern {pattern_id}")
    return pattern_from(row)
