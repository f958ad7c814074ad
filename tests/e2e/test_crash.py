"""
Crash safety of the real server process: what was answered Success is never lost.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Gateway
from tests.services.webhooks.test_webhooks import RELAY_FIELDS

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


class Reports:
    """A delivery-report receiver in threads on 127.0.0.1: keeps each POST's headers and body."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []  # (X-QuickOTP-Delivery, body)
        self._lock = threading.Lock()
        # With `hold_after` set, POSTs past that many wait (read, not yet answered) until
        # `open` is set: the worker then has reports in flight however fast it posts.
        self.hold_after: int | None = None
        self.admitted = 0
        self.open = threading.Event()
        reports = self

        class Hook(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept-alive connections, as a real receiver's

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(0.005)  # a receiver's own work: POSTs stay in flight a moment
                with reports._lock:
                    reports.admitted += 1
                    held = reports.hold_after is not None and reports.admitted > reports.hold_after
                if held:
                    reports.open.wait(60)
                with reports._lock:
                    reports.got.append((self.headers["X-QuickOTP-Delivery"], json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.got)

    def close(self) -> None:
        self.open.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def reports() -> Iterator[Reports]:
    made = Reports()
    yield made
    made.close()


def test_killed_while_posting_reports_loses_none(tmp_path: Path, reports: Reports) -> None:
    """
    SIGKILL while the webhook worker has reports in flight: after the restart every accepted
    message's report arrives, in Amoot's relay format; a report posted again (its outcome
    was not yet written) carries the same X-QuickOTP-Delivery, so the receiver can drop it,
    and no message is ever owed two reports.
    """
    gateway = Gateway(tmp_path, {"QUICKOTP_WEBHOOK_PRIVATE_URLS": "1"})
    try:
        token = gateway.setup_account()
        gateway.start()
        relay = httpx.post(
            f"{gateway.url}/rest/RelayMessageDeliveryCreate",
            headers={"Authorization": token},
            data={"URLAddress": reports.url},
        ).json()
        assert relay["Status"] == "Success"

        async def load_then_kill() -> dict[int, str]:
            reports.hold_after = 20  # the rest wait: the kill finds reports in flight and owed
            task = asyncio.create_task(send_many(gateway.url, token, 200))
            async with asyncio.timeout(60):
                while len(reports.received()) < 20:
                    await asyncio.sleep(0.005)
            await asyncio.sleep(0.5)  # more accepted, their reports held or owed
            gateway.kill()
            return await task

        answered = asyncio.run(load_then_kill())
        at_kill = len(reports.received())
        reports.open.set()
        gateway.start()
        accepted = {m["id"] for m in gateway.cli_json("messages", "list", "--limit", "1000")}
        deadline = time.monotonic() + 150  # claims of the killed process wait out their lease
        while time.monotonic() < deadline:
            if {body["MessageID"] for _, body in reports.received()} >= accepted:
                break
            time.sleep(0.2)
        time.sleep(1)  # anything posted twice more would show up now
        got = reports.received()
    finally:
        gateway.stop()

    assert set(answered) <= accepted
    assert at_kill < len(accepted)  # the kill came mid-way
    assert {body["MessageID"] for _, body in got} == accepted  # none lost
    deliveries: dict[int, set[str]] = {}
    for delivery, body in got:
        deliveries.setdefault(body["MessageID"], set()).add(delivery)
        assert set(body) == set(RELAY_FIELDS)
        assert (body["Event"], body["Status"], body["DeliveryType"]) == ("delivery", "delivered", 1)
    assert all(len(ids) == 1 for ids in deliveries.values())  # one report owed per message
