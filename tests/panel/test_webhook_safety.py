"""
The panel's webhook: its URL field refuses what relay URLs refuse (addresses inside the
gateway's network, names that do not resolve), and a post's outcome is shown as a summary
that names no error class, address or exact status (which would let an owner map ports).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from quickotp.adapters.report_client import ReportClient
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.bootstrap import Runtime, utc_now
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.models import Submitted
from quickotp.services.webhooks import WebhookWorker
from quickotp.web.amoot_wire import report_body
from tests.conftest import known_names
from tests.http_peer import free_port, serving
from tests.panel.conftest import Browser, approved_account, send_otp, sign_up
from tests.services.webhooks.test_webhooks import Receiver

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "https://nowhere.example/hook",  # does not resolve
    ],
)
async def test_the_webhook_field_refuses_what_relay_urls_refuse(
    browser: Browser, runtime: Runtime, url: str
) -> None:
    """A URL leading inside, or a name that does not resolve, is refused and not stored."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.post("/panel/credit/webhook", {"url": url})

    assert response.status_code == 422
    assert "cannot take delivery reports" in response.text
    account = (await runtime.admin.list_accounts())[0]
    assert await runtime.workspace.panel.get_webhook(account.id) is None


async def _delivered(browser: Browser, operator: Browser, runtime: Runtime, url: str) -> int:
    """A delivered message of a new account whose webhook is `url` (stored as it is)."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[-1]
    await runtime.workspace.panel.set_webhook(account.id, url, "whsec_t", utc_now())
    sent = await send_otp(browser, token)
    now = utc_now()
    [claimed] = await runtime.store.claim(now, timedelta(seconds=30), 10)
    submitted = Submitted(claimed.message.id, SendReceipt("log", "log-1"), "*****", now)
    await runtime.store.record([submitted], now=now)
    report = DeliveryReport("log", "log-1", DeliveryState.DELIVERED, now)
    await runtime.store.record(reports=[report], now=now)
    message_id: int = sent["Data"]["MessageID"]  # type: ignore[index]
    return message_id


async def _post_reports(runtime: Runtime) -> None:
    poster = ReportClient(known_names(), allow_private=True)
    try:
        worker = WebhookWorker(WebhookStore(runtime.engines), poster, utc_now, render=report_body)
        assert await worker.run_once() == 1
    finally:
        await poster.aclose()


async def _reported_to_a_closed_port(browser: Browser, operator: Browser, runtime: Runtime) -> int:
    """A delivered message whose report was posted to a closed port on 127.0.0.1; its id."""
    message_id = await _delivered(
        browser, operator, runtime, f"http://127.0.0.1:{free_port()}/hook"
    )
    await _post_reports(runtime)
    return message_id


async def test_a_post_that_got_no_answer_is_shown_as_such(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """A closed port reads "the address did not answer", never the connection error."""
    message_id = await _reported_to_a_closed_port(browser, operator, runtime)

    page = (await browser.get(f"/panel/messages/{message_id}")).text

    assert "the address did not answer" in page
    assert "ConnectError" not in page
    assert "Connect call failed" not in page
    assert "Errno" not in page


async def test_an_error_status_is_shown_as_its_class(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """A receiver answering 503 reads "HTTP 5xx": the class, not the exact status."""
    receiver = Receiver(statuses=[503])
    async with serving(receiver.app()) as base:
        message_id = await _delivered(browser, operator, runtime, f"{base}/hook")
        await _post_reports(runtime)

    page = (await browser.get(f"/panel/messages/{message_id}")).text

    assert len(receiver.got) == 1
    assert "HTTP 5xx" in page
    assert "HTTP 503" not in page
    assert "· 503" not in page


async def test_the_summary_is_in_persian_too(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The reason is translated like the rest of the page."""
    message_id = await _reported_to_a_closed_port(browser, operator, runtime)
    await browser.post("/panel/language", {"language": "fa"})

    page = await browser.get(f"/panel/messages/{message_id}")

    assert isinstance(page, httpx.Response)
    assert "نشانی پاسخ نداد" in page.text
