"""RoutingTransport over in-test transports: failover, no blind failover, the breaker, reloads."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.adapters.transports.routed import RoutingTransport
from quickotp.domain.delivery import (
    DeliveryReport,
    DeliveryState,
    OutboundSms,
    ReportSink,
    SendReceipt,
)
from quickotp.domain.errors import (
    DeliveryError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.routing import BreakerPolicy, Route
from quickotp.ports.transport import Transport

pytestmark = pytest.mark.anyio


class Upstream:
    """Takes messages, or fails them with the errors queued for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[DeliveryError] = []
        self.always: DeliveryError | None = None
        self.sent: list[int] = []
        self.closed = False
        self.reports: ReportSink | None = None

    async def start(self, reports: ReportSink) -> None:
        self.reports = reports

    async def send(self, sms: OutboundSms) -> SendReceipt:
        if self.failures:
            raise self.failures.pop(0)
        if self.always is not None:
            raise self.always
        self.sent.append(sms.message_id)
        return SendReceipt(self.name, f"{self.name}-{sms.message_id}")

    async def aclose(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sms(message_id: int = 1, mobile: str = "989120000000", account_id: int = 1) -> OutboundSms:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    return OutboundSms(
        message_id, mobile, "1000", "code 1234", 1, expires, account_id=account_id, code="1234"
    )


def route(name: str, priority: int = 10, prefixes: tuple[str, ...] = ()) -> Route:
    return Route(name, "amoot", "amoot://t@h", "amoot://***@h", prefixes, priority=priority)


async def noop(report: DeliveryReport) -> None:
    return None


class World:
    """A RoutingTransport over named Upstreams, the routes it loads, and its clock."""

    def __init__(self, routes: list[Route], refresh: float = 0) -> None:
        self.routes = routes
        self.upstreams: dict[str, Upstream] = {}
        self.fallback = Upstream("log")
        self.clock = Clock()
        self.router = RoutingTransport(
            self.load,
            fallback=self.fallback,
            build=self.build,
            clock=self.clock,
            policy=BreakerPolicy(failures=3, cool_down=30),
            refresh=refresh,
        )

    async def load(self) -> list[Route]:
        return list(self.routes)

    def build(self, route: Route) -> Transport:
        self.upstreams[route.name] = Upstream(route.name)
        return self.upstreams[route.name]


@pytest.fixture
async def world() -> World:
    made = World([route("first", 1), route("second", 2)])
    await made.router.start(noop)
    return made


async def test_without_routes_the_fallback_carries_everything() -> None:
    """No route configured: the dev log sink takes the message, as before routing existed."""
    bare = World([])
    await bare.router.start(noop)

    receipt = await bare.router.send(sms())

    assert (receipt.transport, bare.fallback.sent) == ("log", [1])


async def test_the_first_route_takes_it(world: World) -> None:
    """A message goes through the first route of the plan; the receipt names that route."""
    receipt = await world.router.send(sms())

    assert receipt == SendReceipt("first", "first-1")


async def test_unavailable_fails_over_to_the_next_route(world: World) -> None:
    """Nothing was sent through the first route: the second takes the message at once."""
    world.upstreams["first"].failures.append(TransportUnavailable("connect refused"))

    receipt = await world.router.send(sms())

    assert receipt.transport == "second"
    assert world.upstreams["second"].sent == [1]


async def test_uncertain_is_never_failed_over(world: World) -> None:
    """The first route may have sent it: no second route is tried; the dispatcher records it."""
    world.upstreams["first"].failures.append(DeliveryUncertain("no answer"))

    with pytest.raises(DeliveryUncertain):
        await world.router.send(sms())

    assert world.upstreams["second"].sent == []


async def test_rejected_ends_the_message(world: World) -> None:
    """A permanent refusal is not tried elsewhere."""
    world.upstreams["first"].failures.append(TransportRejected("bad number"))

    with pytest.raises(TransportRejected):
        await world.router.send(sms())

    assert world.upstreams["second"].sent == []


async def test_every_route_failing_is_unavailable(world: World) -> None:
    """When each route fails transiently the dispatcher gets TransportUnavailable, to retry."""
    for name in ("first", "second"):
        world.upstreams[name].always = TransportUnavailable(f"{name} down")

    with pytest.raises(TransportUnavailable) as raised:
        await world.router.send(sms())

    assert "second down" in str(raised.value)


async def test_no_matching_route_rejects() -> None:
    """A number no route takes is refused for good, not retried."""
    narrow = World([route("mci", prefixes=("98912",))])
    await narrow.router.start(noop)

    with pytest.raises(TransportRejected):
        await narrow.router.send(sms(mobile="989350000000"))


async def test_breaker_opens_then_closes_by_itself(world: World) -> None:
    """Three failures take a route out; after the cool-down one probe brings it back."""
    first = world.upstreams["first"]
    first.always = TransportUnavailable("down")
    for i in range(3):
        await world.router.send(sms(i))
    first.always = None

    await world.router.send(sms(10))  # the breaker is open: not even tried
    world.clock.now += 31
    probe = await world.router.send(sms(11))

    assert first.sent == [11]
    assert probe.transport == "first"
    assert world.upstreams["second"].sent == [0, 1, 2, 10]
    [state] = [s for s in world.router.routes() if s.name == "first"]
    assert (state.breaker, state.sent, state.errors) == ("closed", 1, 3)


async def test_route_state_shows_an_open_breaker(world: World) -> None:
    """The panel sees a route taken out as down, with its breaker open."""
    world.upstreams["first"].always = TransportUnavailable("down")
    for i in range(3):
        await world.router.send(sms(i))

    states = {s.name: s for s in world.router.routes()}

    assert (states["first"].up, states["first"].breaker) == (False, "open")
    assert "last error: down" in states["first"].detail
    assert (states["second"].up, states["second"].sent) == (True, 3)


async def test_routes_added_and_removed_are_picked_up() -> None:
    """A route added to the table is used after the next reload; a removed one is closed."""
    changing = World([route("old")], refresh=0.05)
    await changing.router.start(noop)
    try:
        changing.routes = [route("new")]
        async with asyncio.timeout(5):
            while "new" not in {s.name for s in changing.router.routes()}:
                await asyncio.sleep(0.02)

        receipt = await changing.router.send(sms())

        assert receipt.transport == "new"
        async with asyncio.timeout(5):
            while not changing.upstreams["old"].closed:
                await asyncio.sleep(0.02)
    finally:
        await changing.router.aclose()


async def _one_route_with(sink: ReportSink) -> tuple[World, ReportSink]:
    """A started router with the route `first`, and the sink its transport was given."""
    made = World([route("first")])
    made.router = RoutingTransport(
        made.load, fallback=made.fallback, build=made.build, clock=made.clock, refresh=0
    )
    await made.router.start(sink)
    reports = made.upstreams["first"].reports
    assert reports is not None
    return made, reports


def _report(n: int) -> DeliveryReport:
    return DeliveryReport("first", f"p{n}", DeliveryState.DELIVERED, datetime.now(UTC))


async def test_reports_are_handed_on_at_once_and_all_by_close() -> None:
    """A route's reports reach the sink at once, without waiting on each other; closing the
    router hands on those still on their way."""
    committing: list[str] = []
    received: list[str] = []
    commit = asyncio.Event()

    async def slow_sink(report: DeliveryReport) -> None:
        committing.append(report.provider_message_id)
        await commit.wait()  # a commit, under way until the test ends it
        received.append(report.provider_message_id)

    made, reports = await _one_route_with(slow_sink)
    async with asyncio.timeout(5):  # the reader never waits on the sink
        for i in range(20):
            await reports(_report(i))
    await asyncio.sleep(0)  # one turn of the loop: each report's task starts

    assert committing == [f"p{i}" for i in range(20)]  # all handed on at once: no hold
    assert received == []
    closing = asyncio.create_task(made.router.aclose())
    async with asyncio.timeout(5):
        while not made.upstreams["first"].closed:
            await asyncio.sleep(0)
    assert not closing.done()  # it waits for the reports still on their way
    commit.set()
    async with asyncio.timeout(5):
        await closing
    assert sorted(received) == sorted(f"p{i}" for i in range(20))


async def test_a_sink_that_hands_back_futures_is_followed_and_drained_by_close() -> None:
    """As the dispatcher's group commit does: the future each report gets is the commit."""
    commits: list[asyncio.Future[None]] = []

    def committing_sink(report: DeliveryReport) -> asyncio.Future[None]:
        commits.append(asyncio.get_running_loop().create_future())
        return commits[-1]

    made, reports = await _one_route_with(committing_sink)
    for i in range(3):
        await reports(_report(i))
    assert len(commits) == 3

    closing = asyncio.create_task(made.router.aclose())
    async with asyncio.timeout(5):  # the route is closed: what is left is the drain
        while not made.upstreams["first"].closed:
            await asyncio.sleep(0)
    assert not closing.done()  # it waits for the commits still under way
    for commit in commits:
        commit.set_result(None)
    async with asyncio.timeout(5):
        await closing


async def test_a_sink_that_refuses_at_once_keeps_no_slot() -> None:
    calls = 0

    def refusing_sink(report: DeliveryReport) -> asyncio.Future[None]:
        nonlocal calls
        calls += 1
        raise RuntimeError("the committer is closed")

    made, reports = await _one_route_with(refusing_sink)
    async with asyncio.timeout(5):  # a kept slot would block the 4,097th call for good
        for _ in range(5000):
            with pytest.raises(RuntimeError, match="closed"):
                await reports(_report(1))
    assert calls == 5000
    await made.router.aclose()


async def test_a_route_switched_off_is_dropped_on_reload_and_none_on_means_nothing_is_sent(
    world: World,
) -> None:
    """reload() applies the table at once; with every stored route off, messages wait."""
    world.routes = [replace(world.routes[0], enabled=False), world.routes[1]]
    await world.router.reload()
    second = await world.router.send(sms())
    world.routes = [replace(r, enabled=False) for r in world.routes]
    await world.router.reload()

    with pytest.raises(TransportUnavailable, match="every route is switched off"):
        await world.router.send(sms(2))

    assert second.transport == "second"
    assert world.upstreams["first"].sent == []
    assert world.fallback.sent == []
    assert world.router.routes() == []


async def test_transport_of_names_the_running_transport_of_a_route_as_stored(world: World) -> None:
    """The running transport for the route as it runs; none for a changed or unknown one."""
    first = world.routes[0]

    assert world.router.transport_of(first) is world.upstreams["first"]
    assert world.router.transport_of(replace(first, priority=9)) is None
    assert world.router.transport_of(route("third")) is None


async def test_route_state_counts_failures_in_a_row_and_the_last_error(world: World) -> None:
    """Two failures in a row, then a success: the count starts again, the last error stays."""
    world.upstreams["first"].failures += [TransportUnavailable("a"), TransportUnavailable("b")]
    await world.router.send(sms())  # first fails, second takes it
    await world.router.send(sms(2))  # first fails again, second takes it
    failing = {s.name: s for s in world.router.routes()}["first"]
    await world.router.send(sms(3))  # first takes it
    healed = {s.name: s for s in world.router.routes()}["first"]

    assert (failing.failures, failing.last_error) == (2, "b")
    assert (healed.failures, healed.last_error) == (0, "b")
