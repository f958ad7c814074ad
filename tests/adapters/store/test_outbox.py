"""The store's outbox contract, on SQLite and PostgreSQL: accept, claim, outcomes, reports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import insert, select, update

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, write_transaction
from quickotp.adapters.store.schema import messages, relay_urls, webhook_deliveries
from quickotp.adapters.store.sql import SqlStore
from quickotp.bootstrap import Runtime
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.models import (
    FailureKind,
    GiveUp,
    MessageStatus,
    NewMessage,
    Retry,
    Submitted,
)
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio

T = TypeVar("T")

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def new_message(seeded: Seeded, *, cost: int = 1000, code: str = "4821", n: int = 0) -> NewMessage:
    return NewMessage(
        account_id=seeded.account_id,
        token_id=None,
        pattern_id=seeded.pattern_id,
        mobile="989120000000",
        sender="10004321",
        text=f"code {code}",
        code=code,
        encoding="gsm7",
        parts=1,
        cost=cost,
        expires_at=NOW + timedelta(minutes=2),
        created_at=NOW,
        verification_id=f"v{n:031d}",
        code_digest=b"d" * 32,
        attempts_left=5,
    )


async def accepted(runtime: Runtime, seeded: Seeded, count: int = 1) -> list[int]:
    ids = await runtime.store.accept([new_message(seeded, n=i) for i in range(count)], NOW)
    assert None not in ids
    return [i for i in ids if i is not None]


def taken_as_ab12(message_id: int, at: datetime = NOW) -> Submitted:
    """The "smsc" upstream took `message_id` at `at`, as its "ab12"; the text kept masked."""
    return Submitted(message_id, SendReceipt("smsc", "ab12"), "code ****", at)


async def submitted_message(runtime: Runtime, seeded: Seeded) -> int:
    """One message accepted, claimed, and taken by the upstream as "ab12" at NOW; its id."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    await runtime.store.record([taken_as_ab12(message_id)], now=NOW)
    return message_id


