"""
How people prove who they are, in SQL: sign-in history, password reset links and two-step
sign-in. Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.schema import (
    password_resets,
    recovery_codes,
    sessions,
    sign_in_challenges,
    sign_in_history,
    totp_secrets,
    users,
)
from quickotp.domain.credentials import SignInEvent, SignInOutcome, TotpRecord
from quickotp.domain.errors import Conflict, NotFound, ResetLinkInvalid, Subject


class CredentialSqlStore:
    """Sign-in history, reset links and two-step sign-in in the gateway's database."""

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
            await conn.execute(
                delete(sign_in_challenges).where(sign_in_challenges.c.user_id == user_id)
            )

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

    # two-step sign-in ------------------------------------------------------------------

    async def totp(self, user_id: int) -> TotpRecord | None:
        query = select(totp_secrets).where(totp_secrets.c.user_id == user_id)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else TotpRecord(row.sealed, row.enabled_at, row.last_step)

    async def set_pending_totp(self, user_id: int, sealed: bytes, now: datetime) -> None:
        async with self.engines.write.begin() as conn:
            found = (
                await conn.execute(
                    select(totp_secrets.c.enabled_at).where(totp_secrets.c.user_id == user_id)
                )
            ).first()
            if found is not None and found.enabled_at is not None:
                raise Conflict("two-step sign-in is on already", subject=Subject.TWO_STEP_ON)
            if found is None:
                await conn.execute(
                    insert(totp_secrets).values(user_id=user_id, sealed=sealed, created_at=now)
                )
            else:
                await conn.execute(
                    update(totp_secrets)
                    .where(totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None))
                    .values(sealed=sealed, created_at=now, last_step=None)
                )

    async def enable_totp(
        self, user_id: int, *, step: int, recovery: Sequence[bytes], now: datetime
    ) -> bool:
        async with self.engines.write.begin() as conn:
            changed = await conn.execute(
                update(totp_secrets)
                .where(totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None))
                .values(enabled_at=now, last_step=step)
            )
            if changed.rowcount != 1:
                return False
            await self._replace_codes(conn, user_id, recovery)
            return True

    async def use_totp_step(self, user_id: int, step: int) -> bool:
        async with self.engines.write.begin() as conn:
            changed = await conn.execute(
                update(totp_secrets)
                .where(
                    totp_secrets.c.user_id == user_id,
                    totp_secrets.c.enabled_at.is_not(None),
                    or_(totp_secrets.c.last_step.is_(None), totp_secrets.c.last_step < step),
                )
                .values(last_step=step)
            )
            return changed.rowcount == 1

    async def replace_recovery_codes(self, user_id: int, recovery: Sequence[bytes]) -> None:
        async with self.engines.write.begin() as conn:
            await self._replace_codes(conn, user_id, recovery)

    @staticmethod
    async def _replace_codes(
        conn: AsyncConnection, user_id: int, recovery: Sequence[bytes]
    ) -> None:
        await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if recovery:
            await conn.execute(
                insert(recovery_codes), [{"user_id": user_id, "digest": d} for d in recovery]
            )

    async def use_recovery_code(self, user_id: int, digest: bytes, now: datetime) -> bool:
        async with self.engines.write.begin() as conn:
            changed = await conn.execute(
                update(recovery_codes)
                .where(
                    recovery_codes.c.user_id == user_id,
                    recovery_codes.c.digest == digest,
                    recovery_codes.c.used_at.is_(None),
                )
                .values(used_at=now)
            )
            return changed.rowcount == 1

    async def recovery_codes_left(self, user_id: int) -> int:
        query = select(func.count()).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
        async with self.engines.read.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def remove_totp(self, user_id: int) -> None:
        async with self.engines.write.begin() as conn:
            await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
            await conn.execute(delete(totp_secrets).where(totp_secrets.c.user_id == user_id))

    async def create_challenge(
        self, *, digest: bytes, user_id: int, now: datetime, expires_at: datetime
    ) -> None:
        async with self.engines.write.begin() as conn:
            await conn.execute(
                delete(sign_in_challenges).where(sign_in_challenges.c.expires_at <= now)
            )
            await conn.execute(
                insert(sign_in_challenges).values(
                    digest=digest, user_id=user_id, expires_at=expires_at
                )
            )

    async def challenge_user(self, digest: bytes, now: datetime) -> int | None:
        query = select(sign_in_challenges.c.user_id).where(
            sign_in_challenges.c.digest == digest, sign_in_challenges.c.expires_at > now
        )
        async with self.engines.read.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else int(found)

    async def end_challenge(self, digest: bytes) -> bool:
        async with self.engines.write.begin() as conn:
            ended = await conn.execute(
                delete(sign_in_challenges).where(sign_in_challenges.c.digest == digest)
            )
            return ended.rowcount == 1
