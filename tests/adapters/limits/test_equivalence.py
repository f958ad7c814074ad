"""The two Limiter backends give the same answers to any sequence of requests (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.domain.limits import Admission, Bucket, Claim, Cooldown, Refused, Rule, Spike, Window
from tests.adapters.limits.conftest import redis_limiter

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
    memory = MemoryLimiter()
    now = T0
    async with redis_limiter() as redis:
        for step, (dt, chosen, key, fingerprint) in enumerate(script):
            now += dt
            rules = [RULES[i] for i in chosen]
            claim = Claim(key, fingerprint, f"ref-{step}", 20) if key else None

            answers = [await limiter.admit(rules, now, claim) for limiter in (memory, redis)]

            assert _shape(answers[0]) == _shape(answers[1]), f"step {step}"


def _shape(answer: Admission) -> object:
    if isinstance(answer, Refused):
        return ("refused", answer.rule, round(answer.retry_after, 6))
    return answer