async def test_accept_charges_in_order_until_credit_runs_out(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Items are charged in order; those the credit cannot cover get None and are not stored."""
    await runtime.admin.add_credit(seeded.account_id, -1_000_000 + 2500)
    batch = [new_message(seeded, n=i) for i in range(4)]

    ids = await runtime.store.accept(batch, NOW)

    assert [i is not None for i in ids] == [True, True, False, False]
    assert (await runtime.store.get_account(seeded.account_id)).credit == 500
    assert len(await runtime.store.list_messages(seeded.account_id, 10)) == 2


async def test_claim_leases_each_message_once(runtime: Runtime, seeded: Seeded) -> None:
    """Two claims at once never get the same message."""
    ids = await accepted(runtime, seeded, 10)

    first, second = await asyncio.gather(
        runtime.store.claim(NOW, LEASE, 6), runtime.store.claim(NOW, LEASE, 6)
    )

    got = [c.message.id for c in first + second]
    assert sorted(got) == ids
    assert all(c.message.status is MessageStatus.SENDING and c.message.attempts == 1 for c in first)
    assert all(c.code == "4821" for c in first + second)


async def test_a_lapsed_lease_is_claimed_again_as_a_possible_duplicate(
    runtime: Runtime, seeded: Seeded
) -> None:
    """A dispatcher that died mid-send leaves a message another takes over, flagged."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)

    too_soon = await runtime.store.claim(NOW + LEASE / 2, LEASE, 10)
    again = await runtime.store.claim(NOW + LEASE * 2, LEASE, 10)

    assert too_soon == []
    assert [c.message.id for c in again] == [message_id]
    assert again[0].message.possible_duplicate
    assert again[0].message.attempts == 2


async def test_a_message_accepted_under_a_lease_is_not_claimed_until_it_lapses(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Stored leased (handed to a dispatcher in memory): sending, first attempt, no claim."""
    leased = replace(new_message(seeded), lease_until=NOW + LEASE)
    message_id, queued_id = await runtime.store.accept([leased, new_message(seeded, n=1)], NOW)
    assert message_id is not None

    [stored] = (await runtime.store.get_messages(seeded.account_id, [message_id])).values()
    claimed = await runtime.store.claim(NOW, LEASE, 10)
    again = await runtime.store.claim(NOW + LEASE * 2, LEASE, 10)

    assert stored.status is MessageStatus.SENDING
    assert stored.attempts == 1
    assert [c.message.id for c in claimed] == [queued_id]  # only the queued one
    taken_over = {c.message.id: c for c in again}[message_id]  # its dispatcher died
    assert taken_over.message.possible_duplicate
    assert taken_over.message.attempts == 2
    assert taken_over.code == "4821"


async def test_submitted_masks_the_text_and_forgets_the_code(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Once an upstream took it, the stored text has the code masked and the code is gone."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)

    await runtime.store.record([taken_as_ab12(message_id)], now=NOW)

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert (message.status, message.text, message.provider_message_id) == (
        MessageStatus.SENT,
        "code ****",
        "ab12",
    )
    assert await runtime.store.claim(NOW + LEASE * 2, LEASE, 10) == []


async def test_submitted_at_is_when_the_upstream_answered_not_when_recorded(
    runtime: Runtime, seeded: Seeded
) -> None:
    """The outcome's own time is stored: a batch written later does not move it."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    answered = NOW + timedelta(milliseconds=3, microseconds=417)

    await runtime.store.record(
        [taken_as_ab12(message_id, answered)],
        now=answered + timedelta(milliseconds=40),
    )

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert message.submitted_at == answered


async def test_a_submit_and_its_report_in_one_batch_land_together(
    runtime: Runtime, seeded: Seeded
) -> None:
    """
    A transport that reports at once hands its submit and its final report to one batch:
    the message ends reported, with both times, and its webhook is owed, as when apart.
    """
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    async with runtime.store.engines.write.begin() as conn:
        await conn.execute(
            insert(relay_urls).values(
                account_id=seeded.account_id, url="http://127.0.0.1:9/r", created_at=NOW
            )
        )
    answered, reported = NOW + timedelta(milliseconds=3), NOW + timedelta(milliseconds=5)
    report = DeliveryReport("smsc", "ab12", DeliveryState.DELIVERED, reported)

    applied = await runtime.store.record(
        [taken_as_ab12(message_id, answered)],
        [report],
        now=reported,
    )

    assert applied == [(message_id, report)]
    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert (message.status, message.text, message.submitted_at, message.reported_at) == (
        MessageStatus.DELIVERED,
        "code ****",
        answered,
        reported,
    )
    async with runtime.store.engines.read.connect() as conn:
        owed = (await conn.execute(select(webhook_deliveries.c.message_id))).scalars().all()
    assert owed == [message_id]


async def test_a_parked_report_applies_before_one_batched_with_its_submit(
    runtime: Runtime, seeded: Seeded
) -> None:
    """A report parked ahead of the submit comes first; a later one cannot undo its state."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    early = DeliveryReport("smsc", "ab12", DeliveryState.UNDELIVERED, NOW)
    await runtime.store.record(reports=[early], now=NOW)  # parked: no message has it yet

    await runtime.store.record(
        [taken_as_ab12(message_id)],
        [replace(early, state=DeliveryState.DELIVERED)],
        now=NOW,
    )

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert message.status is MessageStatus.UNDELIVERED


async def test_retry_waits_until_its_time(runtime: Runtime, seeded: Seeded) -> None:
    """A retried message is not due before its next attempt time."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    later = NOW + timedelta(seconds=5)

    await runtime.store.record([Retry(message_id, later, "busy", False)], now=NOW)

    assert await runtime.store.claim(NOW + timedelta(seconds=4), LEASE, 10) == []
    assert len(await runtime.store.claim(later, LEASE, 10)) == 1


async def test_giving_up_refunds_the_charge(runtime: Runtime, seeded: Seeded) -> None:
    """An expired or failed message gives its charge back, once."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    give_up = GiveUp(message_id, MessageStatus.EXPIRED, "stale")

    await runtime.store.record([give_up], now=NOW)
    await runtime.store.record([give_up], now=NOW)

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert message.status is MessageStatus.EXPIRED
    assert (await runtime.store.get_account(seeded.account_id)).credit == 1_000_000


async def test_a_report_that_overtakes_its_submit_is_matched(
    runtime: Runtime, seeded: Seeded
) -> None:
    """A delivery report for an id not yet recorded is parked, then applied at submit."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    report = DeliveryReport("smsc", "ab12", DeliveryState.DELIVERED, NOW)

    await runtime.store.record(reports=[report], now=NOW)
    await runtime.store.record([taken_as_ab12(message_id)], now=NOW)

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert message.status is MessageStatus.DELIVERED


async def test_reconcile_matches_parked_reports(runtime: Runtime, seeded: Seeded) -> None:
    """A parked report whose submit was recorded beside it is matched by the sweep."""
    message_id = await submitted_message(runtime, seeded)
    # As if the report had committed in a transaction that could not see the submit:
    await runtime.store.record(
        reports=[DeliveryReport("smsc", "zz99", DeliveryState.UNDELIVERED, NOW)], now=NOW
    )
    await runtime.store.record(
        reports=[DeliveryReport("smsc", "ab12", DeliveryState.UNDELIVERED, NOW)], now=NOW
    )

    matched = await runtime.store.reconcile_reports(NOW + timedelta(days=2), timedelta(days=1))

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert matched == 0  # the direct path already applied it; the stray one aged out
    assert message.status is MessageStatus.UNDELIVERED


async def submitted_unseen(runtime: Runtime, message_id: int, provider_id: str) -> None:
    """The message's submit recorded as if by a transaction that did not see a parked report."""
    async with runtime.store.engines.write.begin() as conn:
        await conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status="sent", transport="smsc", provider_message_id=provider_id)
        )


