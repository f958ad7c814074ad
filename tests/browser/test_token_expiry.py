"""
API tokens in a real browser: the last day a token works survives any number of saves and is
the day the list shows; a last day in the past is refused; the new token's page can be
reloaded without making a second token, and shows the secret once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import new_page, sign_up
from tests.browser.journeys import PASSWORD
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
TEHRAN = ZoneInfo("Asia/Tehran")


def tehran_today() -> datetime:
    return datetime.now(TEHRAN)


@contextlib.contextmanager
def on_the_tokens_page(chromium: Browser, gateway: Gateway, slug: str) -> Iterator[Page]:
    """A new account's user (owner@`slug`.test), signed up in a fresh profile, on the Tokens
    page; the profile closed after."""
    context, page = new_page(chromium)
    try:
        sign_up(page, gateway.url, f"owner@{slug}.test", f"{slug.title()} Shop", PASSWORD)
        page.goto(f"{gateway.url}/panel/tokens")
        yield page
    finally:
        context.close()


def send_new_token(page: Page, label: str, last_day: str | None = None) -> None:
    """The new-token form (or a token's edit form) filled with `label` and `last_day`, sent."""
    page.fill("#label", label)
    if last_day is not None:
        page.fill("#expires_on", last_day)
    page.click("form[action$='/tokens'] button[type=submit]")


def test_a_tokens_last_day_survives_saving_and_is_the_day_listed(
    chromium: Browser, gateway: Gateway
) -> None:
    last_day = (tehran_today() + timedelta(days=10)).date().isoformat()
    with on_the_tokens_page(chromium, gateway, "expiry") as page:
        send_new_token(page, "expiring", last_day)
        expect(page.locator("#new-token")).to_be_visible()

        row = page.locator("tr[id^=token-]", has_text="expiring")
        expect(row).to_contain_text(f"Until {last_day}")
        for _ in range(3):  # each save leaves the day as it is
            row.locator("a", has_text="Edit").click()
            expect(page.locator("#expires_on")).to_have_value(last_day)
            page.click("form[action*='/tokens/'] button[type=submit]")
            expect(page.locator(".alert.success")).to_contain_text("Token saved")
        expect(row).to_contain_text(f"Until {last_day}")


def test_a_last_day_in_the_past_is_refused(chromium: Browser, gateway: Gateway) -> None:
    yesterday = (tehran_today() - timedelta(days=1)).date().isoformat()
    with on_the_tokens_page(chromium, gateway, "past") as page:
        with page.expect_navigation() as navigation:
            send_new_token(page, "born expired", yesterday)

        answer = navigation.value
        assert answer is not None
        assert answer.status == 422
        expect(page.locator(".alert.error")).to_contain_text("The last day has passed")
        expect(page.locator("#new-token")).to_have_count(0)
        expect(page.locator("tr[id^=token-]")).to_have_count(0)

        token = page.locator("tr[id^=token-]")  # today is the earliest last day
        send_new_token(page, "until tonight", tehran_today().date().isoformat())
        expect(page.locator("#new-token")).to_be_visible()
        expect(token).to_have_count(1)
        expect(token).to_contain_text("Active")

        token.locator("a", has_text="Edit").click()  # an edit is refused the past as well
        page.fill("#expires_on", yesterday)
        page.click("form[action*='/tokens/'] button[type=submit]")
        expect(page.locator(".alert.error")).to_contain_text("The last day has passed")


def test_reloading_the_new_tokens_page_makes_no_second_token(
    chromium: Browser, gateway: Gateway
) -> None:
    with on_the_tokens_page(chromium, gateway, "reload") as page:
        send_new_token(page, "once")
        secret = page.locator("#new-token")
        expect(secret).to_be_visible()
        assert page.url.endswith("/panel/tokens")  # after a redirect, not the form's answer
        shown = secret.inner_text().strip()

        page.reload()
        expect(page.locator("tr[id^=token-]")).to_have_count(1)
        expect(page.locator("#new-token")).to_have_count(0)  # shown once only
        expect(page.locator("body")).not_to_contain_text(shown)
        page.go_back()
        expect(page.locator("tr[id^=token-]")).to_have_count(1)
