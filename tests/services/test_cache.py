"""The short-lived cache of tokens, patterns and policies: single flight, expiry, bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from quickotp.services.cache import TtlCache

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts its loads; each waits on `gate` (set by default) and returns the key's text."""

    def __init__(self) -> None:
        self.loads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    def __call__(self, key: int) -> Callable[[], Awaitable[str]]:
        async def load() -> str:
            self.loads += 1
            await self.gate.wait()
            if self.fail is not None:
                raise self.fail
            return f"value {key} #{self.loads}"

        return load


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[int, str] = TtlCache(2.0, max_size=10)
    loader = Loader()
    loader.gate.clear()
    waiting = [asyncio.create_task(cache.get(1, loader(1))) for _ in range(64)]
    await asyncio.sleep(0)
    loader.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"value 1 #1"}
    assert loader.loads == 1


async def test_a_value_is_kept_for_its_seconds_then_loaded_again() -> None:
    clock = Clock()
    cache: TtlCache[int, str] = TtlCache(2.0, max_size=10, clock=clock)
    loader = Loader()
    assert await cache.get(1, loader(1)) == "value 1 #1"
    clock.now += 1.9
    assert await cache.get(1, loader(1)) == "value 1 #1"
    clock.now += 0.2
    assert await cache.get(1, loader(1)) == "value 1 #2"


async def test_a_failed_load_reaches_every_waiter_and_is_not_kept() -> None:
    cache: TtlCache[int, str] = TtlCache(2.0, max_size=10)
    loader = Loader()
    loader.gate.clear()
    loader.fail = RuntimeError("database down")
    waiting = [asyncio.create_task(cache.get(1, loader(1))) for _ in range(3)]
    await asyncio.sleep(0)
    loader.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    loader.fail = None
    assert await cache.get(1, loader(1)) == "value 1 #2"


async def test_a_cancelled_load_is_not_kept_and_the_next_caller_loads_again() -> None:
    cache: TtlCache[int, str] = TtlCache(2.0, max_size=10)
    loader = Loader()
    loader.gate.clear()
    first = asyncio.create_task(cache.get(1, loader(1)))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    loader.gate.set()
    assert await cache.get(1, loader(1)) == "value 1 #2"


async def test_forget_drops_one_key_or_all_and_size_is_bounded() -> None:
    cache: TtlCache[int, str] = TtlCache(60.0, max_size=3)
    loader = Loader()
    for key in (1, 2, 3):
        await cache.get(key, loader(key))
    cache.forget(2)
    assert await cache.get(1, loader(1)) == "value 1 #1"
    assert await cache.get(2, loader(2)) == "value 2 #4"
    cache.forget()
    assert await cache.get(1, loader(1)) == "value 1 #5"
    for key in (10, 11, 12, 13):  # the fourth key finds the cache full: it starts again
        await cache.get(key, loader(key))
    assert await cache.get(1, loader(1)) == "value 1 #10"
