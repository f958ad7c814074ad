"""
The operator's route pages in a real browser (Debian's Chromium) against a real `quickotp
serve` and an SMSC simulator process on 127.0.0.1, at a desktop width (1366 px) and a
phone's (390 px), in English and in Persian: add a route with its password apart, see it up,
send a test message through it, switch it off, and never see the password again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import OPERATOR, STEP_MS, shot, sign_in, smsc_simulator
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow

PASSWORD = "smsc-pass-never-shown"
SIZES = [(1366, "en"), (1366, "fa"), (390, "en"), (390, "fa")]


@pytest.fixture(scope="module")
def smsc_port() -> Iterator[int]:
    """An SMSC simulator process on 127.0.0.1, answering every submit_sm; killed after."""
    with smsc_simulator() as port:
        yield port


def open_at(chromium: Browser, width: int, language: str) -> tuple[BrowserContext, Page]:
    """A fresh profile at `width` px whose user prefers `language`."""
    context = chromium.new_context(
        viewport={"width": width, "height": 900 if width > 800 else 844},
        locale="fa-IR" if language == "fa" else "en-US",
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the switch-off confirmation
    return context, page


def fits(page: Page, width: int) -> None:
    """Nothing makes the page wider than the window: wide tables scroll in their own box."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def reload_until(page: Page, locator: str, text: str) -> None:
    """Reload until `locator` shows `text` (the route binds in the background)."""
    deadline = time.monotonic() + STEP_MS / 1000
    while text not in page.locator(locator).inner_text() and time.monotonic() < deadline:
        time.sleep(0.2)
        page.reload()
    expect(page.locator(locator)).to_contain_text(text)


@pytest.mark.parametrize(("width", "language"), SIZES)
def test_an_operator_adds_tests_and_switches_off_a_route(
    chromium: Browser, gateway: Gateway, smsc_port: int, width: int, language: str
) -> None:
    base = gateway.url
    name = f"smsc-{width}-{language}"
    persian = language == "fa"
    context, page = open_at(chromium, width, language)
    sign_in(page, base, *OPERATOR, language=language)

    page.goto(f"{base}/panel/operator/routes")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if persian else "ltr")
    page.click("a[href$='/operator/routes/new']")
    page.fill("#name", name)
    page.fill("#url", f"smpp://quickotp:***@127.0.0.1:{smsc_port}?timeout=5")
    page.fill("#credential", PASSWORD)
    page.fill("#prefixes", "98912")
    page.fill("#lines", "50001")
    fits(page, width)
    shot(page, f"routes-new-{width}-{language}")
    page.click("#route-form button[type=submit]")

    page.wait_for_url(re.compile(rf".*/operator/routes/{name}/edit$"))
    expect(page.locator(".alert.success")).to_contain_text(
        "مسیر افزوده شد" if persian else "Route added"
    )
    reload_until(page, "#route-state", "برقرار" if persian else "Up")
    assert page.locator("#credential").input_value() == ""
    assert PASSWORD not in page.content()
    expect(page.locator("#url")).to_have_value(
        f"smpp://quickotp:***@127.0.0.1:{smsc_port}?timeout=5"
    )

    page.fill("#mobile", "۰۹۱۲ ۰۰۰ ۰۰۷۷" if persian else "0912 000 0077")
    page.click("#test-form button[type=submit]")
    result = page.locator("#trial-result")
    expect(result).to_have_class(re.compile(r"\bsuccess\b"))
    expect(result).to_contain_text("…۰۰۷۷" if persian else "…0077")
    fits(page, width)
    shot(page, f"routes-tested-{width}-{language}")

    page.goto(f"{base}/panel/operator/routes")
    row = page.locator(f"#route-{name}")
    expect(row).to_contain_text("برقرار" if persian else "Up")
    if persian:
        expect(row).to_contain_text("۱۰")  # its priority, in Persian digits
    row.locator("form[action$='/state'] button").click()
    expect(page.locator(".alert.success")).to_contain_text(
        "مسیر خاموش شد" if persian else "Route switched off"
    )
    expect(page.locator(f"#route-{name}")).to_contain_text("خاموش" if persian else "Off")
    fits(page, width)
    shot(page, f"routes-list-{width}-{language}")
    assert PASSWORD not in page.content()

    page.goto(f"{base}/panel/operator/audit")
    expect(page.locator("main")).to_contain_text(f"route:{name}")
    expect(page.locator("main")).to_contain_text("route.test")
    assert PASSWORD not in page.content()
    context.close()


@pytest.mark.parametrize(("width", "language"), [(1366, "en"), (390, "fa")])
def test_an_edit_elsewhere_without_the_password_is_refused_in_the_page(
    chromium: Browser, gateway: Gateway, smsc_port: int, width: int, language: str
) -> None:
    base = gateway.url
    name = f"moved-{width}-{language}"
    context, page = open_at(chromium, width, language)
    sign_in(page, base, *OPERATOR, language=language)
    page.goto(f"{base}/panel/operator/routes/new")
    page.fill("#name", name)
    page.fill("#url", f"smpp://quickotp:{PASSWORD}@127.0.0.1:{smsc_port}")
    page.click("#route-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/operator/routes/{name}/edit$"))

    page.fill("#url", "smpp://quickotp:***@localhost:2775")
    page.click("#route-form button[type=submit]")

    again = {"en": "give its password, token or API key", "fa": "کلید API آن را دوباره بدهید"}
    expect(page.locator(".alert.error")).to_contain_text(again[language])
    expect(page.locator("#url")).to_have_value("smpp://quickotp:***@localhost:2775")
    assert PASSWORD not in page.content()
    fits(page, width)
    shot(page, f"routes-refused-{width}-{language}")
    context.close()
