"""The two Limiter backends give the same answers to any sequence of requests (Hypothesis)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.adapters.limits.redis import RedisLimiter
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
from tests.conftest import REDIS_URL, service_missing

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

T0 = 1_767_225_600.0
# Exact binary fractions of a second and power-of-two rates: both backends do the same
# arithmetic, so any difference in an answer is a difference in logic, not in rounding.
RULES: list[Rule] = [
    Cooldown("cd", 30),
    Window("w", 3, 60),
    Bucket("b", 0.5, 2),
    Spike("sp", minimum=4, factor=2.0, history=2),
    Spike("sa", minimum=2, factor=1.0, history=2, block=False),
]
steps = st.lists(
    st.tuples(
        st.integers(0, 4 * 3600 * 8).map(lambda n: n / 8) | st.sampled_from([0.0, 0.125, 1.0]),
        st.lists(st.integers(0, len(RULES) - 1), min_size=0, max_size=3, unique=True),
        st.none() | st.sampled_from(["k1", "k2"]),
        st.sampled_from(["fp-a", "fp-b"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
async def test_memory_and_redis_agree(
    script: list[tuple[float, list[int], str | None, str]],
) -> None:
    """Time steps, rule sets and claims in any order: the same answer from each backend."""
    if not REDIS_URL:
        service_missing("redis")
    memory = MemoryLimiter()
    redis = RedisLimiter(Redis.from_url(REDIS_URL), prefix=f"eq:{uuid.uuid4().hex[:12]}:")
    now = T0
    try:
        for step, (dt, chosen, key, fingerprint) in enumerate(script):
            now += dt
            rules = [RULES[i] for i in chosen]
            claim = Claim(key, fingerprint, f"ref-{step}", 20) if key else None

            answers = [await limiter.admit(rules, now, claim) for limiter in (memory, redis)]

            assert _shape(answers[0]) == _shape(answers[1]), f"step {step}"
    finally:
        keys = [k async for k in redis.client.scan_iter(match=redis.prefix + "*")]
        if keys:
            await redis.client.delete(*keys)
        await redis.aclose()


def _shape(answer: Admitted | Refused | Repeated) -> object:
    if isinstance(answer, Refused):
        return ("refused", answer.rule, round(answer.retry_after, 6))
    return answer
