"""
The outbox in SQL, as dispatchers work it: claiming due messages under a lease, recording
what became of them and the delivery reports that came in, and matching reports parked
ahead of their submit. Each is a batch in one write transaction on the driver (raw.py says
why), so a group committer can share one commit among many sends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, among
from quickotp.adapters.store.schema import messages
from quickotp.adapters.store.statements import WriteTransactions, insert_rows
from quickotp.adapters.store.webhooks import enqueue_reported
from quickotp.domain import otp
from quickotp.domain.delivery import DeliveryReport, DeliveryState
from quickotp.domain.models import (
    Claimed,
    FailureKind,
    GiveUp,
    Message,
    MessageStatus,
    Retry,
    Submitted,
)

RECONCILE_BATCH = 500  # parked reports matched in one transaction

# What a delivery report does to a message that an upstream has taken.
_STATUS_FOR_REPORT = {
    DeliveryState.DELIVERED: MessageStatus.DELIVERED,
    DeliveryState.UNDELIVERED: MessageStatus.UNDELIVERED,
    DeliveryState.EXPIRED: MessageStatus.UNDELIVERED,
    DeliveryState.REJECTED: MessageStatus.UNDELIVERED,
}
# Final states a late or repeated report must not undo.
_FINAL = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)

# What a claim reads of each message it leases, by name (`_claimed`).
_CLAIMED_COLUMNS = (
    "id",
    "account_id",
    "mobile",
    "sender",
    "text",
    "encoding",
    "parts",
    "cost",
    "status",
    "attempts",
    "possible_duplicate",
    "expires_at",
    "created_at",
    "submitted_at",
    "reported_at",
    "transport",
    "provider_message_id",
    "error",
    "code",
    "backup_sender",
    "failure_kind",
)
# The hot path's lookups by provider id, by transport first: the index's leading column.
# Without it the lookup read the whole index, and every report batch slowed as the table grew
# (tests/adapters/store/test_query_plans.py keeps these on their indexes).
REPORTED_MESSAGES = (
    "SELECT id, provider_message_id FROM messages WHERE transport = ? AND provider_message_id {ids}"
)
MATCHED_ORPHANS = (
    "SELECT o.id, o.state, o.reported_at, m.id FROM orphan_reports o"
    " JOIN messages m ON m.transport = o.transport"
    " AND m.provider_message_id = o.provider_message_id"
    " ORDER BY o.reported_at, o.id LIMIT ?{lock}"
)
# When the earliest queued message falls due: one step down ix_messages_due.
NEXT_DUE = select(func.min(messages.c.next_attempt_at)).where(
    messages.c.status == MessageStatus.QUEUED.value
)
# A claim: due messages (queued and past their next attempt, which a scheduled message's send
# time is) or lapsed leases, along ix_messages_due (tests/adapters/store/test_query_plans.py).
CLAIM_DUE = (
    "UPDATE messages SET status = ?, lease_until = ?, attempts = attempts + 1,"
    " possible_duplicate = (possible_duplicate OR status = ?)"
    " WHERE id IN (SELECT id FROM messages"
    "  WHERE (status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until < ?)"
    "  ORDER BY next_attempt_at, id LIMIT ?{lock})"
    f" RETURNING {', '.join(_CLAIMED_COLUMNS)}"
)
PARKED_REPORTS = (
    "SELECT id, transport, provider_message_id, state, reported_at FROM orphan_reports"
    " WHERE transport = ? AND provider_message_id {ids}"
)
_APPLY_REPORT = (
    "UPDATE messages SET status = ?, reported_at = ? WHERE id = ? AND status <> ? AND status <> ?"
)


class OutboxSql:
    """The outbox part of SqlStore (sql.py)."""

    engines: Engines
    reconcile_batch: int
    _transactions: WriteTransactions
    _postgres: bool

    async def next_due(self) -> datetime | None:
        """
        When the earliest queued message falls due (a scheduled send, or a retry), if any:
        the dispatcher sleeps until then. One step down ix_messages_due.
        """
        async with self.engines.read.connect() as conn:
            found: datetime | None = await conn.scalar(NEXT_DUE)
        return found

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """
        Lease up to `limit` due messages to this dispatcher, oldest first.

        Due: queued and past its next attempt time, or sending under a lease that ran out
        (its dispatcher died). The latter may have reached the upstream already, so it is
        marked a possible duplicate. Attempts count up here, before anything is sent.
        """
        lock = " FOR UPDATE SKIP LOCKED" if self._postgres else ""

        async def work(tx: Tx) -> list[Claimed]:
            rows = await tx.fetch(
                CLAIM_DUE.format(lock=lock),
                MessageStatus.SENDING.value,
                tx.time(now + lease),
                MessageStatus.SENDING.value,
                MessageStatus.QUEUED.value,
                tx.time(now),
                MessageStatus.SENDING.value,
                tx.time(now),
                limit,
            )
            return [_claimed(tx, row) for row in rows]

        claimed = await self._transactions(self.engines, work)  # one per batch of sends
        return sorted(claimed, key=lambda c: c.message.id)

    async def record(
        self,
        outcomes: Sequence[Submitted | Retry | GiveUp] = (),
        reports: Sequence[DeliveryReport] = (),
        *,
        now: datetime,
    ) -> list[tuple[int, DeliveryReport]]:
        """
        What the dispatcher's attempts came to, then the delivery reports that came in, in
        one transaction: outcomes first, so that a report which came after its submit's
        answer finds its message (a report recorded before its outcome would have to be
        parked and applied again with the outcome: twice the dispatcher's database work).
        Returns the reports applied to a message (not parked), with its id.
        """

        async def work(tx: Tx) -> list[tuple[int, DeliveryReport]]:
            folded: Folded = {}
            if outcomes:
                folded = await _record_outcomes(tx, outcomes, _final_with_submit(outcomes, reports))
            rest = [r for r in reports if (r.transport, r.provider_message_id) not in folded]
            matched = [(o.message_id, report) for o, report in folded.values()]
            if rest:
                matched += await _record_reports(tx, rest, now)
            # A report applied is a webhook owed to the client, in this transaction.
            await enqueue_reported(tx, [message_id for message_id, _ in matched], now)
            return matched

        return await self._transactions(self.engines, work)

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int:
        """
        Match parked reports whose submit has since been recorded, and drop those older
        than `keep`. Covers the race in which a report and its submit commit side by side.
        Returns how many reports were matched.

        Through the hot path's writer, `reconcile_batch` reports a transaction: on SQLite a
        checkout of the writer connection from the pool waits for the hot path's run to end,
        a few hundred milliseconds under load (`bench/e2e_smpp.py`).
        """
        matched = 0
        while True:
            batch = partial(_reconcile, now=now, keep=keep, limit=self.reconcile_batch)
            done = await self._transactions(self.engines, batch)
            matched += done
            if done < self.reconcile_batch:
                return matched


Folded = dict[tuple[str, str], tuple[Submitted, DeliveryReport]]


def _final_with_submit(
    outcomes: Sequence[Submitted | Retry | GiveUp], reports: Sequence[DeliveryReport]
) -> Folded:
    """
    The submits whose final report came in the same batch (a transport that knows at once,
    or a receipt as quick as the submit's answer), by (transport, provider id): each such
    message is written once, sent and reported together, instead of updated twice. Only
    where the batch holds that one report and that one submit of the provider id.
    """
    if not outcomes or not reports:
        return {}
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for report in reports:
        seen[(report.transport, report.provider_message_id)] += 1
    submits: dict[tuple[str, str], Submitted | None] = {}
    for outcome in outcomes:
        if isinstance(outcome, Submitted):
            key = (outcome.receipt.transport, outcome.receipt.provider_message_id)
            submits[key] = None if key in submits else outcome  # two: not folded
    return {
        (report.transport, report.provider_message_id): (submit, report)
        for report in reports
        if report.state in _STATUS_FOR_REPORT
        and seen[(report.transport, report.provider_message_id)] == 1
        and (submit := submits.get((report.transport, report.provider_message_id))) is not None
    }


async def _record_outcomes(
    tx: Tx, outcomes: Sequence[Submitted | Retry | GiveUp], folded: Folded
) -> Folded:
    """
    Write what the dispatcher's attempts came to, with the final reports `folded` in; which
    of those it wrote.
    """
    submitted = [o for o in outcomes if isinstance(o, Submitted)]
    retries = [o for o in outcomes if isinstance(o, Retry)]
    # A parked report of a submit is applied after it (_apply_early_reports), so a submit
    # with one is not folded: its reports apply in the order they would apart.
    parked = await _parked_for(tx, submitted) if submitted else []
    if parked:
        unparked = {(transport, provider_id) for _, transport, provider_id, _, _ in parked}
        folded = {key: pair for key, pair in folded.items() if key not in unparked}
    final = {submit.message_id: report for submit, report in folded.values()}
    # One executemany per batch on the driver: see store/raw.py.
    await tx.executemany(
        "UPDATE messages SET status = ?, transport = ?, provider_message_id = ?,"
        " submitted_at = ?, lease_until = NULL, text = ?, code = NULL, error = NULL,"
        " failure_kind = NULL WHERE id = ?",
        [
            (
                MessageStatus.SENT.value,
                o.receipt.transport,
                o.receipt.provider_message_id,
                tx.time(o.at),
                o.masked_text,
                o.message_id,
            )
            for o in submitted
            if o.message_id not in final
        ],
    )
    await tx.executemany(
        "UPDATE messages SET status = ?, transport = ?, provider_message_id = ?,"
        " submitted_at = ?, reported_at = ?, lease_until = NULL, text = ?, code = NULL,"
        " error = NULL, failure_kind = NULL WHERE id = ?",
        [
            (
                _STATUS_FOR_REPORT[final[o.message_id].state].value,
                o.receipt.transport,
                o.receipt.provider_message_id,
                tx.time(o.at),
                tx.time(final[o.message_id].at),
                o.masked_text,
                o.message_id,
            )
            for o in submitted
            if o.message_id in final
        ],
    )
    # Sent on the backup line (rare): the message records the line it went out on.
    await tx.executemany(
        "UPDATE messages SET sender = ? WHERE id = ?",
        [(o.sender, o.message_id) for o in submitted if o.sender is not None],
    )
    if parked:
        await _apply_early_reports(tx, submitted, parked)
    await tx.executemany(
        "UPDATE messages SET status = ?, next_attempt_at = ?, lease_until = NULL,"
        " error = ?, failure_kind = ?, possible_duplicate = (possible_duplicate OR ?),"
        " transport = COALESCE(?, transport) WHERE id = ?",
        [
            (
                MessageStatus.QUEUED.value,
                tx.time(r.at),
                r.error,
                r.kind.value,
                r.possible_duplicate,
                r.route or None,
                r.message_id,
            )
            for r in retries
        ],
    )
    for outcome in outcomes:
        if isinstance(outcome, GiveUp):
            await _give_up(tx, outcome)
    return folded


async def _record_reports(
    tx: Tx, reports: Sequence[DeliveryReport], now: datetime
) -> list[tuple[int, DeliveryReport]]:
    """
    Apply delivery reports to their messages. A report that overtook its submit's answer
    finds no message yet: it is parked and applied when the submit is recorded. Returns the
    reports applied, with their messages' ids, whose webhooks the caller owes.
    """
    found: dict[tuple[str, str], int] = {}
    keys = ((r.transport, r.provider_message_id) for r in reports)
    for transport, provider_ids in _by_transport(keys).items():
        ids, args = among(tx, provider_ids)
        for message_id, provider_id in await tx.fetch(
            REPORTED_MESSAGES.format(ids=ids), transport, *args
        ):
            found[(transport, provider_id)] = message_id
    matched = []
    parked = []
    for report in reports:
        message_id = found.get((report.transport, report.provider_message_id))
        if message_id is None:
            parked.append(report)
        elif report.state in _STATUS_FOR_REPORT:
            matched.append((message_id, report))
    await tx.executemany(
        _APPLY_REPORT,
        [
            (
                _STATUS_FOR_REPORT[report.state].value,
                tx.time(report.at),
                message_id,
                *_FINAL,
            )
            for message_id, report in matched
        ],
    )
    await insert_rows(
        tx,
        "orphan_reports",
        [
            {
                "transport": r.transport,
                "provider_message_id": r.provider_message_id,
                "state": r.state.value,
                "reported_at": tx.time(r.at),
                "received_at": tx.time(now),
            }
            for r in parked
        ],
    )
    return matched


def _by_transport(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(transport, provider id) pairs as each transport's ids, sorted, for IN-list lookups."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for transport, provider_id in sorted(set(keys)):
        grouped[transport].append(provider_id)
    return grouped


async def _reconcile(tx: Tx, *, now: datetime, keep: timedelta, limit: int) -> int:
    """One batch of `reconcile_reports`, `limit` at most: how many parked reports it matched."""
    # On PostgreSQL every dispatcher sweeps: each takes the parked reports no other holds.
    lock = " FOR UPDATE OF o SKIP LOCKED" if tx.postgres else ""
    matched = await tx.fetch(MATCHED_ORPHANS.format(lock=lock), limit)
    await _apply_parked(tx, [(o, m, state, tx.read_time(at)) for o, state, at, m in matched], now)
    await tx.execute("DELETE FROM orphan_reports WHERE received_at < ?", tx.time(now - keep))
    return len(matched)


async def _apply_parked(
    tx: Tx, parked: Sequence[tuple[int, int, str, datetime]], owed_at: datetime
) -> None:
    """
    Parked reports, as (orphan id, message id, state, reported at), applied to their
    messages in the order they were reported, owed as webhooks from `owed_at`, unparked.
    """
    if not parked:
        return
    in_order = sorted(parked, key=lambda p: p[3])
    for _, message_id, state, at in in_order:
        await _apply_report(tx, message_id, DeliveryState(state), at)
    await enqueue_reported(tx, [p[1] for p in in_order], owed_at)
    ids, args = among(tx, [p[0] for p in parked])
    await tx.execute(f"DELETE FROM orphan_reports WHERE id {ids}", *args)


async def _parked_for(tx: Tx, submitted: Sequence[Submitted]) -> list[tuple[Any, ...]]:
    """The parked reports of `submitted`, as PARKED_REPORTS' rows. Usually none."""
    keys = ((o.receipt.transport, o.receipt.provider_message_id) for o in submitted)
    rows = []
    for transport, provider_ids in _by_transport(keys).items():
        ids, args = among(tx, provider_ids)
        # By transport first: see _record_reports.
        rows += await tx.fetch(PARKED_REPORTS.format(ids=ids), transport, *args)
    return rows


async def _apply_early_reports(
    tx: Tx, submitted: Sequence[Submitted], early: Sequence[tuple[Any, ...]]
) -> None:
    """Reports that overtook their submit were parked (`early`): apply them now."""
    by_key = {(o.receipt.transport, o.receipt.provider_message_id): o for o in submitted}
    parked = [
        (orphan_id, by_key[(transport, provider_id)].message_id, state, tx.read_time(at))
        for orphan_id, transport, provider_id, state, at in early
    ]
    if parked:  # webhooks owed as of the latest report applied
        await _apply_parked(tx, parked, max(p[3] for p in parked))


async def _apply_report(tx: Tx, message_id: int, state: DeliveryState, at: datetime) -> None:
    status = _STATUS_FOR_REPORT.get(state)
    if status is None:  # an intermediate report: nothing final to record
        return
    await tx.execute(_APPLY_REPORT, status.value, tx.time(at), message_id, *_FINAL)


async def _give_up(tx: Tx, outcome: GiveUp) -> None:
    """
    A message that will not be sent: final, its code masked in its text and dropped (the
    code is kept only to mask it, so a final message without it must already be masked),
    its charge refunded.
    """
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = await tx.fetch(
        "SELECT account_id, charged, text, code FROM messages"
        f" WHERE id = ? AND status IN (?, ?){lock}",
        outcome.message_id,
        MessageStatus.QUEUED.value,
        MessageStatus.SENDING.value,
    )
    if not rows:  # already final: a repeated outcome changes nothing
        return
    [(account_id, charged, text, code)] = rows
    # The code leaves the row, so it leaves the text too: with the code column gone, nothing
    # could mask it when the message is read later (panel, GetMessage).
    await tx.execute(
        "UPDATE messages SET status = ?, lease_until = NULL, text = ?, code = NULL, error = ?,"
        " failure_kind = ?, charged = 0, transport = COALESCE(?, transport) WHERE id = ?",
        outcome.status.value,
        otp.mask(text, code) if code else text,
        outcome.error,
        outcome.kind.value,
        outcome.route or None,
        outcome.message_id,
    )
    if charged:
        await tx.execute(
            "UPDATE accounts SET credit = credit + ? WHERE id = ?", charged, account_id
        )


def _claimed(tx: Tx, row: Sequence[Any]) -> Claimed:
    """A message a claim leased, from its row of _CLAIMED_COLUMNS."""
    field = dict(zip(_CLAIMED_COLUMNS, row, strict=True))

    def moment(name: str) -> datetime | None:
        value = field[name]
        return None if value is None else tx.read_time(value)

    message = Message(
        id=field["id"],
        account_id=field["account_id"],
        mobile=field["mobile"],
        sender=field["sender"],
        text=field["text"],
        encoding=field["encoding"],
        parts=field["parts"],
        cost=field["cost"],
        status=MessageStatus(field["status"]),
        attempts=field["attempts"],
        possible_duplicate=bool(field["possible_duplicate"]),
        expires_at=tx.read_time(field["expires_at"]),
        created_at=tx.read_time(field["created_at"]),
        submitted_at=moment("submitted_at"),
        reported_at=moment("reported_at"),
        transport=field["transport"],
        provider_message_id=field["provider_message_id"],
        error=field["error"],
        backup_sender=field["backup_sender"],
        failure_kind=None if field["failure_kind"] is None else FailureKind(field["failure_kind"]),
    )
    return Claimed(message, field["code"])
