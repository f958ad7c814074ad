"""The operator's controls over sending: free text, sender lines, scheduled messages."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from quickotp.bootstrap import Runtime, build_runtime
from quickotp.cli import main
from quickotp.domain import phone
from quickotp.domain.models import MessageStatus
from quickotp.services.sends import Outgoing
from quickotp.settings import Settings
from tests.conftest import TEST_SECRET
from tests.panel.conftest import Browser, sign_up

pytestmark = pytest.mark.anyio


async def scheduled_message(runtime: Runtime, token: str) -> int:
    """A message of the token's account, scheduled an hour ahead."""
    caller = await runtime.gateway.authenticate(token, method=None, ip=None)
    sent = await runtime.gateway.send(
        caller,
        phone.normalise("09120000000"),
        Outgoing(text="later", not_before=datetime.now(UTC) + timedelta(hours=1)),
    )
    return sent.message_id


async def test_the_operator_grants_and_takes_free_text(operator: Browser, runtime: Runtime) -> None:
    """The account page's switch: off by default, on, off again; each in the audit log."""
    account = await runtime.admin.create_account(name="Shop", credit=0)
    url = f"/panel/operator/accounts/{account.id}"

    before = await operator.get(url)
    await operator.post(f"{url}/free-text", {"free_text": "1"})
    granted = (await runtime.store.get_account(account.id)).free_text
    after = await operator.get(url)
    await operator.post(f"{url}/free-text", {})
    taken = (await runtime.store.get_account(account.id)).free_text
    audit = await runtime.users.store.list_audit(before=None, limit=5)

    assert "Allow free text" in before.text
    assert (granted, taken) == (True, False)
    assert "Allow its patterns only" in after.text
    assert [e.action for e in audit[:2]] == ["account.free_text_off", "account.free_text_on"]


async def test_the_operator_adds_and_removes_lines(operator: Browser, runtime: Runtime) -> None:
    """Lines added in the panel are listed (the default first) and can be removed again."""
    account = await runtime.admin.create_account(name="Shop", sender="10004321")
    url = f"/panel/operator/accounts/{account.id}"

    added = await operator.post(f"{url}/lines", {"line": "۳۰۰۰۱۲۳"})
    twice = await operator.post(f"{url}/lines", {"line": "3000123"}, form=url)
    page = await operator.get(url)
    lines = await runtime.admin.account_lines(account.id)
    removed = await operator.post(f"{url}/lines/remove", {"line": "3000123"})
    default = await operator.post(f"{url}/lines/remove", {"line": "10004321"}, form=url)

    assert (added.status_code, twice.status_code, removed.status_code) == (303, 422, 303)
    assert lines == ["10004321", "3000123"]
    assert "<code>3000123</code>" in page.text
    assert default.status_code == 422
    assert await runtime.admin.account_lines(account.id) == ["10004321"]


async def test_the_operator_cancels_a_scheduled_message(
    operator: Browser, runtime: Runtime
) -> None:
    """The account page lists scheduled messages; canceling one returns its charge."""
    account = await runtime.admin.create_account(name="Shop", credit=5000)
    token = (await runtime.admin.issue_token(account_id=account.id)).secret
    message_id = await scheduled_message(runtime, token)
    url = f"/panel/operator/accounts/{account.id}"

    listed = await operator.get(url)
    canceled = await operator.post(f"/panel/operator/messages/{message_id}/cancel", form=url)
    again = await operator.post(f"/panel/operator/messages/{message_id}/cancel", form=url)
    after = await operator.get(url)

    found = await runtime.store.get_messages(account.id, [message_id])
    assert f"/operator/messages/{message_id}/cancel" in listed.text
    assert canceled.status_code == again.status_code == 303
    assert found[message_id].status is MessageStatus.FAILED
    assert "Nothing is scheduled." in after.text
    assert (await runtime.store.get_account(account.id)).credit == 5000


async def test_an_account_user_cannot_reach_these_controls(
    browser: Browser, runtime: Runtime
) -> None:
    """The switches are the operator's: an account's own user is refused."""
    await sign_up(browser, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[0]

    response = await browser.post(
        f"/panel/operator/accounts/{account.id}/free-text", {"free_text": "1"}
    )

    assert response.status_code == 403
    assert not (await runtime.store.get_account(account.id)).free_text


# the command line ------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    assert main(["migrate"], values) == 0
    shop = ["accounts", "create", "--name", "shop", "--sender", "10004321", "--credit", "5000"]
    assert main(shop, values) == 0
    return values


def run(capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str) -> tuple[int, Any]:
    code = main([*args, "--json"], env)
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else None


def test_cli_free_text(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """`accounts set ID --free-text on|off` switches the permission."""
    on = run(capsys, env, "accounts", "set", "1", "--free-text", "on")
    off = run(capsys, env, "accounts", "set", "1", "--free-text", "off")
    nothing = main(["accounts", "set", "1"], env)

    assert (on[0], on[1]["free_text"]) == (0, True)
    assert (off[0], off[1]["free_text"]) == (0, False)
    assert nothing == 2


def test_cli_lines(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """`lines add|remove|list`: a taken line is a conflict, the default line stays."""
    added = run(capsys, env, "lines", "add", "--account", "1", "--line", "3000123")
    taken = main(["lines", "add", "--account", "1", "--line", "3000123"], env)
    shared = main(["lines", "add", "--account", "1", "--line", "public"], env)
    listed = run(capsys, env, "lines", "list", "--account", "1")
    default = main(["lines", "remove", "--account", "1", "--line", "10004321"], env)
    missing = main(["lines", "remove", "--account", "1", "--line", "999"], env)
    removed = run(capsys, env, "lines", "remove", "--account", "1", "--line", "3000123")

    assert added == (0, {"account": 1, "lines": ["10004321", "3000123"]})
    assert (taken, shared, default, missing) == (4, 2, 2, 3)
    assert listed[1]["lines"] == ["10004321", "3000123"]
    assert removed[1]["lines"] == ["10004321"]


def test_cli_scheduled_and_cancel(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """`messages scheduled` lists what waits; `messages cancel ID` cancels it, once."""

    async def schedule() -> int:
        runtime = build_runtime(Settings.from_env(env), dispatch=False)
        await runtime.start()
        try:
            token = (await runtime.admin.issue_token(account_id=1)).secret
            return await scheduled_message(runtime, token)
        finally:
            await runtime.aclose()

    message_id = asyncio.run(schedule())

    listed = run(capsys, env, "messages", "scheduled")
    canceled = run(capsys, env, "messages", "cancel", str(message_id))
    again = main(["messages", "cancel", str(message_id)], env)
    empty = run(capsys, env, "messages", "scheduled", "--account", "1")

    assert [m["id"] for m in listed[1]] == [message_id]
    assert canceled[1]["status"] == "failed"
    assert again == 4
    assert empty == (0, [])
