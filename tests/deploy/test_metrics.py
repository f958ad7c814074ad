"""
The metrics the dashboard and the alerts read appear on /metrics with sane values: after one
send over SMPP; for a queue that forms on the outbox; for the webhook backlog; and on the
/metrics port of `quickotp dispatch --metrics-port`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert

from quickotp.adapters.store.outbox_stats import OutboxStats
from quickotp.adapters.store.schema import webhook_deliveries
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.bootstrap import Runtime, utc_now
from quickotp.domain.models import WebhookState
from quickotp.domain.routing import checked_route
from quickotp.services.admission import Admission
from tests.conftest import TEST_SECRET, Seeded
from tests.http_peer import free_port

from .conftest import Scrape, parse

SMSC = "smpp://u:p@127.0.0.1:2775"


@pytest.mark.anyio
async def test_one_send_shows_in_every_delivery_figure(scrape: Scrape) -> None:
    """Submitted, its latency, its report, the route's bind and the knobs the alerts use."""
    route = scrape.route
    assert scrape.value("quickotp_messages_submitted_total", route=route) == 1
    assert scrape.value("quickotp_delivery_reports_total", route=route, state="delivered") == 1
    assert scrape.value("quickotp_submit_seconds_count", route=route) == 1
    latency = scrape.value("quickotp_submit_seconds_sum", route=route)
    assert latency is not None
    assert 0 < latency < 15
    assert scrape.value("quickotp_route_up", route=route, kind="smpp") == 1
    assert scrape.value("quickotp_route_binds_up", route=route) == 1
    assert scrape.value("quickotp_route_binds", route=route) == 1
    assert scrape.value("quickotp_route_window_in_use", route=route) == 0
    assert scrape.value("quickotp_route_breaker_open", route=route) == 0
    assert scrape.value("quickotp_otp_validity_seconds") == 120
    assert scrape.value("quickotp_price_per_part_rial") == 1000


@pytest.mark.anyio
async def test_the_queue_credit_and_webhook_figures_after_one_send(scrape: Scrape) -> None:
    """Nothing queues; the account's credit after its charge; the one webhook still owed."""
    assert scrape.value("quickotp_route_queue_due", route=scrape.route) == 0
    assert scrape.value("quickotp_route_queue_age_seconds", route=scrape.route) == 0
    assert scrape.value("quickotp_outbox_oldest_due_seconds") == 0
    account = str(scrape.account_id)
    assert scrape.value("quickotp_account_credit_rial", account=account, name="shop") == (
        scrape.credit
    )
    assert 0 < scrape.credit < 1_000_000
    assert scrape.value("quickotp_webhook_backlog") == 1  # its URL does not answer
    waited = scrape.value("quickotp_webhook_oldest_due_seconds")
    assert waited is not None
    assert 0 <= waited < 60


def later(seconds: float) -> Callable[[], datetime]:
    """The real clock, `seconds` ahead: what was queued a moment ago looks that old."""
    return lambda: utc_now() + timedelta(seconds=seconds)


async def send(client: httpx.AsyncClient, token: str, mobile: str) -> None:
    answer = await client.post(
        "/rest/SendQuickOTP",
        data={"Mobile": mobile, "CodeLength": "6"},
        headers={"Authorization": token},
    )
    assert answer.json()["Status"] == "Success"


@pytest.mark.anyio
async def test_a_forming_queue_shows_its_depth_and_age_per_route(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """No dispatcher, messages 30 s old: each route's due count and age; a removed route goes."""
    book = runtime.route_book
    for name, prefixes in (("q-mci", ("98912",)), ("q-other", ())):
        route = checked_route(name=name, kind="smpp", url=SMSC, shown=SMSC, prefixes=prefixes)
        await book.add(route, runtime.admin.clock())
    for mobile in ("09121000001", "09121000002", "09351000003"):
        await send(client, seeded.token, mobile)
    # Routes reloaded at every reading, not every 5 s: the removed route goes at the next.
    gate = Admission(OutboxStats(runtime.engines), book.load, later(30), routes_every=0)

    await gate.refresh()
    due = {name: _gauge("quickotp_route_queue_due", name) for name in ("q-mci", "q-other")}
    age = {name: _gauge("quickotp_route_queue_age_seconds", name) for name in due}
    await book.remove("q-other")
    await gate.refresh()

    assert due == {"q-mci": 2, "q-other": 1}
    assert all(age is not None and 29 <= age <= 32 for age in age.values())
    assert _gauge("quickotp_route_queue_due", "q-other") is None
    assert _gauge("quickotp_route_queue_age_seconds", "q-mci") is not None
    oldest = REGISTRY.get_sample_value("quickotp_outbox_oldest_due_seconds")
    assert oldest is not None
    assert 29 <= oldest <= 32


def _gauge(name: str, route: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"route": route})


@pytest.mark.anyio
async def test_the_webhook_backlog_is_counted_up_to_its_cap(
    runtime: Runtime, client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Pending and in-flight deliveries count, finished ones not, up to the cap; the oldest due."""
    store = WebhookStore(runtime.engines)
    now = utc_now()
    empty = await store.backlog(now, 10)
    await send(client, seeded.token, "09121000001")
    [message] = await runtime.admin.list_messages(seeded.account_id, 1)
    rows = [
        (WebhookState.PENDING, now - timedelta(seconds=90)),
        (WebhookState.PENDING, now - timedelta(seconds=30)),
        (WebhookState.PENDING, now + timedelta(seconds=60)),  # a retry, not due yet
        (WebhookState.SENDING, now),
        (WebhookState.DELIVERED, now - timedelta(hours=1)),
        (WebhookState.FAILED, now - timedelta(hours=1)),
    ]
    async with runtime.engines.write.begin() as conn:
        await conn.execute(
            insert(webhook_deliveries),
            [
                {
                    "account_id": seeded.account_id,
                    "message_id": message.id,
                    "url": f"https://client.test/{n}",
                    "status": "delivered",
                    "state": state,
                    "attempts": 1,
                    "next_attempt_at": at,
                    "created_at": now,
                }
                for n, (state, at) in enumerate(rows)
            ],
        )

    full = await store.backlog(now, 10)
    capped = await store.backlog(now, 2)

    assert (empty.owed, empty.oldest_due) == (0, None)
    assert (full.owed, full.oldest_due) == (4, now - timedelta(seconds=90))
    assert capped.owed == 2


@pytest.mark.slow
def test_dispatch_serves_metrics_on_its_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`quickotp dispatch --metrics-port` answers /metrics, then exits 0 on SIGTERM."""
    env = {
        **os.environ,
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'quickotp.db'}",
        "QUICKOTP_SINK_FILE": str(tmp_path / "sms.jsonl"),
    }
    quickotp = [sys.executable, "-m", "quickotp"]
    subprocess.run([*quickotp, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    log = tmp_path / "dispatch.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*quickotp, "dispatch", "--metrics-port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        text = _scrape(f"http://127.0.0.1:{port}/metrics", process, log)
        taken = subprocess.run(
            [*quickotp, "dispatch", "--metrics-port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

    types, _ = parse(text)
    assert types["quickotp_route_up"] == "gauge"
    assert types["quickotp_messages_submitted"] == "counter"
    assert code == 0, log.read_text()
    assert taken.returncode == 78
    last = taken.stderr.strip().splitlines()[-1]
    assert last.startswith(f"quickotp: cannot serve /metrics on 127.0.0.1:{port}: Address already")


def _scrape(url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(url, timeout=2).raise_for_status().text
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no /metrics at {url}:\n{log.read_text()}")
