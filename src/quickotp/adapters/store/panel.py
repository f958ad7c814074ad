"""
The panel's reads and small writes on SQL: token upkeep, the searchable message log,
traffic aggregates, credit history, webhooks and account flags.

Every query that serves an account user is scoped by `account_id`: another account's rows
are simply absent (NotFound), never an error that says they exist.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store import day_counts, message_log
from quickotp.adapters.store.accounts import update_account
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import (
    account_from,
    masked_message,
    pattern_from,
    token_from,
)
from quickotp.adapters.store.schema import (
    account_webhooks,
    accounts,
    credit_changes,
    messages,
    patterns,
    tokens,
    users,
    verifications,
)
from quickotp.domain.errors import NotFound
from quickotp.domain.models import (
    Account,
    AccountSummary,
    CreditChange,
    MessagePage,
    MessageQuery,
    MessageRecord,
    MessageStatus,
    Pattern,
    PatternState,
    Token,
    TrafficRow,
    VerificationStatus,
    Webhook,
    verification_as_of,
)

Bucket = Literal["hour", "day"]


class PanelSqlStore:
    """What the panel's pages read, beyond the gateway's own Store."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._postgres = engines.dialect == "postgresql"

    # tokens -----------------------------------------------------------------------------

    async def list_tokens(self, account_id: int) -> list[Token]:
        """The account's tokens that were not deleted, newest first."""
        query = (
            select(tokens)
            .where(tokens.c.account_id == account_id, tokens.c.deleted_at.is_(None))
            .order_by(tokens.c.id.desc())
        )
        async with self.engines.read.connect() as conn:
            return [token_from(row) for row in await conn.execute(query)]

    async def get_token(self, account_id: int, token_id: int) -> Token:
        async with self.engines.read.connect() as conn:
            return await self._token(conn, account_id, token_id)

    async def update_token(
        self,
        account_id: int,
        token_id: int,
        *,
        label: str,
        expires_at: datetime | None,
        allowed_ips: list[str],
        allowed_methods: list[str],
    ) -> Token:
        async with self.engines.write.begin() as conn:
            await self._token(conn, account_id, token_id)
            await conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .values(
                    label=label,
                    expires_at=expires_at,
                    allowed_ips=" ".join(allowed_ips),
                    allowed_methods=" ".join(allowed_methods),
                )
            )
            return await self._token(conn, account_id, token_id)

    async def set_token_active(self, account_id: int, token_id: int, active: bool) -> Token:
        async with self.engines.write.begin() as conn:
            await self._token(conn, account_id, token_id)
            await conn.execute(update(tokens).where(tokens.c.id == token_id).values(active=active))
            return await self._token(conn, account_id, token_id)

    async def delete_token(self, account_id: int, token_id: int, now: datetime) -> None:
        """
        Delete a token: its row stays for the messages it sent, but its digest is replaced
        by random bytes, so no secret can ever match it again.
        """
        async with self.engines.write.begin() as conn:
            await self._token(conn, account_id, token_id)
            await conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .values(active=False, deleted_at=now, digest=secrets.token_bytes(32))
            )

    async def _token(self, conn: AsyncConnection, account_id: int, token_id: int) -> Token:
        row = (
            await conn.execute(
                select(tokens).where(
                    tokens.c.id == token_id,
                    tokens.c.account_id == account_id,
                    tokens.c.deleted_at.is_(None),
                )
            )
        ).first()
        if row is None:
            raise NotFound(f"no token {token_id} in account {account_id}")
        return token_from(row)

    # the message log --------------------------------------------------------------------

    async def search_messages(self, account_id: int | None, query: MessageQuery) -> MessagePage:
        """One page of the log, newest first, codes masked. `account_id` None: every account."""
        async with self.engines.read.connect() as conn:
            return await message_log.read_page(conn, account_id, query)

    async def sends_by_token(self, account_id: int, *, since: datetime) -> dict[int, int]:
        """The account's messages since `since`, by the token that sent them."""
        async with self.engines.read.connect() as conn:
            return await message_log.sends_by_token(conn, account_id, since=since)

    async def message_record(
        self, account_id: int | None, message_id: int, *, now: datetime
    ) -> MessageRecord:
        """
        One message with its token, pattern and verification (its status as of `now`);
        NotFound outside the account.
        """
        statement = (
            select(
                messages,
                tokens.c.label.label("token_label"),
                verifications.c.status.label("verification_status"),
                verifications.c.expires_at.label("verification_expires_at"),
                verifications.c.attempts_left.label("verification_attempts_left"),
            )
            .outerjoin(tokens, tokens.c.id == messages.c.token_id)
            .outerjoin(verifications, verifications.c.message_id == messages.c.id)
            .where(messages.c.id == message_id)
        )
        if account_id is not None:
            statement = statement.where(messages.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            raise NotFound(f"no message {message_id}")
        return MessageRecord(
            message=masked_message(row),
            token_label=row.token_label,
            token_id=row.token_id,
            pattern_id=row.pattern_id,
            verification_status=None
            if row.verification_status is None
            else verification_as_of(row.verification_status, row.verification_expires_at, now),
            verification_attempts_left=row.verification_attempts_left,
        )

    # aggregates -------------------------------------------------------------------------

    async def traffic(
        self,
        account_id: int | None,
        *,
        since: datetime,
        bucket: Bucket,
        offset: timedelta,
    ) -> list[TrafficRow]:
        """
        Messages begun since `since`, counted by status per hour or day of the display
        zone, which is `offset` ahead of UTC; pruned ones from the daily rollup.
        """
        start = self._bucket_start(bucket, offset)
        statement = (
            select(start.label("bucket"), messages.c.status, func.count().label("n"))
            .where(messages.c.created_at >= since)
            .group_by(start, messages.c.status)
        )
        if account_id is not None:
            statement = statement.where(messages.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(statement)).all()
            pruned = await day_counts.traffic(
                conn, account_id, since=since, bucket=bucket, offset=offset
            )
        zone = timezone(offset)
        return day_counts.merged(
            [
                TrafficRow(_local_time(row.bucket, zone), MessageStatus(row.status), int(row.n))
                for row in rows
            ]
            + pruned
        )

    def _bucket_start(self, bucket: Bucket, offset: timedelta) -> ColumnElement[Any]:
        minutes = int(offset.total_seconds() // 60)
        if self._postgres:
            local = func.timezone("UTC", messages.c.created_at) + func.make_interval(
                0, 0, 0, 0, 0, literal(minutes)
            )
            return func.date_trunc(bucket, local)
        shape = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
        return func.strftime(shape, messages.c.created_at, f"{minutes:+d} minutes")

    async def verification_counts(
        self, account_id: int | None, *, since: datetime, now: datetime
    ) -> dict[str, int]:
        """
        Verifications begun since `since`, counted by their status as of `now` (a pending
        one past its validity is expired), pruned ones too.
        """
        v = verifications.c
        status = case(
            (
                (v.status == VerificationStatus.PENDING) & (v.expires_at <= now),
                literal(VerificationStatus.EXPIRED.value),
            ),
            else_=v.status,
        ).label("status")
        statement = select(status, func.count()).where(v.created_at >= since).group_by(status)
        if account_id is not None:
            statement = statement.where(verifications.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            counts = await day_counts.verification_counts(conn, account_id, since=since)
            for status, n in await conn.execute(statement):
                counts[status] += int(n)
        return dict(counts)

    async def usage(self, account_id: int, *, since: datetime) -> tuple[int, int, int]:
        """
        Since `since`: messages accepted, their parts, and the credit they took (rial),
        pruned ones included.
        """
        statement = select(
            func.count(),
            func.coalesce(func.sum(messages.c.parts), 0),
            func.coalesce(func.sum(messages.c.charged), 0),
        ).where(messages.c.account_id == account_id, messages.c.created_at >= since)
        async with self.engines.read.connect() as conn:
            count, parts, charged = (await conn.execute(statement)).one()
            pruned = await day_counts.usage(conn, account_id, since=since)
        return int(count) + pruned[0], int(parts) + pruned[1], int(charged) + pruned[2]

    async def transport_counts(self, *, since: datetime) -> dict[str, dict[MessageStatus, int]]:
        """
        Messages begun since `since` (pruned ones included), by the transport that took them
        and their status.
        """
        statement = (
            select(messages.c.transport, messages.c.status, func.count())
            .where(messages.c.created_at >= since)
            .group_by(messages.c.transport, messages.c.status)
        )
        counts: dict[str, dict[MessageStatus, int]] = {}
        async with self.engines.read.connect() as conn:
            pruned = await day_counts.per_transport(conn, since=since)
            for transport, status, n in await conn.execute(statement):
                pruned[(transport or "", MessageStatus(status))] += int(n)
        for (transport, status), n in pruned.items():
            counts.setdefault(transport, {})[status] = n
        return counts

    # credit and webhooks ----------------------------------------------------------------

    async def credit_changes(self, account_id: int, limit: int) -> list[CreditChange]:
        statement = (
            select(credit_changes)
            .where(credit_changes.c.account_id == account_id)
            .order_by(credit_changes.c.id.desc())
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [
                CreditChange(row.amount, row.reason, row.created_at, id=row.id)
                for row in await conn.execute(statement)
            ]

    async def get_webhook(self, account_id: int) -> Webhook | None:
        statement = select(account_webhooks).where(account_webhooks.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else Webhook(row.account_id, row.url, row.secret, row.updated_at)

    async def set_webhook(self, account_id: int, url: str, secret: str, now: datetime) -> Webhook:
        """Set (or, with an empty url, keep but clear) the account's webhook and its secret."""
        async with self.engines.write.begin() as conn:
            exists = await conn.scalar(
                select(account_webhooks.c.account_id).where(
                    account_webhooks.c.account_id == account_id
                )
            )
            values = {"url": url, "secret": secret, "updated_at": now}
            if exists is None:
                await conn.execute(
                    account_webhooks.insert().values(account_id=account_id, **values)
                )
            else:
                await conn.execute(
                    update(account_webhooks)
                    .where(account_webhooks.c.account_id == account_id)
                    .values(**values)
                )
        return Webhook(account_id, url, secret, now)

    # accounts and patterns, for the operator --------------------------------------------

    async def set_account_unlimited(self, account_id: int, unlimited: bool) -> Account:
        async with self.engines.write.begin() as conn:
            return await update_account(conn, account_id, unlimited=unlimited)

    async def account_summaries(self, *, since: datetime) -> list[AccountSummary]:
        """
        Every account with its number of users and of messages since `since` (pruned ones
        included). Each account's messages are counted on its own range of
        ix_messages_account_created (the index alone): a count over every account's window
        would read each message's row for its account, 0.5 s a page at a million messages.
        """
        sent = (
            select(func.count())
            .select_from(messages)
            .where(messages.c.account_id == accounts.c.id, messages.c.created_at >= since)
            .scalar_subquery()
        )
        people = (
            select(users.c.account_id, func.count().label("n"))
            .where(users.c.account_id.is_not(None))
            .group_by(users.c.account_id)
            .subquery()
        )
        statement = (
            select(
                accounts,
                sent.label("sent"),
                func.coalesce(people.c.n, 0).label("people"),
            )
            .outerjoin(people, people.c.account_id == accounts.c.id)
            .order_by(accounts.c.id)
        )
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(statement)).all()
            pruned = await day_counts.per_account(conn, since=since)
        return [
            AccountSummary(account_from(row), int(row.people), int(row.sent) + pruned[row.id])
            for row in rows
        ]

    async def patterns_in_state(
        self, state: PatternState, *, after: int | None, limit: int
    ) -> tuple[list[Pattern], int]:
        """The approval queue a page at a time, on the (state, id) index: as fast at any page."""
        in_state = patterns.c.state == state
        page = select(patterns).where(in_state).order_by(patterns.c.id).limit(limit)
        if after is not None:
            page = page.where(patterns.c.id > after)
        async with self.engines.read.connect() as conn:
            found = [pattern_from(row) for row in await conn.execute(page)]
            total = await conn.scalar(select(func.count()).select_from(patterns).where(in_state))
        return found, int(total or 0)


def _local_time(value: datetime | str, zone: timezone) -> datetime:
    """A bucket's start as the database gives it (wall time; SQLite: text), in `zone`."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=zone)
