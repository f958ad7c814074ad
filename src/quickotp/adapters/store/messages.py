"""
Reading messages in SQL: an account's by id or by its request's reference, and the newest
ones (codes masked) for the operator and the panel.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import masked_message, message_from
from quickotp.adapters.store.schema import messages
from quickotp.domain.models import Message


class MessageSql:
    """The message reads of SqlStore (sql.py)."""

    engines: Engines

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]:
        """The account's messages among `ids`; another account's ids are simply absent."""
        query = select(messages).where(
            messages.c.account_id == account_id, messages.c.id.in_(list(ids))
        )
        async with self.engines.read.connect() as conn:
            return {row.id: message_from(row) for row in await conn.execute(query)}

    async def list_messages(self, account_id: int | None, limit: int) -> list[Message]:
        """The newest messages, codes masked (a code not yet handed on is masked here)."""
        query = select(messages).order_by(messages.c.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(messages.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [masked_message(row) for row in await conn.execute(query)]

    async def message_by_ref(self, account_id: int, ref: str) -> Message | None:
        """The account's message stored for the request `ref` (see NewMessage.ref)."""
        query = select(messages).where(messages.c.account_id == account_id, messages.c.ref == ref)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query.limit(1))).first()
        return None if row is None else message_from(row)