async def parked_beside_submits(
    runtime: Runtime, seeded: Seeded, count: int, state: DeliveryState
) -> list[int]:
    """`count` messages, each with a report in `state` parked beside its recorded submit."""
    ids = await accepted(runtime, seeded, count)
    await runtime.store.claim(NOW, LEASE, 10)
    reports = [DeliveryReport("smsc", f"p{i}", state, NOW) for i in ids]
    await runtime.store.record(reports=reports, now=NOW)
    for message_id in ids:
        await submitted_unseen(runtime, message_id, f"p{message_id}")
    return ids


async def test_reconcile_applies_a_report_parked_beside_its_submit(
    runtime: Runtime, seeded: Seeded
) -> None:
    """A report parked while its submit committed beside it reaches its message, once."""
    [message_id] = await accepted(runtime, seeded)
    await runtime.store.claim(NOW, LEASE, 10)
    report = DeliveryReport("smsc", "ab12", DeliveryState.DELIVERED, NOW + timedelta(seconds=3))
    await runtime.store.record(reports=[report], now=NOW)  # no message has it yet: parked
    await submitted_unseen(runtime, message_id, "ab12")

    first = await runtime.store.reconcile_reports(NOW, timedelta(days=1))
    again = await runtime.store.reconcile_reports(NOW, timedelta(days=1))

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert (first, again) == (1, 0)
    assert message.status is MessageStatus.DELIVERED
    assert message.reported_at == report.at


async def test_reconcile_takes_a_long_backlog_in_bounded_transactions(
    runtime: Runtime, seeded: Seeded
) -> None:
    """More parked reports than one transaction takes are all matched, in several."""
    transactions: list[object] = []

    async def counted(engines: Engines, work: Callable[[Tx], Awaitable[T]]) -> T:
        done = await write_transaction(engines, work)
        transactions.append(done)
        return done

    ids = await parked_beside_submits(runtime, seeded, 5, DeliveryState.UNDELIVERED)
    store = SqlStore(runtime.engines, reconcile_batch=2, transactions=counted)

    matched = await store.reconcile_reports(NOW, timedelta(days=1))

    found = await runtime.store.get_messages(seeded.account_id, ids)
    assert matched == 5
    assert transactions == [2, 2, 1]
    assert {m.status for m in found.values()} == {MessageStatus.UNDELIVERED}


