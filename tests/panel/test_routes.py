"""
Routes from the operator's panel, in a dispatching gateway, against real peers on 127.0.0.1:
SMSC simulators (smpp34's Server) and an Amoot-like HTTP upstream. Adding, editing (the
credential write-only), switching off and on, test sends through one route alone, the
overview's state and counters, and the audit log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quickotp.adapters.store.schema import routes as routes_table
from quickotp.adapters.transports.routed import RoutingTransport
from quickotp.bootstrap import Runtime
from quickotp.domain.delivery import OutboundSms, RouteState
from quickotp.domain.errors import NotAllowed, TransportUnavailable
from quickotp.domain.models import Actor, MessageStatus, Role, User
from quickotp.services.routes import RouteForm
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.http_peer import free_port, serving
from tests.panel.conftest import (
    Browser,
    approved_account,
    dispatching_panel_runtime,
    running,
    send_otp,
    sign_up,
)

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret-smsc-pw"


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A migrated gateway that dispatches (so routes are in use here), without routes yet."""
    dispatching = dispatching_panel_runtime(database_url, tmp_path, QUICKOTP_ROUTE_FAILURES="3")
    async with running(dispatching) as built:
        yield built


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    async with Simulator(free_port()) as simulator:
        yield simulator


@pytest.fixture
async def second_smsc() -> AsyncIterator[Simulator]:
    async with Simulator(free_port()) as simulator:
        yield simulator


@dataclass
class Upstream:
    """Amoot's SendQuickOTP: Success with a fresh MessageID, or `status` when set."""

    status: str = "Success"
    codes: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def send(request: Request) -> Response:
            form = await request.form()
            self.codes.append(str(form["OptionalCode"]))
            self.tokens.append(request.headers.get("authorization", ""))
            data = {"Mobile": 9120000000, "MessageID": 500 + len(self.codes), "Status": "Success"}
            return JSONResponse({"Status": self.status, "Data": data})

        async def deliveries(request: Request) -> Response:
            return JSONResponse({"Status": "Success", "Data": []})

        return Starlette(
            routes=[
                Route("/rest/SendQuickOTP", send, methods=["POST"]),
                Route("/rest/GetDeliveries", deliveries, methods=["POST"]),
            ]
        )


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15) -> None:
    """Wait for a condition, generously: only a fault takes this long."""
    async with asyncio.timeout(timeout):
        while True:
            done = check()
            if done if isinstance(done, bool) else await done:
                return
            await asyncio.sleep(0.02)


def router(runtime: Runtime) -> RoutingTransport:
    assert runtime.dispatcher is not None
    transport = runtime.dispatcher.transport
    assert isinstance(transport, RoutingTransport)
    return transport


def live(runtime: Runtime) -> dict[str, RouteState]:
    return {state.name: state for state in router(runtime).routes()}


def smpp_url(smsc: Simulator, credential: str = "***") -> str:
    return f"smpp://quickotp:{credential}@127.0.0.1:{smsc.port}?timeout=5&reconnect_max=1"


async def add_route(
    operator: Browser, name: str, url: str, credential: str = PASSWORD, **more: str
) -> None:
    answer = await operator.post(
        "/panel/operator/routes/new",
        {"name": name, "url": url, "credential": credential, "enabled": "1", **more},
    )
    assert answer.status_code == 303, answer.text[:2000]


async def audit_actions(runtime: Runtime) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.target, e.detail)
        for e in await runtime.desk.identity.list_audit(before=None, limit=100)
    ]


async def test_a_route_added_on_the_panel_carries_messages_at_once(
    runtime: Runtime, operator: Browser, browser: Browser, smsc: Simulator
) -> None:
    """Added with its password apart: sealed at rest, never on a page, in use, audited."""
    await add_route(operator, "mci", smpp_url(smsc), priority="5", prefixes="98912")

    await until(lambda: getattr(live(runtime).get("mci"), "binds_up", 0) == 1)
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    sent = await send_otp(browser, token, "09120000001")
    await until(lambda: len(smsc.received) == 1)

    assert sent["Status"] == "Success"
    assert smsc.received[0].destination_addr == "989120000001"
    async with runtime.engines.read.connect() as conn:
        row = (await conn.execute(select(routes_table))).one()
    assert PASSWORD.encode() not in row.url_sealed
    assert PASSWORD not in row.shown
    [stored] = await runtime.route_book.load()
    assert stored.url == smpp_url(smsc, PASSWORD)
    assert (stored.priority, stored.prefixes, stored.enabled) == (5, ("98912",), True)
    for page in ("/panel/operator/routes", "/panel/operator/routes/mci/edit"):
        shown = await operator.get(page)
        assert shown.status_code == 200
        assert PASSWORD not in shown.text
        assert "smpp://quickotp:***@127.0.0.1" in shown.text
    [added] = [a for a in await audit_actions(runtime) if a[0] == "route.add"]
    assert added[1] == "route:mci"
    assert PASSWORD not in added[2]


