"""
Delivery reports pushed to clients, in SQL: the accounts' relay URLs (Amoot's
RelayMessageDelivery*), and the `webhook_deliveries` outbox, claimed under a lease like the
messages table, so a crash loses no report and a dead worker's claims are taken over.

`enqueue_reported` runs inside the transaction that records a delivery report, so a report
applied is a webhook owed: one row per (message, URL, reported status), never two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Row

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, among, marks, write_transaction
from quickotp.adapters.store.rows import record
from quickotp.adapters.store.schema import (
    account_webhooks,
    accounts,
    relay_urls,
    webhook_deliveries,
)
from quickotp.domain.errors import (
    NotFound,
    RelayLimitReached,
    RelayNotFound,
    WebhookUrlDuplicate,
)
from quickotp.domain.models import (
    MessageStatus,
    RelayUrl,
    WebhookBacklog,
    WebhookDelivery,
    WebhookJob,
    WebhookOutcome,
    WebhookState,
)

REPORTED = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)  # what is pushed
MAX_RELAY_URLS = 10  # per account


# On the delivery hot path (once per batch of applied reports), so on the driver
# (store/raw.py: an SQLAlchemy execute costs many driver calls); with no URL anywhere it
# joins against nothing. `{now}` is typed for PostgreSQL, whose parameters in a select list
# have no type to infer. The batch's messages are picked by id alone, in a materialized CTE:
# left to itself, SQLite walked the status index through every delivered message instead
# (3.3 ms a batch at 32,000 messages, and growing with the table; see
# tests/adapters/store/test_query_plans.py).
OWED = """
WITH m AS MATERIALIZED (
    SELECT id, account_id, status FROM messages WHERE id {{ids}}
)
INSERT INTO webhook_deliveries
    (account_id, message_id, url, status, state, attempts, next_attempt_at, created_at)
SELECT m.account_id, m.id, t.url, m.status, '{pending}', 0, {{now}}, {{now}}
FROM m
JOIN (
    SELECT account_id, url FROM relay_urls WHERE active
    UNION
    SELECT account_id, url FROM account_webhooks WHERE url <> ''
) AS t ON t.account_id = m.account_id
WHERE m.status IN ({reported})
  AND NOT EXISTS (
    SELECT 1 FROM webhook_deliveries AS w
    WHERE w.message_id = m.id AND w.url = t.url AND w.status = m.status
  )
""".format(pending=WebhookState.PENDING, reported=", ".join(f"'{s}'" for s in REPORTED))


async def enqueue_reported(tx: Tx, message_ids: Sequence[int], now: datetime) -> None:
    """
    Owe a webhook to every active URL of the owners of `message_ids` that now have a final
    reported status (relay URLs, and the panel's webhook URL). Within the caller's transaction.
    """
    if not message_ids:
        return
    ids = sorted(set(message_ids))
    moment = tx.time(now)
    stamp = "CAST(? AS TIMESTAMPTZ)" if tx.postgres else "?"
    among_ids, args = among(tx, ids)
    await tx.execute(OWED.format(now=stamp, ids=among_ids), *args, moment, moment)


# The outbox's claim and outcomes, on the driver (store/raw.py) like the hot path's: the
# worker runs them for every batch of reports, beside the API on the same event loop. A claim
# takes lapsed leases first (few), then due deliveries oldest first, each part read from the
# due index alone: one query with an OR of the two had to collect and sort every due delivery,
# 1.3 ms a claim with 30,000 waiting against 0.02 ms on SQLite, with the database's one writer
# held meanwhile (tests/store/test_query_plans.py). `{lock}`: PostgreSQL's SKIP LOCKED, so
# workers in several processes claim apart.
CLAIM = f"""
UPDATE webhook_deliveries
SET state = '{WebhookState.SENDING}', lease_until = ?, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM (
        SELECT id FROM webhook_deliveries
        WHERE state = '{WebhookState.SENDING}' AND lease_until < ? LIMIT ?{{lock}}
    ) AS lapsed
    UNION ALL
    SELECT id FROM (
        SELECT id FROM webhook_deliveries
        WHERE state = '{WebhookState.PENDING}' AND next_attempt_at <= ?
        ORDER BY next_attempt_at, id LIMIT ?{{lock}}
    ) AS due
    LIMIT ?
)
RETURNING id
"""
CLAIMED = """
SELECT w.id, w.account_id, w.message_id, w.url, w.status, w.state, w.attempts,
       w.next_attempt_at, w.last_status_code, w.last_error, w.created_at, a.secret,
       m.mobile, m.cost, m.created_at, m.submitted_at, m.reported_at
