"""Retention on SQLite and PostgreSQL: what a prune removes and keeps, its archive, its
batches, the daily rollup that keeps the panel's figures, and one pruner at a time."""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import func, insert, select, update

from quickotp.adapters.archive import JsonLinesArchive
from quickotp.adapters.store.retention import RetentionSqlStore
from quickotp.adapters.store.schema import (
    event_deliveries,
    message_days,
    messages,
    orphan_reports,
    route_alarm_notices,
    route_alarms,
    verifications,
    webhook_deliveries,
)
from quickotp.bootstrap import PruneSchedule, Runtime, build_runtime
from quickotp.domain.errors import Conflict
from quickotp.domain.models import MessageStatus, NewMessage, VerificationStatus
from quickotp.domain.retention import PruneCounts, day_start
from quickotp.ports.retention import Candidate
from quickotp.services.pruning import Pruning
from quickotp.services.workspace import traffic
from tests.conftest import Seeded, make_settings, seed

pytestmark = pytest.mark.anyio

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class Maker:
    """Stores messages as the gateway would have, at any time and in any state."""

    def __init__(self, runtime: Runtime, seeded: Seeded) -> None:
        self.runtime = runtime
        self.seeded = seeded
        self.count = 0

    async def message(
        self,
        at: datetime,
        status: MessageStatus,
        *,
        transport: str | None = None,
        verification: VerificationStatus | None = VerificationStatus.APPROVED,
        valid_for: timedelta = timedelta(minutes=2),
        account_id: int | None = None,
        parts: int = 1,
        text: str = "code *****",
    ) -> int:
        self.count += 1
        n = self.count
        item = NewMessage(
            account_id=account_id or self.seeded.account_id,
            token_id=None,
            pattern_id=self.seeded.pattern_id,
            mobile=f"98912{n:07d}",
            sender="10004321",
            text=text,
            code="48213",
            encoding="gsm7",
            parts=parts,
            cost=1000 * parts,
            expires_at=at + valid_for,
            created_at=at,
            verification_id=f"v{n:031d}",
            code_digest=b"d" * 32,
            attempts_left=5,
        )
        [message_id] = await self.runtime.store.accept([item], at)
        assert message_id is not None
        async with self.runtime.engines.write.begin() as conn:
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(status=status, transport=transport, code=None)
            )
            if verification is None:
                await conn.execute(
                    verifications.delete().where(verifications.c.message_id == message_id)
                )
            else:
                await conn.execute(
                    update(verifications)
                    .where(verifications.c.message_id == message_id)
                    .values(status=verification)
                )
        return message_id

    async def webhook_delivery(self, message_id: int) -> None:
        async with self.runtime.engines.write.begin() as conn:
            await conn.execute(
                insert(webhook_deliveries).values(
                    account_id=self.seeded.account_id,
                    message_id=message_id,
                    url="http://127.0.0.1:9/hook",
                    status="delivered",
                    state="delivered",
                    attempts=1,
                    next_attempt_at=NOW,
                    created_at=NOW - 40 * DAY,
                )
            )

    async def event_delivery(self, created_at: datetime, state: str) -> int:
        """A webhook event (a low-credit alert) owed at `created_at`, now in `state`."""
        async with self.runtime.engines.write.begin() as conn:
            made = await conn.scalar(
                insert(event_deliveries)
                .values(
                    account_id=self.seeded.account_id,
                    event="credit.low",
                    body='{"Event":"credit.low"}',
                    url="http://127.0.0.1:9/hook",
                    state=state,
                    attempts=1,
                    next_attempt_at=created_at,
                    created_at=created_at,
                    done_at=created_at if state in ("delivered", "failed") else None,
                )
                .returning(event_deliveries.c.id)
            )
        return int(made)

    async def orphan_report(self, received_at: datetime) -> None:
        async with self.runtime.engines.write.begin() as conn:
            await conn.execute(
                insert(orphan_reports).values(
                    transport="smsc",
                    provider_message_id=f"p{received_at.timestamp()}",
                    state="delivered",
                    reported_at=received_at,
                    received_at=received_at,
                )
            )


@pytest.fixture
def make(runtime: Runtime, seeded: Seeded) -> Maker:
    return Maker(runtime, seeded)


def pruning(runtime: Runtime, *, batch: int = 500, now: datetime = NOW) -> Pruning:
    return Pruning(RetentionSqlStore(runtime.engines, TEHRAN), lambda: now, TEHRAN, batch=batch)


