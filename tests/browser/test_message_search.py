"""
The operator's message search in a real browser, on a laptop and a phone, in Persian and
English: a number in any written form finds its messages in every account, `#id` finds one
message, a state narrows them, and a result opens the message.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import OPERATOR, shot, sign_in
from tests.browser.operations import (
    VIEWS,
    Ready,
    assert_fits,
    assert_language,
    open_view,
    ready_account,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shops(chromium: Browser, gateway: Gateway) -> list[Ready]:
    """Two accounts that both sent to 0912 000 0050, and one more number each."""
    return [
        ready_account(
            chromium, gateway, "one@search.test", "Search One", ["09120000050", "09120000051"]
        ),
        ready_account(
            chromium, gateway, "two@search.test", "Search Two", ["09120000050", "09120000052"]
        ),
    ]


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_operator_finds_messages_across_accounts(
    chromium: Browser,
    gateway: Gateway,
    shops: list[Ready],
    width: int,
    height: int,
    language: str,
) -> None:
    tr = Translator(language, PANEL_ZONE)
    context, page = open_view(chromium, width, height, language)
    sign_in(page, gateway.url, *OPERATOR, language)

    page.goto(f"{gateway.url}/panel/operator/messages")
    assert_language(page, language)
    expect(page.locator("h1")).to_have_text(tr("Message search"))
    assert_fits(page)

    page.fill("#q", "+98 (912) ۰۰۰-۰۰۵۰")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=2))
    expect(page.locator("#log tbody")).to_contain_text("Search One")
    expect(page.locator("#log tbody")).to_contain_text("Search Two")
    assert_fits(page)
    shot(page, f"message-search-{width}-{language}")

    message_id = shops[1].message_ids[1]
    page.fill("#q", f"#{message_id}")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("1 message matches."))
    page.select_option("#status", "failed")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=0))
    page.select_option("#status", "")
    page.click("#log-filters button[type=submit]")
    page.click(f"#log a[href$='/operator/messages/{message_id}']")
    expect(page.locator(".kv")).to_contain_text(tr.digits("+989120000052"))
    context.close()


def test_a_part_of_a_number_is_refused_with_a_reason(
    chromium: Browser, gateway: Gateway, shops: list[Ready]
) -> None:
    context, page = open_view(chromium, 1366, 860, "en")
    sign_in(page, gateway.url, *OPERATOR, "en")
    page.goto(f"{gateway.url}/panel/operator/messages")

    page.fill("#q", "0912-abc")
    page.click("#log-filters button[type=submit]")

    expect(page.locator(".alert.error")).to_have_text(
        "Search for a mobile number, or a message by its number written as #123."
    )
    context.close()
