"""Traffic at a glance: bucketing in Iran time on both databases, rates, and log searches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.models import MessageStatus, NewMessage, TrafficRow, VerificationStatus
from quickotp.services.workspace import bucket_starts, shape_traffic, traffic

TEHRAN = ZoneInfo("Asia/Tehran")


def test_hour_buckets_run_from_the_first_hour_to_the_last() -> None:
    """Buckets start on whole hours of the display zone, both ends included."""
    since = datetime(2026, 3, 1, 10, 45, tzinfo=TEHRAN)

    starts = bucket_starts(since, since + timedelta(hours=2), "hour")

    assert starts == [datetime(2026, 3, 1, h, tzinfo=TEHRAN) for h in (10, 11, 12)]


def test_day_buckets_start_at_midnight() -> None:
    """Day buckets start at local midnight."""
    since = datetime(2026, 3, 1, 22, 0, tzinfo=TEHRAN)

    starts = bucket_starts(since, since + timedelta(days=1), "day")

    assert starts == [datetime(2026, 3, 1, tzinfo=TEHRAN), datetime(2026, 3, 2, tzinfo=TEHRAN)]


def test_shape_groups_states_and_computes_the_rates() -> None:
    """Series group the states; delivery rate counts only settled messages; conversion too."""
    starts = [datetime(2026, 3, 1, 10, tzinfo=TEHRAN), datetime(2026, 3, 1, 11, tzinfo=TEHRAN)]
    rows = [
        TrafficRow(starts[0], MessageStatus.DELIVERED, 6),
        TrafficRow(starts[0], MessageStatus.FAILED, 1),
        TrafficRow(starts[1], MessageStatus.UNDELIVERED, 1),
        TrafficRow(starts[1], MessageStatus.SENT, 4),
    ]
    verifications = {VerificationStatus.APPROVED.value: 3, VerificationStatus.PENDING.value: 9}

    shaped = shape_traffic("24h", "hour", starts, rows, verifications)

    assert shaped.series == {
        "delivered": [6, 0],
        "in_flight": [0, 4],
        "not_delivered": [1, 1],
    }
    assert shaped.delivery_rate == 6 / 8
    assert shaped.conversion == 3 / 12


def test_no_traffic_has_no_rates_rather_than_zero() -> None:
    """With nothing settled there is no rate to show (a dash, not 0 %)."""
    shaped = shape_traffic("24h", "hour", [datetime(2026, 3, 1, 10, tzinfo=TEHRAN)], [], {})

    assert (shaped.delivery_rate, shaped.conversion) == (None, None)


def _message(account_id: int, pattern_id: int, at: datetime, n: int) -> NewMessage:
    return NewMessage(
        account_id=account_id,
        token_id=None,
        pattern_id=pattern_id,
        mobile=f"98912000{n:04d}",
        sender="1000",
        text="Code *****",
        code="12345",
        encoding="gsm7",
        parts=1,
        cost=0,
        expires_at=at + timedelta(minutes=2),
        created_at=at,
        verification_id=f"v{n:031d}",
        code_digest=b"d" * 32,
        attempts_left=5,
    )


@pytest.mark.anyio
async def test_the_database_buckets_by_iran_hours_and_days(runtime: Runtime) -> None:
    """UTC 20:29 and 20:31 fall on two Tehran days (UTC+3:30), on SQLite and PostgreSQL alike."""
    account = await runtime.admin.create_account(name="Shop", unlimited=True)
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text="%code%", is_otp=True, capped=False
    )
    late = datetime(2026, 3, 1, 20, 29, tzinfo=UTC)  # 23:59 in Tehran
    early = datetime(2026, 3, 1, 20, 31, tzinfo=UTC)  # 00:01 the next day
    await runtime.store.accept(
        [_message(account.id, pattern.id, at, n) for n, at in enumerate([late, early, early])],
        early,
    )

    by_day = await runtime.desk.panel.traffic(
        account.id, since=late - timedelta(days=1), bucket="day", offset=timedelta(hours=3.5)
    )
    by_hour = await runtime.desk.panel.traffic(
        account.id, since=late - timedelta(days=1), bucket="hour", offset=timedelta(hours=3.5)
    )

    assert sorted(by_day, key=lambda r: r.bucket) == [
        TrafficRow(datetime(2026, 3, 1, tzinfo=TEHRAN), MessageStatus.QUEUED, 1),
        TrafficRow(datetime(2026, 3, 2, tzinfo=TEHRAN), MessageStatus.QUEUED, 2),
    ]
    assert sorted(by_hour, key=lambda r: r.bucket) == [
        TrafficRow(datetime(2026, 3, 1, 23, tzinfo=TEHRAN), MessageStatus.QUEUED, 1),
        TrafficRow(datetime(2026, 3, 2, 0, tzinfo=TEHRAN), MessageStatus.QUEUED, 2),
    ]


@pytest.mark.anyio
async def test_traffic_of_an_account_leaves_other_accounts_out(runtime: Runtime) -> None:
    """An account's charts count its own messages and verifications only."""
    mine = await runtime.admin.create_account(name="Mine", unlimited=True)
    theirs = await runtime.admin.create_account(name="Theirs", unlimited=True)
    now = datetime.now(UTC)
    for n, account in enumerate([mine, theirs, theirs]):
        pattern = await runtime.gateway.create_account_pattern(
            account.id, text=f"{n} %code%", is_otp=True, capped=False
        )
        await runtime.store.accept([_message(account.id, pattern.id, now, n)], now)

    counted = await traffic(runtime.desk.panel, mine.id, "7d", now, TEHRAN)

    assert sum(counted.totals.values()) == 1
    assert counted.verifications == {"pending": 1}
