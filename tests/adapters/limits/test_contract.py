"""The Limiter contract: every backend counts the same way, atomically, in the caller's time."""

from __future__ import annotations

import asyncio

import pytest

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.adapters.limits.redis import RedisLimiter
from quickotp.domain.errors import LimitsUnavailable
from quickotp.domain.limits import (
    Admitted,
    Bucket,
    Claim,
    Cooldown,
    Refused,
    Repeated,
    Rule,
    Spike,
    Window,
)
from quickotp.ports.limits import Limiter
from tests.adapters.limits.conftest import redis_limiter

pytestmark = pytest.mark.anyio

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the start of an hour and of a day


async def test_cooldown_refuses_until_it_runs_out(limiter: Limiter) -> None:
    """A cooldown refuses a second hit for its length, with the time left, then passes."""
    rule = [Cooldown("cd", 60)]

    first = await limiter.admit(rule, T0)
    second = await limiter.admit(rule, T0 + 59.5)
    third = await limiter.admit(rule, T0 + 60)

    assert first == Admitted()
    assert isinstance(second, Refused)
    assert second.rule == 0
    assert second.retry_after == pytest.approx(0.5)
    assert third == Admitted()


async def test_window_caps_hits_per_window(limiter: Limiter) -> None:
    """A window admits `limit` hits, refuses the next until the window turns."""
    rule = [Window("nh", 3, 3600)]

    answers = [await limiter.admit(rule, T0 + i) for i in range(4)]
    next_hour = await limiter.admit(rule, T0 + 3600)

    assert answers[:3] == [Admitted()] * 3
    assert answers[3] == Refused(0, 3600 - 3)
    assert next_hour == Admitted()


async def test_bucket_allows_a_burst_then_its_rate(limiter: Limiter) -> None:
    """A token bucket admits its burst at once, then refills at its rate."""
    rule = [Bucket("ab", rate=2.0, burst=3)]

    burst = [await limiter.admit(rule, T0) for _ in range(4)]
    after_half_second = await limiter.admit(rule, T0 + 0.5)
    straight_after = await limiter.admit(rule, T0 + 0.5)

    assert burst[:3] == [Admitted()] * 3
    assert isinstance(burst[3], Refused)
    assert burst[3].retry_after == pytest.approx(0.5)
    assert after_half_second == Admitted()
    assert isinstance(straight_after, Refused)


async def test_spike_blocks_above_minimum_with_no_history(limiter: Limiter) -> None:
    """With no traffic before, a range is refused past its minimum for the rest of the hour."""
    rule = [Spike("sp", minimum=5, factor=10.0)]

    answers = [await limiter.admit(rule, T0 + i) for i in range(6)]

    assert answers[:5] == [Admitted()] * 5
    assert isinstance(answers[5], Refused)
    assert answers[5].retry_after == pytest.approx(3600 - 5)


async def test_spike_threshold_follows_the_accounts_normal_rate(limiter: Limiter) -> None:
    """After a day of 24 sends an hour, the threshold is factor x 24, above the minimum."""
    rule = [Spike("sp", minimum=30, factor=2.0)]
    for hour in range(24):
        for i in range(24):
            assert await limiter.admit(rule, T0 + hour * 3600 + i) == Admitted()
    now = T0 + 24 * 3600

    answers = [await limiter.admit(rule, now + i) for i in range(49)]

    assert answers[:48] == [Admitted()] * 48
    assert isinstance(answers[48], Refused)


async def test_spike_in_alarm_mode_admits_and_reports(limiter: Limiter) -> None:
    """A non-blocking spike rule lets the hit through and names itself as an alarm."""
    rules: list[Rule] = [Bucket("ab", 100.0, 100), Spike("sp", 1, 10.0, block=False)]

    first = await limiter.admit(rules, T0)
    second = await limiter.admit(rules, T0 + 1)

    assert first == Admitted()
    assert second == Admitted(alarms=(1,))


async def test_a_refusal_counts_nothing(limiter: Limiter) -> None:
    """All or nothing: when one rule refuses, the others' hits are not counted."""
    cap = Window("nh", 2, 3600)
    await limiter.admit([Cooldown("cd", 60)], T0)

    refused = await limiter.admit([cap, Cooldown("cd", 60)], T0 + 1)
    first = await limiter.admit([cap], T0 + 2)
    second = await limiter.admit([cap], T0 + 3)

    assert refused == Refused(1, 59)
    assert (first, second) == (Admitted(), Admitted())


