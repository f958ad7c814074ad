"""
Patterns in SQL: an account's submissions (at most so many pending at once), the
operator's decisions, and the OTP pattern a send uses (the account's choice, or its newest
approved OTP pattern).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.accounts import account_row, require_account
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import pattern_from
from quickotp.adapters.store.schema import accounts, patterns
from quickotp.domain.errors import (
    NotFound,
    PatternLimitReached,
    PatternNotApproved,
    PatternUnavailable,
)
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
                await require_account(conn, account_id, lock=True)
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
        """
        The approved OTP pattern the account's codes go out with: the one it chose
        (accounts.otp_pattern_id) while that is still an approved OTP pattern of its own,
        else its newest approved OTP pattern; None when it has none.
        """
        chosen = select(accounts.c.otp_pattern_id).where(accounts.c.id == account_id)
        query = (
            select(patterns)
            .where(
                patterns.c.account_id == account_id,
                patterns.c.is_otp.is_(True),
                patterns.c.state == PatternState.APPROVED,
            )
            .order_by(
                case((patterns.c.id == chosen.scalar_subquery(), 0), else_=1),
                patterns.c.decided_at.desc(),
                patterns.c.id.desc(),
            )
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else pattern_from(row)

    async def chosen_otp_pattern(self, account_id: int) -> int | None:
        """The id of the OTP pattern the account chose (None: it chose none)."""
        query = select(accounts.c.otp_pattern_id).where(accounts.c.id == account_id)
        async with self.engines.read.connect() as conn:
            found = (await conn.execute(query)).first()
        if found is None:
            raise NotFound(f"no account {account_id}")
        return None if found.otp_pattern_id is None else int(found.otp_pattern_id)

    async def choose_otp_pattern(self, account_id: int, pattern_id: int) -> Pattern:
        """
        Send the account's codes with its pattern `pattern_id`: NotFound unless it is the
        account's, PatternNotApproved unless approved, PatternUnavailable unless an OTP pattern.
        """
        async with self.engines.write.begin() as conn:
            pattern = await pattern_row(conn, pattern_id)
            if pattern.account_id != account_id:
                raise NotFound(f"no pattern {pattern_id} of account {account_id}")
            if pattern.state is not PatternState.APPROVED:
                raise PatternNotApproved(f"pattern {pattern_id} is {pattern.state}, not approved")
            if not pattern.is_otp:
                raise PatternUnavailable(f"pattern {pattern_id} is not an OTP pattern")
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(otp_pattern_id=pattern_id)
            )
            return pattern


async def pattern_row(conn: AsyncConnection, pattern_id: int) -> Pattern:
    """The pattern `pattern_id` as `conn` reads it; NotFound when there is none."""
    row = (await conn.execute(select(patterns).where(patterns.c.id == pattern_id))).first()
    if row is None:
        raise NotFound(f"no pattern {pattern_id}")
    return pattern_from(row)
