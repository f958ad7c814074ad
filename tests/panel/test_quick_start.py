"""
The quick start: the snippets carry this gateway's address (the configured public URL, else
the one the page was asked at) and a token placeholder; the test send goes through the
API's own path as one of the account's tokens: a real message, a test number's fixed code,
the guard's refusals, CSRF.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from quickotp.bootstrap import Runtime
from quickotp.panel.snippets import snippets
from tests.panel.conftest import (
    Browser,
    approved_account,
    open_browser,
    panel_runtime,
    running,
    sign_up,
)

pytestmark = pytest.mark.anyio


def _token_id(page: str) -> str:
    found = re.search(r'<select id="token" name="token">\s*<option value="(\d+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


async def _test_send(browser: Browser, mobile: str) -> tuple[int, str]:
    page = await browser.get("/panel/quick-start")
    answer = await browser.post(
        "/panel/quick-start",
        {"token": _token_id(page.text), "mobile": mobile},
        form="/panel/quick-start",
    )
    return answer.status_code, answer.text


def test_every_language_has_both_calls_for_the_base_url() -> None:
    made = snippets("https://sms.example.com")

    assert [s.language for s in made] == ["curl", "PHP", "Python", "C#"]
    for snippet in made:
        assert "https://sms.example.com/rest/SendQuickOTP" in snippet.send
        assert "https://sms.example.com/rest/VerifyQuickOTP" in snippet.verify
        assert "YOUR_TOKEN" in snippet.send
        assert "YOUR_TOKEN" in snippet.verify


async def test_the_page_writes_the_address_it_was_asked_at(
    browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")

    page = await browser.get("/panel/quick-start")

    assert page.status_code == 200
    assert '<code class="ltr" id="base-url">https://panel.test</code>' in page.text
    assert "https://panel.test/rest/SendQuickOTP" in page.text
    assert page.text.count("<summary>") == 4


@pytest.fixture
async def public_runtime(database_url: str) -> AsyncIterator[Runtime]:
    public = panel_runtime(database_url, QUICKOTP_PUBLIC_URL="https://sms.example.com/gateway/")
    async with running(public) as built:
        yield built


async def test_the_configured_public_url_wins(public_runtime: Runtime) -> None:
    browser = await open_browser(public_runtime)
    await sign_up(browser, "owner@shop.test", "Shop")

    page = await browser.get("/panel/quick-start")

    assert "https://sms.example.com/gateway/rest/VerifyQuickOTP" in page.text
    assert "panel.test/rest" not in page.text
    await browser.http.aclose()


async def test_a_test_code_goes_out_as_a_real_send(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")

    status, text = await _test_send(browser, "۰۹۱۲ ۳۴۵ ۶۷۸۹")
    found = re.search(r'id="test-sent">.*?/panel/messages/(\d+)"', text, re.S)
    assert found is not None, text[:3000]
    record = await runtime.workspace.panel.message_record(
        None, int(found.group(1)), now=datetime.now(UTC)
    )
    message = record.message

    assert status == 200
    assert "is on its way to your phone" in text
    assert message.mobile == "989123456789"
    assert message.cost > 0  # charged like any send
    assert record.token_id is not None  # as the chosen token


async def test_a_test_number_gets_its_fixed_code_and_nothing_is_sent(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    account_id = (await runtime.admin.list_accounts())[0].id
    await runtime.admin.set_limits(account_id, {"test_numbers": "989120000099:246810"})

    status, text = await _test_send(browser, "09120000099")

    assert status == 200
    assert "accepted for a test number" in text


async def test_the_guard_refuses_a_test_send_as_it_would_an_api_call(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    """The number's cooldown (60 s) holds for the panel's sends too."""
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    account_id = (await runtime.admin.list_accounts())[0].id
    await runtime.admin.set_limits(account_id, {"cooldown_seconds": 60})  # off in the tests
    runtime.gateway.forget_cached()  # as the operator's limits page does

    first, _ = await _test_send(browser, "09120000042")
    second, text = await _test_send(browser, "09120000042")

    assert first == 200
    assert second == 422
    assert "A code went to this number a moment ago. Try again in 1 minute." in text


async def test_refusals_are_said_plainly(browser: Browser, operator: Browser) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")

    status, text = await _test_send(browser, "12345")

    assert status == 422
    assert "That is not a mobile number the gateway sends to." in text


async def test_without_a_pattern_the_page_says_what_is_missing(browser: Browser) -> None:
    """A new account: the checklist shows the steps left, and no token means no form."""
    await sign_up(browser, "new@shop.test", "New")

    page = await browser.get("/panel/quick-start")

    assert page.text.count("To do") == 3
    assert 'id="test-send"' not in page.text
    assert "Make a token first" in page.text


async def test_a_test_send_needs_the_page_s_csrf_token(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    token_id = _token_id((await browser.get("/panel/quick-start")).text)

    forged = await browser.http.post(
        "/panel/quick-start", data={"token": token_id, "mobile": "09120000001"}
    )
    cross_site = await browser.http.post(
        "/panel/quick-start",
        data={"csrf": await browser.csrf("/panel/quick-start"), "token": token_id},
        headers={"sec-fetch-site": "cross-site"},
    )

    assert forged.status_code == 403
    assert cross_site.status_code == 403


async def test_another_account_s_token_is_nothing(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    other = await open_browser(runtime, ip="198.51.100.31")
    await approved_account(other, operator, "them@other.test", "Other")
    their_token = _token_id((await other.get("/panel/quick-start")).text)

    answer = await browser.post(
        "/panel/quick-start",
        {"token": their_token, "mobile": "09120000001"},
        form="/panel/quick-start",
    )

    assert answer.status_code == 404
    await other.http.aclose()
