"""
Crash safety of the real server process: what was answered Success is never lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    installed = Gateway(tmp_path, {"QUICKOTP_DISPATCH_LEASE_SECONDS": "2"})
    yield installed
    installed.stop()


async def send_many(url: str, token: str, count: int) -> dict[int, str]:
    """`count` concurrent SendQuickOTPs; MessageID -> Code of those answered Success."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:

        async def one(i: int) -> tuple[int, str]:
            response = await http.post(
                "/rest/SendQuickOTP",
                headers={"Authorization": token},
                data={"Mobile": f"0912{i:07d}", "CodeLength": "6"},
            )
            data = response.json()["Data"]
            return data["MessageID"], data["Code"]

        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
        return dict(r for r in results if isinstance(r, tuple))


def test_killed_before_delivering_then_restarted_delivers_each_exactly_once(
    gateway: Gateway,
) -> None:
    """SIGKILL after answering, before any delivery: the restart delivers each message once."""
    token = gateway.setup_account()
    gateway.start(QUICKOTP_NO_DISPATCH="1")
    answered = asyncio.run(send_many(gateway.url, token, 60))

    gateway.kill()
    gateway.start()
    delivered = gateway.wait_delivered(len(answered))
    time.sleep(0.5)  # anything doubled would show up now
    delivered = gateway.delivered()

    assert Counter(line["message_id"] for line in delivered) == Counter(answered.keys())
    for line in delivered:
        assert line["text"] == f"کد ورود شما: {answered[line['message_id']]}"


def test_codes_and_tokens_stay_out_of_logs_and_stored_texts(gateway: Gateway) -> None:
    """After delivery the text is masked and the report recorded; no log holds a code or token."""
    token = gateway.setup_account()
    gateway.start(QUICKOTP_LOG_LEVEL="DEBUG")  # every line the gateway can write
    answered = asyncio.run(send_many(gateway.url, token, 20))
    gateway.wait_delivered(len(answered))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the receipts land a moment after the sink line
        listed = gateway.cli_json("messages", "list", "--limit", "100")
        if {m["status"] for m in listed} == {"delivered"}:
            break
        time.sleep(0.2)
    gateway.stop()
    logs = gateway.logs()

    assert {m["id"]: m["text"] for m in listed} == {i: "کد ورود شما: ******" for i in answered}
    assert {m["status"] for m in listed} == {"delivered"}
    assert token not in logs
    assert not [code for code in answered.values() if code in logs]
    assert "accepted message" in logs  # the log was written, and it was searched


def test_killed_mid_delivery_loses_nothing_and_records_any_duplicate(gateway: Gateway) -> None:
    """SIGKILL while the dispatcher is sending: all answered arrive; a resend is flagged."""
    token = gateway.setup_account()
    gateway.start()

    async def load_then_kill() -> dict[int, str]:
        task = asyncio.create_task(send_many(gateway.url, token, 200))
        while len(gateway.delivered()) < 20:
            await asyncio.sleep(0.005)
        gateway.kill()
        return await task

    answered = asyncio.run(load_then_kill())
    confirmed = {line["message_id"]: line for line in gateway.delivered()}
    gateway.start()
    listed = gateway.cli_json("messages", "list", "--limit", "1000")
    accepted = {m["id"] for m in listed}
    gateway.wait_delivered(len(accepted))
    time.sleep(0.5)
    delivered = Counter(line["message_id"] for line in gateway.delivered())

    assert set(answered) <= accepted  # answered Success => durable
    assert set(delivered) == accepted  # every accepted message reaches the sink
    flagged = {
        m["id"]
        for m in gateway.cli_json("messages", "list", "--limit", "1000")
        if m["possible_duplicate"]
    }
    assert {i for i, n in delivered.items() if n > 1} <= flagged
    assert len(confirmed) >= 20
