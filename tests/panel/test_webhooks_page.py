"""
An account's Webhooks page, in a dispatching gateway (the log sink delivers, its reports are
posted by the real worker) with a real receiver on 127.0.0.1: one list of the account's
report URLs (the Amoot API's and the panel's), a signed test event through the public
poster, the latest posts, and one more attempt for a report given up on. Tenants apart.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quickotp.adapters.report_client import ReportClient
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.bootstrap import Runtime, utc_now
from quickotp.domain.models import WebhookDelivery, WebhookState
from quickotp.services.webhooks import (
    DELIVERY_HEADER,
    WebhookConfig,
    WebhookWorker,
)
from quickotp.web import amoot_wire
from tests.conftest import known_names
from tests.http_peer import serving
from tests.panel.conftest import (
    Browser,
    approved_account,
    dispatching_panel_runtime,
    open_browser,
    panel_runtime,
    running,
    send_otp,
    sign_up,
)
from tests.services.webhooks.test_webhooks import signed

pytestmark = pytest.mark.anyio


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A dispatching gateway on the log sink whose worker gives a report up after one POST."""
    built = dispatching_panel_runtime(
        database_url,
        tmp_path,
        QUICKOTP_WEBHOOK_PRIVATE_URLS="1",  # the receiver: 127.0.0.1
    )
    assert isinstance(built.relays.store, WebhookStore)
    built.webhooks = WebhookWorker(
        built.relays.store,
        ReportClient(known_names(), allow_private=True),
        utc_now,
        WebhookConfig(max_attempts=1, idle_poll=0.02),
        render=amoot_wire.report_body,
        owns_poster=True,
    )
    async with running(built):
        yield built


@dataclass
class Receiver:
    """The account's server: keeps each POST by path; answers `status`."""

    status: int = 204
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((request.url.path, dict(request.headers), await request.body()))
            return Response(b"", self.status)

        return Starlette(
            routes=[
                Route("/api-hook", hook, methods=["POST"]),
                Route("/panel-hook", hook, methods=["POST"]),
            ]
        )


