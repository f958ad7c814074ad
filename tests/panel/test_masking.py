"""
A message's code never shows in the panel, whatever state the message is in: the stored
text is masked in the transaction that makes a message final (failed, expired, sent and
then delivered or undelivered), and a message still waiting keeps its code only to mask it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from quickotp.adapters.store.schema import messages
from quickotp.bootstrap import Runtime
from quickotp.domain import otp
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.models import Claimed, GiveUp, MessageStatus, Submitted
from tests.panel.conftest import Browser, approved_account, open_browser

pytestmark = pytest.mark.anyio

LEASE = timedelta(seconds=30)


async def _send(runtime: Runtime, token: str, mobile: str, code: str) -> int:
    caller = await runtime.gateway.authenticate(token, method="SendQuickOTP", ip=None)
    sent = await runtime.gateway.send_quick_otp(
        caller, mobile=mobile, code_length=len(code), optional_code=code
    )
    return sent.message_id


async def _claim_one(runtime: Runtime, message_id: int) -> Claimed:
    """Lease the one due message to a dispatcher, as it would be before a send."""
    [claimed] = await runtime.store.claim(datetime.now(UTC), LEASE, 10)
    assert claimed.message.id == message_id
    return claimed


async def _in_every_state(runtime: Runtime, token: str) -> dict[MessageStatus | str, str]:
    """One message in each state, each with its own 8-digit code: state -> code."""
    codes: dict[MessageStatus | str, str] = {}
    now = datetime.now(UTC)
    for n, state in enumerate(
        [
            MessageStatus.FAILED,
            MessageStatus.EXPIRED,
            "failed-unclaimed",  # given up without a claim (a stale queued message)
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
            MessageStatus.UNDELIVERED,
            MessageStatus.SENDING,
            MessageStatus.QUEUED,
        ]
    ):
        code = f"{73_915_000 + n * 1_111:08d}"
        codes[state] = code
        message_id = await _send(runtime, token, f"0912000{n:04d}", code)
        if state == MessageStatus.QUEUED:
            continue
        if state == "failed-unclaimed":
            await runtime.store.record([GiveUp(message_id, MessageStatus.FAILED, "stale")], now=now)
            continue
        claimed = await _claim_one(runtime, message_id)
        if state in (MessageStatus.FAILED, MessageStatus.EXPIRED):
            give_up = GiveUp(message_id, MessageStatus(state), "refused by every route")
            await runtime.store.record([give_up], now=now)
        elif state != MessageStatus.SENDING:
            receipt = SendReceipt("test", f"P{message_id}")
            masked = otp.mask(claimed.message.text, claimed.code or "")
            sent = Submitted(message_id, receipt, masked, now)
            reports = []
            if state != MessageStatus.SENT:
                delivered = state == MessageStatus.DELIVERED
                outcome = DeliveryState.DELIVERED if delivered else DeliveryState.UNDELIVERED
                reports = [DeliveryReport("test", f"P{message_id}", outcome, now)]
            await runtime.store.record([sent], reports, now=now)
    return codes


async def _pages(browser: Browser, base: str, ids: list[int]) -> dict[str, str]:
    pages = {base + "s": (await browser.get(f"/panel{base}s")).text}
    for message_id in ids:
        page = await browser.get(f"/panel{base}s/{message_id}")
        assert page.status_code == 200, page.text[:300]
        pages[f"{base}s/{message_id}"] = page.text
    return pages


async def test_no_state_shows_a_code_in_the_panel(runtime: Runtime, operator: Browser) -> None:
    """The account's log and message pages and the operator's show every code masked."""
    user = await open_browser(runtime)
    token = await approved_account(user, operator, "mask@shop.test", "Masked shop")
    codes = await _in_every_state(runtime, token)
    async with runtime.engines.read.connect() as conn:
        rows = (await conn.execute(select(messages.c.id, messages.c.status))).all()
    assert {row.status for row in rows} == set(MessageStatus)
    ids = [row.id for row in rows]

    shown = await _pages(user, "/message", ids)
    operator_shown = {
        f"operator/{message_id}": (
            await operator.get(f"/panel/operator/messages/{message_id}")
        ).text
        for message_id in ids
    }

    for where, html in {**shown, **operator_shown}.items():
        for state, code in codes.items():
            assert code not in html, f"the code of the {state} message shows on {where}"
    for message_id in ids:
        assert re.search(r"\*{8}", shown[f"/messages/{message_id}"])
    await user.http.aclose()


async def test_a_final_messages_stored_text_is_masked(runtime: Runtime, operator: Browser) -> None:
    """The database keeps no plaintext code for a message that is over, sent or not."""
    user = await open_browser(runtime)
    token = await approved_account(user, operator, "stored@shop.test", "Stored shop")
    codes = await _in_every_state(runtime, token)
    async with runtime.engines.read.connect() as conn:
        rows = (
            await conn.execute(select(messages.c.status, messages.c.text, messages.c.code))
        ).all()

    for row in rows:
        if row.status in {"queued", "sending"}:
            assert row.code is not None  # kept only to be masked once the message is over
            continue
        assert row.code is None
        assert not any(code in row.text for code in codes.values()), row
    await user.http.aclose()
