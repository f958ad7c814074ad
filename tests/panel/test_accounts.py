"""
People's access: an operator's one-time password reset link, disabling and enabling users,
and each user's own sign-in history (recorded at sign-in, kept bounded).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.credentials import HISTORY_KEPT, SignInOutcome
from quickotp.domain.errors import ResetLinkInvalid, SignInFailed
from quickotp.services.users import UsersConfig
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

NEW_PASSWORD = "a fresh one for me"
_LINK = re.compile(r'<code id="reset-link">https://panel\.test/panel/reset/([\w-]+)</code>')


async def _user_id(runtime: Runtime, email: str) -> int:
    found = await runtime.users.store.user_by_email(email)
    assert found is not None
    return found[0].id


async def _reset(operator: Browser, user_id: int, account_form: str) -> str:
    """The operator resets the user's password from `account_form`: the link's secret."""
    page = await operator.post(f"/panel/operator/users/{user_id}/reset", form=account_form)
    assert page.status_code == 200, page.text[:500]
    found = _LINK.search(page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


async def test_a_reset_link_ends_sessions_and_sets_a_new_password_once(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The link: sessions end at once, the old password stops, the link works exactly once."""
    await sign_up(browser, "owner@shop.test", "Shop")
    user_id = await _user_id(runtime, "owner@shop.test")
    account = (await runtime.admin.list_accounts())[-1]

    secret = await _reset(operator, user_id, f"/panel/operator/accounts/{account.id}")

    assert (await browser.get("/panel/dashboard")).headers["location"].startswith("/panel/sign-in")
    stranger = await open_browser(runtime, ip="198.51.100.30")
    assert (await sign_in(stranger, "owner@shop.test")).status_code == 401
    form = await stranger.get(f"/panel/reset/{secret}")
    assert form.status_code == 200
    assert "owner@shop.test" in form.text
    set_it = await stranger.post(
        f"/panel/reset/{secret}",
        {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
        form=f"/panel/reset/{secret}",
    )
    assert set_it.status_code == 303
    assert set_it.headers["location"] == "/panel/sign-in"
    assert (await stranger.get(f"/panel/reset/{secret}")).status_code == 404
    assert (await sign_in(stranger, "owner@shop.test", NEW_PASSWORD)).status_code == 303
    [entry, *_] = await runtime.desk.identity.list_audit(before=None, limit=5)
    assert (entry.action, entry.target, entry.detail) == (
        "user.password_reset",
        f"user:{user_id}",
        "owner@shop.test",
    )


async def test_a_reset_link_refuses_a_weak_or_mismatched_password_and_stays_usable(
    operator: Browser, runtime: Runtime
) -> None:
    """422 with the reason; the link is not used up by a refusal."""
    made = await runtime.users.create_operator(email="second@gateway.test", password=PASSWORD)
    secret = await _reset(operator, made.id, "/panel/operator/invitations")
    visitor = await open_browser(runtime, ip="198.51.100.31")
    page = f"/panel/reset/{secret}"

    differ = await visitor.post(
        page, {"new_password": NEW_PASSWORD, "repeat_password": "something else"}, form=page
    )
    weak = await visitor.post(
        page, {"new_password": "password", "repeat_password": "password"}, form=page
    )

    assert (differ.status_code, weak.status_code) == (422, 422)
    assert "The two new passwords differ." in differ.text
    assert "10 to 200 characters" in weak.text
    assert (await visitor.get(page)).status_code == 200


async def test_a_second_reset_voids_the_first_link(operator: Browser, runtime: Runtime) -> None:
    """Only the newest link works."""
    made = await runtime.users.create_operator(email="second@gateway.test", password=PASSWORD)
    first = await _reset(operator, made.id, "/panel/operator/invitations")
    second = await _reset(operator, made.id, "/panel/operator/invitations")

    with pytest.raises(ResetLinkInvalid):
        await runtime.users.reset_user(first)
    assert (await runtime.users.reset_user(second)).id == made.id


async def test_only_an_operator_resets_and_never_their_own_password(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """An account user gets 403; an operator's own reset is refused, their password kept."""
    await sign_up(browser, "owner@shop.test", "Shop")
    me = await _user_id(runtime, OPERATOR_EMAIL)

    by_user = await browser.post(f"/panel/operator/users/{me}/reset", form="/panel/settings")
    own = await operator.post(f"/panel/operator/users/{me}/reset", form="/panel/settings")

    assert (by_user.status_code, own.status_code) == (403, 403)
    assert (await operator.get("/panel/operator")).status_code == 200
    again = await open_browser(runtime, ip="198.51.100.32")
    assert (await sign_in(again, OPERATOR_EMAIL)).status_code == 303


async def test_a_disabled_user_is_signed_out_refused_and_let_back_in_when_enabled(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Disable ends the session and refuses sign-in (the history says so); enable lifts it."""
    await sign_up(browser, "owner@shop.test", "Shop")
    user_id = await _user_id(runtime, "owner@shop.test")
    account = (await runtime.admin.list_accounts())[-1]
    form = f"/panel/operator/accounts/{account.id}"

    off = await operator.post(f"/panel/operator/users/{user_id}/state", {"active": "0"}, form=form)
    gone = await browser.get("/panel/dashboard")
    refused = await sign_in(browser, "owner@shop.test")
    on = await operator.post(f"/panel/operator/users/{user_id}/state", {"active": "1"}, form=form)
    back = await sign_in(browser, "owner@shop.test")

    assert (off.status_code, on.status_code) == (303, 303)
    assert gone.headers["location"].startswith("/panel/sign-in")
    assert refused.status_code == 401
    assert "This user has been disabled by the operator." in refused.text
    assert back.status_code == 303
    history = await runtime.users.history(await runtime.users.store.get_user(user_id))
    assert [e.outcome for e in history] == [SignInOutcome.SIGNED_IN, SignInOutcome.DISABLED]


async def test_the_history_shows_each_attempt_with_address_and_browser(
    runtime: Runtime,
) -> None:
    """A wrong password and a sign-in, newest first, each with its address and user agent."""
    made = await runtime.users.create_operator(email="me@gateway.test", password=PASSWORD)
    await runtime.users.set_locale(made, "en")
    browser = await open_browser(runtime, ip="203.0.113.7")
    browser.http.headers["user-agent"] = "TestBrowser/1.0 (history)"
    assert (await sign_in(browser, "me@gateway.test", "not my password")).status_code == 401
    assert (await sign_in(browser, "me@gateway.test")).status_code == 303

    page = await browser.get("/panel/settings/sign-ins")

    rows = re.findall(r"<tr class=\"(ok|bad)\">(.*?)</tr>", page.text, re.S)
    assert [kind for kind, _ in rows] == ["ok", "bad"]
    assert "Signed in" in rows[0][1]
    assert "Wrong password" in rows[1][1]
    for _, row in rows:
        assert "203.0.113.7" in row
        assert "TestBrowser/1.0 (history)" in row


async def test_a_user_sees_only_their_own_history(runtime: Runtime) -> None:
    """Another user's attempts never show on one's page; an unknown email records nothing."""
    for email in ("a@gateway.test", "b@gateway.test"):
        made = await runtime.users.create_operator(email=email, password=PASSWORD)
        await runtime.users.set_locale(made, "en")
    first = await open_browser(runtime, ip="203.0.113.8")
    second = await open_browser(runtime, ip="203.0.113.9")
    await sign_in(second, "b@gateway.test", "wrong, wrong, wrong")
    await sign_in(second, "nobody@gateway.test", "wrong, wrong, wrong")
    await sign_in(first, "a@gateway.test")

    page = await first.get("/panel/settings/sign-ins")

    assert "203.0.113.8" in page.text
    assert "203.0.113.9" not in page.text
    assert len(await runtime.users.credentials.sign_ins(0, limit=100)) == 0


async def test_the_history_keeps_the_newest_fifty_and_nothing_past_ninety_days(
    runtime: Runtime,
) -> None:
    """Written at each attempt, the history never grows past its bounds."""
    now = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    config = UsersConfig(failures_per_pair=1000, failures_per_address=1000)
    users = users_on(runtime, now, config, token_urlsafe=lambda n: "s" * n)
    me = await users.create_operator(email="me@gateway.test", password=PASSWORD)
    for _ in range(HISTORY_KEPT + 10):
        with pytest.raises(SignInFailed):
            await users.sign_in(email="me@gateway.test", password="wrong, wrong", ip="192.0.2.1")
        now[0] += timedelta(minutes=1)

    kept = await users.history(me)
    now[0] += timedelta(days=91)
    await users.sign_in(email="me@gateway.test", password=PASSWORD, ip="192.0.2.2")
    after = await users.history(me)

    assert len(kept) == HISTORY_KEPT
    assert kept[0].at == now[0] - timedelta(days=91, minutes=1)  # the newest of them first
    assert [(e.outcome, e.address) for e in after] == [(SignInOutcome.SIGNED_IN, "192.0.2.2")]
