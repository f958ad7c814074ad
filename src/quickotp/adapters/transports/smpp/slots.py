"""
A route's SMPP binds spread over the processes that dispatch through it: the operator's
per-account bind limit (the route URL's `binds`) holds across dispatchers, and a dead
dispatcher's slots free themselves (store/bind_leases.py holds them as PostgreSQL session
locks).

Each SMPP transport keeps its share, ceil(binds / dispatchers of the route), and runs a
Bind on each slot it holds; every `every` seconds it looks again. A process over its share
(another dispatcher joined) stops giving new submits to its highest slot, waits for the
submits out on it, unbinds, and only then gives the slot back, so there are never more
binds than slots. A process that learns its session with the database ended drops its
binds at once: its slots may be someone else's by now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Protocol

from quickotp.adapters.transports.smpp.session import Bind
from quickotp.domain.errors import TransportUnavailable
from quickotp.support.background import stop

log = logging.getLogger(__name__)


class NoSlotHere(TransportUnavailable):
    """
    This process holds none of the route's bind slots (other dispatchers hold them all):
    nothing was sent, and the route itself is not at fault.
    """


class BindSlots(Protocol):
    """
    One route's bind slots, shared with the other processes that dispatch through it.
    Every method may raise TransportUnavailable when the shared state cannot be reached;
    `joined` turns False when the slots this handle held are no longer its own.
    """

    @property
    def joined(self) -> bool: ...

    async def join(self, on_lost: Callable[[], None]) -> None: ...

    async def share(self) -> int: ...

    async def take(self, slot: int) -> bool: ...

    async def give_back(self, slot: int) -> None: ...

    async def leave(self) -> None: ...


class SlotKeeper:
    """
    Holds this process's share of one route's slots and a Bind on each. `binds` is the list
    the transport picks binds from: the keeper adds a Bind when it takes a slot and removes
    it before it drains it.
    """

    def __init__(
        self,
        slots: BindSlots,
        *,
        total: int,
        window: int,
        new_bind: Callable[[int], Bind],
        binds: list[Bind],
        drain_timeout: float,
        every: float = 1.0,
        name: str = "smpp",
    ) -> None:
        self.slots = slots
        self.total = total
        self.window = window
        self.new_bind = new_bind
        self.binds = binds
        self.drain_timeout = drain_timeout
        self.every = every
        self.name = name
        self.held: dict[int, Bind] = {}
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"smpp-slots-{self.name}")

    async def aclose(self) -> None:
        """Unbind everything held, then give the slots back and leave the route."""
        await stop(self._task)
        self.binds.clear()
        held, self.held = self.held, {}
        await asyncio.gather(*(bind.aclose() for bind in held.values()))
        with contextlib.suppress(TransportUnavailable):
            await self.slots.leave()

    async def _run(self) -> None:
        while True:
            short = True
            try:
                short = await self.step()
            except TransportUnavailable as exc:
                log.warning("SMPP %s: bind slots: %s", self.name, exc)
            # Short of the share: look again soon, as the holder gives a slot back.
            pause = (self.every / 5 if short else self.every) * random.uniform(0.8, 1.2)  # noqa: S311
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._lost.wait()

    def _on_lost(self) -> None:
        self._lost.set()

    async def step(self) -> bool:
        """
        Look once: join if need be, then take or give back slots to hold the share. Whether
        this process holds fewer than its share.
        """
        if self._lost.is_set() or (self.held and not self.slots.joined):
            self._lost.clear()
            await self._drop()
        if not self.slots.joined:
            await self.slots.join(self._on_lost)
        share = min(self.total, await self.slots.share())
        for slot in sorted(self.held, reverse=True)[: max(0, len(self.held) - share)]:
            await self._give_back(slot)
        for slot in range(self.total):
            if len(self.held) >= share:
                break
            if slot not in self.held and await self.slots.take(slot):
                bind = self.new_bind(slot)
                self.held[slot] = bind
                self.binds.append(bind)
                bind.start()
                log.info("SMPP %s: holding bind slot %d of %d", self.name, slot, self.total)
        return len(self.held) < share

    async def _give_back(self, slot: int) -> None:
        """Drain the slot's bind (no new submits, wait for those out), unbind, free the slot."""
        bind = self.held[slot]
        if bind in self.binds:
            self.binds.remove(bind)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout
        # Polled: the gate has no event for "idle"; bounded by drain_timeout.
        while bind.gate.load > -self.window and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await bind.aclose()
        del self.held[slot]
        await self.slots.give_back(slot)
        log.info("SMPP %s: gave bind slot %d back to another dispatcher", self.name, slot)

    async def _drop(self) -> None:
        """The slots may be another's now: close every bind at once, without draining."""
        if not self.held:
            return
        log.warning("SMPP %s: bind slots lost; closing %d bind(s)", self.name, len(self.held))
        self.binds.clear()
        held, self.held = self.held, {}
        await asyncio.gather(*(bind.aclose() for bind in held.values()))
