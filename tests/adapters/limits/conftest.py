"""The Limiter implementations, each behind the same fixture: memory always, Redis when set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.adapters.limits.redis import RedisLimiter
from quickotp.ports.limits import Limiter
from tests.conftest import REDIS_URL, service_missing


def on_a_new_client(url: str, prefix: str) -> RedisLimiter:
    return RedisLimiter(Redis.from_url(url), prefix=prefix)


@asynccontextmanager
async def redis_limiter(
    make: Callable[[str, str], RedisLimiter] = on_a_new_client,
) -> AsyncIterator[RedisLimiter]:
    """
    A Redis limiter under a key prefix of its own, made by `make(url, prefix)`; its keys
    are deleted after. Without QUICKOTP_TEST_REDIS_URL, service_missing decides.
    """
    if not REDIS_URL:
        service_missing("redis")
    prefix = f"quickotp-test:{uuid.uuid4().hex[:12]}:"
    limiter = make(REDIS_URL, prefix)
    try:
        yield limiter
    finally:
        keys = [key async for key in limiter.client.scan_iter(match=prefix + "*")]
        if keys:
            await limiter.client.delete(*keys)
        await limiter.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    """A fresh limiter of each kind (on Redis, under a prefix of its own)."""
    if request.param == "memory":
        memory = MemoryLimiter()
        yield memory
        await memory.aclose()
        return
    async with redis_limiter() as redis:
        yield redis
