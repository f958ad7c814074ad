"""
SMPP binds shared by dispatchers over PostgreSQL: a route's `binds` is a limit across every
process, spread among them, and a dead dispatcher's slots free themselves. Each "dispatcher"
here is its own database session, as each process has; the SMSC is smpp34's simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.adapters.store.bind_leases import SLOT, BindLeases, route_key
from quickotp.adapters.transports.smpp.pdu import DeliverSm
from quickotp.adapters.transports.smpp.session import Bind
from quickotp.adapters.transports.smpp.slots import SlotKeeper
from quickotp.adapters.transports.smpp.transport import SmppConfig, SmppTransport
from quickotp.domain.delivery import OutboundSms
from quickotp.domain.errors import TransportUnavailable
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.clock import ManualTimer, WallClock, settle
from tests.conftest import POSTGRES_URL, _fresh_postgres_database, service_missing
from tests.http_peer import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

ROUTE = "smsc"


@pytest.fixture
async def database() -> str:
    if not POSTGRES_URL:
        service_missing("postgres")
    return await _fresh_postgres_database(POSTGRES_URL)


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    simulator = Simulator(free_port())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def ignore(event: DeliverSm) -> None:
    return None


@dataclass
class Dispatcher:
    """One dispatcher's share of the route: its own session and its slot keeper."""

    leases: BindLeases
    keeper: SlotKeeper

    @property
    def up(self) -> int:
        return sum(bind.up for bind in self.keeper.held.values())

    async def crash(self) -> None:
        """Die: no more steps, the binds gone, the session closed; nothing given back."""
        task = self.keeper._task
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.gather(*(bind.aclose() for bind in self.keeper.held.values()))
        await self.leases.aclose()


@pytest.fixture
async def dispatcher(
    database: str, smsc: Simulator
) -> AsyncIterator[Callable[[], Awaitable[Dispatcher]]]:
    config = SmppConfig.from_url(f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?binds=2&timeout=2")
    started: list[Dispatcher] = []

    async def start() -> Dispatcher:
        leases = BindLeases(database)
        keeper = SlotKeeper(
            leases.route(ROUTE, config.binds),
            total=config.binds,
            window=config.window,
            new_bind=lambda slot: Bind(config, slot, ignore),
            binds=[],
            drain_timeout=2.0,
            every=0.2,
            name=ROUTE,
        )
        keeper.start()
        started.append(Dispatcher(leases, keeper))
        return started[-1]

    yield start
    for each in started:
        await each.keeper.aclose()
        await each.leases.aclose()


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def slot_locks(leases: BindLeases) -> int:
    """Slot locks held in this database by any session, as PostgreSQL counts them."""
    count = await leases.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid >= $1::int8::oid AND classid < $2::int8::oid AND objid = $3::int8::oid",
        SLOT,
        SLOT + 64,
        route_key(ROUTE),
    )
    return int(count)


async def test_binds_spread_over_dispatchers_within_the_routes_limit(
    dispatcher: Callable[[], Awaitable[Dispatcher]],
) -> None:
    """Alone, one holds both binds; a second joins and each holds one; never three at once."""
    first = await dispatcher()
    await until(lambda: first.up == 2)
    observer = BindLeases(first.leases._dsn)
    seen: list[int] = []

    async def watch() -> None:
        while True:
            seen.append(first.up + (second.up if second else 0))
            seen.append(await slot_locks(observer))
            await asyncio.sleep(0.01)

    second: Dispatcher | None = None
    watching = asyncio.create_task(watch())
    try:
        second = await dispatcher()
        await until(lambda: first.up == 1 and second is not None and second.up == 1)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await observer.aclose()

    assert max(seen) == 2
    assert sorted([*first.keeper.held, *second.keeper.held]) == [0, 1]


async def test_a_dead_dispatchers_slot_frees_itself(
    dispatcher: Callable[[], Awaitable[Dispatcher]],
) -> None:
    """A dispatcher that dies without a word: the survivor binds its slot within seconds."""
    first, second = await dispatcher(), await dispatcher()
    await until(lambda: first.up + second.up == 2)

    started = time.monotonic()
    await first.crash()
    await until(lambda: second.up == 2)

    assert time.monotonic() - started < 5


async def test_a_dispatcher_without_a_slot_hands_its_messages_back_at_once(
    dispatcher: Callable[[], Awaitable[Dispatcher]], database: str, smsc: Simulator
) -> None:
    """Every slot held elsewhere: send fails fast (to be retried by a holder), never waits."""
    first, second = await dispatcher(), await dispatcher()
    # One each, not just two in all: the first to start may hold both for a moment, and the
    # slot it then hands to the second could go to the third instead.
    await until(lambda: first.up == 1 and second.up == 1)
    leases = BindLeases(database)
    url = f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?binds=2&timeout=5"
    timer = ManualTimer()  # still while it sends: whatever the send waits for never comes
    third = SmppTransport.from_url(
        url,
        clock=WallClock(),
        name=ROUTE,
        slots=lambda n: leases.route(ROUTE, n),
        timer=timer,
    )
    await third.start(lambda report: asyncio.sleep(0))
    await asyncio.sleep(0.3)  # its first look at the slots
    sms = OutboundSms(
        message_id=1,
        mobile="989120000000",
        sender="10004321",
        text="code 1234",
        parts=1,
        expires_at=datetime.now(UTC) + timedelta(minutes=2),
    )

    try:
        sending = asyncio.create_task(third.send(sms))
        await settle()
        done = sending.done()
        sending.cancel()  # if it waits after all
        [outcome] = await asyncio.gather(sending, return_exceptions=True)
        bound = third.bound
    finally:  # closed even when the check fails: no connection left for the next test
        await third.aclose()
        await leases.aclose()

    assert done  # without its timer moving: it waited for nothing, not the bind's timeout
    assert isinstance(outcome, TransportUnavailable)
    assert "bind slots" in str(outcome)
    assert bound == 0