async def message_ids(runtime: Runtime) -> list[int]:
    async with runtime.engines.read.connect() as conn:
        return list((await conn.execute(select(messages.c.id).order_by(messages.c.id))).scalars())


async def stored_numbers(runtime: Runtime) -> set[str]:
    async with runtime.engines.read.connect() as conn:
        found = set((await conn.execute(select(messages.c.mobile))).scalars())
        return found | set((await conn.execute(select(verifications.c.mobile))).scalars())


async def test_a_prune_removes_old_finished_messages_and_keeps_the_rest(
    runtime: Runtime, make: Maker
) -> None:
    """Every finished state goes; queued, sending, checkable and young messages stay."""
    old = NOW - 40 * DAY
    gone = [
        await make.message(old, status, transport="smsc")
        for status in (
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
            MessageStatus.UNDELIVERED,
            MessageStatus.FAILED,
            MessageStatus.EXPIRED,
        )
    ]
    gone.append(await make.message(old, MessageStatus.DELIVERED, verification=None))
    # A code never checked stays "pending" once it expired: that no longer holds a message.
    gone.append(
        await make.message(old, MessageStatus.DELIVERED, verification=VerificationStatus.PENDING)
    )
    await make.webhook_delivery(gone[1])
    kept = [
        await make.message(old, MessageStatus.QUEUED),
        await make.message(old, MessageStatus.SENDING),
        await make.message(
            old, MessageStatus.SENT, verification=VerificationStatus.PENDING, valid_for=60 * DAY
        ),  # still checkable
        await make.message(NOW - DAY, MessageStatus.DELIVERED),
    ]
    await make.orphan_report(old)
    await make.orphan_report(NOW)
    numbers_before = await stored_numbers(runtime)

    pruned = await pruning(runtime).prune(timedelta(days=30))

    assert pruned.counts == PruneCounts(
        messages=7, verifications=6, webhook_deliveries=1, orphan_reports=1
    )
    assert await message_ids(runtime) == kept
    gone_numbers = {f"98912{n:07d}" for n in range(1, 8)}
    assert gone_numbers <= numbers_before
    assert not gone_numbers & await stored_numbers(runtime)
    async with runtime.engines.read.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(webhook_deliveries)) == 0
        assert await conn.scalar(select(func.count()).select_from(orphan_reports)) == 1


async def test_a_prune_takes_whole_days_of_the_panels_zone(runtime: Runtime, make: Maker) -> None:
    """The cut is the start of a Tehran day: a message just after it stays, one before goes."""
    cut = day_start(NOW - 30 * DAY, TEHRAN)
    before = await make.message(cut - timedelta(seconds=1), MessageStatus.DELIVERED)
    after = await make.message(cut, MessageStatus.DELIVERED)
    await make.message(NOW, MessageStatus.DELIVERED)

    pruned = await pruning(runtime).prune(timedelta(days=30))

    assert pruned.before == cut
    assert before not in await message_ids(runtime)
    assert after in await message_ids(runtime)


async def test_a_dry_run_counts_and_removes_nothing(runtime: Runtime, make: Maker) -> None:
    """--dry-run reports what a prune would remove, and the database is as it was."""
    for _ in range(3):
        await make.webhook_delivery(
            await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED, transport="smsc")
        )
    await make.message(NOW, MessageStatus.DELIVERED)
    await make.orphan_report(NOW - 40 * DAY)
    before = await message_ids(runtime)

    pruned = await pruning(runtime, batch=2).prune(timedelta(days=30), dry_run=True)

    assert pruned.dry_run
    assert pruned.counts == PruneCounts(3, 3, 3, 1)
    assert await message_ids(runtime) == before


async def test_a_prune_walks_the_table_in_bounded_batches(runtime: Runtime, make: Maker) -> None:
    """No delete takes more than `batch` messages, and every window is walked to the end."""
    old = [await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED) for _ in range(7)]
    young = await make.message(NOW, MessageStatus.DELIVERED)
    store = RetentionSqlStore(runtime.engines, TEHRAN)
    sizes: list[int] = []
    delete = store.delete

    async def counted(candidates: Sequence[Candidate]) -> PruneCounts:
        sizes.append(len(candidates))
        return await delete(candidates)

    store.delete = counted  # type: ignore[method-assign]

    pruned = await Pruning(store, lambda: NOW, TEHRAN, batch=3).prune(timedelta(days=30))

    assert pruned.counts.messages == len(old)
    assert sizes == [3, 3, 1]
    assert await message_ids(runtime) == [young]


