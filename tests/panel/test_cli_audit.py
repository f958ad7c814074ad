"""
The command line and the panel share one set of operator use cases: every command that
changes something writes an audit row naming `cli:<login>`, the action and its target, and the
panel's audit page shows it; a new pattern meets the same checks whichever way it comes.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import html
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pyotp
import pytest

from quickotp.bootstrap import Runtime, build_runtime
from quickotp.cli import main
from quickotp.cli.console import console
from quickotp.cli.demo import prepare
from quickotp.domain.models import AuditEntry
from quickotp.services.patterns import LiveOtp, live_otp
from quickotp.settings import Settings
from tests.conftest import TEST_SECRET
from tests.panel.conftest import (
    FAST_HASHER,
    OPERATOR_EMAIL,
    PASSWORD,
    open_browser,
    sign_in,
    sign_up,
)
from tests.panel.test_sending_controls import scheduled_message

WHO = f"cli:{getpass.getuser()}"
ROUTE_URL = "smpp://shop:s3cr3t-pass@10.0.0.5:2775?window=20"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with account 1 ('shop', line 10004321, 5000 rial)."""
    values = {
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QUICKOTP_OPEN_SIGNUP": "1",
    }
    assert main(["migrate"], values) == 0
    shop = ["accounts", "create", "--name", "shop", "--sender", "10004321", "--credit", "5000"]
    assert main(shop, values) == 0
    return values


def run(env: dict[str, str], *args: str) -> None:
    assert main(list(args), env) == 0, args


async def _started(env: dict[str, str]) -> Runtime:
    runtime = build_runtime(Settings.from_env(env), dispatch=False)
    runtime.users.hasher = FAST_HASHER
    await runtime.start()
    return runtime


def newest_and_page(env: dict[str, str]) -> tuple[AuditEntry, str]:
    """The newest audit row, and the audit page as a signed-in panel operator sees it."""

    async def read() -> tuple[AuditEntry, str]:
        runtime = await _started(env)
        try:
            [newest] = await runtime.users.store.list_audit(before=None, limit=1)
            made = await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
            await runtime.users.set_locale(made, "en")
            browser = await open_browser(runtime, ip="198.51.100.99")
            assert (await sign_in(browser, OPERATOR_EMAIL)).status_code == 303
            page = await browser.get("/panel/operator/audit")
            await browser.http.aclose()
        finally:
            await runtime.aclose()
        assert page.status_code == 200
        return newest, page.text

    return asyncio.run(read())


def schedule_one(env: dict[str, str]) -> int:
    """A message of account 1 waiting for its send time, an hour ahead; its id."""

    async def schedule() -> int:
        runtime = await _started(env)
        try:
            token = (await runtime.admin.issue_token(account_id=1)).secret
            return await scheduled_message(runtime, token)
        finally:
            await runtime.aclose()

    return asyncio.run(schedule())


CASES: list[tuple[str, Sequence[Sequence[str]], Sequence[str], str, str]] = [
    # (id, commands before, the command, its action, its target)
    ("accounts create", [], ["accounts", "create", "--name", "two"], "account.create", "account:2"),
    (
        "accounts set",
        [],
        ["accounts", "set", "1", "--free-text", "on"],
        "account.free_text_on",
        "account:1",
    ),
    (
        "lines add",
        [],
        ["lines", "add", "--account", "1", "--line", "3000123"],
        "line.add",
        "account:1",
    ),
    (
        "lines remove",
        [["lines", "add", "--account", "1", "--line", "3000123"]],
        ["lines", "remove", "--account", "1", "--line", "3000123"],
        "line.remove",
        "account:1",
    ),
    ("tokens create", [], ["tokens", "create", "--account", "1"], "token.create", "token:1"),
    (
        "tokens disable",
        [["tokens", "create", "--account", "1"]],
        ["tokens", "disable", "1"],
        "token.disable",
        "token:1",
    ),
    (
        "patterns create",
        [],
        ["patterns", "create", "--account", "1", "--text", "code %code%", "--otp"],
        "pattern.create",
        "pattern:1",
    ),
    (
        "patterns approve",
        [["patterns", "create", "--account", "1", "--text", "code %code%", "--otp"]],
        ["patterns", "approve", "1"],
        "pattern.approve",
        "pattern:1",
    ),
    (
        "patterns reject",
        [["patterns", "create", "--account", "1", "--text", "code %code%", "--otp"]],
        ["patterns", "reject", "1", "--reason", "no sender name"],
        "pattern.reject",
        "pattern:1",
    ),
    (
        "patterns make-live",
        [
            ["patterns", "create", "--account", "1", "--text", "code %code%", "--otp"],
            ["patterns", "approve", "1"],
        ],
        ["patterns", "make-live", "1"],
        "pattern.live",
        "pattern:1",
    ),
    (
        "credit add",
        [],
        ["credit", "add", "--account", "1", "--amount", "-500"],
        "credit.add",
        "account:1",
    ),
    ("routes add", [], ["routes", "add", "main", "--url", ROUTE_URL], "route.add", "route:main"),
    (
        "routes remove",
        [["routes", "add", "main", "--url", ROUTE_URL]],
        ["routes", "remove", "main"],
        "route.remove",
        "route:main",
    ),
    ("prune", [], ["prune", "--older-than", "30d"], "messages.prune", "messages"),
]


