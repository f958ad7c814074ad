"""
API tokens in SQL: issuing them (their keyed hash only), finding one with its account, and
switching one on and off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from quickotp.adapters.store.accounts import account_row
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import ACCOUNT_FIELDS, token_from
from quickotp.adapters.store.schema import accounts, tokens
from quickotp.domain.errors import NotFound
from quickotp.domain.models import Account, Token


class TokenSql:
    """The tokens part of SqlStore (sql.py)."""

    engines: Engines

    async def create_token(
        self,
        *,
        account_id: int,
        digest: bytes,
        label: str,
        expires_at: datetime | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
        now: datetime,
        prefix: str = "",
    ) -> Token:
        async with self.engines.write.begin() as conn:
            await account_row(conn, account_id)
            new_id = await conn.scalar(
                insert(tokens)
                .values(
                    account_id=account_id,
                    digest=digest,
                    label=label,
                    active=True,
                    expires_at=expires_at,
                    allowed_ips=" ".join(allowed_ips),
                    allowed_methods=" ".join(allowed_methods),
                    created_at=now,
                    prefix=prefix,
                )
                .returning(tokens.c.id)
            )
            row = (await conn.execute(select(tokens).where(tokens.c.id == new_id))).one()
            return token_from(row)

    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None:
        """The token with this keyed hash and its account, or None."""
        query = (
            select(tokens, *(column.label(f"acct__{column.name}") for column in accounts.c))
            .join(accounts, accounts.c.id == tokens.c.account_id)
            .where(tokens.c.digest == digest)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        fields = row._mapping
        account = Account(**{name: fields[f"acct__{name}"] for name in ACCOUNT_FIELDS})
        return token_from(row), account

    async def set_token_active(self, token_id: int, active: bool) -> None:
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(tokens).where(tokens.c.id == token_id).values(active=active)
            )
            if done.rowcount == 0:
                raise NotFound(f"no token {token_id}")