async def test_a_blank_credential_keeps_the_stored_one_only_on_the_same_destination(
    runtime: Runtime, operator: Browser
) -> None:
    """A blank password keeps the stored one; pointed elsewhere, the password must come again."""
    upstream = Upstream()
    async with serving(upstream.app()) as base:
        port = int(base.rsplit(":", 1)[1])
        url = f"amoot://***@127.0.0.1:{port}?scheme=http&reports=0"
        await add_route(operator, "amoot", url, credential="first-token")

        kept = await operator.post(
            "/panel/operator/routes/amoot/edit", {"url": url, "credential": "", "priority": "3"}
        )
        elsewhere = await operator.post(
            "/panel/operator/routes/amoot/edit",
            {"url": url.replace("127.0.0.1", "localhost"), "credential": "", "priority": "3"},
        )
        after_refusal = await runtime.route_book.get("amoot")
        replaced = await operator.post(
            "/panel/operator/routes/amoot/edit",
            {"url": url, "credential": "second-token", "priority": "3"},
        )
        [trial] = [
            await runtime.route_desk.test_send(
                Actor(await operator_user(runtime), None), "amoot", "09120000009", ""
            )
        ]

    assert kept.status_code == 303
    assert elsewhere.status_code == 422
    assert "give its password, token or API key again" in elsewhere.text
    assert after_refusal.url == f"amoot://first-token@127.0.0.1:{port}?scheme=http&reports=0"
    assert after_refusal.priority == 3
    assert replaced.status_code == 303
    assert trial.sent, trial
    assert upstream.tokens == ["second-token"]  # the test send went with the new token
    edits = [a for a in await audit_actions(runtime) if a[0] == "route.edit"]
    assert [detail for _, _, detail in edits] == ["credential", "priority"]


async def test_a_refused_form_shows_no_credential_typed_into_the_url(
    runtime: Runtime, operator: Browser
) -> None:
    """A whole URL pasted with its token and refused: the page shows it blanked."""
    answer = await operator.post(
        "/panel/operator/routes/new",
        {
            "name": "leaky",
            "url": "amoot://leak-me-token@127.0.0.1:9?scheme=http",
            "priority": "first",
        },
    )

    assert answer.status_code == 422
    assert "A priority is a whole number, at most 1,000,000 above or below zero." in answer.text
    assert "leak-me-token" not in answer.text
    assert "amoot://***@127.0.0.1:9?scheme=http" in answer.text
    assert await runtime.route_book.listing() == []


async def test_switched_off_a_route_carries_nothing_and_switched_on_it_does_again(
    runtime: Runtime, operator: Browser, smsc: Simulator
) -> None:
    """Off: the router drops it (messages wait, never go to the log sink); on: back in use."""
    await add_route(operator, "mci", smpp_url(smsc))
    await until(lambda: "mci" in live(runtime))

    off = await operator.post("/panel/operator/routes/mci/state", {"from_list": "1"})
    stopped = live(runtime)
    with pytest.raises(TransportUnavailable, match="every route is switched off"):
        await router(runtime).send(_sms())
    overview = await operator.get("/panel/operator/routes")
    on = await operator.post("/panel/operator/routes/mci/state", {"enabled": "1"})

    assert off.headers["location"].endswith("/panel/operator/routes")
    assert "mci" not in stopped
    assert re.search(r'id="route-mci".*?>Off<', overview.text, re.S)
    assert on.headers["location"].endswith("/panel/operator/routes/mci/edit")
    assert "mci" in live(runtime)
    assert [a[0] for a in await audit_actions(runtime) if a[0].startswith("route.")] == [
        "route.enable",
        "route.disable",
        "route.add",
    ]


async def test_a_test_send_goes_through_the_chosen_route_alone(
    runtime: Runtime, operator: Browser, smsc: Simulator, second_smsc: Simulator
) -> None:
    """The second route, not the first choice, carries the test; switched off, it still can."""
    await add_route(operator, "first", smpp_url(smsc), priority="1")
    await add_route(operator, "second", smpp_url(second_smsc), priority="2", lines="50001")
    await until(lambda: all(getattr(s, "binds_up", 0) for s in live(runtime).values()))

    page = await operator.post(
        "/panel/operator/routes/second/test", {"mobile": "۰۹۱۲ ۰۰۰ ۰۰۴۲", "sender": ""}
    )
    await operator.post("/panel/operator/routes/second/state")
    off_page = await operator.post(
        "/panel/operator/routes/second/test", {"mobile": "09120000043", "sender": "50002"}
    )
    await until(lambda: len(second_smsc.received) == 2)

    assert page.status_code == 200
    assert "The upstream took the test message to …0042" in page.text
    assert "The upstream took the test message to …0043" in off_page.text
    assert smsc.received == []
    first, second = second_smsc.received
    assert (first.destination_addr, first.source_addr) == ("989120000042", "50001")
    assert (second.destination_addr, second.source_addr) == ("989120000043", "50002")
    assert "QuickOTP route test (second)" in first.short_message.decode("latin-1")
    tests = [a for a in await audit_actions(runtime) if a[0] == "route.test"]
    assert [detail.split(",")[0] for _, _, detail in tests] == ["to …0043", "to …0042"]


