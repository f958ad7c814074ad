"""
Steps the panel's browser tests share: an account made through the sign-up page and given a
pattern, credit and a token by its user and the operator, and a sent message.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    OPERATOR,
    STEP_MS,
    new_page,
    panel_gateway,
    sign_in,
    sign_up,
    with_operator,
)
from tests.e2e.server import Gateway

PASSWORD = "a browser password"


@dataclass(frozen=True)
class Shop:
    """An account made through the panel, with what the tests need of it."""

    email: str
    name: str
    account_id: int
    pattern_id: int
    token: str
    message_id: int


@contextlib.contextmanager
def serving(root: Path, extra_env: Mapping[str, str]) -> Iterator[Gateway]:
    """
    A gateway as the `gateway` fixture makes it (open sign-up, the operator), with settings
    of its own: for a module whose tests need them.
    """
    yield from with_operator(panel_gateway(root, **extra_env))


def verify(gateway: Gateway, token: str, mobile: str, code: str) -> dict[str, object]:
    response = httpx.post(
        f"{gateway.url}/rest/VerifyQuickOTP",
        headers={"Authorization": token},
        data={"Mobile": mobile, "Code": code},
        timeout=10,
    )
    body: dict[str, object] = response.json()
    return body


def send_quick_otp(gateway: Gateway, token: str, mobile: str) -> dict[str, object]:
    """Amoot's C# sample: a form POST with the token in the Authorization header."""
    response = httpx.post(
        f"{gateway.url}/rest/SendQuickOTP",
        headers={"Authorization": token},
        data={"Mobile": mobile, "CodeLength": "5", "OptionalCode": ""},
        timeout=10,
    )
    body: dict[str, object] = response.json()
    return body


def send(gateway: Gateway, token: str, mobile: str) -> int:
    """SendQuickOTP as an app would, which the gateway accepts; the message id."""
    answer = send_quick_otp(gateway, token, mobile)
    assert answer["Status"] == "Success", answer
    return int(answer["Data"]["MessageID"])  # type: ignore[index]


def write_pattern(page: Page, base: str, text: str, *, otp: bool = True) -> int:
    """Submit a pattern on the (English) Patterns page; its id."""
    page.goto(f"{base}/panel/patterns")
    page.fill("#text", text)
    if otp:
        page.check("input[name=is_otp]")
    else:
        page.uncheck("input[name=is_otp]")
    page.click("#pattern-form button[type=submit]:not([name])")
    expect(page.locator(".alert.success")).to_contain_text("Pattern submitted")
    row = page.locator("tr[id^=pattern-]").first
    found = re.fullmatch(r"pattern-(\d+)", row.get_attribute("id") or "")
    assert found is not None
    return int(found.group(1))


def pending_pattern_id(operator: Page, base: str, account: str) -> str:
    """The id of `account`'s one pattern in the operator's approval queue."""
    operator.goto(f"{base}/panel/operator")
    card = operator.locator(".queue-item", has_text=account)
    expect(card).to_have_count(1)
    found = re.search(r"pattern-(\d+)", card.get_attribute("id") or "")
    assert found is not None
    return found.group(1)


def make_token(page: Page, base: str, label: str) -> str:
    """A new token made on the Tokens page; its secret, shown once with a copy button."""
    page.goto(f"{base}/panel/tokens")
    page.fill("#label", label)
    page.click("form[action$='/tokens'] button[type=submit]")
    secret = page.locator("#new-token")
    expect(secret).to_be_visible()
    expect(page.locator("[data-copy=new-token]")).to_be_visible()  # the JS copy button
    return secret.inner_text().strip()


def open_account(operator: Page, base: str, account: str) -> None:
    """The operator's page of `account`, reached from the accounts list."""
    operator.goto(f"{base}/panel/operator/accounts")
    operator.click(f"text={account}")


def add_credit(operator: Page, base: str, account: str, amount: str) -> None:
    open_account(operator, base, account)
    operator.fill("#amount", amount)
    operator.fill("#reason", "first top-up")
    operator.click("form[action$='/credit'] button[type=submit]")
    expect(operator.locator(".alert.success")).to_contain_text("Credit changed")


def account_id_of(operator: Page, base: str, name: str) -> int:
    operator.goto(f"{base}/panel/operator/accounts")
    link = operator.locator("a", has_text=name).first
    found = re.search(r"/accounts/(\d+)$", link.get_attribute("href") or "")
    assert found is not None
    return int(found.group(1))


def wait_for_status(page: Page, base: str, message_id: int, status: str) -> None:
    """Reload the message's page until its history shows `status` (bounded by STEP_MS)."""
    deadline = time.monotonic() + STEP_MS / 1000
    while True:
        page.goto(f"{base}/panel/messages/{message_id}")
        if status in page.locator(".card-head").first.inner_text():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"message {message_id} did not reach {status!r}")
        time.sleep(0.2)


def open_shop(chromium: Browser, gateway: Gateway, slug: str, *, credit: int = 50_000) -> Shop:
    """
    A new account through the sign-up page: an approved OTP pattern, `credit` rial, a token,
    and one message sent with it and delivered (by the dev sink).
    """
    base = gateway.url
    email, name = f"owner@{slug}.test", f"{slug.title()} Shop"
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    try:
        sign_up(user, base, email, name, PASSWORD)
        pattern_id = write_pattern(user, base, f"{name} code: %code%")
        sign_in(operator, base, *OPERATOR)
        operator.goto(f"{base}/panel/operator")
        operator.click(f"#pattern-{pattern_id} button.ok")
        expect(operator.locator(".alert.success")).to_be_visible()
        account_id = account_id_of(operator, base, name)
        if credit:
            assert (
                gateway.cli("credit", "add", "--account", str(account_id), "--amount", str(credit))
            ).returncode == 0
        token = make_token(user, base, f"{slug} app")
        message_id = send(gateway, token, "9120000000")
        wait_for_status(user, base, message_id, "Delivered")
        return Shop(email, name, account_id, pattern_id, token, message_id)
    finally:
        user_context.close()
        ops_context.close()
