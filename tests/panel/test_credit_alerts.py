"""
The low-credit alert: a threshold per account, set by its users or the operator; the
dashboard's warning under it; one signed `credit.low` event per crossing, posted to the
account's URLs (a real receiver on 127.0.0.1), armed again once the credit is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from sqlalchemy import update

from quickotp.adapters.report_client import ReportClient
from quickotp.adapters.store.schema import event_deliveries
from quickotp.bootstrap import Runtime
from quickotp.domain.alerts import LOW_CREDIT
from quickotp.domain.models import WebhookState
from quickotp.services.credit_alerts import EVENT_HEADER, EventWorker
from tests.conftest import known_names
from tests.panel.conftest import (
    Browser,
    approved_account,
    open_browser,
    panel_runtime,
    running,
    send_otp,
    sign_up,
)
from tests.services.webhooks.test_webhooks import Receiver, signed

pytestmark = pytest.mark.anyio

WARNING = "The credit is below its alert threshold"


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    """The panel's runtime, with webhook URLs on 127.0.0.1 allowed (the receiver's)."""
    async with running(panel_runtime(database_url, QUICKOTP_WEBHOOK_PRIVATE_URLS="1")) as built:
        yield built


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An account's webhook endpoint on 127.0.0.1: keeps what it gets."""
    async with Receiver().listening() as made:
        yield made


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[EventWorker]:
    """The event worker as `serve` runs it, posting to loopback (the test receiver)."""
    made = EventWorker(
        runtime.credit_alerts.store,
        ReportClient(known_names(), allow_private=True),
        lambda: datetime.now(UTC),
        owns_poster=True,
    )
    yield made
    await made.aclose()


async def _account_id(runtime: Runtime) -> int:
    return (await runtime.admin.list_accounts())[-1].id


async def shop_signed_up(browser: Browser, runtime: Runtime) -> int:
    """The "Shop" account, signed up in `browser`; its id."""
    await sign_up(browser, "owner@shop.test", "Shop")
    return await _account_id(runtime)


async def set_threshold(browser: Browser, threshold: str) -> httpx.Response:
    """The Alerts page's form, sent with `threshold` as typed."""
    return await browser.post("/panel/alerts", {"threshold": threshold}, form="/panel/alerts")


async def set_webhook_url(browser: Browser, url: str) -> httpx.Response:
    """The account's webhook URL, set on the Credit page."""
    return await browser.post("/panel/credit/webhook", {"url": url}, form="/panel/credit")


async def test_a_user_sets_a_threshold_and_the_dashboard_warns_under_it(
    browser: Browser, runtime: Runtime
) -> None:
    """Above the threshold no warning; a threshold above the balance shows one."""
    account_id = await shop_signed_up(browser, runtime)
    await runtime.admin.add_credit(account_id, 50_000)

    low = await set_threshold(browser, "20,000")
    calm = await browser.get("/panel/dashboard")
    high = await set_threshold(browser, "۸۰۰۰۰")
    worried = await browser.get("/panel/dashboard")

    assert (low.status_code, high.status_code) == (303, 303)
    assert WARNING not in calm.text
    assert WARNING in worried.text
    assert "50,000 of 80,000 rial" in worried.text
    assert (await runtime.credit_alerts.store.threshold(account_id)).threshold == 80_000  # type: ignore[union-attr]


async def test_a_threshold_that_is_not_a_whole_amount_is_refused(
    browser: Browser, runtime: Runtime
) -> None:
    """422 with the reason; empty turns the alert off."""
    account_id = await shop_signed_up(browser, runtime)
    await set_threshold(browser, "1000")

    words = await set_threshold(browser, "a lot")
    negative = await set_threshold(browser, "-5")
    kept = await runtime.credit_alerts.store.threshold(account_id)
    off = await set_threshold(browser, "")

    assert (words.status_code, negative.status_code, off.status_code) == (422, 422, 303)
    assert "whole number of rial" in words.text
    assert kept is not None
    assert kept.threshold == 1000
    assert await runtime.credit_alerts.store.threshold(account_id) is None


