"""
The message log on SQL: a page of an account's (or every account's) messages, newest first
by (created_at, id) and found by keyset (after the last message of the page before, never
by OFFSET); a count that stops at a cap; and each token's sends since a time.

Every filter has an index in that order (schema.py): the account's own
(`ix_messages_account_created`), by state (`ix_messages_account_status`, and across accounts
`ix_messages_status_created`), by token (`ix_messages_token`), by number
(`ix_messages_mobile`) and across accounts (`ix_messages_created`). A page reads a range of
one of them, so it costs the same at a thousand messages or ten million;
tests/adapters/store/test_query_plans.py holds the plans.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import masked_message
from quickotp.adapters.store.schema import messages, verifications
from quickotp.domain.models import LogCursor, MessagePage, MessageQuery

_m = messages.c
_v = verifications.c


Columns = Any  # the columns of `messages`, or of the window a search of a part reads


def source(account_id: int | None, query: MessageQuery) -> Any:
    """
    What a search reads: the messages table, or, for a part of a number (a match inside
    the text of every number, which no index serves), the newest `query.window` messages
    of the account's chosen days, so such a search reads that many at most.
    """
    if not query.mobile_digits or query.window is None:
        return messages
    return (
        select(messages)
        .where(*_bounds(_m, account_id, query))
        .order_by(_m.created_at.desc(), _m.id.desc())
        .limit(query.window)
        .subquery("recent")
    )


def _bounds(cols: Columns, account_id: int | None, query: MessageQuery) -> list[Any]:
    where: list[ColumnElement[bool]] = []
    if account_id is not None:
        where.append(cols.account_id == account_id)
    if query.since is not None:
        where.append(cols.created_at >= query.since)
    if query.until is not None:
        where.append(cols.created_at < query.until)
    return where


def conditions(
    cols: Columns, account_id: int | None, query: MessageQuery
) -> list[ColumnElement[bool]]:
    """The WHERE of a search on `cols`, its cursor included; `account_id` None: every account."""
    found: list[ColumnElement[bool]] = []
    if query.mobile:
        found.append(cols.mobile == query.mobile)
    if query.mobile_digits:
        found.append(cols.mobile.contains(query.mobile_digits, autoescape=True))
    if query.message_id is not None:
        found.append(cols.id == query.message_id)
    where = _bounds(cols, account_id, query)
    if found:
        where.append(or_(*found))
    if query.status is not None:
        where.append(cols.status == query.status.value)
    if query.token_id is not None:
        where.append(cols.token_id == query.token_id)
    if query.verification is not None:
        outcome = verifications.alias("outcome")  # not the page's own join of it
        where.append(
            exists().where(
                outcome.c.message_id == cols.id, outcome.c.status == query.verification.value
            )
        )
    if query.before is not None:
        # (created_at, id) < the cursor's, written so the time is an index range.
        where.append(cols.created_at <= query.before.created_at)
        where.append(or_(cols.created_at < query.before.created_at, cols.id < query.before.id))
    return where


def page_statement(account_id: int | None, query: MessageQuery) -> Select[Any]:
    """One page and one row more (there is a next page when it comes back)."""
    read = source(account_id, query)
    cols = read.c
    return (
        select(read, _v.status.label("verification_status"))
        .outerjoin(verifications, _v.message_id == cols.id)
        .where(*conditions(cols, account_id, query))
        .order_by(cols.created_at.desc(), cols.id.desc())
        .limit(query.limit + 1)
    )


async def read_page(
    conn: AsyncConnection, account_id: int | None, query: MessageQuery
) -> MessagePage:
    rows = (await conn.execute(page_statement(account_id, query))).all()
    shown = rows[: query.limit]
    items = [masked_message(row) for row in shown]
    older = None
    if len(rows) > query.limit and items:
        older = LogCursor(items[-1].created_at, items[-1].id)
    return MessagePage(
        items,
        older,
        outcomes={row.id: row.verification_status for row in shown if row.verification_status},
        token_ids={row.id: row.token_id for row in shown if row.token_id is not None},
    )


class MessageLogSqlStore:
    """The panel's message log and search, for account users and operators."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    async def page(self, account_id: int | None, query: MessageQuery) -> MessagePage:
        """One page of the log, newest first, codes masked; `account_id` None: every account."""
        async with self.engines.read.connect() as conn:
            return await read_page(conn, account_id, query)

    async def count(self, account_id: int | None, query: MessageQuery, *, cap: int) -> int:
        """
        How many messages match (the cursor aside), counted no further than `cap` + 1: an
        answer past `cap` means "more than cap", and a count never reads more than that
        many index entries, however large the table.
        """
        unpaged = replace(query, before=None)
        read = source(account_id, unpaged)
        matching = (
            select(literal(1))
            .select_from(read)
            .where(*conditions(read.c, account_id, unpaged))
            .limit(cap + 1)
        )
        statement = select(func.count()).select_from(matching.subquery())
        async with self.engines.read.connect() as conn:
            return int(await conn.scalar(statement) or 0)


async def sends_by_token(
    conn: AsyncConnection, account_id: int, *, since: datetime
) -> dict[int, int]:
    """The account's messages since `since`, by the token that sent them."""
    statement = (
        select(_m.token_id, func.count())
        .where(_m.account_id == account_id, _m.created_at >= since, _m.token_id.is_not(None))
        .group_by(_m.token_id)
    )
    return {int(token_id): int(n) for token_id, n in await conn.execute(statement)}
