"""The operator's desk: approvals, accounts, credit, people, routes, and the audit log."""

from __future__ import annotations

import re

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.delivery import OutboundSms, ReportSink, RouteState, SendReceipt
from quickotp.domain.errors import NotAllowed
from quickotp.domain.models import Actor, Role, User
from quickotp.services.monitor import TransportMonitor
from tests.panel.conftest import (
    OPERATOR_EMAIL,
    Browser,
    approved_account,
    send_otp,
    sign_up,
)

pytestmark = pytest.mark.anyio


async def test_the_queue_shows_pending_patterns_with_their_accounts(
    browser: Browser, operator: Browser
) -> None:
    """A submitted pattern waits in the queue under its account's name."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post("/panel/patterns", {"text": "کد شما: %code%", "is_otp": "1"})

    queue = await operator.get("/panel/operator")

    assert "Shop" in queue.text
    assert "کد شما: %code%" in queue.text
    assert "1 waiting" in queue.text


async def test_approving_lets_the_account_send(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Until approval SendQuickOTP fails; after it, it succeeds; the queue empties."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post("/panel/patterns", {"text": "Code %code%", "is_otp": "1"})
    account = (await runtime.admin.list_accounts())[0]
    await runtime.admin.add_credit(account.id, 10_000)
    token = (await runtime.admin.issue_token(account_id=account.id)).secret
    pattern = (await runtime.store.list_patterns())[0]

    before = await send_otp(browser, token)
    await operator.post(f"/panel/operator/patterns/{pattern.id}/approve")
    after = await send_otp(browser, token)

    assert before["Status"] == "Failed"
    assert after["Status"] == "Success"
    assert "Nothing is waiting." in (await operator.get("/panel/operator")).text


async def test_a_rejected_pattern_cannot_send(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """A rejection without a reason is refused; with one, the pattern is rejected for good."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post("/panel/patterns", {"text": "Code %code%", "is_otp": "1"})
    account = (await runtime.admin.list_accounts())[0]
    await runtime.admin.add_credit(account.id, 10_000)
    token = (await runtime.admin.issue_token(account_id=account.id)).secret
    pattern = (await runtime.store.list_patterns())[0]

    no_reason = await operator.post(
        f"/panel/operator/patterns/{pattern.id}/reject", {"reason": " "}
    )
    rejected = await operator.post(
        f"/panel/operator/patterns/{pattern.id}/reject", {"reason": "not an OTP text"}
    )
    sent = await send_otp(browser, token)

    assert no_reason.status_code == 422
    assert "Give a reason for the rejection." in no_reason.text
    assert rejected.status_code == 303
    assert (await runtime.store.get_pattern(pattern.id)).state == "rejected"
    assert sent["Status"] == "Failed"


async def test_credit_unlimited_and_disable_from_the_account_page(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The operator tops up, makes an account unlimited, and disables it; the API follows."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop", credit=0)
    account = (await runtime.admin.list_accounts())[0]
    url = f"/panel/operator/accounts/{account.id}"

    poor = await send_otp(browser, token)
    await operator.post(f"{url}/unlimited", {"unlimited": "1"})
    unlimited = await send_otp(browser, token, "09120000002")
    await operator.post(f"{url}/state", {"active": ""})
    disabled = await send_otp(browser, token, "09120000003")
    page = await operator.get(url)

    assert poor["Status"] == "CreditNotEnough"
    assert unlimited["Status"] == "Success"
    assert disabled["Status"] == "User_Disabled"
    assert "Unlimited" in page.text
    assert "Enable the account" in page.text


async def test_credit_takes_whole_numbers_in_any_digits(
    operator: Browser, runtime: Runtime
) -> None:
    """Persian digits and separators are read; something else is refused, changing nothing."""
    account = await runtime.admin.create_account(name="Shop", credit=0)
    url = f"/panel/operator/accounts/{account.id}/credit"

    added = await operator.post(url, {"amount": "۵۰٬۰۰۰", "reason": "top-up"})
    taken = await operator.post(url, {"amount": "-1000", "reason": "correction"})
    refused = await operator.post(url, {"amount": "lots"})

    assert (added.status_code, taken.status_code, refused.status_code) == (303, 303, 422)
    assert (await runtime.store.get_account(account.id)).credit == 49_000


