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

A part of a number is found in the whole log through the numbers' trigrams: on PostgreSQL
a GIN index (pg_trgm) that the planner weighs against walking the filter's index; on
SQLite the FTS5 table `messages_mobile`, which has no statistics for the planner, so the
store asks it first how many messages hold the part. A part held by fewer than RARE_PART
messages of the whole log is read through it (those messages by their ids, then sorted);
a commoner one by walking the filter's index newest first until a page is full, which
stops early because the part is common (it holds at least one message in
total / RARE_PART). Its count reads the trigram matches, each looked up as a message, and
stops at the cap. The FTS5 table is written in batches behind the accepts
(adapters/store/number_index.py): the messages past the last id it holds, about a second's
worth, are read directly, so a search never misses a message just sent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter, TextClause, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.rows import masked_message
from quickotp.adapters.store.schema import messages, verifications
from quickotp.domain.models import LogCursor, MessagePage, MessageQuery

_m = messages.c
_v = verifications.c
# SQLite's trigram index of the numbers (migration 0120): rowid is the message's id; it holds
# every message up to `indexed_to` (adapters/store/number_index.py).
_trigrams = table("messages_mobile", column("rowid"), column("messages_mobile"))
_progress = table("messages_mobile_progress", column("indexed_to"))

RARE_PART = 2_000  # SQLite: a part held by fewer messages is read through the trigram index

# How a search finds a part of a number: LIKE on the message (PostgreSQL's GIN index serves
# it, or a walk of the filter's index checks it); the ids the trigram index gives (SQLite);
# or the trigram index's matches that the statement reads (SQLite's count).
PartBy = Literal["like", "ids", "matches"]


class _Unindexed:
    """
    The columns of `messages` written `+column`, which SQLite never reads through an index:
    a statement that finds its messages by id reads those, not an index range.
    """

    def __getattr__(self, name: str) -> ColumnElement[Any]:
        col = getattr(_m, name)
        return UnaryExpression(col, operator=custom_op("+"), type_=col.type)


def _written(n: int) -> Any:
    """
    A LIMIT written into the statement: PostgreSQL's plan for a bound LIMIT, which it keeps
    for a prepared statement after a few runs, guesses a tenth of the rows and walks an
    index that way, which suits no page and no count of a rare match.
    """
    return bindparam("n", n, literal_execute=True, unique=True)


def _phrase(digits: str) -> str:
    """An FTS5 phrase of ASCII digits: the trigram tokenizer finds it inside a number."""
    return f'"{digits}"'


def _part_ids(digits: str) -> Select[Any]:
    return select(_trigrams.c.rowid).where(_trigrams.c.messages_mobile.op("MATCH")(_phrase(digits)))


def _holds(cols: Any, digits: str) -> ColumnElement[bool]:
    """
    The number holds the part. Written into the statement, not bound: PostgreSQL weighs the
    trigram index against a walk by the part itself, and a plan kept for one part is never
    reused for another (a walk that suits a common part reads the whole account for a rare
    one).
    """
    escaped = "".join("/" + ch if ch in "/%_" else ch for ch in digits)
    part: BindParameter[str] = bindparam("part", f"%{escaped}%", literal_execute=True, unique=True)
    result: ColumnElement[bool] = cols.mobile.like(part, escape="/")
    return result


def _past_the_index(digits: str) -> ColumnElement[bool]:
    """SQLite: a message the trigram index does not hold yet (by its id), holding the part."""
    return and_(_m.id > select(_progress.c.indexed_to).scalar_subquery(), _holds(_m, digits))


def _bounds(cols: Any, account_id: int | None, query: MessageQuery) -> list[Any]:
    where: list[ColumnElement[bool]] = []
    if account_id is not None:
        where.append(cols.account_id == account_id)
    if query.since is not None:
        where.append(cols.created_at >= query.since)
    if query.until is not None:
        where.append(cols.created_at < query.until)
    return where


def conditions(
    cols: Any, account_id: int | None, query: MessageQuery, *, part_by: PartBy = "like"
) -> list[ColumnElement[bool]]:
    """
    The WHERE of a search on `cols`, its cursor included; `account_id` None: every account.
    `part_by` "matches" leaves the part of a number to the statement's FROM.
    """
    found: list[ColumnElement[bool]] = []
    if query.mobile:
        found.append(cols.mobile == query.mobile)
    if query.mobile_digits and part_by == "like":
        found.append(_holds(cols, query.mobile_digits))
    if query.mobile_digits and part_by == "ids":
        found.append(_m.id.in_(_part_ids(query.mobile_digits)))
        found.append(_past_the_index(query.mobile_digits))
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