async def test_two_sweeps_at_once_match_each_parked_report_once(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Every dispatcher sweeps (on PostgreSQL, at the same time): a report is matched once."""
    ids = await parked_beside_submits(runtime, seeded, 3, DeliveryState.DELIVERED)

    both = await asyncio.gather(
        runtime.store.reconcile_reports(NOW, timedelta(days=1)),
        runtime.store.reconcile_reports(NOW, timedelta(days=1)),
    )

    assert sum(both) == 3
    found = await runtime.store.get_messages(seeded.account_id, ids)
    assert {m.status for m in found.values()} == {MessageStatus.DELIVERED}


async def test_a_batch_of_reports_lands_on_each_message(runtime: Runtime, seeded: Seeded) -> None:
    """Many reports in one batch each reach their own message; unknown ones are parked."""
    ids = await accepted(runtime, seeded, 3)
    await runtime.store.claim(NOW, LEASE, 10)
    await runtime.store.record(
        [Submitted(i, SendReceipt("smsc", f"p{i}"), "code ****", NOW) for i in ids], now=NOW
    )
    states = [DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.ACCEPTED]

    await runtime.store.record(
        reports=[DeliveryReport("smsc", f"p{i}", s, NOW) for i, s in zip(ids, states, strict=True)]
        + [DeliveryReport("smsc", "unknown", DeliveryState.DELIVERED, NOW)],
        now=NOW,
    )

    found = await runtime.store.get_messages(seeded.account_id, ids)
    assert [found[i].status for i in ids] == [
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.SENT,
    ]


async def test_a_final_state_is_not_undone_by_a_late_report(
    runtime: Runtime, seeded: Seeded
) -> None:
    """DELIVERED stays DELIVERED when a stale UNDELIVERED report arrives later."""
    message_id = await submitted_message(runtime, seeded)
    report = DeliveryReport("smsc", "ab12", DeliveryState.DELIVERED, NOW)

    await runtime.store.record(reports=[report], now=NOW)
    await runtime.store.record(reports=[replace(report, state=DeliveryState.UNDELIVERED)], now=NOW)

    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert message.status is MessageStatus.DELIVERED


@pytest.mark.parametrize("status", [MessageStatus.FAILED, MessageStatus.EXPIRED])
async def test_a_message_given_up_keeps_no_code_in_its_text(
    runtime: Runtime, seeded: Seeded, status: MessageStatus
) -> None:
    """Its code column is dropped, so the text is masked too: no later read can show the code."""
    [message_id] = await accepted(runtime, seeded)

    await runtime.store.record([GiveUp(message_id, status, "gave up")], now=NOW)

    found = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert (found.status, found.text) == (status, "code ****")


async def test_a_failures_kind_is_stored_with_it_and_cleared_once_sent(
    runtime: Runtime, seeded: Seeded
) -> None:
    """messages.failure_kind: the last failure's kind, a retry's and a give-up's; none once sent."""
    retried, given_up = await accepted(runtime, seeded, 2)
    await runtime.store.claim(NOW, LEASE, 10)

    await runtime.store.record(
        [
            Retry(retried, NOW, "busy", False, kind=FailureKind.UNCERTAIN),
            GiveUp(given_up, MessageStatus.FAILED, "words", kind=FailureKind.REFUSED),
        ],
        now=NOW,
    )
    found = await runtime.store.get_messages(seeded.account_id, [retried, given_up])
    assert (found[retried].failure_kind, found[given_up].failure_kind) == (
        FailureKind.UNCERTAIN,
        FailureKind.REFUSED,
    )

    await runtime.store.claim(NOW, LEASE, 10)
    await runtime.store.record(
        [Submitted(retried, SendReceipt("smsc", "k1"), "code ****", NOW)], now=NOW
    )
    sent = (await runtime.store.get_messages(seeded.account_id, [retried]))[retried]
    assert (sent.status, sent.error, sent.failure_kind) == (MessageStatus.SENT, None, None)
