"""
Issue 6 end to end, in one process: the real app and its dispatcher and webhook worker, a
third-party SMSC simulator (smpp34's Server) and a webhook receiver, both real servers on
127.0.0.1. SendQuickOTP → submit_sm with the rendered UCS-2 text → receipt → GetDelivery
says delivered → the client's URL gets the signed report. Then failover and the breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.transports.routed import RoutingTransport, check_url
from quickotp.bootstrap import Runtime, build_app, build_runtime
from quickotp.domain.routing import checked_route
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.conftest import OTP_PATTERN, make_settings, seed
from tests.http_peer import free_port, serving
from tests.services.webhooks.test_webhooks import signed
from tests.waits import until

pytestmark = pytest.mark.anyio


@dataclass
class Receiver:
    """The client's delivery-report endpoint."""

    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return Response(b"", 204)

        return Starlette(routes=[Route("/dlr", hook, methods=["POST"])])


@dataclass
class FakeAmoot:
    """
    Amoot's SendQuickOTP, answering Success with a fresh MessageID, and its GetDeliveries,
    answering RecievedPhone (1) for the ids it sent.
    """

    calls: int = 0
    asked: list[str] = field(default_factory=list)  # the ListMessageID of each GetDeliveries

    def app(self) -> Starlette:
        async def send(request: Request) -> Response:
            self.calls += 1
            data = {"Mobile": 9120000000, "MessageID": 9000 + self.calls, "Status": "Success"}
            return JSONResponse({"Status": "Success", "Data": data})

        async def deliveries(request: Request) -> Response:
            asked = str((await request.form())["ListMessageID"])
            self.asked.append(asked)
            data = [
                {"MessageID": int(i), "DeliveryType": 1 if int(i) <= 9000 + self.calls else 100}
                for i in asked.split(",")
            ]
            return JSONResponse({"Status": "Success", "Data": data})

        return Starlette(
            routes=[
                Route("/rest/SendQuickOTP", send, methods=["POST"]),
                Route("/rest/GetDeliveries", deliveries, methods=["POST"]),
            ]
        )


@dataclass
class FakeKavenegar:
    """
    Kavenegar's verify/lookup, answering 200 with a fresh messageid, and its sms/status.json,
    answering delivered (10) for the ids it sent and 100 (no such id) for the rest.
    """

    tokens: list[str] = field(default_factory=list)  # the code of each lookup
    asked: list[str] = field(default_factory=list)  # the messageid field of each status.json

    def app(self) -> Starlette:
        async def lookup(request: Request) -> Response:
            self.tokens.append(str((await request.form())["token"]))
            entry = {"messageid": 70000 + len(self.tokens), "status": 5}
            return JSONResponse({"return": {"status": 200, "message": "ok"}, "entries": [entry]})

        async def status(request: Request) -> Response:
            asked = str((await request.form())["messageid"])
            self.asked.append(asked)
            entries = [
                {"messageid": int(i), "status": 10 if int(i) <= 70000 + len(self.tokens) else 100}
                for i in asked.split(",")
            ]
            return JSONResponse({"return": {"status": 200, "message": "ok"}, "entries": entries})

        return Starlette(
            routes=[
                Route("/v1/{key}/verify/lookup.json", lookup, methods=["POST"]),
                Route("/v1/{key}/sms/status.json", status, methods=["POST"]),
            ]
        )


