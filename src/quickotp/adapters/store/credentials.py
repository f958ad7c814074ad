"""
How people prove who they are, in SQL: sign-in history and password reset links. Each
method is one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.schema import password_resets, sessions, sign_in_history, users
from quickotp.domain.credentials import SignInEvent, SignInOutcome
from quickotp.domain.errors import NotFound, ResetLinkInvalid


class CredentialSqlStore:
    """Sign-in history and reset links in the gateway's database."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    # sign-in history --------------------------------------------------------------------

    async def record_sign_in(
        self,
        user_id: int,
        *,
        at: datetime,
        address: str | None,
        user_agent: str,
        outcome: SignInOutcome,
        keep: int,
        since: datetime,
    ) -> None:
        history = sign_in_history
        # The id of the newest attempt past the `keep` newest: it and older ones go.
        cutoff = (
            select(history.c.id)
            .where(history.c.user_id == user_id)
            .order_by(history.c.id.desc())
            .offset(keep)
            .limit(1)
            .scalar_subquery()
        )
        async with self.engines.write.begin() as conn:
            await conn.execute(
                insert(history).values(
                    user_id=user_id,
                    at=at,
                    address=address[:45] if address else None,
                    user_agent=user_agent,
                    outcome=outcome,
                )
            )
            await conn.execute(
                delete(history).where(
                    history.c.user_id == user_id,
                    or_(history.c.at < since, history.c.id <= cutoff),
                )
            )

    async def sign_ins(self, user_id: int, *, limit: int) -> list[SignInEvent]:
        query = (
            select(sign_in_history)
            .where(sign_in_history.c.user_id == user_id)
            .order_by(sign_in_history.c.id.desc())
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [
                SignInEvent(row.at, row.address, row.user_agent, SignInOutcome(row.outcome))
                for row in await conn.execute(query)
            ]

    # password reset links ---------------------------------------------------------------

    async def create_reset(
        self,
        *,
        digest: bytes,
        user_id: int,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
        unusable_hash: str,
    ) -> None:
        async with self.engines.write.begin() as conn:
            changed = await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=unusable_hash)
            )
            if changed.rowcount != 1:
                raise NotFound(f"no user {user_id}")
            await conn.execute(
                update(password_resets)
                .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
                .values(used_at=now)
            )
            await conn.execute(
                insert(password_resets).values(
                    digest=digest,
                    user_id=user_id,
                    created_by=created_by,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    async def reset_user(self, digest: bytes, now: datetime) -> int | None:
        query = select(password_resets.c.user_id).where(
            password_resets.c.digest == digest,
            password_resets.c.used_at.is_(None),
            password_resets.c.expires_at > now,
        )
        async with self.engines.read.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else int(found)

    async def use_reset(self, digest: bytes, *, password_hash: str, now: datetime) -> int:
        async with self.engines.write.begin() as conn:
            user_id = await conn.scalar(
                update(password_resets)
                .where(
                    password_resets.c.digest == digest,
                    password_resets.c.used_at.is_(None),
                    password_resets.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(password_resets.c.user_id)
            )
            if user_id is None:
                raise ResetLinkInvalid("this reset link is unknown, used or expired")
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return int(user_id)