@pytest.mark.parametrize(
    ("before", "command", "action", "target"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_write_command_is_audited_as_the_cli(
    env: dict[str, str],
    before: Sequence[Sequence[str]],
    command: Sequence[str],
    action: str,
    target: str,
) -> None:
    """The command's row names `cli:<login>`, its action and target; the panel lists it first."""
    for earlier in before:
        run(env, *earlier)
    run(env, *command)

    newest, page = newest_and_page(env)

    assert (newest.actor, newest.actor_id, newest.action, newest.target) == (
        WHO,
        None,
        action,
        target,
    )
    assert _rows(page)[0] == (WHO, action, target)


def test_operators_create_is_audited_as_the_cli(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`operators create` (the password from stdin) is audited with the new user as target."""
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    run(env, "operators", "create", "--email", "first@gateway.test", "--password-stdin")

    newest, page = newest_and_page(env)

    assert (newest.actor, newest.action, newest.target, newest.detail) == (
        WHO,
        "operator.create",
        "user:1",
        "first@gateway.test",
    )
    assert _rows(page)[0] == (WHO, "operator.create", "user:1")


def test_messages_cancel_is_audited_as_the_cli(env: dict[str, str]) -> None:
    """Canceling a scheduled message is audited with the message as target."""
    message_id = schedule_one(env)
    run(env, "messages", "cancel", str(message_id))

    newest, page = newest_and_page(env)

    assert (newest.actor, newest.action, newest.target) == (
        WHO,
        "message.cancel",
        f"message:{message_id}",
    )
    assert _rows(page)[0] == (WHO, "message.cancel", f"message:{message_id}")


def test_a_refused_command_writes_no_audit_row(env: dict[str, str]) -> None:
    """Only what was done is audited: a pattern that does not exist leaves no row."""
    assert main(["patterns", "approve", "7"], env) == 3

    newest, _ = newest_and_page(env)

    assert (newest.action, newest.target) == ("account.create", "account:1")  # the fixture's


def test_patterns_make_live_chooses_the_pattern_the_accounts_codes_go_with(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """
    As the panel's Make live: an approved OTP pattern of the account becomes its live one,
    over a newer one; a pending pattern, a plain one or none at all is refused and unaudited.
    """
    otp = ["patterns", "create", "--account", "1", "--otp", "--text"]
    run(env, *otp, "code %code%")  # 1
    run(env, *otp, "your code %code%")  # 2, newer: live until one is chosen
    run(env, "patterns", "create", "--account", "1", "--text", "hello %name%")  # 3, plain
    run(env, *otp, "pending %code%")  # 4, never approved
    for approved in ("1", "2", "3"):
        run(env, "patterns", "approve", approved)
    capsys.readouterr()

    run(env, "patterns", "make-live", "1")
    said = capsys.readouterr().out
    refused = {
        pattern: main(["patterns", "make-live", pattern], env) for pattern in ("3", "4", "99")
    }

    async def live() -> LiveOtp:
        runtime = await _started(env)
        try:
            return await live_otp(runtime.store, 1)
        finally:
            await runtime.aclose()

    assert said == "pattern 1 is live: account 1 sends its codes with it\n"
    assert asyncio.run(live()) == LiveOtp(1, chosen=True)
    assert refused == {"3": 2, "4": 2, "99": 3}
    newest, _ = newest_and_page(env)
    assert (newest.action, newest.target, newest.detail) == (
        "pattern.live",
        "pattern:1",
        "account 1",
    )


def test_dev_modes_demo_account_is_made_as_the_cli(tmp_path: Path) -> None:
    """`serve --dev` makes its account, pattern and token through the audited use cases."""
    env = {
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
        "QUICKOTP_DEV_KEY_FILE": str(tmp_path / "dev.key"),
    }

    async def start_twice() -> list[AuditEntry]:
        for _ in range(2):
            runtime = build_runtime(Settings.from_env(env, dev=True), dispatch=False)
            runtime.users.hasher = FAST_HASHER
            await prepare(runtime, argparse.Namespace(host="127.0.0.1", port=8000))
        runtime = build_runtime(Settings.from_env(env, dev=True), dispatch=False)
        try:
            return await runtime.users.store.list_audit(before=None, limit=10)
        finally:
            await runtime.engines.dispose()

    audit = asyncio.run(start_twice())

    assert [(e.actor, e.action, e.target) for e in reversed(audit)] == [
        (WHO, "account.create", "account:1"),
        (WHO, "pattern.create", "pattern:1"),
        (WHO, "pattern.approve", "pattern:1"),
        (WHO, "token.create", "token:1"),
        (WHO, "token.create", "token:2"),  # a fresh token at every start
    ]


@pytest.mark.parametrize("login", [OSError("no login"), "", "bad\x1b[31m"])
def test_a_login_that_cannot_be_read_or_shown_is_the_uid(
    login: OSError | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No login name, or one with control characters: the audit names the numeric user."""

    def getuser() -> str:
        if isinstance(login, OSError):
            raise login
        return login

    monkeypatch.setattr("getpass.getuser", getuser)

    assert console().name == f"cli:uid {os.getuid()}"


# one way to make a pattern -----------------------------------------------------------------


def test_the_cli_refuses_a_duplicate_pattern(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same text twice for one account: the second is refused (exit 2), not stored."""
    create = ["patterns", "create", "--account", "1", "--text", "code %code%", "--otp"]
    first = main(create, env)
    again = main(create, env)
    other = main(["accounts", "create", "--name", "two"], env)
    elsewhere = main([*create[:3], "2", *create[4:]], env)
    assert main(["patterns", "list", "--json"], env) == 0

    out = capsys.readouterr()
    assert (first, again, other, elsewhere) == (0, 2, 0, 0)
    assert "quickotp: this account has a pattern with this text already\n" in out.err
    assert out.out.count('"text":"code %code%"') == 2  # one for each account


def test_the_cli_refuses_a_pattern_the_account_wrote_in_the_panel(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A text the account's user submitted in the panel is a duplicate at the CLI, and back."""

    async def in_the_panel(text: str) -> str:
        runtime = await _started(env)
        try:
            user = await open_browser(runtime)
            if not await runtime.users.store.user_by_email("owner@shop.test"):
                await sign_up(user, "owner@shop.test", "Panel shop")
            else:
                await sign_in(user, "owner@shop.test")
            page = await user.post("/panel/patterns", {"text": text, "is_otp": "1"})
            await user.http.aclose()
        finally:
            await runtime.aclose()
        return page.text

    asyncio.run(in_the_panel("Your code: %code%"))
    account = "2"  # sign-up made the user's account
    refused = main(
        ["patterns", "create", "--account", account, "--text", "Your code: %code%", "--otp"], env
    )
    made = main(
        ["patterns", "create", "--account", account, "--text", "Yours: %code%", "--otp"], env
    )
    panel_again = asyncio.run(in_the_panel("Yours: %code%"))

    err = capsys.readouterr().err
    assert (refused, made) == (2, 0)
    assert "this account has a pattern with this text already" in err
    assert "You have a pattern with this text already." in panel_again


def _rows(page: str) -> list[tuple[str, str, str]]:
    """The audit page's rows: who, action, target."""
    found = re.findall(
        r'<td><span dir="ltr">([^<]*)</span></td>\s*'
        r"<td><code>([^<]*)</code></td>\s*<td><code>([^<]*)</code>",
        page,
    )
    return [(html.unescape(w), html.unescape(a), html.unescape(t)) for w, a, t in found]


# two-step sign-in off for someone locked out ------------------------------------------------


def test_users_two_step_off_lets_a_locked_out_operator_sign_in_and_is_audited(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    An operator with two-step sign-in on who lost their app and codes: the command turns it
    off (found by email in any case), audited as the CLI; the password alone then signs in.
    An email nobody has is exit 3 and writes no audit row.
    """
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    run(env, "operators", "create", "--email", "locked@gateway.test", "--password-stdin")

    async def sign_in_step() -> tuple[bool, str]:
        runtime = await _started(env)
        try:
            browser = await open_browser(runtime, ip="198.51.100.98")
            response = await sign_in(browser, "locked@gateway.test")
            await browser.http.aclose()
            on = await runtime.users.two_factor.enabled(1)
        finally:
            await runtime.aclose()
        assert response.status_code == 303
        return on, response.headers["location"]

    async def enrol() -> None:
        runtime = await _started(env)
        try:
            user = await runtime.users.store.get_user(1)
            enrolment = await runtime.users.two_factor.begin(user)
            await runtime.users.two_factor.confirm(user, pyotp.TOTP(enrolment.secret).now())
        finally:
            await runtime.aclose()

    asyncio.run(enrol())
    locked = asyncio.run(sign_in_step())
    capsys.readouterr()
    run(env, "users", "two-step-off", "Locked@Gateway.test")
    said = capsys.readouterr().out
    unknown = main(["users", "two-step-off", "nobody@gateway.test"], env)
    newest, page = newest_and_page(env)
    after = asyncio.run(sign_in_step())

    assert locked == (True, "/panel/sign-in/code")
    assert "two-step sign-in is off for user 1 (locked@gateway.test)" in said
    assert unknown == 3
    assert (newest.actor, newest.action, newest.target, newest.detail) == (
        WHO,
        "user.two_factor_off",
        "user:1",
        "locked@gateway.test",
    )
    assert _rows(page)[0] == (WHO, "user.two_factor_off", "user:1")
    assert after[0] is False
    assert after[1] != "/panel/sign-in/code"
