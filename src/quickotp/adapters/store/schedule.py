"""
Scheduled sends in SQL: the operator's list of messages waiting for their time, and
canceling one before a dispatcher takes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, write_transaction
from quickotp.adapters.store.rows import message_from
from quickotp.adapters.store.schema import messages
from quickotp.domain.errors import Conflict, NotFound, Subject
from quickotp.domain.models import FailureKind, Message, MessageStatus, VerificationStatus

CANCELED = "canceled by the operator before it was sent"


class SqlSchedule:
    """The ScheduleStore port on SQLite or PostgreSQL."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    async def scheduled(self, account_id: int | None, limit: int) -> list[Message]:
        """
        Scheduled messages no dispatcher has taken yet, soonest first (read along
        ix_messages_due: queued messages are few, those waiting for a retry among them).
        """
        query = (
            select(messages)
            .where(messages.c.status == MessageStatus.QUEUED, messages.c.not_before.is_not(None))
            .order_by(messages.c.next_attempt_at, messages.c.id)
            .limit(limit)
        )
        if account_id is not None:
            query = query.where(messages.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [message_from(row) for row in await conn.execute(query)]

    async def cancel(self, message_id: int, now: datetime) -> Message:
        """
        Cancel a message still queued: it ends failed (its error says canceled, its failure
        kind is canceled), its charge
        returns and its verification, if it has one, is canceled, in one transaction.
        NotFound for no such message; Conflict when a dispatcher has taken it already.
        """

        async def work(tx: Tx) -> tuple[Any, ...] | None:
            lock = " FOR UPDATE" if tx.postgres else ""
            rows = await tx.fetch(
                f"SELECT account_id, charged, status FROM messages WHERE id = ?{lock}", message_id
            )
            if not rows:
                return None
            account_id, charged, status = rows[0]
            if status != MessageStatus.QUEUED.value:
                return (status,)
            await tx.execute(
                "UPDATE messages SET status = ?, error = ?, failure_kind = ?, code = NULL,"
                " charged = 0, lease_until = NULL WHERE id = ? AND status = ?",
                MessageStatus.FAILED.value,
                CANCELED,
                FailureKind.CANCELED.value,
                message_id,
                MessageStatus.QUEUED.value,
            )
            if charged:
                await tx.execute(
                    "UPDATE accounts SET credit = credit + ? WHERE id = ?", charged, account_id
                )
            await tx.execute(
                "UPDATE verifications SET status = ?, code_sealed = NULL, updated_at = ?"
                " WHERE message_id = ? AND status = ?",
                VerificationStatus.CANCELED.value,
                tx.time(now),
                message_id,
                VerificationStatus.PENDING.value,
            )
            return None

        # Through the hot path's writer: on SQLite the claim's UPDATE and this one cannot
        # interleave, and on PostgreSQL the row lock orders them.
        refused = await write_transaction(self.engines, work)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
        if row is None:
            raise NotFound(f"no message {message_id}")
        if refused is not None:
            raise Conflict(
                f"message {message_id} is {refused} already: too late to cancel it",
                subject=Subject.CANCEL_TOO_LATE,
            )
        return message_from(row)
