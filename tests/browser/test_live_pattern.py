"""
The live OTP pattern in a real browser, on a laptop and a phone, in Persian and English: the
patterns page marks which approved OTP pattern sends the account's codes, says what sends
every other pattern, and a click makes an older approved OTP pattern live; the next
SendQuickOTP goes out with its text.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import OPERATOR, new_page, shot, sign_in, sign_up
from tests.browser.journeys import (
    PASSWORD,
    add_credit,
    make_token,
    pending_pattern_id,
    send,
    write_pattern,
)
from tests.browser.operations import VIEWS, assert_fits, assert_language, signed_in_view
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


def _approved_pattern(user: Any, operator: Any, base: str, account: str, text: str) -> str:
    """Write an OTP pattern as the user and have the operator approve it; its id."""
    write_pattern(user, base, text)
    pattern_id = pending_pattern_id(operator, base, account)
    operator.click(f"#pattern-{pattern_id} button.ok")
    expect(operator.locator(".alert.success")).to_be_visible()
    return pattern_id


def _delivered_text(gateway: Gateway, message_id: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in gateway.delivered():
            if line["message_id"] == message_id:
                return str(line["text"])
        time.sleep(0.1)
    raise AssertionError(f"message {message_id} was not delivered:\n{gateway.logs()[-3000:]}")


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_an_older_approved_otp_pattern_made_live_sends_the_next_code(
    chromium: Browser, gateway: Gateway, width: int, height: int, language: str
) -> None:
    base = gateway.url
    account = f"Live Shop {width} {language}"
    email = f"owner-{width}-{language}@live.test"
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    sign_up(user, base, email, account, PASSWORD)
    sign_in(operator, base, *OPERATOR)
    older = _approved_pattern(user, operator, base, account, "Older pattern: %code%")
    newer = _approved_pattern(user, operator, base, account, "Newer pattern: %code%")
    add_credit(operator, base, account, "1000000")
    token = make_token(user, base, "app")
    user_context.close()
    ops_context.close()
    # Nothing chosen: the newest approved OTP pattern sends.
    assert _delivered_text(gateway, send(gateway, token, "09120000071")).startswith("Newer")

    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, email, width, height, language)
    page.goto(f"{base}/panel/patterns")

    assert_language(page, language)
    newer_row, older_row = page.locator(f"#pattern-{newer}"), page.locator(f"#pattern-{older}")
    expect(newer_row.locator(".live-mark")).to_have_text(tr("Live"))
    expect(newer_row).to_contain_text(
        tr("Live as your newest approved OTP pattern until you make another one live.")
    )
    expect(older_row.locator(".live-mark")).to_have_count(0)
    expect(older_row).to_contain_text("SendWithPattern")
    assert_fits(page)

    older_row.locator("button", has_text=tr("Make live")).click()

    expect(page.locator(".alert.success")).to_have_text(
        tr("This pattern is live: SendQuickOTP sends your codes with it.")
    )
    expect(page.locator(f"#pattern-{older} .live-mark")).to_have_text(tr("Live"))
    expect(page.locator(f"#pattern-{newer} .live-mark")).to_have_count(0)
    expect(page.locator(f"#pattern-{newer} button", has_text=tr("Make live"))).to_be_visible()
    assert_fits(page)
    shot(page, f"live-pattern-{width}-{language}")
    context.close()

    assert _delivered_text(gateway, send(gateway, token, "09120000072")).startswith("Older")
