"""
Every page of the panel fits the screen: on a desktop (1366 px) and a phone (390 px), in
Persian and English, no page is wider than the window, so nothing (the sign-out button, a
card's edge) lies off-screen and a right-to-left page does not open scrolled sideways.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import OPERATOR, STEP_MS, shot, sign_in
from tests.browser.journeys import PASSWORD, Shop, open_shop
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow

WIDTHS = [1366, 390]
LANGUAGES = ["fa", "en"]


@pytest.fixture(scope="module")
def shop(chromium: Browser, gateway: Gateway) -> Shop:
    return open_shop(chromium, gateway, "layout")


def context_at(chromium: Browser, width: int, language: str) -> tuple[BrowserContext, Page]:
    context = chromium.new_context(
        viewport={"width": width, "height": 844 if width < 500 else 800},
        locale="fa-IR" if language == "fa" else "en-US",
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    return context, context.new_page()


def user_pages(shop: Shop) -> list[str]:
    return [
        "dashboard",
        "dashboard?period=30d",
        "patterns",
        "tokens",
        "messages",
        f"messages/{shop.message_id}",
        "credit",
        "settings",
    ]


def operator_pages(shop: Shop) -> list[str]:
    return [
        "operator",
        "operator/dashboard",
        "operator/accounts",
        f"operator/accounts/{shop.account_id}",
        f"operator/messages/{shop.message_id}",
        "operator/invitations",
        "operator/routes",
        "operator/guard",
        "operator/audit",
        "settings",
    ]


def overflow(page: Page) -> dict[str, int]:
    """
    How wide the page is against the window, and how far it opened scrolled sideways. A
    phone's browser widens its window to a page wider than the screen (and shrinks the
    page to fit), so the window is held to the screen's width too.
    """
    found: dict[str, int] = page.evaluate(
        """() => ({
            scroll: document.documentElement.scrollWidth,
            window: window.innerWidth,
            scrolled: Math.round(window.scrollX),
        })"""
    )
    return found


def assert_fits(page: Page, name: str, width: int) -> None:
    seen = overflow(page)
    if seen["scroll"] > seen["window"] or seen["window"] > width or seen["scrolled"] != 0:
        path = shot(page, f"layout-{name}")
        raise AssertionError(
            f"{page.url} is wider than the window: {seen}; "
            f"the widest: {outside(page, width)} (see {path})"
        )


def outside(page: Page, width: int) -> list[str]:
    """The innermost elements reaching past the screen's edges, named for a person."""
    found: list[str] = page.evaluate(
        """width => [...document.body.querySelectorAll("*")]
            .filter(e => {
                const box = e.getBoundingClientRect();
                return box.width > 0 && (box.right > width + 1 || box.left < -1)
                    && ![...e.children].some(c => {
                        const b = c.getBoundingClientRect();
                        return b.width > 0 && (b.right > width + 1 || b.left < -1);
                    });
            })
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")
                + " " + Math.round(e.getBoundingClientRect().width) + "px")""",
        width,
    )
    return found


def assert_visible_within(page: Page, selector: str) -> None:
    """The element lies wholly inside the window's width."""
    box = page.locator(selector).first.bounding_box()
    width = page.evaluate("() => window.innerWidth")
    assert box is not None, selector
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width, (selector, box, width)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_is_wider_than_the_screen(
    chromium: Browser, gateway: Gateway, shop: Shop, width: int, language: str
) -> None:
    base = gateway.url
    context, page = context_at(chromium, width, language)
    try:
        for public in ("sign-in", "sign-up"):
            page.goto(f"{base}/panel/{public}")
            assert_fits(page, f"{language}-{width}-{public}", width)
        sign_in(page, base, shop.email, PASSWORD, language)
        for name in user_pages(shop):
            page.goto(f"{base}/panel/{name}")
            assert_fits(page, f"{language}-{width}-{name.replace('/', '-')}", width)
            assert_visible_within(page, "form[action$='/sign-out'] button")
        page.goto(f"{base}/panel/dashboard")
        assert_visible_within(page, ".stat .value")
    finally:
        context.close()
    context, page = context_at(chromium, width, language)
    try:
        sign_in(page, base, *OPERATOR, language)
        for name in operator_pages(shop):
            page.goto(f"{base}/panel/{name}")
            assert_fits(page, f"{language}-{width}-{name.replace('/', '-')}", width)
            assert_visible_within(page, "form[action$='/sign-out'] button")
    finally:
        context.close()