async def test_the_audit_log_records_each_operator_action(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Who did what to what, from where, for approvals, credit, flags and invitations."""
    await approved_account(browser, operator, "owner@shop.test", "Shop", credit=5_000)
    account = (await runtime.admin.list_accounts())[0]
    await operator.post(f"/panel/operator/accounts/{account.id}/unlimited", {"unlimited": "1"})
    await operator.post(
        "/panel/operator/invitations",
        {"email": "new@gateway.test", "role": "operator"},
        form="/panel/operator/invitations",
    )

    page = await operator.get("/panel/operator/audit")
    entries = await runtime.users.store.list_audit(before=None, limit=10)

    assert [e.action for e in reversed(entries)] == [
        "pattern.approve",
        "credit.add",
        "account.unlimited",
        "invitation.create",
    ]
    assert {e.actor for e in entries} == {OPERATOR_EMAIL}
    assert {e.ip for e in entries} == {"198.51.100.99"}
    assert "+5000 (test)" in page.text
    assert "invitation.create" in page.text


async def test_an_operator_cannot_switch_themselves_off(
    operator: Browser, runtime: Runtime
) -> None:
    """The last operator must not lock everyone out by accident."""
    me = await runtime.users.store.user_by_email(OPERATOR_EMAIL)
    assert me is not None

    response = await operator.post(f"/panel/operator/users/{me[0].id}/state", {"active": ""})

    after = await runtime.users.store.user_by_email(OPERATOR_EMAIL)
    assert response.status_code == 403
    assert after is not None
    assert after[0].active


async def test_the_accounts_page_counts_users_and_todays_messages(
    browser: Browser, operator: Browser
) -> None:
    """Each account's row has its users and its last day's messages."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await send_otp(browser, token)
    await send_otp(browser, token, "09120000002")

    page = await operator.get("/panel/operator/accounts")

    row = re.search(r"<strong><bdi>Shop</bdi></strong>.*?</tr>", page.text, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["1", "2"]


class _ReportingTransport:
    """A transport that says how its binds are doing, as an SMPP one would."""

    name = "smpp-mci"

    async def start(self, reports: ReportSink) -> None:
        return None

    async def send(self, sms: OutboundSms) -> SendReceipt:
        return SendReceipt(self.name, str(sms.message_id))

    async def aclose(self) -> None:
        return None

    def route_state(self) -> RouteState:
        return RouteState(
            "smpp-mci",
            up=True,
            binds_up=2,
            binds=2,
            window_in_use=3,
            window_size=10,
            throughput=41.5,
            errors=1,
        )


class _SilentTransport:
    """A transport with nothing to say about its state (the log sink, say)."""

    name = "log"

    async def start(self, reports: ReportSink) -> None:
        return None

    async def send(self, sms: OutboundSms) -> SendReceipt:
        return SendReceipt(self.name, str(sms.message_id))

    async def aclose(self) -> None:
        return None


def test_the_monitor_asks_transports_that_can_say_and_names_the_others() -> None:
    """A transport with route_state() reports it; any other is shown with its state unknown."""
    monitor = TransportMonitor([_ReportingTransport(), _SilentTransport()])

    states = monitor.routes()

    assert states == [
        RouteState(
            "smpp-mci",
            up=True,
            binds_up=2,
            binds=2,
            window_in_use=3,
            window_size=10,
            throughput=41.5,
            errors=1,
        ),
        RouteState("log", up=None),
    ]


async def test_desk_methods_refuse_a_non_operator(runtime: Runtime) -> None:
    """Even called directly, the desk checks the role (the pages are not the only guard)."""
    account = await runtime.admin.create_account(name="Shop")
    user = User(1, "u@shop.test", Role.USER, account.id, True, "en", account.created_at, None)

    with pytest.raises(NotAllowed):
        await runtime.desk.add_credit(Actor(user, None), account.id, 10**9, "gift")

    assert (await runtime.store.get_account(account.id)).credit == 0


async def test_an_accounts_own_limits_are_set_checked_and_applied(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The operator gives an account a blocklist; a bad limit is refused; the guard obeys."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[0]
    url = f"/panel/operator/accounts/{account.id}"

    refused = await operator.post(f"{url}/limits", {"limits": "cooldown_seconds = soon"})
    saved = await operator.post(f"{url}/limits", {"limits": "blocklist = 98912000"})
    sent = await send_otp(browser, token, "09120000001")
    page = await operator.get(url)
    guard = await operator.get("/panel/operator/guard")

    assert refused.status_code == 422
    assert "cooldown_seconds = soon</textarea>" in refused.text
    assert saved.status_code == 303
    assert await runtime.admin.limits(account.id) == {"blocklist": "98912000"}
    assert sent["Status"] == "Mobile_Blocked"
    assert "blocklist = 98912000</textarea>" in page.text
    assert "MobileBlocked" in guard.text
    assert "blocklist = 98912000" in guard.text
    audit = await runtime.users.store.list_audit(before=None, limit=1)
    assert (audit[0].action, audit[0].detail) == ("account.limits", "blocklist")
