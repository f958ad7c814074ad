"""
An account's first day in a real browser: sign up, write a pattern with %code% and OTP on, the
operator approves it, make a token, SendQuickOTP with it, and the message appears in the
log with its delivery status. Plus the refusals that must hold in a browser too.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    OPERATOR,
    STEP_MS,
    new_page,
    shot,
    sign_in,
    sign_up,
)
from tests.browser.journeys import (
    PASSWORD,
    add_credit,
    make_token,
    open_account,
    pending_pattern_id,
    send_quick_otp,
    write_pattern,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
PATTERN = "کد ورود شما: %code%"


def test_sign_up_to_a_delivered_code(chromium: Browser, gateway: Gateway) -> None:
    """Sign up → pattern with %code% and OTP on → approved → token → SendQuickOTP → delivered."""
    base = gateway.url
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    sign_up(user, base, "owner@story.test", "Story Shop", PASSWORD)
    shot(user, "story-1-dashboard-empty")

    user.goto(f"{base}/panel/patterns")
    user.fill("#text", PATTERN)
    expect(user.locator("#preview .bubble")).to_contain_text("کد ورود شما: 482137")
    expect(user.locator("#preview")).to_contain_text("UCS-2")
    shot(user, "story-2-pattern-preview")
    write_pattern(user, base, PATTERN)
    expect(user.locator("table")).to_contain_text("Pending approval")

    sign_in(operator, base, *OPERATOR)
    pattern_id = pending_pattern_id(operator, base, "Story Shop")
    shot(operator, "story-3-approval-queue")
    operator.click(f"#pattern-{pattern_id} button.ok")
    expect(operator.locator(".alert.success")).to_contain_text("Pattern approved")
    add_credit(operator, base, "Story Shop", "50000")

    user.goto(f"{base}/panel/patterns")
    expect(user.locator(f"#pattern-{pattern_id}")).to_contain_text("Approved")
    token = make_token(user, base, "story app")
    shot(user, "story-4-token-shown-once")

    sent = send_quick_otp(gateway, token, "9120000000")
    assert sent["Status"] == "Success", sent
    message_id = sent["Data"]["MessageID"]  # type: ignore[index]

    deadline = time.monotonic() + STEP_MS / 1000
    row = user.locator("tr", has=user.locator(f"a[href$='/messages/{message_id}']"))
    while True:
        user.goto(f"{base}/panel/messages")
        if "Delivered" in row.inner_text() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("+989120000000")
    shot(user, "story-5-message-log")
    user.click(f"a[href$='/messages/{message_id}']")
    expect(user.locator(".timeline")).to_contain_text("Delivery report: Delivered")
    expect(user.locator(".bubble")).not_to_contain_text(str(sent["Data"]["Code"]))  # type: ignore[index]
    shot(user, "story-6-message-history")

    user.goto(f"{base}/panel/dashboard")
    expect(user.locator("#chart-sends canvas")).to_be_visible()
    shot(user, "story-7-dashboard")
    user_context.close()
    ops_context.close()


def test_a_rejected_pattern_cannot_send(chromium: Browser, gateway: Gateway) -> None:
    """The operator rejects with a reason; the user sees it; SendQuickOTP answers Failed."""
    base = gateway.url
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    sign_up(user, base, "owner@rejected.test", "Rejected Shop", PASSWORD)
    write_pattern(user, base, "Buy our stuff! %code%")
    sign_in(operator, base, *OPERATOR)
    pattern_id = pending_pattern_id(operator, base, "Rejected Shop")

    operator.fill(f"#pattern-{pattern_id} input[name=reason]", "advertising in an OTP pattern")
    operator.click(f"#pattern-{pattern_id} button.danger")
    expect(operator.locator(".alert.success")).to_contain_text("Pattern rejected")
    add_credit(operator, base, "Rejected Shop", "50000")
    token = make_token(user, base, "rejected app")
    user.goto(f"{base}/panel/patterns")

    expect(user.locator(f"#pattern-{pattern_id}")).to_contain_text(
        "Reason: advertising in an OTP pattern"
    )
    assert send_quick_otp(gateway, token, "9120000001")["Status"] == "Failed"
    user_context.close()
    ops_context.close()


def test_a_second_user_cannot_open_the_first_users_message_by_url(
    chromium: Browser, gateway: Gateway
) -> None:
    """Another account's message URL is a 404 page, with nothing of the message on it."""
    base = gateway.url
    first_context, first = new_page(chromium)
    ops_context, operator = new_page(chromium)
    sign_up(first, base, "first@isolation.test", "First Shop", PASSWORD)
    write_pattern(first, base, "First code: %code%")
    sign_in(operator, base, *OPERATOR)
    operator.click(f"#pattern-{pending_pattern_id(operator, base, 'First Shop')} button.ok")
    add_credit(operator, base, "First Shop", "50000")
    sent = send_quick_otp(gateway, make_token(first, base, "first"), "9120000002")
    url = f"{base}/panel/messages/{sent['Data']['MessageID']}"  # type: ignore[index]
    second_context, second = new_page(chromium)
    sign_up(second, base, "second@isolation.test", "Second Shop", PASSWORD)

    answer = second.goto(url)

    assert answer is not None
    assert answer.status == 404
    expect(second.locator("main")).to_contain_text("There is nothing here.")
    expect(second.locator("body")).not_to_contain_text("989120000002")
    assert first.goto(url) is not None
    expect(first.locator(".kv")).to_contain_text("+989120000002")
    for context in (first_context, ops_context, second_context):
        context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(
    chromium: Browser, gateway: Gateway
) -> None:
    """The browser submits the token form with its CSRF field removed: 403, no token made."""
    base = gateway.url
    context, page = new_page(chromium)
    sign_up(page, base, "owner@csrf.test", "CSRF Shop", PASSWORD)
    page.goto(f"{base}/panel/tokens")
    page.fill("#label", "forged")
    page.locator("form[action$='/tokens'] input[name=csrf]").evaluate("input => input.remove()")

    with page.expect_navigation() as navigation:
        page.click("form[action$='/tokens'] button[type=submit]")

    response = navigation.value
    assert response is not None
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("This form has expired")
    page.goto(f"{base}/panel/tokens")
    expect(page.locator("body")).not_to_contain_text("forged")
    context.close()


