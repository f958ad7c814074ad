"""
A form sent after its sender's sign-in ended, in a real browser: the panel says the sign-in
expired (not the form), and after signing in again the sender is back on the form with what
they typed, passwords left out. The sign-in is ended the way a user ends it: changing the
password in another browser signs out every other session.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import new_page, send_sign_in_form, sign_in, sign_up
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
EMAIL = "owner@lapsed.test"
PASSWORDS = ["a first password", "a second password", "a third password"]


def change_password(chromium: Browser, base: str, old: str, new: str) -> None:
    """In a browser of its own: which signs out the user's other sessions."""
    context, page = new_page(chromium)
    sign_in(page, base, EMAIL, old)
    page.goto(f"{base}/panel/settings")
    page.fill("#password", old)
    page.fill("#new_password", new)
    page.fill("#repeat_password", new)
    page.click("form[action$='/settings'] button[type=submit]")
    expect(page.locator(".alert.success")).to_contain_text("Password changed")
    context.close()


def sign_in_again(page: Page, password: str) -> None:
    expect(page.locator(".alert")).to_contain_text("Your sign-in has expired")
    expect(page.locator("body")).not_to_contain_text("This form has expired")
    send_sign_in_form(page, EMAIL, password)
    page.wait_for_load_state()


def test_a_form_sent_after_the_sign_in_expired_comes_back_filled(
    chromium: Browser, gateway: Gateway
) -> None:
    base = gateway.url
    context, page = new_page(chromium)
    sign_up(page, base, EMAIL, "Lapsed Shop", PASSWORDS[0])
    page.goto(f"{base}/panel/tokens")
    page.fill("#label", "typed before the lapse")
    page.fill("#allowed_ips", "203.0.113.0/24")
    page.check("input[name=allowed_methods][value=SendQuickOTP]")

    change_password(chromium, base, PASSWORDS[0], PASSWORDS[1])
    page.click("form[action$='/tokens'] button[type=submit]")
    assert "/panel/sign-in" in page.url
    sign_in_again(page, PASSWORDS[1])

    assert re.search(r"/panel/tokens\?restore=", page.url), page.url
    expect(page.locator("#restored-note")).to_be_visible()
    expect(page.locator("#label")).to_have_value("typed before the lapse")
    expect(page.locator("#allowed_ips")).to_have_value("203.0.113.0/24")
    expect(page.locator("input[name=allowed_methods][value=SendQuickOTP]")).to_be_checked()
    expect(page.locator("input[name=allowed_methods][value=SendSimple]")).not_to_be_checked()
    expect(page.locator("tr[id^=token-]")).to_have_count(0)  # nothing was made meanwhile
    page.click("form[action$='/tokens'] button[type=submit]")
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.locator("tr[id^=token-]")).to_contain_text("typed before the lapse")

    page.reload()  # given back once
    expect(page.locator("#restored-note")).to_have_count(0)

    # A password typed into a form is never kept.
    page.goto(f"{base}/panel/settings")
    page.fill("#password", PASSWORDS[1])
    page.fill("#new_password", "never kept anywhere")
    page.fill("#repeat_password", "never kept anywhere")
    change_password(chromium, base, PASSWORDS[1], PASSWORDS[2])
    page.click("form[action$='/settings'] button[type=submit]")
    sign_in_again(page, PASSWORDS[2])
    assert "/panel/settings?restore=" in page.url
    kept = json.loads(page.locator("#restored-form").text_content() or "{}")
    assert kept["action"] == "/panel/settings"
    assert all("password" not in name for name, _ in kept["fields"]), kept
    assert "never kept anywhere" not in json.dumps(kept)
    expect(page.locator("#new_password")).to_have_value("")
    context.close()


def test_a_restored_form_is_for_the_browser_that_sent_it_only(
    chromium: Browser, gateway: Gateway
) -> None:
    """The id in the URL, opened in another browser (another visitor), fills in nothing."""
    base = gateway.url
    context, page = new_page(chromium)
    sign_in(page, base, EMAIL, PASSWORDS[2])
    page.goto(f"{base}/panel/tokens")
    page.fill("#label", "for this browser")
    change_password(chromium, base, PASSWORDS[2], PASSWORDS[0])
    page.click("form[action$='/tokens'] button[type=submit]")
    next_url = page.url  # the sign-in page, with the way back to the kept form
    other_context, other = new_page(chromium)
    other.goto(next_url)
    send_sign_in_form(other, EMAIL, PASSWORDS[0])
    other.wait_for_load_state()
    assert "/panel/tokens?restore=" in other.url
    expect(other.locator("#restored-note")).to_have_count(0)
    expect(other.locator("#label")).to_have_value("")
    other_context.close()
    context.close()