async def test_claim_marks_a_repeat(limiter: Limiter) -> None:
    """A held claim answers Repeated with the first ref, and whether the content matches."""
    claim = Claim("idem", "fp-1", "ref-1", 10)

    first = await limiter.admit([Window("nh", 5, 3600)], T0, claim)
    same = await limiter.admit([], T0 + 1, Claim("idem", "fp-1", "ref-2", 10))
    other = await limiter.admit([], T0 + 2, Claim("idem", "fp-2", "ref-3", 10))
    later = await limiter.admit([], T0 + 10, Claim("idem", "fp-2", "ref-4", 10))

    assert first == Admitted()
    assert same == Repeated(True, "ref-1")
    assert other == Repeated(False, "ref-1")
    assert later == Admitted()


async def test_a_repeat_counts_nothing(limiter: Limiter) -> None:
    """A repeated request passes no rule: it does not use up the number's cap."""
    cap = [Window("nh", 1, 3600)]
    await limiter.admit(cap, T0, Claim("idem", "fp", "ref", 10))

    repeat = await limiter.admit(cap, T0 + 1, Claim("idem", "fp", "ref", 10))

    assert repeat == Repeated(True, "ref")


async def test_released_claim_lets_the_request_run_again(limiter: Limiter) -> None:
    """After release, the same claim is admitted afresh."""
    claim = Claim("idem", "fp", "ref", 10)
    await limiter.admit([], T0, claim)

    await limiter.release("idem")
    again = await limiter.admit([], T0 + 1, claim)

    assert again == Admitted()


async def test_concurrent_hits_never_pass_a_cap(limiter: Limiter) -> None:
    """Of 100 simultaneous hits on a cap of 10, exactly 10 pass."""
    rule = [Window("nh", 10, 3600)]

    answers = await asyncio.gather(*(limiter.admit(rule, T0) for _ in range(100)))

    assert sum(isinstance(a, Admitted) for a in answers) == 10


async def test_concurrent_claims_admit_one(limiter: Limiter) -> None:
    """Of 20 simultaneous requests with one claim, one is admitted and 19 see a repeat."""
    claim = Claim("idem", "fp", "ref", 10)

    answers = await asyncio.gather(*(limiter.admit([], T0, claim) for _ in range(20)))

    assert sum(isinstance(a, Admitted) for a in answers) == 1
    assert sum(a == Repeated(True, "ref") for a in answers) == 19


async def test_redis_outage_raises_limits_unavailable() -> None:
    """A Redis that does not answer becomes LimitsUnavailable, quickly."""
    limiter = RedisLimiter.from_url("redis://127.0.0.1:1/0", timeout=0.2)

    with pytest.raises(LimitsUnavailable):
        await limiter.admit([Cooldown("cd", 60)], T0)
    await limiter.aclose()


@pytest.mark.redis
async def test_a_burst_beyond_the_redis_pool_waits_for_connections() -> None:
    """More concurrent requests than connections: they queue for one, none is refused."""
    # A connect timeout well above the default 0.5 s: this tests the queue for connections,
    # and a loaded machine (two test processes on two cores) once took longer to connect.
    pooled = redis_limiter(
        lambda url, prefix: RedisLimiter.from_url(
            url, timeout=3.0, max_connections=4, prefix=prefix
        )
    )
    async with pooled as limiter:
        answers = await asyncio.gather(
            *(limiter.admit([Cooldown(f"cd:{i}", 60)], T0) for i in range(200))
        )
        assert answers == [Admitted()] * 200
        counts = limiter.client.connection_pool.get_connection_count()  # [(idle, _), (used, _)]
        assert sum(count for count, _ in counts) <= 4  # the bound held


async def test_memory_limiter_is_bounded() -> None:
    """The in-process limiter keeps at most max_keys entries, dropping the least recent."""
    limiter = MemoryLimiter(max_keys=100)

    for i in range(1000):
        await limiter.admit([Cooldown(f"cd:{i}", 60)], T0)

    assert len(limiter) == 100
    assert limiter.evicted == 900
    assert isinstance(await limiter.admit([Cooldown("cd:999", 60)], T0 + 1), Refused)
