"""
One account's user never sees or touches another account's anything, whatever URL they
type; roles are enforced on the server, not by hiding links.
"""

from __future__ import annotations

import re

import pytest

from quickotp.bootstrap import Runtime
from tests.panel.conftest import (
    Browser,
    approved_account,
    open_browser,
    send_otp,
    sign_up,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def alice_and_bob(
    browser: Browser, operator: Browser, runtime: Runtime
) -> tuple[Browser, Browser, str, int, int]:
    """Alice's account sent a message with its token; Bob has an account of his own."""
    token = await approved_account(browser, operator, "alice@a.test", "Alice Co")
    sent = await send_otp(browser, token)
    assert sent["Status"] == "Success", sent
    message_id = int(sent["Data"]["MessageID"])  # type: ignore[index]
    tokens = await browser.get("/panel/tokens")
    token_id = int(re.findall(r'id="token-(\d+)"', tokens.text)[0])
    bob = await open_browser(runtime, ip="198.51.100.66")
    await sign_up(bob, "bob@b.test", "Bob Co")
    return browser, bob, token, message_id, token_id


async def test_another_accounts_message_is_not_found_by_url(
    alice_and_bob: tuple[Browser, Browser, str, int, int],
) -> None:
    """Bob typing Alice's message URL gets 404, the same as for a message that does not exist."""
    alice, bob, _, message_id, _ = alice_and_bob

    hers = await alice.get(f"/panel/messages/{message_id}")
    his = await bob.get(f"/panel/messages/{message_id}")
    nothing = await bob.get("/panel/messages/999999")

    assert hers.status_code == 200
    assert his.status_code == nothing.status_code == 404
    assert "989120000001" not in his.text


async def test_another_accounts_messages_do_not_show_in_a_search(
    alice_and_bob: tuple[Browser, Browser, str, int, int],
) -> None:
    """Searching for Alice's number or message id finds nothing in Bob's log."""
    _, bob, _, message_id, _ = alice_and_bob

    by_number = await bob.get("/panel/messages", params={"q": "09120000001"})
    by_id = await bob.get("/panel/messages", params={"q": str(message_id)})

    assert "No messages match." in by_number.text
    assert "No messages match." in by_id.text


async def test_another_accounts_token_cannot_be_seen_changed_or_deleted(
    alice_and_bob: tuple[Browser, Browser, str, int, int],
) -> None:
    """Bob's edit, disable and delete of Alice's token are 404s, and her token keeps working."""
    alice, bob, token, _, token_id = alice_and_bob

    seen = await bob.get(f"/panel/tokens/{token_id}")
    edited = await bob.post(f"/panel/tokens/{token_id}", {"label": "mine now"})
    disabled = await bob.post(f"/panel/tokens/{token_id}/state", {"active": ""})
    deleted = await bob.post(f"/panel/tokens/{token_id}/delete")

    assert [r.status_code for r in (seen, edited, disabled, deleted)] == [404] * 4
    assert (await send_otp(alice, token, "09120000002"))["Status"] == "Success"
    assert "mine now" not in (await alice.get("/panel/tokens")).text


async def test_an_account_user_cannot_open_or_post_to_the_operators_desk(
    alice_and_bob: tuple[Browser, Browser, str, int, int], runtime: Runtime
) -> None:
    """Operator pages and actions answer 403 to an account user, and change nothing."""
    _, bob, _, _, _ = alice_and_bob
    bob_account = next(a for a in await runtime.admin.list_accounts() if a.name == "Bob Co")

    pages = [
        await bob.get(path)
        for path in (
            "/panel/operator",
            "/panel/operator/accounts",
            f"/panel/operator/accounts/{bob_account.id}",
            "/panel/operator/audit",
        )
    ]
    top_up = await bob.post(
        f"/panel/operator/accounts/{bob_account.id}/credit", {"amount": "99999999"}
    )

    assert [p.status_code for p in pages] == [403] * 4
    assert top_up.status_code == 403
    assert (await runtime.store.get_account(bob_account.id)).credit == 0


async def test_an_operator_has_no_account_pages(operator: Browser) -> None:
    """The operator works from the desk; an account's pages are not theirs to use."""
    response = await operator.get("/panel/tokens")

    assert response.status_code == 403
