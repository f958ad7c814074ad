"""
Sums over days of messages (the dashboards' traffic, the credit page's 30 days) are counted
at most once a minute per account and period, and the pages say when they were counted.
"""

from __future__ import annotations

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.models import Actor
from tests.panel.conftest import OPERATOR_EMAIL, Browser, approved_account, send_otp

pytestmark = pytest.mark.anyio


async def test_traffic_and_usage_are_kept_a_minute_and_say_when_counted(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    user = (await runtime.users.store.list_users())[-1]
    await send_otp(browser, token, "09120000001")
    first = await runtime.workspace.traffic(user, "24h")
    credit = await runtime.workspace.credit(user)

    await send_otp(browser, token, "09120000002")
    kept = await runtime.workspace.traffic(user, "24h")
    kept_credit = await runtime.workspace.credit(user)
    runtime.workspace.traffic_figures.forget()
    runtime.workspace.usage_figures.forget()
    recounted = await runtime.workspace.traffic(user, "24h")
    recounted_credit = await runtime.workspace.credit(user)
    page = await browser.get("/panel/dashboard")

    assert sum(first.totals.values()) == 1
    assert kept is first
    assert (credit.messages, kept_credit.messages) == (1, 1)
    assert sum(recounted.totals.values()) == 2
    assert recounted_credit.messages == 2
    assert first.counted_at is not None
    assert 'id="counted-at"' in page.text


async def test_the_operator_s_traffic_is_kept_per_period(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await send_otp(browser, token, "09120000001")
    page = await operator.get("/panel/operator/dashboard?period=7d")
    await send_otp(browser, token, "09120000002")

    again = await operator.get("/panel/operator/dashboard?period=7d")
    other_period = await operator.get("/panel/operator/dashboard?period=24h")

    assert page.status_code == 200
    assert 'id="counted-at"' in again.text
    assert runtime.desk.figures.seconds == 60
    found = await runtime.users.store.user_by_email(OPERATOR_EMAIL)
    assert found is not None
    actor = Actor(found[0], None)
    kept = await runtime.desk.traffic(actor, "7d")
    fresh = await runtime.desk.traffic(actor, "24h")
    assert sum(kept.totals.values()) == 1
    assert sum(fresh.totals.values()) == 2
    assert other_period.status_code == 200
