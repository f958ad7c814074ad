"""Signing up, in and out, sessions, passwords, invitations and the sign-in rate limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.errors import SignInFailed, SignInThrottled
from quickotp.domain.models import Role
from quickotp.services.users import UsersConfig
from tests.conftest import make_settings
from tests.panel.conftest import (
    OPERATOR_EMAIL,
    PASSWORD,
    Browser,
    open_browser,
    sign_in,
    sign_up,
    users_on,
)

pytestmark = pytest.mark.anyio


async def test_sign_up_makes_an_account_and_signs_in(browser: Browser, runtime: Runtime) -> None:
    """Open sign-up makes a new account with its first user and lands on the dashboard."""
    response = await sign_up(browser, "Owner@Shop.test", "Shop")

    dashboard = await browser.get("/panel/dashboard")
    users = await runtime.users.store.list_users()
    accounts = await runtime.admin.list_accounts()
    assert response.headers["location"] == "/panel/dashboard"
    assert dashboard.status_code == 200
    assert [(u.email, u.role, u.account_id) for u in users] == [
        ("owner@shop.test", Role.USER, accounts[0].id)
    ]
    assert accounts[0].name == "Shop"


async def test_sign_up_refuses_a_taken_email(browser: Browser, runtime: Runtime) -> None:
    """A second sign-up with the same email is refused and makes no second account."""
    await sign_up(browser, "owner@shop.test", "Shop")
    other = await open_browser(runtime, ip="198.51.100.21")

    response = await other.post(
        "/panel/sign-up",
        {"email": "OWNER@shop.test", "password": PASSWORD, "account_name": "Shop two"},
    )

    assert response.status_code == 422
    assert "A user with this email exists already." in response.text
    assert [a.name for a in await runtime.admin.list_accounts()] == ["Shop"]


async def test_sign_up_is_closed_when_open_sign_up_is_off(database_url: str) -> None:
    """With QUICKOTP_OPEN_SIGNUP=0 the sign-up form is gone and a forged post makes no one."""
    runtime = build_runtime(make_settings(database_url, QUICKOTP_OPEN_SIGNUP="0"), dispatch=False)
    await upgrade(runtime.engines)
    await runtime.start()
    try:
        visitor = await open_browser(runtime)
        page = await visitor.get("/panel/sign-up")
        posted = await visitor.post(
            "/panel/sign-up",
            {"email": "a@shop.test", "password": PASSWORD, "account_name": "Shop"},
            form="/panel/sign-in",
        )
        users = await runtime.users.store.list_users()
    finally:
        await runtime.aclose()

    assert 'name="account_name"' not in page.text
    assert "by invitation only" in page.text
    assert posted.status_code == 422
    assert users == []


async def test_wrong_password_is_refused_without_saying_which_part(
    browser: Browser, runtime: Runtime
) -> None:
    """A wrong password and an unknown email get the same answer."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)

    wrong_password = await sign_in(browser, OPERATOR_EMAIL, "not the password")
    unknown_email = await sign_in(browser, "nobody@gateway.test")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert "Wrong email or password." in wrong_password.text
    assert "Wrong email or password." in unknown_email.text


async def test_five_failures_lock_the_email_even_with_the_right_password(
    browser: Browser, runtime: Runtime
) -> None:
    """After five failures for an email, even its right password waits, with Retry-After."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    for _ in range(5):
        await sign_in(browser, OPERATOR_EMAIL, "guess guess guess")

    response = await sign_in(browser, OPERATOR_EMAIL)

    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "Too many failed attempts" in response.text


async def test_many_failures_from_one_address_lock_that_address(
    browser: Browser, runtime: Runtime
) -> None:
    """Twenty failures from one address, over many emails, stop that address only."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    for n in range(20):
        await sign_in(browser, f"user{n}@gateway.test", "guess guess guess")
    elsewhere = await open_browser(runtime, ip="198.51.100.77")

    here = await sign_in(browser, OPERATOR_EMAIL)
    there = await sign_in(elsewhere, OPERATOR_EMAIL)

    assert (here.status_code, there.status_code) == (429, 303)


