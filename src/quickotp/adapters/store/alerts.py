"""
The low-credit alert in SQL: thresholds (`credit_alerts`), and the `event_deliveries`
outbox, claimed under a lease as `webhook_deliveries` is (store/webhooks.py). The accounts
with a threshold are few, so finding the ones under theirs is one small join.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, literal, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from quickotp.adapters.store.accounts import require_account
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.owed import lease_due, state_after
from quickotp.adapters.store.rows import record
from quickotp.adapters.store.schema import (
    account_webhooks,
    accounts,
    credit_alerts,
    event_deliveries,
    relay_urls,
)
from quickotp.domain.alerts import CreditAlert, EventDelivery, EventJob, LowCredit
from quickotp.domain.models import WebhookOutcome, WebhookState


class AlertSqlStore:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self._postgres = engines.dialect == "postgresql"

    # thresholds -----------------------------------------------------------------------

    async def threshold(self, account_id: int) -> CreditAlert | None:
        query = select(credit_alerts).where(credit_alerts.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else CreditAlert(row.account_id, row.threshold, row.alerted_at)

    async def set_threshold(self, account_id: int, threshold: int | None, now: datetime) -> None:
        async with self.engines.write.begin() as conn:
            await require_account(conn, account_id)
            if threshold is None:
                await conn.execute(
                    delete(credit_alerts).where(credit_alerts.c.account_id == account_id)
                )
                return
            dialect = postgresql if self._postgres else sqlite
            values = {"threshold": threshold, "alerted_at": None, "updated_at": now}
            await conn.execute(
                dialect.insert(credit_alerts)
                .values(account_id=account_id, **values)
                .on_conflict_do_update(index_elements=["account_id"], set_=values)
            )

    async def rearm(self) -> None:
        back = select(accounts.c.id).where(
            accounts.c.id == credit_alerts.c.account_id,
            or_(accounts.c.unlimited, accounts.c.credit >= credit_alerts.c.threshold),
        )
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(credit_alerts)
                .where(credit_alerts.c.alerted_at.is_not(None), back.exists())
                .values(alerted_at=None)
            )

    async def low_accounts(self, limit: int) -> list[LowCredit]:
        query = (
            select(accounts.c.id, accounts.c.credit, credit_alerts.c.threshold)
            .join(credit_alerts, credit_alerts.c.account_id == accounts.c.id)
            .where(
                credit_alerts.c.alerted_at.is_(None),
                accounts.c.active,
                ~accounts.c.unlimited,
                accounts.c.credit < credit_alerts.c.threshold,
            )
            .order_by(accounts.c.id)
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [
                LowCredit(row.id, row.credit, row.threshold) for row in await conn.execute(query)
            ]

    async def alert(self, account_id: int, *, event: str, body: str, now: datetime) -> int | None:
        urls = union(
            select(relay_urls.c.url).where(
                relay_urls.c.account_id == account_id, relay_urls.c.active
            ),
            select(account_webhooks.c.url).where(
                account_webhooks.c.account_id == account_id, account_webhooks.c.url != ""
            ),
        ).subquery()
        async with self.engines.write.begin() as conn:
            marked = await conn.execute(
                update(credit_alerts)
                .where(
                    credit_alerts.c.account_id == account_id, credit_alerts.c.alerted_at.is_(None)
                )
                .values(alerted_at=now)
            )
            if marked.rowcount != 1:
                return None
            owed = await conn.execute(
                insert(event_deliveries).from_select(
                    [
                        "account_id",
                        "event",
                        "body",
                        "url",
                        "state",
                        "attempts",
                        "next_attempt_at",
                        "created_at",
                    ],
                    select(
                        literal(account_id),
                        literal(event),
                        literal(body),
                        urls.c.url,
                        literal(str(WebhookState.PENDING)),
                        literal(0),
                        literal(now, event_deliveries.c.created_at.type),
                        literal(now, event_deliveries.c.created_at.type),
                    ),
                )
            )
            return max(owed.rowcount, 0)

    # the outbox -----------------------------------------------------------------------

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[EventJob]:
        """Lease up to `limit` due events (pending and due, or sending past their lease)."""
        async with self.engines.write.begin() as conn:
            ids = await lease_due(
                conn, event_deliveries, now=now, lease=lease, limit=limit, postgres=self._postgres
            )
            if not ids:
                return []
            rows = (
                await conn.execute(
                    select(event_deliveries, account_webhooks.c.secret.label("secret"))
                    .join(
                        account_webhooks,
                        account_webhooks.c.account_id == event_deliveries.c.account_id,
                        isouter=True,
                    )
                    .where(event_deliveries.c.id.in_(ids))
                    .order_by(event_deliveries.c.id)
                )
            ).all()
        return [EventJob(_delivery(row), row.body.encode(), row.secret or "") for row in rows]

    async def record(self, outcomes: Sequence[WebhookOutcome], now: datetime) -> None:
        if not outcomes:
            return
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(event_deliveries)
                .where(event_deliveries.c.id == bindparam("delivery_id"))
                .values(
                    state=bindparam("new_state"),
                    next_attempt_at=bindparam("at"),
                    lease_until=None,
                    last_status_code=bindparam("code"),
                    last_error=bindparam("error"),
                    done_at=bindparam("done"),
                ),
                [
                    {
                        "delivery_id": o.delivery_id,
                        "new_state": state_after(delivered=o.delivered, retry_at=o.retry_at),
                        "at": o.retry_at or now,
                        "code": o.status_code,
                        "error": (o.error or "")[:500] or None,
                        "done": None if o.retry_at is not None and not o.delivered else now,
                    }
                    for o in outcomes
                ],
            )

    async def events(self, account_id: int, *, limit: int) -> list[EventDelivery]:
        query = (
            select(event_deliveries)
            .where(event_deliveries.c.account_id == account_id)
            .order_by(event_deliveries.c.id.desc())
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [_delivery(row) for row in await conn.execute(query)]


def _delivery(row: Row[Any]) -> EventDelivery:
    return record(EventDelivery, row, state=WebhookState(row.state))