async def test_a_batch_that_changed_since_it_was_read_is_left_whole(
    runtime: Runtime, make: Maker
) -> None:
    """A report landing between the read and the delete: nothing of the batch goes, no count."""
    sent = await make.message(NOW - 40 * DAY, MessageStatus.SENT, transport="smsc")
    other = await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED, transport="smsc")
    await make.message(NOW, MessageStatus.DELIVERED)
    store = RetentionSqlStore(runtime.engines, TEHRAN)
    window = await store.window(0, before=NOW - 30 * DAY, now=NOW, limit=10)
    async with runtime.engines.write.begin() as conn:
        await conn.execute(
            update(messages).where(messages.c.id == sent).values(status=MessageStatus.DELIVERED)
        )

    removed = await store.delete(window.candidates)

    assert window.ids == [sent, other]
    assert removed == PruneCounts()
    assert {sent, other} <= set(await message_ids(runtime))
    async with runtime.engines.read.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(verifications)) == 3
        assert await conn.scalar(select(func.count()).select_from(message_days)) == 0


async def test_the_newest_message_is_kept_so_ids_never_come_back(
    runtime: Runtime, make: Maker, seeded: Seeded
) -> None:
    """With everything old, the newest message stays (SQLite numbers on from it); no id repeats."""
    old = [await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED) for _ in range(3)]

    await pruning(runtime).prune(timedelta(days=30))
    newer = await make.message(NOW, MessageStatus.DELIVERED)

    assert newer > max(old)
    if runtime.engines.dialect == "sqlite":
        assert await message_ids(runtime) == [old[-1], newer]


async def test_the_archive_holds_what_went_before_it_went_with_codes_masked(
    runtime: Runtime, make: Maker, tmp_path: Path
) -> None:
    """Each batch is in the archive (0600, gzip JSON lines) before it is deleted; no code in it."""
    old = NOW - 40 * DAY
    ids = [
        await make.message(old, MessageStatus.DELIVERED, transport="smsc"),
        # A message given up on before a fix of the masking kept its code in the text.
        await make.message(old, MessageStatus.FAILED, text="code 48213"),
    ]
    await make.webhook_delivery(ids[0])
    await make.orphan_report(old)
    await make.message(NOW, MessageStatus.DELIVERED)
    real = JsonLinesArchive.create(tmp_path / "old.jsonl.gz")
    present_when_written: list[list[int]] = []

    class Watched:
        async def write(self, records: Sequence[dict[str, Any]]) -> None:
            written = [r["message"]["id"] for r in records if "message" in r]
            if written:
                present = set(await message_ids(runtime))
                present_when_written.append([i for i in written if i in present])
            await real.write(records)

    await pruning(runtime, batch=1).prune(timedelta(days=30), archive=Watched())
    real.close()

    path = tmp_path / "old.jsonl.gz"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = gzip.decompress(path.read_bytes()).decode()
    records = [orjson.loads(line) for line in lines.splitlines()]
    assert [r["message"]["id"] for r in records if "message" in r] == ids
    assert present_when_written == [[ids[0]], [ids[1]]]
    assert records[0]["webhook_deliveries"][0]["url"] == "http://127.0.0.1:9/hook"
    assert records[0]["message"]["mobile"] == "989120000001"
    assert records[1]["message"]["text"] == "code *****"
    assert len([r for r in records if "orphan_report" in r]) == 1
    assert "48213" not in lines
    assert "code_digest" not in lines
    assert "code_sealed" not in lines


async def test_an_archive_that_fails_leaves_its_batch_in_place(
    runtime: Runtime, make: Maker
) -> None:
    """Nothing is deleted that the archive did not take."""
    old = await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED)
    await make.message(NOW, MessageStatus.DELIVERED)

    class Full:
        async def write(self, records: Sequence[dict[str, Any]]) -> None:
            raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space"):
        await pruning(runtime).prune(timedelta(days=30), archive=Full())

    assert old in await message_ids(runtime)


async def test_an_archive_never_overwrites_a_file(tmp_path: Path) -> None:
    """A file that exists already is refused, not truncated."""
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"precious")

    with pytest.raises(Conflict, match="exists already"):
        JsonLinesArchive.create(path)

    assert path.read_bytes() == b"precious"