async def test_a_failed_test_send_says_why(runtime: Runtime, operator: Browser) -> None:
    """An upstream that refuses: the page says so in its words; a bad number is a 422."""
    upstream = Upstream(status="CreditNotEnough")
    async with serving(upstream.app()) as base:
        port = int(base.rsplit(":", 1)[1])
        await add_route(operator, "amoot", f"amoot://***@127.0.0.1:{port}?scheme=http&reports=0")
        refused = await operator.post(
            "/panel/operator/routes/amoot/test", {"mobile": "09120000050"}
        )
        bad_number = await operator.post("/panel/operator/routes/amoot/test", {"mobile": "123"})

    assert refused.status_code == 200
    assert "The test message to …0050 was not taken." in refused.text
    assert "amoot: Amoot answered CreditNotEnough" in refused.text  # the route's own words
    [code] = upstream.codes
    assert code.isdigit()
    assert bad_number.status_code == 422


async def test_the_overview_shows_each_routes_state_and_counters(
    runtime: Runtime, operator: Browser, browser: Browser, smsc: Simulator
) -> None:
    """Its state and binds beside the last hour's messages in the database."""
    await add_route(operator, "mci", smpp_url(smsc))
    await until(lambda: getattr(live(runtime).get("mci"), "binds_up", 0) == 1)
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await send_otp(browser, token, "09120000001")
    await send_otp(browser, token, "09120000002")

    async def delivered() -> bool:
        found = await runtime.route_desk.overview(Actor(await operator_user(runtime), None))
        [view] = [v for v in found.routes if v.name == "mci"]
        return view.counts.get(MessageStatus.DELIVERED, 0) == 2

    await until(delivered)
    page = await operator.get("/panel/operator/routes")

    row = re.search(r'<tr id="route-mci">.*?</tr>', page.text, re.S)
    assert row is not None
    assert ">Up<" in row.group(0)
    numbers = re.findall(r'<td class="num"[^>]*>([\d/.—]+)</td>', row.group(0))
    # priority, binds, (throughput: "n/s"); then the last hour's sent (taken: delivered
    # since, still counted), delivered, not delivered and failed
    assert numbers == ["10", "1/1", "2", "2", "0", "0"]


async def test_only_operators_reach_routes(
    runtime: Runtime, operator: Browser, browser: Browser, smsc: Simulator
) -> None:
    """An account user gets 403 on every route page; the desk refuses a non-operator too."""
    await add_route(operator, "mci", smpp_url(smsc))
    await sign_up(browser, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[0]
    user = User(1, "u@shop.test", Role.USER, account.id, True, "en", account.created_at, None)

    pages = [
        await browser.get(p) for p in ("/panel/operator/routes", "/panel/operator/routes/mci/edit")
    ]
    posted = await browser.post("/panel/operator/routes/mci/state")

    assert [p.status_code for p in pages] == [403, 403]
    assert posted.status_code == 403
    assert (await runtime.route_book.get("mci")).enabled
    with pytest.raises(NotAllowed):
        await runtime.route_desk.set_enabled(Actor(user, None), "mci", False)
    with pytest.raises(NotAllowed):
        await runtime.route_desk.add(Actor(user, None), "x", RouteForm(url=smpp_url(smsc, "p")))


async def test_an_unknown_route_is_a_404(operator: Browser) -> None:
    assert (await operator.get("/panel/operator/routes/nothing/edit")).status_code == 404
    assert (await operator.post("/panel/operator/routes/nothing/state")).status_code == 404


async def operator_user(runtime: Runtime) -> User:
    [found] = [u for u in await runtime.desk.identity.list_users() if u.role is Role.OPERATOR]
    return found


def _sms() -> OutboundSms:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    return OutboundSms(1, "989120000000", "1000", "code 1234", 1, expires, code="1234")


async def test_without_routes_the_log_sink_is_listed_with_no_route_actions(
    operator: Browser,
) -> None:
    """No stored route: the fallback that carries everything shows, not as a route to edit."""
    page = await operator.get("/panel/operator/routes")

    row = re.search(r'<tr id="route-([^"]+)">.*?</tr>', page.text, re.S)
    assert row is not None
    assert row.group(1) == "log"
    assert "/edit" not in row.group(0)
    assert "Switch off" not in row.group(0)
    assert "No route has been down or failing." in page.text
