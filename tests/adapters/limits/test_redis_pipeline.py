"""The Redis limiter's batching: concurrent admits share round trips, each keeps its answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from quickotp.adapters.limits.redis import RedisLimiter
from quickotp.domain.errors import LimitsUnavailable
from quickotp.domain.limits import Admitted, Claim, Cooldown, Refused, Repeated, Window
from tests.adapters.limits.conftest import redis_limiter as own_redis_limiter

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

T0 = 1_767_225_600.0


@pytest.fixture
async def redis_limiter() -> AsyncIterator[RedisLimiter]:
    async with own_redis_limiter() as limiter:
        yield limiter


def _round_trips() -> tuple[float, float]:
    """(round trips, calls they carried) so far, from the limiter's histogram."""
    count = REGISTRY.get_sample_value("quickotp_limits_batch_calls_count") or 0.0
    total = REGISTRY.get_sample_value("quickotp_limits_batch_calls_sum") or 0.0
    return count, total


async def test_admits_made_in_one_turn_share_one_round_trip(redis_limiter: RedisLimiter) -> None:
    """100 admits made at once are one pipeline, and each gets the answer of its own keys."""
    await redis_limiter.admit([Cooldown("cd:7", 60)], T0)  # number 7 is cooling down
    trips, calls = _round_trips()

    answers = await asyncio.gather(
        *(redis_limiter.admit([Cooldown(f"cd:{i}", 60)], T0 + 1) for i in range(100))
    )
    trips_after, calls_after = _round_trips()

    assert (trips_after - trips, calls_after - calls) == (1, 100)
    assert answers[7] == Refused(0, 59.0)
    assert answers[:7] + answers[8:] == [Admitted()] * 99


async def test_calls_in_one_pipeline_run_in_order_each_alone(
    redis_limiter: RedisLimiter,
) -> None:
    """In one batch, a cap and a claim see the calls before them: as many pass as alone."""
    cap = [Window("nh", 3, 3600)]
    claim = Claim("idem", "fp", "ref", 10)

    capped = await asyncio.gather(*(redis_limiter.admit(cap, T0 + i) for i in range(5)))
    claimed = await asyncio.gather(*(redis_limiter.admit([], T0, claim) for _ in range(3)))

    assert capped[:3] == [Admitted()] * 3
    assert [type(a) for a in capped[3:]] == [Refused, Refused]
    assert claimed == [Admitted(), Repeated(True, "ref"), Repeated(True, "ref")]


async def test_one_calls_error_is_its_own(redis_limiter: RedisLimiter) -> None:
    """A script that fails (a key of the wrong type) fails its caller only, not the batch."""
    await redis_limiter.client.rpush(redis_limiter.prefix + "cd:bad", "not a cooldown")

    answers = await asyncio.gather(
        redis_limiter.admit([Cooldown("cd:1", 60)], T0),
        redis_limiter.admit([Cooldown("cd:bad", 60)], T0),
        redis_limiter.admit([Cooldown("cd:2", 60)], T0),
        return_exceptions=True,
    )

    assert answers[0] == answers[2] == Admitted()
    assert isinstance(answers[1], LimitsUnavailable)
    assert "WRONGTYPE" in str(answers[1])


async def test_a_redis_without_the_script_gets_it_again(redis_limiter: RedisLimiter) -> None:
    """After Redis lost its scripts (a restart, SCRIPT FLUSH) a batch loads it and runs."""
    await redis_limiter.admit([Cooldown("cd:0", 60)], T0)  # the script is loaded
    await redis_limiter.client.script_flush()

    answers = await asyncio.gather(
        *(redis_limiter.admit([Cooldown(f"cd:{i}", 60)], T0 + 1) for i in range(10))
    )

    assert answers[0] == Refused(0, 59.0)
    assert answers[1:] == [Admitted()] * 9


async def test_a_cancelled_caller_leaves_its_batch_answered(
    redis_limiter: RedisLimiter,
) -> None:
    """A request cancelled while its batch is out does not disturb the others' answers."""
    calls = [
        asyncio.create_task(redis_limiter.admit([Cooldown(f"cd:{i}", 60)], T0)) for i in range(5)
    ]
    await asyncio.sleep(0)  # each call is made and its batch is on its way
    calls[2].cancel()

    answers = await asyncio.gather(*calls, return_exceptions=True)

    assert isinstance(answers[2], asyncio.CancelledError)
    assert answers[:2] + answers[3:] == [Admitted()] * 4


async def test_calls_made_during_a_round_trip_go_in_the_next(
    redis_limiter: RedisLimiter,
) -> None:
    """While one pipeline is out, new calls gather for the next: two round trips for 50."""
    before = _round_trips()
    first = asyncio.create_task(redis_limiter.admit([Cooldown("cd:first", 60)], T0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first round trip is under way
    trips, calls = _round_trips()
    assert (trips, calls) == (before[0] + 1, before[1] + 1)

    later = [redis_limiter.admit([Cooldown(f"cd:{i}", 60)], T0) for i in range(49)]
    answers = await asyncio.gather(first, *later)
    trips_after, calls_after = _round_trips()

    assert answers == [Admitted()] * 50
    assert (trips_after - trips, calls_after - calls) == (1, 49)


async def test_an_outage_fails_every_caller_of_the_batch() -> None:
    """With Redis unreachable, every concurrent caller gets LimitsUnavailable, quickly."""
    limiter = RedisLimiter.from_url("redis://127.0.0.1:1/0", timeout=0.2)

    async with asyncio.timeout(10):
        answers = await asyncio.gather(
            *(limiter.admit([Cooldown(f"cd:{i}", 60)], T0) for i in range(20)),
            return_exceptions=True,
        )
    await limiter.aclose()

    assert all(isinstance(a, LimitsUnavailable) for a in answers)
