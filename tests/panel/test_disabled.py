"""
A disabled account can be read in the panel but not changed: no new tokens, no token
changes, no patterns, no webhook changes. A disabled user cannot sign in at all, and a
session of theirs from before ends.
"""

from __future__ import annotations

import re

import pytest

from quickotp.bootstrap import Runtime
from tests.panel.conftest import Browser, approved_account, sign_in

pytestmark = pytest.mark.anyio

REFUSED = "The operator has disabled this account: it can be read, not changed."


async def _disabled(user: Browser, operator: Browser, runtime: Runtime) -> tuple[int, int]:
    """An account with a token and a webhook, then switched off by the operator: its ids."""
    await approved_account(user, operator, "owner@shop.test", "Shop")
    await user.post("/panel/credit/webhook", {"url": "https://shop.test/reports"})
    account = (await runtime.admin.list_accounts())[-1]
    [token] = await runtime.workspace.panel.list_tokens(account.id)
    refused = await operator.post(
        f"/panel/operator/accounts/{account.id}/state",
        {"active": "0"},
        form=f"/panel/operator/accounts/{account.id}",
    )
    assert refused.status_code == 303
    assert not (await runtime.store.get_account(account.id)).active
    return account.id, token.id


async def test_every_write_of_a_disabled_account_is_refused(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Each account write answers 4xx with the reason, and nothing changes."""
    account_id, token_id = await _disabled(browser, operator, runtime)
    tokens_before = await runtime.workspace.panel.list_tokens(account_id)
    patterns_before = await runtime.store.list_patterns(account_id)
    webhook_before = await runtime.workspace.panel.get_webhook(account_id)
    writes = {
        "new token": ("/panel/tokens", {"label": "more"}),
        "token change": (f"/panel/tokens/{token_id}", {"label": "renamed"}),
        "token off": (f"/panel/tokens/{token_id}/state", {"active": "0"}),
        "token delete": (f"/panel/tokens/{token_id}/delete", {}),
        "pattern": ("/panel/patterns", {"text": "Code: %code%", "is_otp": "1"}),
        "webhook": ("/panel/credit/webhook", {"url": "https://shop.example/new"}),
        "webhook secret": ("/panel/credit/webhook-secret", {}),
    }

    for name, (path, form) in writes.items():
        response = await browser.post(path, form, form="/panel/credit")  # type: ignore[arg-type]
        assert response.status_code in {403, 422}, (name, response.status_code)
        assert REFUSED in response.text, name
        assert not re.search(r'<code id="new-token">', response.text), name

    assert await runtime.workspace.panel.list_tokens(account_id) == tokens_before
    assert await runtime.store.list_patterns(account_id) == patterns_before
    assert await runtime.workspace.panel.get_webhook(account_id) == webhook_before


async def test_a_disabled_account_can_still_be_read(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Its user still sees the dashboard, tokens, messages and credit."""
    await _disabled(browser, operator, runtime)

    for page in ("/panel/dashboard", "/panel/tokens", "/panel/messages", "/panel/credit"):
        assert (await browser.get(page)).status_code == 200, page


async def test_a_disabled_user_cannot_sign_in_or_go_on(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Switching a user off ends their session; signing in again is refused."""
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    found = await runtime.users.store.user_by_email("owner@shop.test")
    assert found is not None
    await runtime.desk.users.store.set_user_active(found[0].id, False)

    after = await browser.post("/panel/tokens", {"label": "more"}, form="/panel/sign-in")
    again = await sign_in(browser, "owner@shop.test")

    # The session ended with the switch: the form goes back to the sign-in page, unsent.
    assert after.status_code == 303
    assert "/panel/sign-in" in after.headers["location"]
    assert "new-token" not in after.text
    assert again.status_code != 303
    assert "disabled" in again.text