async def states(
    runtime: Runtime, account_id: int, *, since: datetime, until: datetime
) -> dict[MessageStatus, int]:
    """
    The account's messages begun in [since, until) by state, read from the database: the
    live rows and the rollup of pruned days (a pruned day counts when it starts in the window).
    """
    live = (
        select(messages.c.status, func.count())
        .where(
            messages.c.account_id == account_id,
            messages.c.created_at >= since,
            messages.c.created_at < until,
        )
        .group_by(messages.c.status)
    )
    pruned = (
        select(message_days.c.status, func.sum(message_days.c.messages))
        .where(
            message_days.c.account_id == account_id,
            message_days.c.day >= since,
            message_days.c.day < until,
        )
        .group_by(message_days.c.status)
    )
    counts: Counter[MessageStatus] = Counter()
    async with runtime.engines.read.connect() as conn:
        for statement in (live, pruned):
            for status, n in await conn.execute(statement):
                counts[MessageStatus(status)] += int(n)
    return dict(counts)


async def figures(runtime: Runtime, accounts: Sequence[int]) -> dict[object, object]:
    """What the panel and Statistics show, over every window they use and day-aligned ones."""
    panel = runtime.desk.panel
    month = day_start(NOW - 30 * DAY, TEHRAN)
    week = day_start(NOW - 7 * DAY, TEHRAN)
    shown: dict[object, object] = {}
    for period in ("24h", "7d", "30d"):
        for account in (None, *accounts):
            drawn = await traffic(panel, account, period, NOW, TEHRAN)
            shown[(period, account)] = (drawn.series, drawn.totals, drawn.verifications)
    for account in accounts:
        shown[("usage", account)] = await panel.usage(account, since=month)
        shown[("states", account)] = await states(runtime, account, since=month, until=NOW)
    for since in (NOW - 24 * timedelta(hours=1), week, month):
        summaries = await panel.account_summaries(since=since)
        shown[("accounts", since)] = [(s.account.id, s.messages_today) for s in summaries]
        shown[("transports", since)] = await panel.transport_counts(since=since)
    return shown


async def test_the_panels_figures_are_the_same_after_a_prune(runtime: Runtime, make: Maker) -> None:
    """Traffic, usage, per-account and per-route counts and Statistics read as before a prune."""
    other = await seed(runtime, name="other")
    states = list(MessageStatus)
    checks = [None, *VerificationStatus]
    for n in range(60):
        at = NOW - timedelta(hours=5 * n + 1)
        status = states[n % len(states)]
        await make.message(
            at,
            status,
            transport=None if status in (MessageStatus.FAILED, MessageStatus.QUEUED) else "smsc",
            verification=checks[n % len(checks)],
            account_id=other.account_id if n % 3 == 0 else None,
            parts=1 + n % 2,
        )
    before = await figures(runtime, [make.seeded.account_id, other.account_id])

    pruned = await pruning(runtime).prune(timedelta(days=2))
    after = await figures(runtime, [make.seeded.account_id, other.account_id])

    assert pruned.counts.messages > 20
    assert after == before
    async with runtime.engines.read.connect() as conn:
        rolled_up = await conn.scalar(select(func.sum(message_days.c.messages)))
    assert rolled_up == pruned.counts.messages


