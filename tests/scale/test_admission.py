"""
Admission control: the wait estimate, the check each send passes, the outbox's figures per
route on both databases, and the refusal as /rest and /v1 answer it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import schemathesis

from quickotp.adapters.store.outbox_stats import OutboxStats
from quickotp.bootstrap import Runtime, utc_now
from quickotp.domain.errors import RouteOverloaded
from quickotp.domain.queue import Head, RouteQueue
from quickotp.domain.routing import FALLBACK, Route, checked_route, first_choice, first_choices
from quickotp.services.admission import Admission, _Drain, estimate
from quickotp.web.app import create_app
from quickotp.web.openapi import DOCUMENT
from tests.conftest import Seeded

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SMSC = "smpp://u:p@127.0.0.1:2775"


def route(name: str, *prefixes: str, accounts: tuple[int, ...] = (), priority: int = 10) -> Route:
    return checked_route(
        name=name,
        kind="smpp",
        url=SMSC,
        shown=SMSC,
        prefixes=prefixes,
        accounts=accounts,
        priority=priority,
    )


# the estimate -----------------------------------------------------------------------------


def test_no_wait_while_the_head_of_the_queue_moves() -> None:
    """A head that waited under two seconds means messages are taken as they come."""
    assert estimate(due=1_000, head_delay=1.5, drain=10.0) == 0.0


def test_one_slow_second_does_not_cut_the_rate() -> None:
    """100 a second leave, then 5 in one stalled second: the route's rate stays 100."""
    drain = _Drain()
    backlog = 10_000
    for second, left in enumerate((0, 100, 100, 100, 5)):
        backlog -= left
        rate = drain.update(float(second), RouteQueue(backlog, backlog, None, 0))

    assert rate == 100.0


def test_a_queue_that_stopped_moving_has_no_rate() -> None:
    """The dispatcher died: once two readings see nothing leave, the rate is 0, not a tail."""
    drain = _Drain()
    for second, backlog in enumerate((1_000, 900, 800, 800, 800)):
        rate = drain.update(float(second), RouteQueue(backlog, backlog, None, 0))

    assert rate == 0.0


def test_a_forming_queue_waits_what_is_due_over_the_drain_rate() -> None:
    """Past the threshold the wait is the messages ahead over the rate they leave at."""
    assert estimate(due=600, head_delay=3.0, drain=10.0) == 60.0


def test_with_nothing_draining_the_heads_age_is_the_wait() -> None:
    """No dispatcher, or an SMSC that takes nothing: only the messages' age tells."""
    assert estimate(due=50, head_delay=30.0, drain=0.0) == 30.0


def test_the_drain_rate_counts_what_left_the_backlog_between_readings() -> None:
    """100 waiting, 30 more arrive, 80 left a second later: 50 left in that second."""
    drain = _Drain()

    first = drain.update(0.0, RouteQueue(backlog=100, due=100, due_since=None, arrived=0))
    second = drain.update(1.0, RouteQueue(backlog=80, due=80, due_since=None, arrived=30))

    assert (first, second) == (0.0, 50.0)


def test_a_message_goes_to_the_first_route_routing_would_pick() -> None:
    """An account's own route, then the longest prefix, then the catch-all; by priority first."""
    pairs = first_choices(
        [
            route("any"),
            route("irancell", "98935", "98936"),
            route("mci", "98912"),
            route("mci-vip", "98912", accounts=(7,)),
            route("backup", "98912", priority=20),
        ]
    )

    assert first_choice(pairs, "989121234567", 1) == "mci"
    assert first_choice(pairs, "989121234567", 7) == "mci-vip"
    assert first_choice(pairs, "989351234567", 1) == "irancell"
    assert first_choice(pairs, "989901234567", 1) == "any"
    assert first_choice([], "989901234567", 1) == FALLBACK
    assert first_choice(first_choices([route("mci", "98912")]), "989351234567", 1) is None


# the check, with figures from a stand-in for the outbox -------------------------------------


class FakeStats:
    """Outbox figures set by the test; counts how often each reading is asked for."""

    def __init__(self) -> None:
        self.due_since: datetime | None = None
        self.queues: dict[str | None, RouteQueue] = {}
        self.last_id = 0
        self.route_readings = 0

    async def head(self, now: datetime) -> Head:
        return Head(self.due_since, self.last_id)

    async def routes(
        self, routes: list[Route], now: datetime, *, after_id: int
    ) -> tuple[dict[str | None, RouteQueue], int]:
        self.route_readings += 1
        return self.queues, self.last_id


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def admission(stats: FakeStats, clock: Callable[[], datetime], routes: list[Route]) -> Admission:
    async def load() -> list[Route]:
        return routes

    return Admission(stats, load, clock, wait_share=0.5)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_an_idle_gateway_reads_only_the_head_and_admits_everything() -> None:
    """No queue: the per-route reading is never made, and the check is one attribute test."""
    stats, clock = FakeStats(), Clock()
    gate = admission(stats, clock, [route("mci", "98912")])

    for _ in range(3):
        await gate.refresh()
        gate.check(1, "989121234567", 120)

    assert (stats.route_readings, gate.loads) == (0, {})


