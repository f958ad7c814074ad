"""
Verifications in SQL, as code checks read and move them: approval and each wrong attempt
are one conditional UPDATE on a pending, unexpired row with attempts left, so concurrent
checks cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import verification_from
from quickotp.adapters.store.schema import verifications
from quickotp.domain.models import Verification, VerificationStatus


class VerificationSql:
    """The verifications part of SqlStore (sql.py)."""

    engines: Engines

    async def get_verification(self, account_id: int, verification_id: str) -> Verification | None:
        """The account's verification with this id; another account's is simply absent."""
        query = select(verifications).where(
            verifications.c.id == verification_id, verifications.c.account_id == account_id
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else verification_from(row)

    async def latest_verification(self, account_id: int, mobile: str) -> Verification | None:
        """The account's newest verification for `mobile` (E.164 digits), if any."""
        query = (
            select(verifications)
            .where(verifications.c.account_id == account_id, verifications.c.mobile == mobile)
            .order_by(verifications.c.created_at.desc(), verifications.c.message_id.desc())
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else verification_from(row)

    async def approve_verification(self, verification_id: str, now: datetime) -> bool:
        """
        Pending, unexpired and with attempts left -> approved, in one conditional UPDATE:
        of any number of concurrent calls, at most one returns True.
        """
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(verifications)
                .where(verifications.c.id == verification_id, *_checkable(now))
                .values(status=VerificationStatus.APPROVED, code_sealed=None, updated_at=now)
            )
        return done.rowcount == 1

    async def spend_attempt(self, verification_id: str, now: datetime) -> int | None:
        """
        Count one wrong code against a checkable verification, in one conditional UPDATE:
        the attempts left after it (at 0 it becomes max_attempts_reached), or None when
        the verification was not checkable.
        """
        async with self.engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(verifications)
                    .where(verifications.c.id == verification_id, *_checkable(now))
                    .values(
                        attempts_left=verifications.c.attempts_left - 1,
                        status=case(
                            (
                                verifications.c.attempts_left <= 1,
                                VerificationStatus.MAX_ATTEMPTS_REACHED.value,
                            ),
                            else_=VerificationStatus.PENDING.value,
                        ),
                        code_sealed=case(
                            (verifications.c.attempts_left <= 1, None),
                            else_=verifications.c.code_sealed,
                        ),
                        updated_at=now,
                    )
                    .returning(verifications.c.attempts_left)
                )
            ).first()
        return None if row is None else int(row.attempts_left)

    async def close_verification(
        self, verification_id: str, status: VerificationStatus, now: datetime
    ) -> bool:
        """A pending verification -> `status` (canceled, expired); False if it was not pending."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(verifications)
                .where(
                    verifications.c.id == verification_id,
                    verifications.c.status == VerificationStatus.PENDING,
                )
                .values(status=status, code_sealed=None, updated_at=now)
            )
        return done.rowcount == 1


def _checkable(now: datetime) -> tuple[Any, ...]:
    return (
        verifications.c.status == VerificationStatus.PENDING,
        verifications.c.attempts_left > 0,
        verifications.c.expires_at > now,
    )
