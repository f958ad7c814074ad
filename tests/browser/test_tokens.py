"""
The tokens page in a real browser, on a laptop and a phone, in Persian and English: each
token's shown prefix, its sends today, its last use and the address it came from.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import shot
from tests.browser.operations import (
    VIEWS,
    Ready,
    assert_fits,
    assert_language,
    ready_account,
    signed_in_view,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ready(chromium: Browser, gateway: Gateway) -> Ready:
    return ready_account(
        chromium, gateway, "owner@tokens.test", "Token Shop", ["09120000061", "09120000062"]
    )


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_each_token_shows_its_prefix_and_use(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)

    page.goto(f"{gateway.url}/panel/tokens")

    assert_language(page, language)
    row = page.locator("tbody tr").first
    expect(row.locator(".token-prefix")).to_have_text(ready.token[:9] + "…")
    expect(row.locator(".sends-today")).to_have_text(tr("Sends today: {n}", n=2))
    expect(row.locator(".token-use")).to_contain_text("127.0.0.1")
    expect(page.locator("body")).not_to_contain_text(ready.token)
    assert_fits(page)
    shot(page, f"tokens-{width}-{language}")
    context.close()


def test_a_new_token_starts_with_its_mark(
    chromium: Browser, gateway: Gateway, ready: Ready
) -> None:
    context, page = signed_in_view(chromium, gateway, ready.email, 390, 844, "fa")
    page.goto(f"{gateway.url}/panel/tokens")

    page.fill("#label", "دوم")
    page.click("form[action$='/tokens'] button[type=submit]")
    secret = (page.locator("#new-token").text_content() or "").strip()

    assert secret.startswith("qotp_")
    assert secret[5] != "-"
    expect(page.locator("tr.fresh .token-prefix")).to_have_text(secret[:9] + "…")
    expect(page.locator("tr.fresh .sends-today")).to_have_text(
        Translator("fa", PANEL_ZONE)("Sends today: {n}", n=0)
    )
    assert_fits(page)
    context.close()