async def test_the_sign_in_lock_lifts_when_the_window_has_passed(runtime: Runtime) -> None:
    """Failures older than the window no longer count."""
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    users = users_on(
        runtime,
        now,
        UsersConfig(failures_per_pair=2),
        hasher=PasswordHasher(),
        token_urlsafe=lambda n: "s" * n,
    )
    await users.create_operator(email="ops@gateway.test", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(SignInFailed):
            await users.sign_in(email="ops@gateway.test", password="wrong password", ip=None)
    with pytest.raises(SignInThrottled):
        await users.sign_in(email="ops@gateway.test", password=PASSWORD, ip=None)

    now[0] += timedelta(minutes=16)
    signed = await users.sign_in(email="ops@gateway.test", password=PASSWORD, ip=None)

    assert signed.user.email == "ops@gateway.test"


async def test_anonymous_visit_goes_to_sign_in_and_back(browser: Browser, runtime: Runtime) -> None:
    """A page asked for before signing in is where the sign-in leads afterwards."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post("/panel/sign-out")

    first = await browser.get("/panel/tokens?x=1")
    form_page = await browser.get(first.headers["location"])
    action = re.search(r'action="(/panel/sign-in[^"]*)"', form_page.text)
    assert action is not None
    signed = await browser.post(
        action.group(1).replace("&amp;", "&"),
        {"email": "owner@shop.test", "password": PASSWORD},
        form="/panel/sign-in",
    )

    assert first.headers["location"] == "/panel/sign-in?next=/panel/tokens%3Fx%3D1"
    assert signed.headers["location"] == "/panel/tokens?x=1"


async def test_sign_in_never_sends_anyone_off_the_panel(browser: Browser, runtime: Runtime) -> None:
    """A `next` that leaves the panel (another host, a scheme-relative URL) is ignored."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)

    response = await browser.post(
        "/panel/sign-in?next=//evil.test/panel/x",
        {"email": OPERATOR_EMAIL, "password": PASSWORD},
        form="/panel/sign-in",
    )

    assert response.headers["location"] == "/panel/operator"


async def test_sign_out_ends_the_session_on_the_server(browser: Browser) -> None:
    """After signing out, the old session cookie opens nothing, even if replayed."""
    await sign_up(browser, "owner@shop.test", "Shop")
    old_cookie = browser.http.cookies["qotp_session"]

    await browser.post("/panel/sign-out")
    browser.http.cookies.set("qotp_session", old_cookie, domain="panel.test", path="/panel")
    replayed = await browser.get("/panel/dashboard")

    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/panel/sign-in")


async def test_disabling_a_user_ends_their_session_at_once(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The operator switches a signed-in user off: their very next request is signed out."""
    await sign_up(browser, "owner@shop.test", "Shop")
    user = await runtime.users.store.user_by_email("owner@shop.test")
    assert user is not None

    await operator.post(f"/panel/operator/users/{user[0].id}/state", {"active": ""})
    after = await browser.get("/panel/dashboard")
    again = await sign_in(browser, "owner@shop.test")

    assert after.status_code == 303
    assert again.status_code == 401
    assert "disabled by the operator" in again.text


async def test_changing_the_password_signs_out_other_sessions(
    browser: Browser, runtime: Runtime
) -> None:
    """A new password ends every other session; this one stays; the old password stops working."""
    await sign_up(browser, "owner@shop.test", "Shop")
    laptop = await open_browser(runtime, ip="198.51.100.30")
    await sign_in(laptop, "owner@shop.test")

    changed = await browser.post(
        "/panel/settings",
        {
            "password": PASSWORD,
            "new_password": "a much longer new password",
            "repeat_password": "a much longer new password",
        },
    )

    assert changed.status_code == 303
    assert (await browser.get("/panel/dashboard")).status_code == 200
    assert (await laptop.get("/panel/dashboard")).status_code == 303
    assert (await sign_in(laptop, "owner@shop.test")).status_code == 401
    assert (
        await sign_in(laptop, "owner@shop.test", "a much longer new password")
    ).status_code == 303


async def test_a_password_change_needs_the_current_password(browser: Browser) -> None:
    """Without the current password nothing changes."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.post(
        "/panel/settings",
        {"password": "wrong", "new_password": "x" * 12, "repeat_password": "x" * 12},
    )

    assert response.status_code == 422
    assert "The current password is wrong." in response.text


async def test_an_invitation_joins_its_account_once(operator: Browser, runtime: Runtime) -> None:
    """An invitation to an existing account makes a user of it; the link then stops working."""
    account = await runtime.admin.create_account(name="Clinic", credit=0)
    page = await operator.post(
        "/panel/operator/invitations",
        {"email": "nurse@clinic.test", "role": "user", "account_id": str(account.id)},
        form="/panel/operator/invitations",
    )
    link = re.search(
        r'<code id="invitation-link">https://panel.test(/panel/invitations/[^<]+)<', page.text
    )
    assert link is not None
    invitee = await open_browser(runtime, ip="198.51.100.40")

    accepted = await invitee.post(link.group(1), {"password": PASSWORD}, form=link.group(1))
    reused = await (await open_browser(runtime)).get(link.group(1))

    joined = await runtime.users.store.user_by_email("nurse@clinic.test")
    assert accepted.headers["location"] == "/panel/dashboard"
    assert joined is not None
    assert joined[0].account_id == account.id
    assert reused.status_code == 404


async def test_an_operator_invitation_makes_an_operator(
    operator: Browser, runtime: Runtime
) -> None:
    """An operator invitation ignores any account and lands on the operator's desk."""
    page = await operator.post(
        "/panel/operator/invitations",
        {"email": "second@gateway.test", "role": "operator", "account_id": ""},
        form="/panel/operator/invitations",
    )
    link = re.search(r"(/panel/invitations/[A-Za-z0-9_-]+)<", page.text)
    assert link is not None
    invitee = await open_browser(runtime, ip="198.51.100.41")

    accepted = await invitee.post(link.group(1), {"password": PASSWORD}, form=link.group(1))

    assert accepted.headers["location"] == "/panel/operator"
    assert (await invitee.get("/panel/operator/accounts")).status_code == 200
