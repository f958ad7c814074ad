"""
The live OTP pattern on the panel: the patterns page marks it and says what sends each
pattern; the user (or the operator, on the account's page) makes another approved OTP
pattern live, and SendQuickOTP sends with it; what cannot be live is refused.
"""

from __future__ import annotations

import re

import pytest

from quickotp.bootstrap import Runtime
from tests.panel.conftest import Browser, approved_account, open_browser, send_otp, sign_up

pytestmark = pytest.mark.anyio


async def _approve_new(user: Browser, operator: Browser, text: str, *, otp: bool = True) -> int:
    data: dict[str, str | list[str]] = {"text": text}
    if otp:
        data["is_otp"] = "1"
    assert (await user.post("/panel/patterns", data)).status_code == 303
    queue = await operator.get("/panel/operator")
    pattern_id = int(re.findall(r'id="pattern-(\d+)"', queue.text)[-1])
    approved = await operator.post(f"/panel/operator/patterns/{pattern_id}/approve")
    assert approved.status_code == 303
    return pattern_id


def _row(page: str, pattern_id: int) -> str:
    found = re.search(rf'<tr id="pattern-{pattern_id}">(.*?)</tr>', page, re.S)
    assert found is not None, page[:2000]
    return found.group(1)


async def test_the_user_makes_an_older_otp_pattern_live_and_sendquickotp_uses_it(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@live.test", "Live")
    first = int(re.findall(r'id="pattern-(\d+)"', (await browser.get("/panel/patterns")).text)[0])
    newer = await _approve_new(browser, operator, "Newer: %code%")
    plain = await _approve_new(browser, operator, "Hello %name%", otp=False)

    page = (await browser.get("/panel/patterns")).text
    assert "live-mark" in _row(page, newer)
    assert "newest approved OTP pattern" in _row(page, newer)
    assert "live-mark" not in _row(page, first)
    assert f"/patterns/{first}/live" in _row(page, first)
    assert "SendWithPattern" in _row(page, plain)
    assert "/live" not in _row(page, plain)
    assert "Not for SendQuickOTP" in _row(page, plain)

    made = await browser.post(f"/panel/patterns/{first}/live", form="/panel/patterns")
    assert made.status_code == 303

    page = (await browser.get("/panel/patterns")).text
    assert "live-mark" in _row(page, first)
    assert "newest approved" not in _row(page, first)
    assert "live-mark" not in _row(page, newer)
    sent = await send_otp(browser, token)
    message_id = int(sent["Data"]["MessageID"])  # type: ignore[index]
    message = (await browser.get(f"/panel/messages/{message_id}")).text
    assert "Your code:" in message
    assert "Newer:" not in message
    entry = (await runtime.desk.identity.list_audit(before=None, limit=1))[0]
    assert (entry.actor, entry.action, entry.target) == (
        "owner@live.test",
        "pattern.live",
        f"pattern:{first}",
    )


async def test_what_cannot_be_live_is_refused(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    await approved_account(browser, operator, "owner@refuse.test", "Refuse")
    plain = await _approve_new(browser, operator, "Hello %name%", otp=False)
    assert (
        await browser.post("/panel/patterns", {"text": "Pending: %code%", "is_otp": "1"})
    ).status_code == 303
    pending = int(re.findall(r'id="pattern-(\d+)"', (await browser.get("/panel/patterns")).text)[0])

    for pattern_id in (plain, pending):
        refused = await browser.post(f"/panel/patterns/{pattern_id}/live", form="/panel/patterns")
        assert refused.status_code == 422
        assert 'class="alert error"' in refused.text

    other = await open_browser(runtime, ip="198.51.100.30")
    await sign_up(other, "owner@other.test", "Other")
    theirs = await other.post(f"/panel/patterns/{plain}/live", form="/panel/patterns")
    assert theirs.status_code == 404
    account_id = (await runtime.store.get_pattern(plain)).account_id
    assert await runtime.store.chosen_otp_pattern(account_id) is None
    await other.http.aclose()


async def test_the_operator_makes_a_pattern_live_on_the_accounts_page(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@ops.test", "Ops Live")
    first = int(re.findall(r'id="pattern-(\d+)"', (await browser.get("/panel/patterns")).text)[0])
    await _approve_new(browser, operator, "Newer: %code%")
    account_id = (await runtime.store.get_pattern(first)).account_id

    page = (await operator.get(f"/panel/operator/accounts/{account_id}")).text
    action = f"/panel/operator/accounts/{account_id}/patterns/{first}/live"
    assert action in page
    done = await operator.post(action, form=f"/panel/operator/accounts/{account_id}")
    assert done.status_code == 303

    page = (await operator.get(f"/panel/operator/accounts/{account_id}")).text
    assert action not in page
    sent = await send_otp(browser, token)
    message = (await browser.get(f"/panel/messages/{sent['Data']['MessageID']}")).text  # type: ignore[index]
    assert "Your code:" in message
    audit = (await operator.get("/panel/operator/audit")).text
    assert "pattern.live" in audit