FROM webhook_deliveries AS w
JOIN messages AS m ON m.id = w.message_id
LEFT JOIN account_webhooks AS a ON a.account_id = w.account_id
WHERE w.id IN ({ids})
ORDER BY w.id
"""
RECORDED = (
    "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, lease_until = NULL,"
    " last_status_code = ?, last_error = ?, done_at = ?, last_attempt_at = ? WHERE id = ?"
)
# A delivery handed back unposted: only while this claim still holds it.
RELEASED = (
    f"UPDATE webhook_deliveries SET state = '{WebhookState.PENDING}', next_attempt_at = ?,"
    " lease_until = NULL, attempts = attempts - 1"
    f" WHERE id = ? AND state = '{WebhookState.SENDING}'"
)


def _state(outcome: WebhookOutcome) -> str:
    if outcome.delivered:
        return WebhookState.DELIVERED.value
    return (WebhookState.PENDING if outcome.retry_at is not None else WebhookState.FAILED).value


def _reader(postgres: bool) -> Callable[[Any], datetime]:
    """A timestamp as the driver returns it, as an aware UTC datetime."""
    if postgres:
        return lambda value: value.astimezone(UTC)
    return lambda value: datetime.fromisoformat(value).replace(tzinfo=UTC)


class WebhookStore:
    """Relay URLs and the webhook outbox."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._postgres = engines.dialect == "postgresql"

    # relay URLs ------------------------------------------------------------------------

    async def add_relay(self, account_id: int, url: str, secret: str, now: datetime) -> RelayUrl:
        """
        A new active URL; `secret` becomes the account's signing secret if it has none.
        WebhookUrlDuplicate when the account keeps this very URL (active or not);
        RelayLimitReached when it keeps MAX_RELAY_URLS (active or not: deleting one frees
        a place, so switching one back on can never pass the cap).
        """
        async with self.engines.write.begin() as conn:
            if self._postgres:  # one Create at a time per account, so two cannot both fit
                await conn.execute(
                    select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
                )
            taken = (
                await conn.execute(
                    select(relay_urls.c.url).where(relay_urls.c.account_id == account_id)
                )
            ).all()
            if url in {row.url for row in taken}:
                raise WebhookUrlDuplicate(f"account {account_id} has this URL already")
            if len(taken) >= MAX_RELAY_URLS:
                raise RelayLimitReached(f"an account keeps at most {MAX_RELAY_URLS} URLs")
            new_id = await conn.scalar(
                insert(relay_urls)
                .values(account_id=account_id, url=url, active=True, created_at=now)
                .returning(relay_urls.c.id)
            )
            has_secret = await conn.scalar(
                select(account_webhooks.c.account_id).where(
                    account_webhooks.c.account_id == account_id
                )
            )
            if has_secret is None:
                await conn.execute(
                    insert(account_webhooks).values(
                        account_id=account_id, url="", secret=secret, updated_at=now
                    )
                )
        return RelayUrl(int(new_id), account_id, url, True, now)

    async def list_relays(self, account_id: int) -> list[RelayUrl]:
        async with self.engines.read.connect() as conn:
            rows = await conn.execute(
                select(relay_urls)
                .where(relay_urls.c.account_id == account_id)
                .order_by(relay_urls.c.id)
            )
            return [_relay(row) for row in rows]

    async def set_relay_active(self, account_id: int, relay_id: int, active: bool) -> RelayUrl:
        """RelayNotFound for another account's URL as for a missing one."""
        async with self.engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(relay_urls)
                    .where(relay_urls.c.id == relay_id, relay_urls.c.account_id == account_id)
                    .values(active=active)
                    .returning(*relay_urls.c)
                )
            ).first()
        if row is None:
            raise RelayNotFound(f"no relay URL {relay_id} for this account")
        return _relay(row)

    async def delete_relay(self, account_id: int, relay_id: int) -> None:
        """
        Forget one of the account's URLs: no new report is owed to it. Reports already owed
        to it are still posted (they were owed while it was active). RelayNotFound for
        another account's URL as for a missing one.
        """
        async with self.engines.write.begin() as conn:
            deleted = await conn.execute(
                delete(relay_urls).where(
                    relay_urls.c.id == relay_id, relay_urls.c.account_id == account_id
                )
            )
        if deleted.rowcount != 1:
            raise RelayNotFound(f"no relay URL {relay_id} for this account")

    # the outbox ------------------------------------------------------------------------

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[WebhookJob]:
        """Lease up to `limit` due deliveries (pending and due, or sending past their lease)."""
        lock = " FOR UPDATE SKIP LOCKED" if self._postgres else ""

        async def work(tx: Tx) -> list[tuple[Any, ...]]:
            stamp = tx.time(now)
            claimed = await tx.fetch(
                CLAIM.format(lock=lock), tx.time(now + lease), stamp, limit, stamp, limit, limit
            )
            if not claimed:
                return []
            ids = [row[0] for row in claimed]
            return await tx.fetch(CLAIMED.format(ids=marks(len(ids))), *ids)

        rows = await write_transaction(self.engines, work)  # one a batch of reports
        if not rows:
            return []
        read = _reader(self._postgres)
        return [
            WebhookJob(
                delivery=WebhookDelivery(
                    id=row[0],
                    account_id=row[1],
                    message_id=row[2],
                    url=row[3],
                    status=MessageStatus(row[4]),
                    state=WebhookState(row[5]),
                    attempts=row[6],
                    next_attempt_at=read(row[7]),
                    last_status_code=row[8],
                    last_error=row[9],
                    created_at=read(row[10]),
                    done_at=None,
                ),
                secret=row[11] or "",
                mobile=row[12],
                cost=row[13],
                created_at=read(row[14]),
                submitted_at=read(row[15]) if row[15] is not None else None,
                reported_at=read(row[16]) if row[16] is not None else None,
            )
            for row in rows
        ]

    async def backlog(self, now: datetime, cap: int) -> WebhookBacklog:
        """
        How many reports are owed (pending or being posted), counted up to `cap` so the read
        stays bounded however far behind the clients' URLs are, and the oldest due one. Both
        on ix_webhook_deliveries_due.
        """
        waiting = webhook_deliveries.c.state.in_([WebhookState.PENDING, WebhookState.SENDING])
        owed = select(literal(1)).where(waiting).limit(cap).subquery()
        oldest = (
            select(webhook_deliveries.c.next_attempt_at)
            .where(
                webhook_deliveries.c.state == WebhookState.PENDING,
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(owed))
            due = await conn.scalar(oldest)
        return WebhookBacklog(int(count or 0), due)

    async def record(self, outcomes: Sequence[WebhookOutcome], now: datetime) -> None:
        """
        The outcomes of claimed deliveries, in one transaction: each posted one's state and
        answer; each released one back to pending, due at its `retry_at`, its attempt (counted
        by the claim) uncounted and its last answer kept.
        """
        if not outcomes:
            return

        async def work(tx: Tx) -> None:
            stamp = tx.time(now)
            await tx.executemany(
                RECORDED,
                [
                    (
                        _state(o),
                        tx.time(o.retry_at) if o.retry_at is not None else stamp,
                        o.status_code,
                        (o.error or "")[:500] or None,
                        None if o.retry_at is not None and not o.delivered else stamp,
                        stamp,
                        o.delivery_id,
                    )
                    for o in outcomes
                    if not o.released
                ],
            )
            await tx.executemany(
                RELEASED,
                [
                    (tx.time(o.retry_at) if o.retry_at is not None else stamp, o.delivery_id)
                    for o in outcomes
                    if o.released
                ],
            )

        await write_transaction(self.engines, work)  # one for what finished together

    async def retry(self, account_id: int, delivery_id: int, now: datetime) -> WebhookDelivery:
        """
        One more attempt, due now, for a report given up on (failed) to one of the account's
        URLs; NotFound for another account's, an unknown, or one not failed. Its attempts stay
        counted, so a failure of this attempt gives it up again.
        """
        async with self.engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.id == delivery_id,
                        webhook_deliveries.c.account_id == account_id,
                        webhook_deliveries.c.state == WebhookState.FAILED,
                    )
                    .values(state=WebhookState.PENDING, next_attempt_at=now, done_at=None)
                    .returning(*webhook_deliveries.c)
                )
            ).first()
        if row is None:
            raise NotFound(f"no failed delivery report {delivery_id} of account {account_id}")
        return _delivery(row)

    async def deliveries(
        self, account_id: int | None, *, message_id: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]:
        """The latest deliveries and their attempts (for the panel), newest first."""
        query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(webhook_deliveries.c.account_id == account_id)
        if message_id is not None:
            query = query.where(webhook_deliveries.c.message_id == message_id)
        async with self.engines.read.connect() as conn:
            return [_delivery(row) for row in await conn.execute(query)]


def _relay(row: Row[Any]) -> RelayUrl:
    return RelayUrl(row.id, row.account_id, row.url, row.active, row.created_at)


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return record(
        WebhookDelivery, row, status=MessageStatus(row.status), state=WebhookState(row.state)
    )
