"""
What the operations pages' browser tests share: the two screen widths and two languages
each page is seen in, an account made ready to send, and a check that a page fits its
screen (nothing but a table or a code block scrolls sideways).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import OPERATOR, STEP_MS, new_page, sign_in, sign_up
from tests.browser.journeys import PASSWORD as PASSWORD  # re-exported: tests import it here
from tests.browser.journeys import (
    add_credit,
    make_token,
    pending_pattern_id,
    send,
    write_pattern,
)
from tests.e2e.server import Gateway

# (width, height, language): a laptop and a phone, in Persian and English.
VIEWS = [
    pytest.param(1366, 860, "en", id="1366-en"),
    pytest.param(1366, 860, "fa", id="1366-fa"),
    pytest.param(390, 844, "en", id="390-en"),
    pytest.param(390, 844, "fa", id="390-fa"),
]


@dataclass(frozen=True)
class Ready:
    """An account that can send: its user, its token, and the messages it sent."""

    email: str
    account: str
    token: str
    message_ids: list[int]


def open_view(
    chromium: Browser, width: int, height: int, language: str
) -> tuple[BrowserContext, Page]:
    context = chromium.new_context(
        viewport={"width": width, "height": height},
        locale="fa-IR" if language == "fa" else "en-US",
        accept_downloads=True,
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    return context, context.new_page()


def signed_in_view(
    chromium: Browser, gateway: Gateway, email: str, width: int, height: int, language: str
) -> tuple[BrowserContext, Page]:
    """A fresh view (`open_view`) in which `email` (password PASSWORD) is signed in."""
    context, page = open_view(chromium, width, height, language)
    sign_in(page, gateway.url, email, PASSWORD, language)
    return context, page


def ready_account(
    chromium: Browser, gateway: Gateway, email: str, account: str, numbers: list[str]
) -> Ready:
    """Sign up, an approved OTP pattern, credit, a token, and one send to each of `numbers`."""
    base = gateway.url
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    sign_up(user, base, email, account, PASSWORD)
    write_pattern(user, base, "کد ورود شما: %code%")
    sign_in(operator, base, *OPERATOR)
    operator.click(f"#pattern-{pending_pattern_id(operator, base, account)} button.ok")
    add_credit(operator, base, account, "1000000")
    token = make_token(user, base, "app")
    user_context.close()
    ops_context.close()
    return Ready(email, account, token, [send(gateway, token, number) for number in numbers])


def assert_fits(page: Page) -> None:
    """The page is no wider than its screen: only tables and code scroll sideways."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page is {overflow} px wider than the screen"


def assert_language(page: Page, language: str) -> None:
    html = page.locator("html")
    assert html.get_attribute("lang") == language
    assert html.get_attribute("dir") == ("rtl" if language == "fa" else "ltr")
