"""
Every page of the panel fits the screen: on a desktop (1366 px) and a phone (390 px), in
Persian and English, no page is wider than the window, so nothing (the sign-out button, a
card's edge) lies off-screen and a right-to-left page does not open scrolled sideways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import OPERATOR, STEP_MS, new_page, shot, sign_in, sign_up
from tests.browser.journeys import PASSWORD, Shop, account_id_of, open_shop
from tests.e2e.server import Gateway

# The module's fixture builds a site through the browser first (a minute or two).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WIDTHS = [1366, 390]
LANGUAGES = ["fa", "en"]


@dataclass(frozen=True)
class Site:
    """A shop, and what the pages that need more than an account are reached with."""

    shop: Shop
    token_id: int
    route: str
    invitation: str  # the invitation page's path under /panel/
    reset: str  # a password-reset page's path under /panel/


@pytest.fixture(scope="module")
def site(chromium: Browser, gateway: Gateway) -> Site:
    return open_site(chromium, gateway, "layout")


def open_site(chromium: Browser, gateway: Gateway, slug: str) -> Site:
    """
    A shop (`open_shop`), and through the panel: a route, an open invitation, and a reset
    link for the user of a second account.
    """
    shop = open_shop(chromium, gateway, slug)
    base = gateway.url
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    operator.on("dialog", lambda dialog: dialog.accept())  # the reset's confirmation
    try:
        sign_in(user, base, shop.email, PASSWORD)
        user.goto(f"{base}/panel/tokens")
        token_id = int((user.locator("tr[id^=token-]").first.get_attribute("id") or "")[6:])
        spare = f"Spare {slug}"
        user.context.clear_cookies()
        sign_up(user, base, f"spare@{slug}.test", spare, PASSWORD)

        sign_in(operator, base, *OPERATOR)
        route = f"{slug}-route"
        operator.goto(f"{base}/panel/operator/routes/new")
        operator.fill("#name", route)
        operator.fill("#url", "kavenegar://***@127.0.0.1:9?template=login&scheme=http&reports=0")
        operator.fill("#credential", "an api key")
        operator.click("#route-form button[type=submit]")
        operator.wait_for_url(re.compile(rf".*/operator/routes/{route}/edit$"))

        operator.goto(f"{base}/panel/operator/invitations")
        operator.fill("#email", f"invited@{slug}.test")
        operator.click("form[action$='/operator/invitations'] button[type=submit]")
        invitation = operator.locator("#invitation-link").inner_text().strip()

        operator.goto(f"{base}/panel/operator/accounts/{account_id_of(operator, base, spare)}")
        operator.locator("form[action$='/reset'] button").first.click()
        reset = operator.locator("#reset-link").inner_text().strip()
    finally:
        user_context.close()
        ops_context.close()
    return Site(
        shop,
        token_id,
        route,
        invitation.split("/panel/", 1)[1],
        reset.split("/panel/", 1)[1],
    )


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


def public_pages(site: Site) -> list[str]:
    """The pages one sees signed out (an unknown page's answer among them)."""
    return ["sign-in", "sign-up", site.invitation, site.reset, "no-such-page"]


def user_pages(site: Site) -> list[str]:
    shop = site.shop
    return [
        "dashboard",
        "dashboard?period=30d",
        "quick-start",
        "patterns",
        "tokens",
        f"tokens/{site.token_id}",
        "messages",
        "messages?status=delivered&q=0912",
        f"messages/{shop.message_id}",
        "credit",
        "webhooks",
        "alerts",
        "settings",
        "settings/sign-ins",
        "settings/two-step",
    ]


def operator_pages(site: Site) -> list[str]:
    shop = site.shop
    return [
        "operator",
        "operator/dashboard",
        "operator/accounts",
        f"operator/accounts/{shop.account_id}",
        f"operator/accounts/{shop.account_id}/alert",
        "operator/messages",
        f"operator/messages?q=%23{shop.message_id}",
        f"operator/messages/{shop.message_id}",
        "operator/invitations",
        "operator/routes",
        "operator/routes/new",
        f"operator/routes/{site.route}/edit",
        "operator/guard",
        "operator/audit",
        "settings",
        "settings/sign-ins",
        "settings/two-step",
    ]


def safe(name: str) -> str:
    """A page's path as a file name."""
    return re.sub(r"[^\w-]+", "-", name)


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
    chromium: Browser, gateway: Gateway, site: Site, width: int, language: str
) -> None:
    base = gateway.url
    context, page = context_at(chromium, width, language)
    try:
        for public in public_pages(site):
            page.goto(f"{base}/panel/{public}")
            assert_fits(page, f"{language}-{width}-{safe(public)}", width)
        sign_in(page, base, site.shop.email, PASSWORD, language)
        for name in user_pages(site):
            page.goto(f"{base}/panel/{name}")
            assert_fits(page, f"{language}-{width}-{safe(name)}", width)
            assert_visible_within(page, "form[action$='/sign-out'] button")
        page.goto(f"{base}/panel/dashboard")
        assert_visible_within(page, ".stat .value")
    finally:
        context.close()
    context, page = context_at(chromium, width, language)
    try:
        sign_in(page, base, *OPERATOR, language)
        for name in operator_pages(site):
            page.goto(f"{base}/panel/{name}")
            assert_fits(page, f"{language}-{width}-{safe(name)}", width)
            assert_visible_within(page, "form[action$='/sign-out'] button")
    finally:
        context.close()