@pytest.mark.anyio
async def test_a_congested_route_refuses_its_own_messages_only() -> None:
    """600 due on mci draining 10/s is a 60 s wait: over half of 100 s, under half of 200 s."""
    stats, clock = FakeStats(), Clock()
    gate = admission(stats, clock, [route("mci", "98912"), route("irancell", "98935")])
    stats.due_since = NOW - timedelta(seconds=5)
    for second, backlog in enumerate((700, 690, 680)):  # 10 a second leave, none arrive
        clock.now = NOW + timedelta(seconds=second)
        stats.queues = {"mci": RouteQueue(backlog, 600, stats.due_since, 0)}
        await gate.refresh()

    with pytest.raises(RouteOverloaded) as refused:
        gate.check(1, "989121234567", validity_seconds=100)
    gate.check(1, "989121234567", validity_seconds=200)
    gate.check(1, "989351234567", validity_seconds=100)

    assert 1 <= refused.value.retry_after <= 60
    assert gate.loads["mci"].drain == 10.0


@pytest.mark.anyio
async def test_stale_figures_are_not_used() -> None:
    """When the reader has failed for ten seconds, sends pass: the database is the issue."""
    stats, clock = FakeStats(), Clock()
    gate = admission(stats, clock, [])
    stats.due_since = NOW - timedelta(seconds=300)
    stats.queues = {FALLBACK: RouteQueue(10, 10, stats.due_since, 0)}
    await gate.refresh()

    clock.now = NOW + timedelta(seconds=11)

    gate.check(1, "989121234567", validity_seconds=120)
    assert gate.loads[FALLBACK].wait == 300.0


# on the databases ---------------------------------------------------------------------------

SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


@asynccontextmanager
async def admitted_by(runtime: Runtime, gate: Admission) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over a gateway of the runtime's whose sends `gate` admits."""
    gateway = replace(runtime.gateway, admission=gate)
    gateway.start()
    transport = httpx.ASGITransport(app=create_app(gateway), client=("203.0.113.7", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http
    finally:
        await gateway.aclose()


async def send(client: httpx.AsyncClient, token: str, mobile: str) -> dict[str, object]:
    response = await client.post(
        "/rest/SendQuickOTP",
        data={"Mobile": mobile, "CodeLength": "6"},
        headers={"Authorization": token},
    )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def later(seconds: float) -> Callable[[], datetime]:
    """The real clock, `seconds` ahead: what was queued a moment ago looks that old."""
    return lambda: utc_now() + timedelta(seconds=seconds)


@pytest.mark.anyio
async def test_the_outbox_figures_follow_the_routes(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Backlog, due and arrivals counted per route by the same rule as routing, in SQL."""
    now = runtime.admin.clock()
    await runtime.route_book.add(route("mci", "98912"), now)
    await runtime.route_book.add(route("other"), now)
    for mobile in ("09121000001", "09121000002", "09351000003"):
        assert (await send(client, seeded.token, mobile))["Status"] == "Success"
    stats = OutboxStats(runtime.engines)

    head = await stats.head(utc_now())
    queues, last_id = await stats.routes(await runtime.route_book.load(), utc_now(), after_id=0)
    _, same = await stats.routes(await runtime.route_book.load(), utc_now(), after_id=last_id)

    assert head.due_since is not None
    assert {k: (q.backlog, q.due, q.arrived) for k, q in queues.items()} == {
        "mci": (2, 2, 2),
        "other": (1, 1, 1),
    }
    assert last_id == head.last_id == same


@pytest.mark.anyio
async def test_rest_answers_route_overloaded_and_stores_nothing(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """An old queue on the number's route: Route_Overloaded at once, no message, no charge."""
    await runtime.route_book.add(route("mci", "98912"), runtime.admin.clock())
    assert (await send(client, seeded.token, "09121000001"))["Status"] == "Success"
    gate = Admission(OutboxStats(runtime.engines), runtime.route_book.load, later(100))
    await gate.refresh()
    credit = (await runtime.store.get_account(seeded.account_id)).credit

    async with admitted_by(runtime, gate) as gated:
        refused = await send(gated, seeded.token, "09121000002")
        other = await send(gated, seeded.token, "09351000002")

    assert refused == {"Status": "Route_Overloaded", "Data": None}
    assert other["Status"] == "Success"
    account = await runtime.store.get_account(seeded.account_id)
    assert credit - account.credit == runtime.settings.price_per_part  # the other's part only


@pytest.mark.anyio
async def test_v1_answers_503_with_retry_after_as_documented(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """/v1 refuses with the route-overloaded problem, a 503 and Retry-After, per OpenAPI."""
    assert (await send(client, seeded.token, "09121000001"))["Status"] == "Success"
    gate = Admission(OutboxStats(runtime.engines), runtime.route_book.load, later(100))
    await gate.refresh()

    async with admitted_by(runtime, gate) as gated:
        response = await gated.post(
            "/v1/verifications",
            json={"to": "09121000002"},
            headers={"Authorization": f"Bearer {seeded.token}"},
        )

    assert response.status_code == 503
    assert response.json()["type"] == "urn:quickotp:problem:route-overloaded"
    assert response.json()["code"] == "Route_Overloaded"
    assert 40 <= int(response.headers["retry-after"]) <= 42  # 100 s waited, 60 s allowed
    operation = SCHEMA.find_operation_by_path("POST", "/v1/verifications")
    assert operation is not None
    operation.validate_response(response)


@pytest.mark.anyio
async def test_arrivals_that_stay_queued_are_no_drain(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """No dispatcher: what arrives between readings stays, so the wait is the head's age."""
    offset = {"seconds": 100.0}
    gate = Admission(
        OutboxStats(runtime.engines),
        runtime.route_book.load,
        lambda: utc_now() + timedelta(**offset),
    )
    for reading in range(4):
        for i in range(3):
            await send(client, seeded.token, f"091210{reading}{i:04d}")
        await gate.refresh()
        offset["seconds"] += 1

    load = gate.loads[FALLBACK]
    assert load.drain == 0.0
    assert 100 <= load.wait == load.head_delay < 110
    assert load.due == 12
