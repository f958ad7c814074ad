"""
Route alarms in a dispatching gateway, against real peers on 127.0.0.1: an SMPP route with
no SMSC listening is down, then up once a simulator listens; an Amoot-like upstream that
refuses makes its route failing, then down. Alarms are kept in the database (and outlive a
restart), logged, shown on the routes page, and posted, signed, to the operator's URL
through the public poster, with retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.transports.routed import RoutingTransport
from quickotp.bootstrap import Runtime, alarm_hook, build_runtime
from quickotp.domain.delivery import OutboundSms
from quickotp.domain.errors import ConfigurationError, TransportUnavailable
from quickotp.domain.models import Actor, User
from quickotp.domain.route_alarms import Health, Step
from quickotp.services.route_alarms import NOTICE_ATTEMPTS, RouteWatch
from quickotp.services.routes import RouteForm
from quickotp.settings import Settings
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.clock import WallClock
from tests.conftest import TEST_SECRET, known_names, make_settings
from tests.http_peer import free_port, serving
from tests.panel.conftest import FAST_HASHER, OPERATOR_EMAIL, PASSWORD, open_browser, sign_in
from tests.services.webhooks.test_webhooks import signed

pytestmark = pytest.mark.anyio

ALARM_SECRET = "alarm-signing-secret-0123"


@dataclass
class AlarmReceiver:
    """The operator's alarm URL: keeps each POST; answers `status`."""

    status: int = 204
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((dict(request.headers), await request.body()))
            return Response(b"", self.status)

        return Starlette(routes=[Route("/alarms", hook, methods=["POST"])])

    def bodies(self) -> list[dict[str, object]]:
        found: list[dict[str, object]] = [json.loads(body) for _, body in self.got]
        return found


@dataclass
class Upstream:
    """Amoot's SendQuickOTP answering `status`."""

    status: str = "CreditNotEnough"

    def app(self) -> Starlette:
        async def send(request: Request) -> Response:
            data = {"Mobile": 9120000000, "MessageID": 7, "Status": "Success"}
            return JSONResponse({"Status": self.status, "Data": data})

        return Starlette(routes=[Route("/rest/SendQuickOTP", send, methods=["POST"])])


@dataclass
class Gateway:
    runtime: Runtime
    watch: RouteWatch  # the runtime's own, looked through by hand (never started)
    operator: User
    closed: bool = False

    @property
    def router(self) -> RoutingTransport:
        assert self.runtime.dispatcher is not None
        transport = self.runtime.dispatcher.transport
        assert isinstance(transport, RoutingTransport)
        return transport

    async def add(self, name: str, url: str) -> None:
        await self.runtime.route_desk.add(Actor(self.operator, None), name, RouteForm(url=url))

    async def down(self) -> None:
        """Wait until its only route reads down (an SMPP route: every bind tried and failed)."""
        await until(lambda: self.router.routes()[0].up is False)

    async def up(self) -> None:
        await until(lambda: self.router.routes()[0].up is True)


Open = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def open_gateway(database_url: str, tmp_path: Path) -> AsyncIterator[Open]:
    """Start dispatching gateways on one database (a second one is a restart); closed after."""
    opened: list[Gateway] = []

    async def start(
        alarm_url: str, *, private: bool = True, clock: WallClock | None = None
    ) -> Gateway:
        settings = make_settings(
            database_url,
            QUICKOTP_SINK_FILE=str(tmp_path / "sink.jsonl"),
            QUICKOTP_ROUTE_FAILURES="3",
            QUICKOTP_ROUTE_ALARM_URL=alarm_url,
            QUICKOTP_ROUTE_ALARM_SECRET=ALARM_SECRET,
            QUICKOTP_WEBHOOK_PRIVATE_URLS="1" if private else "0",
        )
        runtime = build_runtime(settings, dispatch=True, resolver=known_names())
        runtime.users.hasher = FAST_HASHER
        watch = runtime.route_watch
        assert watch is not None
        runtime.route_watch = None  # the test looks when it says
        if clock is not None:
            watch.clock = clock
        await upgrade(runtime.engines)
        await runtime.start()
        operators = [u for u in await runtime.desk.identity.list_users() if u.role == "operator"]
        if operators:
            operator = operators[0]
        else:
            operator = await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
            await runtime.users.set_locale(operator, "en")
        gateway = Gateway(runtime, watch, operator)
        opened.append(gateway)
        return gateway

    yield start
    for gateway in reversed(opened):
        await close(gateway)


async def close(gateway: Gateway) -> None:
    """Stop it, as a restart would (once)."""
    if not gateway.closed:
        gateway.closed = True
        await gateway.watch.aclose()
        await gateway.runtime.aclose()