async def test_one_signed_event_per_crossing_reaches_every_url(
    browser: Browser,
    operator: Browser,
    runtime: Runtime,
    worker: EventWorker,
    receiver: Receiver,
) -> None:
    """A send takes the credit under: one event to each URL, signed; again only after a top-up."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop", credit=10_000)
    account_id = await _account_id(runtime)
    await set_webhook_url(browser, receiver.url)
    await runtime.relays.create(account_id, receiver.url + "?relay=1")
    await set_threshold(browser, "10000")
    assert await runtime.credit_alerts.check() == 0  # at the threshold is not under it

    assert (await send_otp(browser, token))["Status"] == "Success"
    first = await runtime.credit_alerts.check()
    again = await runtime.credit_alerts.check()
    posted = await worker.run_once()

    assert (first, again, posted) == (1, 0, 2)
    secret = (await runtime.workspace.panel.get_webhook(account_id)).secret  # type: ignore[union-attr]
    for headers, body in receiver.got:
        assert headers[EVENT_HEADER.lower()] == LOW_CREDIT
        assert signed(secret, headers, body)
        event = orjson.loads(body)
        assert (event["Event"], event["AccountID"], event["Threshold"]) == (
            LOW_CREDIT,
            account_id,
            10_000,
        )
        assert event["Credit"] < 10_000
    assert [e.state for e in await runtime.credit_alerts.store.events(account_id, limit=10)] == [
        WebhookState.DELIVERED
    ] * 2

    await runtime.admin.add_credit(account_id, 5_000)
    assert await runtime.credit_alerts.check() == 0  # back above: armed again, nothing sent
    await runtime.admin.add_credit(account_id, -10_000)
    assert await runtime.credit_alerts.check() == 1
    assert await worker.run_once() == 2
    assert len(receiver.got) == 4


async def test_a_refused_post_is_tried_again(
    browser: Browser,
    runtime: Runtime,
    worker: EventWorker,
    receiver: Receiver,
) -> None:
    """A 500 leaves the event pending with its summary; the next attempt delivers it."""
    receiver.statuses = [500, 200]
    account_id = await shop_signed_up(browser, runtime)
    await set_webhook_url(browser, receiver.url)
    await set_threshold(browser, "1")

    assert await worker.run_once() == 1
    [failed] = await runtime.credit_alerts.store.events(account_id, limit=10)
    async with runtime.engines.write.begin() as conn:  # due now, not after the back-off
        await conn.execute(
            update(event_deliveries).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    assert await worker.run_once() == 1
    [done] = await runtime.credit_alerts.store.events(account_id, limit=10)

    assert (failed.state, failed.last_error, failed.attempts) == (
        WebhookState.PENDING,
        "HTTP 5xx",
        1,
    )
    assert (done.state, done.attempts) == (WebhookState.DELIVERED, 2)
    assert len(receiver.got) == 2
    page = await browser.get("/panel/alerts")
    assert "taken by the server" in page.text
    assert "Alert sent <time datetime=" in page.text


async def test_the_operator_sets_any_accounts_threshold_in_the_audit_log(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The operator's page sets it (audited); an account user cannot reach that page."""
    account_id = await shop_signed_up(browser, runtime)
    page = f"/panel/operator/accounts/{account_id}/alert"

    saved = await operator.post(page, {"threshold": "5000"}, form=page)
    by_user = await browser.get(page)

    assert saved.status_code == 303
    assert by_user.status_code == 403
    assert (await runtime.credit_alerts.store.threshold(account_id)).threshold == 5000  # type: ignore[union-attr]
    [entry, *_] = await runtime.desk.identity.list_audit(before=None, limit=5)
    assert (entry.action, entry.target, entry.detail) == (
        "account.credit_alert",
        f"account:{account_id}",
        "5000",
    )
    shown = await browser.get("/panel/dashboard")
    assert WARNING in shown.text  # 0 credit under 5,000
    assert (await operator.get("/panel/operator/accounts/999999/alert")).status_code == 404


async def test_an_account_sees_only_its_own_alert(
    browser: Browser, runtime: Runtime, worker: EventWorker, receiver: Receiver
) -> None:
    """Another account's events and threshold never show on a user's page, nor reach its URL."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await set_threshold(browser, "7777")
    other = await open_browser(runtime, ip="198.51.100.60")
    await sign_up(other, "owner@other.test", "Other")
    await set_webhook_url(other, receiver.url)

    page = await other.get("/panel/alerts")
    await worker.run_once()

    assert "7,777" not in page.text
    assert "No alert is set." in page.text
    assert receiver.got == []  # Shop's alert went to Shop's URLs: it has none


async def test_no_alert_for_an_unlimited_or_disabled_account(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """An unlimited account is never under; a disabled one's users cannot change its alert."""
    account_id = await shop_signed_up(browser, runtime)
    form = f"/panel/operator/accounts/{account_id}"
    await operator.post(f"{form}/unlimited", {"unlimited": "1"}, form=form)
    await set_threshold(browser, "5000")

    assert await runtime.credit_alerts.check() == 0
    assert WARNING not in (await browser.get("/panel/dashboard")).text
    await operator.post(f"{form}/state", {"active": "0"}, form=form)
    refused = await set_threshold(browser, "9000")
    assert refused.status_code == 422
    assert "The operator has disabled this account" in refused.text
