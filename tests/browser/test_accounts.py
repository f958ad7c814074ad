"""
People's access in a real browser, at a laptop's and a phone's width, in English and
Persian: an operator's one-time reset link, disabling and enabling a user, and one's own
sign-in history.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import send_sign_in_form, shot, sign_in, sign_up
from tests.browser.journeys import PASSWORD, open_account
from tests.browser.viewports import SIZES, laid_out, page_at, user_and_operator
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
NEW_PASSWORD = "a brand new password"


def assert_signed_out_and_refused(user: Page, base: str, email: str, password: str) -> None:
    """`user`'s session is over, and signing in again with `password` is refused."""
    user.goto(f"{base}/panel/dashboard")
    expect(user).to_have_url(re.compile(r".*/panel/sign-in\?next=.*"))
    send_sign_in_form(user, email, password)
    expect(user.locator(".alert.error")).to_be_visible()


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_an_operator_resets_a_password_with_a_one_time_link(
    chromium: Browser, gateway: Gateway, language: str, width: int
) -> None:
    """Reset → the user's session ends, the old password fails, the link sets a new one once."""
    base = gateway.url
    tag = f"{language}{width}"
    email, account = f"reset-{tag}@people.test", f"Reset {tag}"
    with user_and_operator(chromium, base, language, width, email, account) as (user, operator):
        open_account(operator, base, account)
        row = operator.locator("tr", has_text=email)
        row.locator("form[action$='/reset'] button").click()
        link = operator.locator("#reset-link")
        expect(link).to_be_visible()
        laid_out(operator, language)
        shot(operator, f"accounts-{tag}-reset-link")
        url = link.inner_text().strip()
        assert re.fullmatch(rf"{re.escape(base)}/panel/reset/[\w-]{{20,}}", url), url

        assert_signed_out_and_refused(user, base, email, PASSWORD)

        user.goto(url)
        laid_out(user, language)
        shot(user, f"accounts-{tag}-set-password")
        user.fill("#new_password", NEW_PASSWORD)
        user.fill("#repeat_password", NEW_PASSWORD)
        user.click("form button[type=submit]")
        expect(user).to_have_url(re.compile(r".*/panel/sign-in$"))
        expect(user.locator(".alert.success")).to_be_visible()
        sign_in(user, base, email, NEW_PASSWORD, language)
        expect(user).to_have_url(re.compile(r".*/panel/dashboard$"))

        answer = user.goto(url)
        assert answer is not None
        assert answer.status == 404


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_a_disabled_user_is_signed_out_and_refused_until_enabled(
    chromium: Browser, gateway: Gateway, language: str, width: int
) -> None:
    """Disable ends the open session and refuses sign-in; enable lets them back in."""
    base = gateway.url
    tag = f"{language}{width}"
    email, account = f"off-{tag}@people.test", f"Off {tag}"
    with user_and_operator(chromium, base, language, width, email, account) as (user, operator):
        open_account(operator, base, account)
        operator.locator("tr", has_text=email).locator("form[action$='/state'] button").click()
        row = operator.locator("tr", has_text=email)
        expect(row.locator(".badge.bad")).to_be_visible()
        laid_out(operator, language)
        shot(operator, f"accounts-{tag}-user-disabled")

        assert_signed_out_and_refused(user, base, email, PASSWORD)
        laid_out(user, language)

        row.locator("form[action$='/state'] button").click()
        expect(operator.locator("tr", has_text=email).locator(".badge.ok")).to_be_visible()
        sign_in(user, base, email, PASSWORD, language)
        expect(user).to_have_url(re.compile(r".*/panel/dashboard$"))


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_a_user_reads_their_own_sign_in_history(
    chromium: Browser, gateway: Gateway, language: str, width: int
) -> None:
    """A failed and a good sign-in show, newest first, with this browser's user agent."""
    base = gateway.url
    tag = f"{language}{width}"
    email = f"history-{tag}@people.test"
    context, page = page_at(chromium, language, width)
    sign_up(page, base, email, f"History {tag}", PASSWORD)
    page.click("form[action$='/sign-out'] button")
    page.goto(f"{base}/panel/sign-in")
    send_sign_in_form(page, email, "not the password at all")
    sign_in(page, base, email, PASSWORD, language)

    page.goto(f"{base}/panel/settings")
    page.click("a[href='/panel/settings/sign-ins']")
    rows = page.locator("#sign-ins tbody tr")
    expect(rows).to_have_count(2)  # sign-up starts a session without a sign-in attempt
    expect(rows.nth(0)).to_have_class("ok")
    expect(rows.nth(1)).to_have_class("bad")
    agent = page.evaluate("() => navigator.userAgent")
    expect(rows.nth(0)).to_contain_text(agent[:40])
    expect(rows.nth(0)).to_contain_text("127.0.0.1")
    laid_out(page, language)
    shot(page, f"accounts-{tag}-sign-in-history")
    context.close()