@pytest.mark.parametrize(  # SQLite serialises its writers on its own: PostgreSQL alone
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_one_process_prunes_at_a_time(runtime: Runtime, make: Maker) -> None:
    """On PostgreSQL a second pruner is refused while the first holds the advisory lock."""
    await make.message(NOW - 40 * DAY, MessageStatus.DELIVERED)
    await make.message(NOW, MessageStatus.DELIVERED)
    other = build_runtime(runtime.settings, dispatch=False)
    try:
        async with RetentionSqlStore(other.engines, TEHRAN).exclusive() as mine:
            assert mine
            with pytest.raises(Conflict, match="another process is pruning"):
                await pruning(runtime).prune(timedelta(days=30))

        pruned = await pruning(runtime).prune(timedelta(days=30))
    finally:
        await other.engines.dispose()

    assert pruned.counts.messages == 1


async def pruning_at_start(database_url: str, retention_days: str) -> tuple[Runtime, Maker]:
    """
    A migrated runtime (not started) with QUICKOTP_RETENTION_DAYS=`retention_days` whose
    pruner, where it has one, runs as soon as it starts; and a Maker for its seeded account.
    """
    runtime = build_runtime(
        make_settings(database_url, QUICKOTP_RETENTION_DAYS=retention_days), dispatch=False
    )
    await runtime.migrate()
    runtime.prune_schedule = PruneSchedule(every=timedelta(hours=1), first_after=timedelta(0))
    return runtime, Maker(runtime, await seed(runtime))


async def test_a_running_gateway_prunes_by_itself(database_url: str) -> None:
    """With QUICKOTP_RETENTION_DAYS set, a started runtime prunes on its schedule."""
    runtime, make = await pruning_at_start(database_url, "30")
    now = datetime.now(UTC)
    old = await make.message(now - 40 * DAY, MessageStatus.DELIVERED)
    await make.message(now, MessageStatus.DELIVERED)

    await runtime.start()
    try:
        async with asyncio.timeout(20):
            while old in await message_ids(runtime):
                await asyncio.sleep(0.05)
    finally:
        await runtime.aclose()


async def test_retention_zero_prunes_nothing_by_itself(database_url: str) -> None:
    """QUICKOTP_RETENTION_DAYS=0 starts no pruner."""
    runtime, make = await pruning_at_start(database_url, "0")
    old = await make.message(datetime.now(UTC) - 400 * DAY, MessageStatus.DELIVERED)
    await make.message(datetime.now(UTC), MessageStatus.DELIVERED)

    await runtime.start()
    try:
        await asyncio.sleep(0.3)
        assert old in await message_ids(runtime)
    finally:
        await runtime.aclose()


async def event_ids(runtime: Runtime) -> list[int]:
    async with runtime.engines.read.connect() as conn:
        found = await conn.execute(select(event_deliveries.c.id).order_by(event_deliveries.c.id))
        return list(found.scalars())


async def test_finished_webhook_events_older_than_the_window_go_in_bounded_batches(
    runtime: Runtime, make: Maker, tmp_path: Path
) -> None:
    """
    Delivered and given-up events (the low-credit alert's) past the window go, archived
    first, at most `batch` a delete; pending, sending and young ones stay; --dry-run counts.
    """
    old = NOW - 40 * DAY
    gone = [await make.event_delivery(old, state) for state in ("delivered", "failed") * 3]
    kept = [
        await make.event_delivery(old, "pending"),
        await make.event_delivery(old, "sending"),
        await make.event_delivery(NOW - DAY, "delivered"),
    ]
    store = RetentionSqlStore(runtime.engines, TEHRAN)
    sizes: list[int] = []
    delete = store.delete_finished

    async def counted(outbox: Any, ids: Sequence[int]) -> int:
        sizes.append(len(ids))
        return int(await delete(outbox, ids))

    store.delete_finished = counted  # type: ignore[method-assign]
    prune = Pruning(store, lambda: NOW, TEHRAN, batch=4)

    counted_only = await prune.prune(timedelta(days=30), dry_run=True)
    archive = JsonLinesArchive.create(tmp_path / "events.jsonl.gz")
    pruned = await prune.prune(timedelta(days=30), archive=archive)
    archive.close()

    lines = gzip.decompress((tmp_path / "events.jsonl.gz").read_bytes()).decode().splitlines()
    assert counted_only.counts.event_deliveries == len(gone)
    assert pruned.counts.event_deliveries == len(gone)
    assert sizes == [4, 2]
    assert await event_ids(runtime) == kept
    assert [orjson.loads(line)["event_delivery"]["id"] for line in lines] == gone


async def test_finished_alarm_notices_older_than_the_window_go(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A route alarm's notices posted or given up before the cut go; one still owed stays."""
    old = NOW - 40 * DAY
    async with runtime.engines.write.begin() as conn:
        alarm = await conn.scalar(
            insert(route_alarms)
            .values(route="mci", kind="down", detail="no bind", opened_at=old, cleared_at=old)
            .returning(route_alarms.c.id)
        )
        ids = []
        for step, state in (("opened", "delivered"), ("cleared", "failed"), ("changed", "pending")):
            made = await conn.scalar(
                insert(route_alarm_notices)
                .values(
                    alarm_id=alarm,
                    step=step,
                    kind="down",
                    detail="no bind",
                    state=state,
                    attempts=1,
                    next_attempt_at=old,
                    created_at=old,
                )
                .returning(route_alarm_notices.c.id)
            )
            ids.append(int(made))
    archive = JsonLinesArchive.create(tmp_path / "notices.jsonl.gz")

    pruned = await pruning(runtime, batch=1).prune(timedelta(days=30), archive=archive)
    archive.close()

    lines = gzip.decompress((tmp_path / "notices.jsonl.gz").read_bytes()).decode().splitlines()
    assert pruned.counts.route_alarm_notices == 2
    assert [orjson.loads(line)["route_alarm_notice"]["id"] for line in lines] == ids[:2]
    async with runtime.engines.read.connect() as conn:
        left = (await conn.execute(select(route_alarm_notices.c.id))).scalars().all()
    assert left == ids[2:]