async def until(check: Callable[[], object], timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while True:
            done = check()
            if await done if asyncio.iscoroutine(done) else done:
                return
            await asyncio.sleep(0.02)


async def relay_create(browser: Browser, token: str, url: str) -> int:
    answer = await browser.http.post(
        "/rest/RelayMessageDeliveryCreate",
        headers={"Authorization": token},
        data={"URLAddress": url},
    )
    body = answer.json()
    assert body["Status"] == "Success", body
    relay_id: int = body["RelayMessageDeliveryID"]
    return relay_id


async def posts(runtime: Runtime, account_id: int) -> list[WebhookDelivery]:
    return await runtime.report_urls.deliveries.deliveries(account_id)


async def have(runtime: Runtime, account: int, states: list[WebhookState]) -> bool:
    """Whether the account's report posts, newest first, are in `states`."""
    return [d.state for d in await posts(runtime, account)] == states


async def account_id(runtime: Runtime, name: str) -> int:
    return next(a.id for a in await runtime.admin.list_accounts() if a.name == name)


async def a_failed_report(
    runtime: Runtime, browser: Browser, operator: Browser, base: str
) -> tuple[str, int, int, WebhookDelivery]:
    """
    The approved account Shop with a delivery-report URL at `base` (a receiver answering
    500), an OTP sent and its report given up on: the token, the account, the URL's id
    and the failed post.
    """
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    shop = await account_id(runtime, "Shop")
    relay_id = await relay_create(browser, token, f"{base}/api-hook")
    await send_otp(browser, token)
    await until(lambda: have(runtime, shop, [WebhookState.FAILED]))
    [failed] = await posts(runtime, shop)
    return token, shop, relay_id, failed


async def test_one_list_a_signed_test_event_and_a_retry_of_a_report_given_up_on(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    receiver = Receiver()
    async with serving(receiver.app()) as base:
        token = await approved_account(browser, operator, "owner@shop.test", "Shop")
        shop = await account_id(runtime, "Shop")
        relay_id = await relay_create(browser, token, f"{base}/api-hook")
        saved = await browser.post("/panel/credit/webhook", {"url": f"{base}/panel-hook"})
        assert saved.status_code == 303

        page = await browser.get("/panel/webhooks")
        tested = await browser.post("/panel/webhooks/test", {"url": str(relay_id)})

        receiver.status = 500
        sent = await send_otp(browser, token)
        assert sent["Status"] == "Success"
        await until(lambda: have(runtime, shop, [WebhookState.FAILED, WebhookState.FAILED]))
        failed_page = await browser.get("/panel/webhooks")
        failed = await posts(runtime, shop)

        receiver.status = 204
        retried = await browser.post(f"/panel/webhooks/posts/{failed[0].id}/retry")
        await until(lambda: have(runtime, shop, [WebhookState.DELIVERED, WebhookState.FAILED]))
        again = await browser.post(f"/panel/webhooks/posts/{failed[0].id}/retry")
        final_page = await browser.get("/panel/webhooks")

    rows = re.findall(r'<tr id="url-([^"]+)">(.*?)</tr>', page.text, re.S)
    assert [key for key, _ in rows] == [str(relay_id), "panel"]
    assert f"{base}/api-hook" in rows[0][1]
    assert "RelayMessageDeliveryCreate" in rows[0][1]
    assert f"{base}/panel-hook" in rows[1][1]

    assert tested.status_code == 200
    assert "Your URL took the test event." in tested.text
    path, headers, body = receiver.got[0]
    secret = (await runtime.desk.panel.get_webhook(shop)).secret  # type: ignore[union-attr]
    assert path == "/api-hook"
    assert json.loads(body)["Event"] == "test"
    assert headers[DELIVERY_HEADER.lower()] == "test"
    assert signed(secret, headers, body)

    assert all(post.last_attempt_at is not None for post in failed)
    assert failed_page.text.count("HTTP 5xx") >= 2
    assert "Try again" in failed_page.text
    assert ">500<" not in failed_page.text  # the class, never the exact status
    assert retried.status_code == 303
    assert again.status_code == 404  # delivered now: nothing to try again
    row = re.search(rf'<tr id="post-{failed[0].id}">.*?</tr>', final_page.text, re.S)
    assert row is not None
    assert "taken by the server" in row.group(0)
    assert "Try again" not in row.group(0)


async def test_another_account_sees_and_touches_none_of_it(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    receiver = Receiver(status=500)
    async with serving(receiver.app()) as base:
        _, shop, relay_id, failed = await a_failed_report(runtime, browser, operator, base)

        other = await open_browser(runtime, ip="198.51.100.30")
        try:
            await sign_up(other, "owner@other.test", "Other")
            page = await other.get("/panel/webhooks")
            retry = await other.post(f"/panel/webhooks/posts/{failed.id}/retry")
            test = await other.post("/panel/webhooks/test", {"url": str(relay_id)})
        finally:
            await other.http.aclose()
        after = await posts(runtime, shop)

    assert "api-hook" not in page.text
    assert "No delivery-report URLs yet" in page.text
    assert (retry.status_code, test.status_code) == (404, 404)
    assert [d.state for d in after] == [WebhookState.FAILED]
    assert len(receiver.got) == 1  # the report's one attempt; no test event


async def test_a_url_switched_off_is_not_tried_again_and_a_disabled_account_changes_nothing(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    receiver = Receiver(status=500)
    async with serving(receiver.app()) as base:
        token, shop, relay_id, failed = await a_failed_report(runtime, browser, operator, base)
        await browser.http.post(
            "/rest/RelayMessageDeliverySetActive",
            headers={"Authorization": token},
            data={"RelayMessageDeliveryID": str(relay_id), "Active": "false"},
        )
        switched_off = await browser.post(f"/panel/webhooks/posts/{failed.id}/retry")
        await runtime.admin.set_account_active(shop, False)
        disabled_test = await browser.post("/panel/webhooks/test", {"url": str(relay_id)})
        disabled_page = await browser.get("/panel/webhooks")

    assert switched_off.status_code == 422
    assert "no longer one of the account&#39;s active ones" in switched_off.text
    assert disabled_test.status_code == 403
    assert disabled_page.status_code == 200  # read, not changed
    assert len(receiver.got) == 1
    assert [d.state for d in await posts(runtime, shop)] == [WebhookState.FAILED]


async def test_a_test_event_goes_through_the_public_poster(tmp_path: Path) -> None:
    """Private addresses not allowed: a URL on 127.0.0.1 (stored before the rule) is refused."""
    public_only = panel_runtime(f"sqlite:///{tmp_path / 'q.db'}", QUICKOTP_WEBHOOK_PRIVATE_URLS="0")
    receiver = Receiver()
    async with running(public_only) as built, serving(receiver.app()) as base:
        user = await open_browser(built)
        await sign_up(user, "owner@shop.test", "Shop")
        shop = await account_id(built, "Shop")
        relay = await built.relays.store.add_relay(shop, f"{base}/api-hook", "whsec_x", utc_now())
        page = await user.post("/panel/webhooks/test", {"url": str(relay.id)})
        await user.http.aclose()

    assert page.status_code == 200
    assert "Your URL did not take the test event: refused: the address is not a public one." in (
        page.text
    )
    assert receiver.got == []


async def test_the_page_is_for_account_users(browser: Browser, operator: Browser) -> None:
    """Anonymous: to sign-in; an operator (no account): 403."""
    anonymous = await browser.get("/panel/webhooks")
    as_operator = await operator.get("/panel/webhooks")

    assert anonymous.status_code == 303
    assert "/panel/sign-in" in anonymous.headers["location"]
    assert as_operator.status_code == 403
