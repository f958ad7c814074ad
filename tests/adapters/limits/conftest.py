"""The Limiter implementations, each behind the same fixture: memory always, Redis when set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.adapters.limits.redis import RedisLimiter
from quickotp.ports.limits import Limiter
from tests.conftest import REDIS_URL, service_missing


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    """A fresh limiter of each kind (on Redis, under a prefix of its own)."""
    if request.param == "memory":
        memory = MemoryLimiter()
        yield memory
        await memory.aclose()
        return
    if not REDIS_URL:
        service_missing("redis")
    prefix = f"quickotp-test:{uuid.uuid4().hex[:12]}:"
    redis = RedisLimiter(Redis.from_url(REDIS_URL), prefix=prefix)
    yield redis
    keys = [key async for key in redis.client.scan_iter(match=prefix + "*")]
    if keys:
        await redis.client.delete(*keys)
    await redis.aclose()