def page_statement(
    account_id: int | None, query: MessageQuery, *, part_by: PartBy = "like"
) -> Select[Any]:
    """
    One page and one row more (there is a next page when it comes back). `part_by` "ids":
    the messages whose ids the trigram index gives for the part of a number, sorted.
    """
    cols: Any = _Unindexed() if part_by == "ids" else _m
    return (
        select(messages, _v.status.label("verification_status"))
        .outerjoin(verifications, _v.message_id == _m.id)
        .where(*conditions(cols, account_id, query, part_by=part_by))
        .order_by(cols.created_at.desc(), cols.id.desc())
        .limit(_written(query.limit + 1))
    )


def count_statement(
    account_id: int | None, query: MessageQuery, *, cap: int, part_by: PartBy = "like"
) -> Select[Any]:
    """
    How many match (the cursor aside), no further than `cap` + 1. `part_by` "matches": the
    trigram index's matches in its own order, each looked up as a message until `cap` + 1
    match (with no filter but the account, in `ix_messages_account`, narrow, so its pages
    stay cached, rather than in the table), then the messages past the index's end.
    """
    unpaged = replace(query, before=None)
    if part_by == "matches":
        belongs: ColumnElement[bool] | TextClause
        if _filters_beside_the_part(unpaged):
            belongs = exists().where(
                _m.id == _trigrams.c.rowid,
                *conditions(_m, account_id, unpaged, part_by="matches"),
            )
        elif account_id is not None:
            belongs = text(
                "EXISTS (SELECT 1 FROM messages INDEXED BY ix_messages_account"
                " WHERE messages.account_id = :account AND messages.id = messages_mobile.rowid)"
            ).bindparams(account=account_id)
        else:
            belongs = literal(True)
        indexed = (
            select(literal(1))
            .select_from(_trigrams)
            .where(_trigrams.c.messages_mobile.op("MATCH")(_phrase(unpaged.mobile_digits)), belongs)
        )
        newest = (
            select(literal(1))
            .select_from(messages)
            .where(
                _past_the_index(unpaged.mobile_digits),
                # Read by id alone: past the index's end are a second's messages, where a
                # range of another index (the account's days, say) could be millions.
                *conditions(_Unindexed(), account_id, unpaged, part_by="matches"),
            )
        )
        both = union_all(indexed, newest).subquery()
        return select(func.count()).select_from(select(both).limit(_written(cap + 1)).subquery())
    matching = (
        select(literal(1))
        .select_from(messages)
        .where(*conditions(_m, account_id, unpaged, part_by=part_by))
    )
    return select(func.count()).select_from(matching.limit(_written(cap + 1)).subquery())


def _filters_beside_the_part(query: MessageQuery) -> bool:
    """Whether a search of a part of a number has a filter besides its account."""
    others = (query.since, query.until, query.status, query.token_id, query.verification)
    return any(value is not None for value in others)


async def _part_by(conn: AsyncConnection, query: MessageQuery) -> PartBy:
    """How a page finds a part of a number on this database (see the module docstring)."""
    if not query.mobile_digits or conn.dialect.name != "sqlite":
        return "like"
    held = _part_ids(query.mobile_digits).with_only_columns(literal(1)).limit(RARE_PART).subquery()
    rare = int(await conn.scalar(select(func.count()).select_from(held)) or 0) < RARE_PART
    return "ids" if rare else "like"


async def read_page(
    conn: AsyncConnection, account_id: int | None, query: MessageQuery
) -> MessagePage:
    statement = page_statement(account_id, query, part_by=await _part_by(conn, query))
    rows = (await conn.execute(statement)).all()
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


async def read_count(
    conn: AsyncConnection, account_id: int | None, query: MessageQuery, *, cap: int
) -> int:
    part_by: PartBy = "like"
    if query.mobile_digits and conn.dialect.name == "sqlite":
        # The join reads the part's matches alone; with a whole number or an id beside it
        # (any of them matches), the ids of its matches join the other terms.
        alone = not query.mobile and query.message_id is None
        part_by = "matches" if alone else "ids"
    return int(await conn.scalar(count_statement(account_id, query, cap=cap, part_by=part_by)) or 0)


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
        answer past `cap` means "more than cap".
        """
        async with self.engines.read.connect() as conn:
            return await read_count(conn, account_id, query, cap=cap)


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
