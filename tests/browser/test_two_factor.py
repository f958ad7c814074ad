"""
Two-step sign-in in a real browser, at a laptop's and a phone's width, in English and
Persian: set it up from the QR code's key, keep the recovery codes, sign in with the code,
then with a recovery code, and turn it off with the password.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import send_sign_in_form, shot, sign_up
from tests.browser.journeys import PASSWORD
from tests.browser.viewports import SIZES, laid_out, page_at
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


def password_step(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/panel/sign-in")
    send_sign_in_form(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r".*/panel/sign-in/code$"))


def code_step(page: Page, code: str) -> None:
    page.fill("#code", code)
    page.click("form[action*='/sign-in/code'] button[type=submit]")


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_two_step_sign_in_from_setup_to_off(
    chromium: Browser, gateway: Gateway, language: str, width: int
) -> None:
    """Set up with a first code → sign in with a code → with a recovery code → off."""
    base = gateway.url
    tag = f"{language}{width}"
    email = f"totp-{tag}@people.test"
    context, page = page_at(chromium, language, width)
    sign_up(page, base, email, f"Two step {tag}", PASSWORD)

    page.goto(f"{base}/panel/settings")
    page.click("a[href='/panel/settings/two-step']")
    page.click("form[action$='/two-step/begin'] button")
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.naturalWidth") > 0  # the SVG QR code was drawn
    laid_out(page, language)
    shot(page, f"two-step-{tag}-enrolment")
    secret = page.locator("#totp-secret").inner_text().strip()
    key = pyotp.TOTP(secret)
    page.fill("#code", "000000")
    page.click("form[action$='/two-step/confirm'] button")
    expect(page.locator(".alert.error")).to_be_visible()
    page.fill("#code", key.now())
    page.click("form[action$='/two-step/confirm'] button")
    codes = page.locator("#recovery-codes code")
    expect(codes).to_have_count(10)
    laid_out(page, language)
    shot(page, f"two-step-{tag}-recovery-codes")
    recovery = codes.nth(0).inner_text().strip()
    page.click("a[href='/panel/settings/two-step']")
    expect(page.locator("#two-step-on")).to_be_visible()

    page.click("form[action$='/sign-out'] button")
    password_step(page, base, email)
    laid_out(page, language)
    shot(page, f"two-step-{tag}-code")
    code_step(page, "111111")
    expect(page.locator(".alert.error")).to_be_visible()
    code_step(page, key.at(datetime.now(UTC) + timedelta(seconds=30)))
    expect(page).to_have_url(re.compile(r".*/panel/dashboard$"))

    page.click("form[action$='/sign-out'] button")
    password_step(page, base, email)
    code_step(page, recovery)
    expect(page).to_have_url(re.compile(r".*/panel/dashboard$"))

    page.goto(f"{base}/panel/settings/two-step")
    page.fill("#off-password", PASSWORD)
    page.click("#two-step-off button")
    expect(page.locator("#two-step-off-state")).to_be_visible()
    expect(page.locator(".alert.success")).to_be_visible()
    laid_out(page, language)
    page.click("form[action$='/sign-out'] button")
    send_sign_in_form(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r".*/panel/dashboard$"))
    context.close()