async def until(check: Callable[[], bool], timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def sms() -> OutboundSms:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    return OutboundSms(1, "989120000000", "1000", "code 1234", 1, expires, code="1234")


def smpp_down_url(port: int) -> str:
    return f"smpp://quickotp:pw@127.0.0.1:{port}?timeout=2&reconnect_max=1"


async def test_a_route_down_then_up_opens_then_clears_one_alarm_and_tells_the_operator(
    open_gateway: Open, caplog: pytest.LogCaptureFixture
) -> None:
    """No SMSC: down, one alarm (logged, posted signed); an SMSC listens: up, cleared."""
    receiver = AlarmReceiver()
    port = free_port()
    async with serving(receiver.app()) as base:
        gateway = await open_gateway(f"{base}/alarms")
        await gateway.add("mci", smpp_down_url(port))
        await gateway.down()
        with caplog.at_level(logging.INFO, logger="quickotp.services.route_alarms"):
            opened = await gateway.watch.look()
            again = await gateway.watch.look()
            await gateway.watch.post_notices()
            smsc = Simulator(port)
            await smsc.start()
            try:
                await gateway.up()
                cleared = await gateway.watch.look()
                await gateway.watch.post_notices()
            finally:
                await smsc.stop()
        [alarm] = await gateway.runtime.route_desk.alarms.recent_alarms(10)

    assert [(what, a.route, a.kind) for what, a in opened] == [(Step.OPEN, "mci", Health.DOWN)]
    assert again == []
    assert [what for what, _ in cleared] == [Step.CLEAR]
    assert alarm.cleared_at is not None
    assert alarm.notice == "cleared: HTTP 204"
    assert [(b["step"], b["route"], b["kind"]) for b in receiver.bodies()] == [
        ("opened", "mci", "down"),
        ("cleared", "mci", "down"),
    ]
    for headers, body in receiver.got:
        assert signed(ALARM_SECRET, headers, body)
    assert f"route mci is down (alarm {alarm.id})" in caplog.text
    assert f"route mci alarm {alarm.id} cleared" in caplog.text


async def test_an_open_alarm_outlives_a_restart_and_shows_on_the_routes_page(
    open_gateway: Open,
) -> None:
    """Opened before a restart, open after it (not opened twice), on the pages, then cleared."""
    receiver = AlarmReceiver()
    port = free_port()
    async with serving(receiver.app()) as base:
        first = await open_gateway(f"{base}/alarms")
        await first.add("mci", smpp_down_url(port))
        await first.down()
        [(_, before)] = await first.watch.look()
        await close(first)

        second = await open_gateway(f"{base}/alarms")
        await second.down()
        after_restart = await second.watch.look()
        browser = await open_browser(second.runtime, ip="198.51.100.99")
        await sign_in(browser, OPERATOR_EMAIL)
        page = await browser.get("/panel/operator/routes")
        route_page = await browser.get("/panel/operator/routes/mci/edit")
        await browser.http.aclose()
        [still] = await second.runtime.route_desk.alarms.open_alarms()
        smsc = Simulator(port)
        await smsc.start()
        try:
            await second.up()
            cleared = await second.watch.look()
        finally:
            await smsc.stop()

    assert after_restart == []
    assert still.id == before.id
    assert 'id="open-alarms"' in page.text
    assert "Still open" in route_page.text
    assert [(what, a.id) for what, a in cleared] == [(Step.CLEAR, before.id)]
    assert await second.runtime.route_desk.alarms.open_alarms() == []


async def test_a_notice_pending_when_the_process_stops_is_posted_after_the_restart(
    open_gateway: Open,
) -> None:
    """
    Notices wait in the database, not in a process: one owed (its URL refused it once) when
    the gateway stops is posted by the next one, once its retry is due, and recorded.
    """
    receiver = AlarmReceiver(status=503)
    clock = WallClock()
    async with serving(receiver.app()) as base:
        first = await open_gateway(f"{base}/alarms", clock=clock)
        await first.add("mci", smpp_down_url(free_port()))
        await first.down()
        [(_, alarm)] = await first.watch.look()
        await first.watch.post_notices()  # refused: owed again in 10 s
        await close(first)

        receiver.status = 204
        second = await open_gateway(f"{base}/alarms", clock=clock)
        await second.watch.post_notices()  # not due yet
        posted_early = len(receiver.got)
        clock.advance(timedelta(minutes=1))
        await second.watch.post_notices()
        await second.watch.post_notices()  # taken: not posted again
        [recorded] = await second.runtime.route_desk.alarms.recent_alarms(10)

    assert posted_early == 1
    assert [(b["step"], b["alarm"], b["route"], b["kind"]) for b in receiver.bodies()] == [
        ("opened", alarm.id, "mci", "down")
    ] * 2
    headers, body = receiver.got[-1]
    assert signed(ALARM_SECRET, headers, body, now=clock().timestamp())
    assert headers["x-quickotp-delivery"] == f"alarm-{alarm.id}-opened"
    assert recorded.notice == "opened: HTTP 204"


async def test_a_refusing_upstream_makes_its_route_failing_then_down_then_off_clears_it(
    open_gateway: Open,
) -> None:
    """Two refusals: failing; a third opens the breaker: down (the same alarm); off: cleared."""
    receiver = AlarmReceiver()
    upstream = Upstream()
    async with serving(receiver.app()) as base, serving(upstream.app()) as peer:
        gateway = await open_gateway(f"{base}/alarms")
        port = int(peer.rsplit(":", 1)[1])
        await gateway.add("amoot", f"amoot://tok@127.0.0.1:{port}?scheme=http&reports=0")
        steps = []
        for _ in range(3):
            with pytest.raises(TransportUnavailable):
                await gateway.router.send(sms())
            steps += [(what, a.kind) for what, a in await gateway.watch.look()]
        await gateway.runtime.route_desk.set_enabled(Actor(gateway.operator, None), "amoot", False)
        steps += [(what, a.kind) for what, a in await gateway.watch.look()]
        await gateway.watch.post_notices()
        [alarm] = await gateway.runtime.route_desk.alarms.recent_alarms(10)

    assert steps == [
        (Step.OPEN, Health.FAILING),
        (Step.CHANGE, Health.DOWN),
        (Step.CLEAR, Health.DOWN),
    ]
    assert "Amoot answered CreditNotEnough" in alarm.detail
    assert [b["step"] for b in receiver.bodies()] == ["opened", "changed", "cleared"]


async def test_a_notice_the_alarm_url_refuses_is_tried_again_then_recorded(
    open_gateway: Open,
) -> None:
    """HTTP 500 each time: tried NOTICE_ATTEMPTS times, paused between, the failure recorded."""
    receiver = AlarmReceiver(status=500)
    clock = WallClock()
    async with serving(receiver.app()) as base:
        gateway = await open_gateway(f"{base}/alarms", clock=clock)
        await gateway.add("mci", smpp_down_url(free_port()))
        await gateway.down()
        [(_, alarm)] = await gateway.watch.look()
        for _ in range(NOTICE_ATTEMPTS):
            await gateway.watch.post_notices()
            await gateway.watch.post_notices()  # not due yet: nothing posted
            clock.advance(timedelta(hours=1))
        [recorded] = await gateway.runtime.route_desk.alarms.recent_alarms(10)

    assert len(receiver.got) == NOTICE_ATTEMPTS
    assert recorded.id == alarm.id
    assert recorded.notice == f"opened: not taken (HTTP 500) in {NOTICE_ATTEMPTS} tries"


async def test_an_alarm_url_on_a_private_address_is_refused_by_the_poster(
    open_gateway: Open,
) -> None:
    """Without QUICKOTP_WEBHOOK_PRIVATE_URLS the poster refuses 127.0.0.1, as for reports."""
    receiver = AlarmReceiver()
    clock = WallClock()
    async with serving(receiver.app()) as base:
        gateway = await open_gateway(f"{base}/alarms", private=False, clock=clock)
        await gateway.add("mci", smpp_down_url(free_port()))
        await gateway.down()
        await gateway.watch.look()
        for _ in range(NOTICE_ATTEMPTS):
            await gateway.watch.post_notices()
            clock.advance(timedelta(hours=1))
        [recorded] = await gateway.runtime.route_desk.alarms.recent_alarms(10)

    assert receiver.got == []
    assert recorded.notice == f"opened: not taken (refused) in {NOTICE_ATTEMPTS} tries"


@pytest.mark.parametrize(
    "url", ["ftp://alarms.example/x", "http://exa mple.com/", "https://" + "a" * 600 + ".com/"]
)
def test_an_alarm_url_that_cannot_be_posted_to_is_refused_at_start(url: str) -> None:
    with pytest.raises(ConfigurationError, match="QUICKOTP_ROUTE_ALARM_URL"):
        Settings.from_env({"QUICKOTP_SECRET_KEY": TEST_SECRET, "QUICKOTP_ROUTE_ALARM_URL": url})


def test_no_alarm_url_no_hook() -> None:
    settings = Settings.from_env({"QUICKOTP_SECRET_KEY": TEST_SECRET})

    assert alarm_hook(settings, known_names()) is None