@pytest.mark.parametrize("language", ["en", "fa"])
def test_screenshots_of_the_main_pages(chromium: Browser, gateway: Gateway, language: str) -> None:
    """Each main page renders in both languages, in the right direction; saved for people."""
    base = gateway.url
    user_context, user = new_page(chromium, language)
    ops_context, operator = new_page(chromium, language)
    user.goto(f"{base}/panel/sign-in")
    shot(user, f"panel-{language}-sign-in")
    sign_in(user, base, "owner@story.test", PASSWORD, language)
    sign_in(operator, base, *OPERATOR, language)
    direction = "rtl" if language == "fa" else "ltr"
    for page in (user, operator):
        expect(page.locator("html")).to_have_attribute("dir", direction)

    for name in ("dashboard", "patterns", "tokens", "messages", "credit", "settings"):
        user.goto(f"{base}/panel/{name}")
        expect(user.locator("html")).to_have_attribute("lang", language)
        shot(user, f"panel-{language}-{name}")
    user.goto(f"{base}/panel/messages")
    user.click("tbody a[href*='/messages/']")
    shot(user, f"panel-{language}-message")
    for name in ("operator", "operator/dashboard", "operator/accounts", "operator/invitations"):
        operator.goto(f"{base}/panel/{name}")
        shot(operator, f"panel-{language}-{name.replace('/', '-')}")
    open_account(operator, base, "Story Shop")
    shot(operator, f"panel-{language}-operator-account")
    for name in ("routes", "guard", "audit"):
        operator.goto(f"{base}/panel/operator/{name}")
        shot(operator, f"panel-{language}-operator-{name}")
    user_context.close()
    ops_context.close()