@dataclass
class Gateway:
    runtime: Runtime
    http: httpx.AsyncClient
    token: str
    account_id: int

    async def rest(self, method: str, **form: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/rest/{method}", data=form, headers={"Authorization": self.token}
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def add_route(self, name: str, url: str, priority: int) -> None:
        kind, shown = check_url(url)
        route = checked_route(name=name, kind=kind, url=url, shown=shown, priority=priority)
        await self.runtime.route_book.add(route, self.runtime.admin.clock())


Start = Callable[[], Awaitable[Gateway]]


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    async with Simulator(free_port()) as simulator:
        yield simulator


@pytest.fixture
async def gateway_factory(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Start]]:
    """A migrated, seeded gateway (not started yet: add routes, then call start)."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'quickotp.db'}",
        QUICKOTP_ROUTE_FAILURES="2",
        QUICKOTP_ROUTE_COOL_DOWN_SECONDS="1",
        QUICKOTP_SINK_FILE=str(tmp_path / "sink.jsonl"),
        QUICKOTP_WEBHOOK_PRIVATE_URLS="1",  # the receiver listens on 127.0.0.1
    )
    runtime = build_runtime(settings, dispatch=True)
    await upgrade(runtime.engines)
    seeded = await seed(runtime)
    app = build_app(runtime)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    started = False
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        gateway = Gateway(runtime, http, seeded.token, seeded.account_id)

        async def start() -> Gateway:
            nonlocal started
            await runtime.start()  # the app's lifespan, as uvicorn would run it
            started = True
            return gateway

        try:
            yield gateway, start
        finally:
            if started:
                await runtime.aclose()
            else:
                await runtime.engines.dispose()


async def test_quick_otp_over_smpp_is_delivered_and_reported_to_the_client(
    smsc: Simulator, gateway_factory: tuple[Gateway, Start]
) -> None:
    """The whole way: UCS-2 submit_sm of the rendered pattern, receipt, GetDelivery 1, webhook."""
    gateway, start = gateway_factory
    await gateway.add_route("smsc", f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=5", 1)
    receiver = Receiver()
    async with serving(receiver.app()) as base:
        await start()
        created = await gateway.rest("RelayMessageDeliveryCreate", URLAddress=f"{base}/dlr")
        assert created["Status"] == "Success"

        sent = await gateway.rest("SendQuickOTP", Mobile="09120000000", CodeLength="6")
        assert sent["Status"] == "Success"
        message_id, code = sent["Data"]["MessageID"], sent["Data"]["Code"]

        async def delivered() -> bool:
            answer = await gateway.rest("GetDelivery", MessageID=str(message_id))
            return bool(answer["Data"]["DeliveryType"] == 1)

        await until(delivered)
        async with asyncio.timeout(15):
            await receiver.arrived.wait()

    [submit] = smsc.received
    assert submit.data_coding == 8
    assert submit.short_message.decode("utf-16-be") == OTP_PATTERN.replace("%code%", code)
    assert (submit.destination_addr, submit.registered_delivery) == ("989120000000", 1)
    [(headers, body)] = receiver.got
    webhook = await gateway.runtime.workspace.panel.get_webhook(gateway.account_id)
    assert webhook is not None
    assert signed(webhook.secret, headers, body)
    report = orjson.loads(body)
    assert (report["MessageID"], report["DeliveryType"], report["Status"]) == (
        message_id,
        1,
        "delivered",
    )


async def sent_and_reported(
    gateway_factory: tuple[Gateway, Start], upstream: Starlette, route_url: str
) -> dict[str, Any]:
    """
    One SendQuickOTP through the HTTP upstream `upstream` (served on a free port, which
    `route_url` takes as {port}), until GetDelivery says RecievedPhone, then one more round
    of report requests. The SendQuickOTP answer.
    """
    gateway, start = gateway_factory
    async with serving(upstream) as url:
        await gateway.add_route("upstream", route_url.format(port=urlsplit(url).port), 1)
        await start()
        sent = await gateway.rest("SendQuickOTP", Mobile="09120000000", CodeLength="6")
        message_id = sent["Data"]["MessageID"]

        async def delivered() -> bool:
            answer = await gateway.rest("GetDelivery", MessageID=str(message_id))
            return bool(answer["Data"]["DeliveryType"] == 1)

        await until(delivered)
        await asyncio.sleep(1.5)  # a round after the report: nothing left to ask for
    return sent


async def test_delivery_reports_are_fetched_from_an_amoot_route(
    gateway_factory: tuple[Gateway, Start],
) -> None:
    """Sent through Amoot, reported by its GetDeliveries: GetDelivery here says RecievedPhone."""
    amoot = FakeAmoot()

    await sent_and_reported(
        gateway_factory, amoot.app(), "amoot://tok@127.0.0.1:{port}?scheme=http&reports=1"
    )

    assert amoot.asked == ["9001"]


async def test_delivery_reports_are_fetched_from_a_kavenegar_route(
    gateway_factory: tuple[Gateway, Start],
) -> None:
    """Sent with verify/lookup, reported by sms/status.json: GetDelivery says RecievedPhone."""
    kavenegar = FakeKavenegar()

    sent = await sent_and_reported(
        gateway_factory,
        kavenegar.app(),
        "kavenegar://KEY@127.0.0.1:{port}?scheme=http&template=login&reports=1",
    )

    assert kavenegar.tokens == [sent["Data"]["Code"]]  # our code, for its template
    assert kavenegar.asked == ["70001"]


async def test_failover_and_the_breaker(
    smsc: Simulator, gateway_factory: tuple[Gateway, Start]
) -> None:
    """
    A dead SMSC and a refused upstream are passed over, the live SMSC delivers; the refused
    route is taken out after two failures and, once it answers again, comes back by itself.
    """
    gateway, start = gateway_factory
    amoot_port = free_port()
    await gateway.add_route("dead-smsc", f"smpp://quickotp:secret@127.0.0.1:{free_port()}", 1)
    await gateway.add_route("amoot", f"amoot://tok@127.0.0.1:{amoot_port}?scheme=http", 2)
    await gateway.add_route("smsc", f"smpp://quickotp:secret@127.0.0.1:{smsc.port}", 3)
    await start()
    router = gateway.runtime.dispatcher.transport  # type: ignore[union-attr]
    assert isinstance(router, RoutingTransport)

    def state(name: str) -> Any:
        return next(s for s in router.routes() if s.name == name)

    ids = []
    for i in range(4):
        sent = await gateway.rest("SendQuickOTP", Mobile=f"0912000{i:04d}", CodeLength="5")
        ids.append(sent["Data"]["MessageID"])

    async def all_delivered() -> bool:
        answer = await gateway.rest("GetDeliveries", ListMessageID=",".join(map(str, ids)))
        return [d["DeliveryType"] for d in answer["Data"]] == [1] * len(ids)

    await until(all_delivered)
    assert len(smsc.received) == 4
    assert (state("dead-smsc").up, state("dead-smsc").sent) == (False, 0)
    assert (state("amoot").breaker, state("amoot").errors) == ("open", 2)

    amoot = FakeAmoot()
    async with serving(amoot.app(), port=amoot_port):
        await asyncio.sleep(1.2)  # the cool-down
        probe = await gateway.rest("SendQuickOTP", Mobile="09120009999", CodeLength="5")

        async def sent_through_amoot() -> bool:
            found = await gateway.runtime.store.get_messages(
                gateway.account_id, [probe["Data"]["MessageID"]]
            )
            return next(iter(found.values())).transport == "amoot"

        await until(sent_through_amoot)

    assert amoot.calls == 1
    assert (state("amoot").breaker, state("amoot").sent) == ("closed", 1)
    assert len(smsc.received) == 4
