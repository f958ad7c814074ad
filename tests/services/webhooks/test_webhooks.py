"""
Delivery reports pushed to clients: the Relay methods on /rest, the durable outbox filled in
the report's own transaction, and the worker posting signed reports to a real receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quickotp.adapters.public_http import SystemResolver, TargetCheck
from quickotp.adapters.report_client import ReportClient
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.schema import relay_urls, webhook_deliveries
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain import phone
from quickotp.domain.delivery import (
    DeliveryReport,
    DeliveryState,
    OutboundSms,
    ReportSink,
    SendReceipt,
)
from quickotp.domain.models import MessageStatus, Posted, WebhookState
from quickotp.services.dispatcher import Dispatcher
from quickotp.services.sends import Outgoing
from quickotp.services.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Relays,
    WebhookConfig,
    WebhookWorker,
    sign,
    verify,
)
from quickotp.web.amoot_wire import report_body, tehran_time
from quickotp.web.app import create_app
from tests.conftest import Seeded, known_names, make_settings, seed
from tests.http_peer import free_port, serving

pytestmark = pytest.mark.anyio


LOCAL = WebhookConfig()


@contextlib.asynccontextmanager
async def posting(poster: ReportClient) -> AsyncIterator[ReportClient]:
    """`poster` for the block, closed after it."""
    try:
        yield poster
    finally:
        await poster.aclose()


def local_poster() -> contextlib.AbstractAsyncContextManager[ReportClient]:
    """The runtime's poster, allowed to post to the test receivers on 127.0.0.1."""
    return posting(ReportClient(known_names(), allow_private=True))


async def report_owed(runtime: Runtime, seeded: Seeded, url: str) -> tuple[int, WebhookStore]:
    """One OTP delivered with `url` the account's report URL: its message id, and the store
    that owes the URL its report."""
    await local_relays(runtime).create(seeded.account_id, url)
    return await deliver_one(runtime, seeded), WebhookStore(runtime.engines)


def local_relays(runtime: Runtime) -> Relays:
    """Relays that accept URLs on 127.0.0.1, as the test receivers' are."""
    return Relays(
        WebhookStore(runtime.engines),
        lambda: datetime.now(UTC),
        lambda: "whsec_t",
        TargetCheck(known_names(), allow_private=True),
    )


RELAY_FIELDS = (  # Amoot's relay format: one POST per message, these fields in this order
    "Event",
    "MessageID",
    "Mobile",
    "DeliveryType",
    "Status",
    "Cost",
    "RegDateTime",
    "SendDateTime",
    "DeliveryDateTime",
)


def signed(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> bool:
    """Whether a post's timestamp and signature headers verify with `secret` at `now` (the
    wall clock's by default)."""
    timestamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    return verify(secret, timestamp, body, signature, now=time.time() if now is None else now)


@dataclass
class Receiver:
    """A client's webhook endpoint: keeps what it gets, answers `status` (a list: in turn)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return Response(b"", status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Receiver]:
        """Served on 127.0.0.1, its `url` the endpoint's."""
        async with serving(self.app()) as base:
            self.url = f"{base}/hook"
            yield self


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver().listening() as made:
        yield made


@pytest.fixture
async def rest(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with the Relay methods, in process."""
    app = create_app(runtime.gateway, relays=runtime.relays)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


async def call(rest: httpx.AsyncClient, token: str, method: str, **form: str) -> object:
    response = await rest.post(f"/rest/{method}", data=form, headers={"Authorization": token})
    assert response.status_code == 200
    body: object = response.json()
    return body


def test_the_signature_covers_timestamp_and_body() -> None:
    """A receiver accepts the signed body once fresh, and nothing altered or stale."""
    body = b'{"MessageID":1}'
    signature = sign("whsec_x", 1_700_000_000, body)

    assert verify("whsec_x", "1700000000", body, signature, now=1_700_000_010)
    assert not verify("whsec_x", "1700000000", body + b" ", signature, now=1_700_000_010)
    assert not verify("whsec_x", "1700000001", body, signature, now=1_700_000_010)
    assert not verify("whsec_y", "1700000000", body, signature, now=1_700_000_010)
    assert not verify("whsec_x", "1700000000", body, signature, now=1_700_001_000)


class Quiet:
    """Takes every message and reports nothing: the test reports delivery itself."""

    name = "quiet"

    async def start(self, reports: ReportSink) -> None:
        return None

    async def send(self, sms: OutboundSms) -> SendReceipt:
        return SendReceipt(self.name, f"q-{sms.message_id}")

    async def aclose(self) -> None:
        return None


async def deliver_one(
    runtime: Runtime, seeded: Seeded, *, report_first: bool = False, text: bool = False
) -> int:
    """
    Send an OTP (or, with `text`, free text) through a dispatcher and record its delivery
    report (after, or before).
    """
    caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    if text:
        number = phone.normalise("09120000000")
        sent = await runtime.gateway.send(caller, number, Outgoing(text="your order shipped"))
    else:
        sent = await runtime.gateway.send_quick_otp(caller, mobile="09120000000", code_length=6)
    report = DeliveryReport(
        "quiet", f"q-{sent.message_id}", DeliveryState.DELIVERED, datetime.now(UTC)
    )
    if report_first:  # it overtakes the submit: parked, then applied when the submit is
        await runtime.store.record(reports=[report], now=datetime.now(UTC))
    dispatcher = Dispatcher(runtime.store, Quiet(), lambda: datetime.now(UTC))
    await dispatcher.start()
    dispatcher.wake()
    try:
        async with asyncio.timeout(10):
            while True:
                found = await runtime.store.get_messages(seeded.account_id, [sent.message_id])
                if found[sent.message_id].status in (MessageStatus.SENT, MessageStatus.DELIVERED):
                    break
                await asyncio.sleep(0.02)
    finally:
        await dispatcher.aclose()
    if not report_first:
        await runtime.store.record(reports=[report], now=datetime.now(UTC))
    return sent.message_id


async def test_a_delivered_report_owes_one_webhook_per_active_url(
    runtime: Runtime, seeded: Seeded
) -> None:
    """Each active URL gets the report once, even when the report is repeated."""
    relays = runtime.relays
    await relays.create(seeded.account_id, "https://a.example/dlr")
    off = await relays.create(seeded.account_id, "https://b.example/dlr")
    await relays.set_active(seeded.account_id, str(off.id), "false")

    message_id = await deliver_one(runtime, seeded)
    again = DeliveryReport("quiet", f"q-{message_id}", DeliveryState.DELIVERED, datetime.now(UTC))
    await runtime.store.record(reports=[again], now=datetime.now(UTC))

    owed = await WebhookStore(runtime.engines).deliveries(seeded.account_id)
    assert [(d.message_id, d.url, d.status, d.state) for d in owed] == [
        (message_id, "https://a.example/dlr", MessageStatus.DELIVERED, WebhookState.PENDING)
    ]


@pytest.mark.parametrize(
    "way",
    [
        # free text: sent, reported, and its report owed to the account's URL
        {"text": True},
        # a parked receipt, applied when its submit is recorded, queues the webhook then
        {"report_first": True},
    ],
    ids=["free-text", "report-before-submit"],
)
async def test_a_delivered_text_or_an_early_report_owes_its_webhook_as_an_otp_does(
    runtime: Runtime, seeded: Seeded, way: dict[str, bool]
) -> None:
    """Free text, and a report that overtook its submit, owe a webhook the same way."""
    await runtime.relays.create(seeded.account_id, "https://a.example/dlr")

    message_id = await deliver_one(runtime, seeded, **way)

    owed = await WebhookStore(runtime.engines).deliveries(seeded.account_id)
    assert [(d.message_id, d.status) for d in owed] == [(message_id, MessageStatus.DELIVERED)]


async def test_the_worker_posts_a_signed_report(
    runtime: Runtime, seeded: Seeded, receiver: Receiver
) -> None:
    """The receiver gets the message id, DeliveryType 1, and a signature it can check."""
    message_id, store = await report_owed(runtime, seeded, receiver.url)
    secret = (await runtime.workspace.panel.get_webhook(seeded.account_id)).secret  # type: ignore[union-attr]

    async with local_poster() as poster:
        worker = WebhookWorker(store, poster, lambda: datetime.now(UTC), LOCAL, render=report_body)
        assert await worker.run_once() == 1

    [(headers, body)] = receiver.got
    assert signed(secret, headers, body)
    report = orjson.loads(body)
    assert (report["MessageID"], report["DeliveryType"], report["Status"]) == (
        message_id,
        1,
        "delivered",
    )
    assert report["Mobile"] == 9120000000
    message = (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id]
    assert report["Cost"] == message.cost
    assert report["RegDateTime"] == tehran_time(message.created_at)
    assert report["SendDateTime"] == tehran_time(message.submitted_at)
    assert report["DeliveryDateTime"] == tehran_time(message.reported_at)
    assert message.reported_at is not None
    [done] = await store.deliveries(seeded.account_id)
    assert (done.state, done.attempts, done.last_status_code) == (WebhookState.DELIVERED, 1, 200)


async def test_failures_are_retried_with_back_off_then_given_up(
    runtime: Runtime, seeded: Seeded, receiver: Receiver
) -> None:
    """A 500 schedules a later attempt (recorded); the last allowed failure gives up."""
    receiver.statuses = [500]
    _, store = await report_owed(runtime, seeded, receiver.url)
    now = datetime.now(UTC)
    clock = [now]
    config = WebhookConfig(max_attempts=2, first_delay=timedelta(seconds=5))

    async with local_poster() as poster:
        worker = WebhookWorker(store, poster, lambda: clock[0], config, render=report_body)
        assert await worker.run_once() == 1
        [first] = await store.deliveries(seeded.account_id)
        assert await worker.run_once() == 0  # not due yet
        clock[0] = now + timedelta(seconds=7)
        assert await worker.run_once() == 1

    [last] = await store.deliveries(seeded.account_id)
    assert (first.state, first.attempts, first.last_status_code) == (WebhookState.PENDING, 1, 500)
    assert first.next_attempt_at >= now + timedelta(seconds=4)
    assert (last.state, last.attempts, last.last_error) == (WebhookState.FAILED, 2, "HTTP 5xx")


async def test_a_crashed_workers_claims_are_taken_over(
    runtime: Runtime, seeded: Seeded, receiver: Receiver
) -> None:
    """A delivery claimed by a worker that died is posted once its lease runs out."""
    _, store = await report_owed(runtime, seeded, receiver.url)
    now = datetime.now(UTC)
    assert len(await store.claim(now, timedelta(seconds=60), 10)) == 1  # then "crashes"

    async with local_poster() as poster:
        worker = WebhookWorker(
            store,
            poster,
            lambda: now + timedelta(seconds=61),
            LOCAL,
            render=report_body,
        )
        assert await worker.run_once() == 1

    assert len(receiver.got) == 1
    async with runtime.engines.write.begin() as conn:  # the row was re-claimed, not duplicated
        rows = await conn.execute(update(webhook_deliveries).values(url=webhook_deliveries.c.url))
        assert rows.rowcount == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x"]
)
async def test_private_urls_are_refused(rest: httpx.AsyncClient, seeded: Seeded, url: str) -> None:
    """A client cannot point the gateway at its own host or network (SSRF)."""
    answer = await call(rest, seeded.token, "RelayMessageDeliveryCreate", URLAddress=url)

    assert answer == {"Status": "Failed", "RelayMessageDeliveryID": 0}


async def test_the_worker_does_not_post_to_private_addresses(
    runtime: Runtime, seeded: Seeded, receiver: Receiver
) -> None:
    """A URL that leads to a private address (the panel's, or a name resolving so) is not posted."""
    _, store = await report_owed(runtime, seeded, receiver.url)

    async with posting(ReportClient(SystemResolver())) as poster:
        worker = WebhookWorker(store, poster, lambda: datetime.now(UTC), render=report_body)
        assert await worker.run_once() == 1

    [refused] = await store.deliveries(seeded.account_id)
    assert receiver.got == []
    assert (refused.state, refused.last_error) == (WebhookState.PENDING, "refused")


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ("http://127.0.0.1:1/a\x7fb", "it holds spaces or control characters"),
        ("http://xn--a/hook", "it is not a URL the gateway can post to"),  # idna refuses it
    ],
)
async def test_a_stored_url_that_cannot_be_posted_fails_alone(
    runtime: Runtime,
    seeded: Seeded,
    receiver: Receiver,
    stored: str,
    problem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    A URL stored before today's checks (a DEL in it: httpx refuses it) fails its own
    delivery and is retried as any failure; the batch's other deliveries are posted.
    """
    caplog.set_level(logging.INFO, "quickotp")
    await local_relays(runtime).create(seeded.account_id, receiver.url)
    await local_relays(runtime).create(seeded.account_id, receiver.url + "/second")
    async with runtime.engines.write.begin() as conn:  # as an older release could store it
        await conn.execute(
            update(relay_urls)
            .where(relay_urls.c.url == receiver.url + "/second")
            .values(url=stored)
        )
    await deliver_one(runtime, seeded)
    store = WebhookStore(runtime.engines)

    async with local_poster() as poster:
        assert (
            await WebhookWorker(
                store, poster, lambda: datetime.now(UTC), LOCAL, render=report_body
            ).run_once()
            == 2
        )

    assert len(receiver.got) == 1
    by_url = {d.url: d for d in await store.deliveries(seeded.account_id)}
    assert by_url[receiver.url].state is WebhookState.DELIVERED
    refused = by_url[stored]
    assert (refused.state, refused.last_error) == (WebhookState.PENDING, "refused")
    assert any(problem in r.getMessage() for r in caplog.records)  # the reason is logged


async def test_any_failure_of_one_post_stays_with_its_delivery(
    runtime: Runtime, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    """
    Whatever one POST raises (here an error that is not httpx's), that delivery is recorded
    as a failed attempt and retried; the worker's batch is recorded, never left in flight.
    """

    class Broken:
        async def post(
            self, url: str, body: bytes, headers: Mapping[str, str], *, wait: float
        ) -> Posted:
            raise ValueError("a client library fault")

        async def aclose(self) -> None:
            return None

    await local_relays(runtime).create(seeded.account_id, "https://shop.example/dlr")
    await deliver_one(runtime, seeded)
    store = WebhookStore(runtime.engines)

    assert (
        await WebhookWorker(
            store, Broken(), lambda: datetime.now(UTC), LOCAL, render=report_body
        ).run_once()
        == 1
    )

    [failed] = await store.deliveries(seeded.account_id)
    assert (failed.state, failed.attempts, failed.last_error) == (
        WebhookState.PENDING,
        1,
        "failed",
    )
    assert any("posting failed" in r.getMessage() for r in caplog.records)


async def deliver_many(runtime: Runtime, seeded: Seeded, count: int) -> list[int]:
    """`count` OTPs sent through a dispatcher, then their delivery reports recorded at once."""
    caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    ids = [
        (
            await runtime.gateway.send_quick_otp(caller, mobile=f"0912{i:07d}", code_length=6)
        ).message_id
        for i in range(count)
    ]
    dispatcher = Dispatcher(runtime.store, Quiet(), lambda: datetime.now(UTC))
    await dispatcher.start()
    dispatcher.wake()
    try:
        async with asyncio.timeout(30):
            while True:
                found = await runtime.store.get_messages(seeded.account_id, ids)
                if all(m.status is MessageStatus.SENT for m in found.values()):
                    break
                await asyncio.sleep(0.05)
    finally:
        await dispatcher.aclose()
    now = datetime.now(UTC)
    reports = [DeliveryReport("quiet", f"q-{i}", DeliveryState.DELIVERED, now) for i in ids]
    await runtime.store.record(reports=reports, now=now)
    return ids


@dataclass
class Counting(Receiver):
    """A receiver that also counts the POSTs it holds at once (each held `hold` seconds)."""

    hold: float = 0.01
    now: int = 0
    most: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                await asyncio.sleep(self.hold)
                self.got.append((dict(request.headers), await request.body()))
            finally:
                self.now -= 1
            return Response(b"", 200)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
async def unguarded(database_url: str) -> AsyncIterator[Runtime]:
    """A runtime whose fraud guard lets one test send a hundred OTPs at once."""
    settings = make_settings(
        database_url,
        QUICKOTP_GUARD_PUMPING="off",
        QUICKOTP_GUARD_ACCOUNT_RATE="0",
        QUICKOTP_GUARD_TOKEN_RATE="0",
        QUICKOTP_GUARD_IP_RATE="0",
    )
    built = build_runtime(settings, dispatch=False, resolver=known_names())
    await upgrade(built.engines)
    await built.start()
    yield built
    await built.aclose()


@contextlib.asynccontextmanager
async def running_worker(
    store: WebhookStore, config: WebhookConfig
) -> AsyncIterator[WebhookWorker]:
    """A worker on the wall clock posting with `local_poster`, started; closed after the block."""
    async with local_poster() as poster:
        worker = WebhookWorker(store, poster, lambda: datetime.now(UTC), config, render=report_body)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.aclose()


async def posts_reach(receiver: Receiver, count: int) -> None:
    """Return once `receiver` has got `count` POSTs (the caller bounds the wait)."""
    while len(receiver.got) < count:
        await asyncio.sleep(0.02)


def posted_ids(receiver: Receiver) -> list[int]:
    """The MessageID of each report `receiver` got, sorted."""
    return sorted(orjson.loads(body)["MessageID"] for _, body in receiver.got)


# The worker the slow-URL tests run: 16 POSTs at once (4 a URL), claims of 20, 60 held, a
# POST's timeout and a claim's lease longer than any of the tests.
SLOW_URLS = WebhookConfig(
    per_url=4,
    concurrency=16,
    batch=20,
    held=60,
    idle_poll=0.05,
    timeout=30.0,
    lease=timedelta(seconds=120),
)


async def test_the_running_worker_posts_each_report_once_in_the_relay_format(
    unguarded: Runtime,
) -> None:
    """
    Many reports through the running worker (claims, POSTs a few at a time per URL, grouped
    writes): each message's report arrives once, as Amoot's relay body, and is recorded.
    """
    runtime = unguarded
    seeded = await seed(runtime)
    receiver = Counting()
    async with serving(receiver.app()) as base:
        receiver.url = f"{base}/hook"
        await local_relays(runtime).create(seeded.account_id, receiver.url)
        ids = await deliver_many(runtime, seeded, 120)
        config = WebhookConfig(per_url=4, concurrency=8, batch=25, held=60, idle_poll=0.05)
        store = WebhookStore(runtime.engines)
        async with running_worker(store, config), asyncio.timeout(60):
            while len(receiver.got) < len(ids) or any(
                d.state is not WebhookState.DELIVERED
                for d in await store.deliveries(seeded.account_id, limit=500)
            ):
                await asyncio.sleep(0.05)

    bodies = [orjson.loads(body) for _, body in receiver.got]
    assert sorted(b["MessageID"] for b in bodies) == sorted(ids)  # each once
    assert {tuple(b) for b in bodies} == {RELAY_FIELDS}
    assert {(b["Event"], b["DeliveryType"], b["Status"]) for b in bodies} == {
        ("delivery", 1, "delivered")
    }
    deliveries = {h["x-quickotp-delivery"] for h, _ in receiver.got}
    assert len(deliveries) == len(ids)
    assert 1 < receiver.most <= config.per_url
    done = await store.deliveries(seeded.account_id, limit=500)
    assert {(d.state, d.attempts) for d in done} == {(WebhookState.DELIVERED, 1)}


async def test_a_delivery_whose_lease_would_run_out_mid_post_is_handed_back(
    runtime: Runtime, seeded: Seeded, receiver: Receiver
) -> None:
    """
    Claimed, then kept waiting until its lease could end before a POST's timeout: it is not
    posted (another worker may take it over then), but handed back due, its attempt uncounted.
    """
    _, store = await report_owed(runtime, seeded, receiver.url)
    claimed_at = datetime.now(UTC)
    later = claimed_at + timedelta(seconds=50)  # a 60 s lease, a 10 s timeout: too late
    times = iter([claimed_at])

    async with local_poster() as poster:
        worker = WebhookWorker(store, poster, lambda: next(times, later), LOCAL, render=report_body)
        assert await worker.run_once() == 1

    [back] = await store.deliveries(seeded.account_id)
    assert receiver.got == []
    assert (back.state, back.attempts, back.last_error) == (WebhookState.PENDING, 0, None)
    assert back.next_attempt_at == later


async def test_a_url_that_did_not_answer_hands_back_its_other_deliveries(
    runtime: Runtime, seeded: Seeded
) -> None:
    """
    One POST to a URL gets no answer: its other deliveries in hand are not each made to wait
    out a timeout, but handed back (uncounted) to be tried when the failed one's retry is due.
    """
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    await local_relays(runtime).create(seeded.account_id, url)
    for _ in range(3):
        await deliver_one(runtime, seeded)
    store = WebhookStore(runtime.engines)
    config = WebhookConfig(per_url=1)

    async with local_poster() as poster:
        worker = WebhookWorker(store, poster, lambda: datetime.now(UTC), config, render=report_body)
        assert await worker.run_once() == 3

    tried, *handed_back = sorted(
        await store.deliveries(seeded.account_id), key=lambda d: -d.attempts
    )
    assert (tried.state, tried.attempts, tried.last_error) == (
        WebhookState.PENDING,
        1,
        "the address did not answer",
    )
    assert [(d.state, d.attempts, d.last_error) for d in handed_back] == [
        (WebhookState.PENDING, 0, None)
    ] * 2
    assert {d.next_attempt_at for d in handed_back} == {tried.next_attempt_at}


@dataclass
class Holding(Counting):
    """A receiver that holds every POST until `release` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                await self.release.wait()
                self.got.append((dict(request.headers), await request.body()))
            finally:
                self.now -= 1
            return Response(b"", 200)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_a_slow_url_holds_only_its_own_slots(unguarded: Runtime) -> None:
    """A URL that holds every POST takes its `per_url` slots; another URL's reports go on."""
    runtime = unguarded
    seeded = await seed(runtime)
    slow, fast = Holding(), Counting()
    async with serving(slow.app()) as slow_base, serving(fast.app()) as fast_base:
        await local_relays(runtime).create(seeded.account_id, f"{slow_base}/hook")
        await local_relays(runtime).create(seeded.account_id, f"{fast_base}/hook")
        ids = await deliver_many(runtime, seeded, 20)
        config = WebhookConfig(per_url=2, concurrency=8, batch=50, held=100, idle_poll=0.05)
        async with running_worker(WebhookStore(runtime.engines), config), asyncio.timeout(60):
            await posts_reach(fast, len(ids))
            held_then = (slow.now, len(slow.got))
            slow.release.set()
            await posts_reach(slow, len(ids))

    assert held_then == (2, 0)  # the slow URL had its two POSTs waiting, and nothing more
    assert slow.most == 2
    assert posted_ids(slow) == sorted(ids)


async def test_one_accounts_slow_url_holds_only_its_accounts_share_of_the_worker(
    unguarded: Runtime,
) -> None:
    """
    One account's URL holds every POST, with more reports owed than the worker holds: it
    keeps at most its share of held deliveries (the rest handed back, uncounted, to wait
    their turn), so another account's reports, owed later, arrive at once.
    """
    runtime = unguarded
    stranger, other = await seed(runtime), await seed(runtime, name="other")
    slow, fast = Holding(), Counting()
    config = SLOW_URLS
    async with serving(slow.app()) as slow_base, serving(fast.app()) as fast_base:
        await local_relays(runtime).create(stranger.account_id, f"{slow_base}/hook")
        await local_relays(runtime).create(other.account_id, f"{fast_base}/hook")
        await deliver_many(runtime, stranger, 80)  # owed first: the oldest in the outbox
        ids = await deliver_many(runtime, other, 20)
        store = WebhookStore(runtime.engines)

        started = time.monotonic()
        async with running_worker(store, config):
            try:
                async with asyncio.timeout(10):  # the fast account's reports, promptly
                    await posts_reach(fast, len(ids))
                waited = time.monotonic() - started
                held = [
                    d
                    for d in await store.deliveries(stranger.account_id, limit=500)
                    if d.state is WebhookState.SENDING
                ]
                in_flight = slow.now
                slow.release.set()
                async with asyncio.timeout(30):
                    await posts_reach(slow, len(held))
            finally:
                slow.release.set()  # a failed wait must not leave the receiver holding

    assert posted_ids(fast) == sorted(ids)
    assert waited < 10
    assert 0 < len(held) <= config.held_per_url
    assert 0 < in_flight <= config.per_url
    # Nothing of the slow account's is lost or charged an attempt it did not make.
    left = await store.deliveries(stranger.account_id, limit=500)
    assert len(left) == 80
    assert {(d.state, d.attempts) for d in left} <= {
        (WebhookState.DELIVERED, 1),
        (WebhookState.PENDING, 0),
        (WebhookState.SENDING, 1),  # posted as the worker stopped: taken over after its lease
    }


async def test_an_account_with_many_slow_urls_holds_only_its_accounts_share(
    unguarded: Runtime,
) -> None:
    """
    An account spreads its reports over three URLs that all hold every POST: together they
    keep at most `per_account` POSTs in flight and `held_per_account` claimed, and another
    account's reports arrive at once.
    """
    runtime = unguarded
    stranger, other = await seed(runtime), await seed(runtime, name="other")
    slow, fast = Holding(), Counting()
    config = replace(SLOW_URLS, per_account=3, held_per_url=4, held_per_account=6)
    async with serving(slow.app()) as slow_base, serving(fast.app()) as fast_base:
        for n in range(3):
            await local_relays(runtime).create(stranger.account_id, f"{slow_base}/hook?n={n}")
        await local_relays(runtime).create(other.account_id, f"{fast_base}/hook")
        await deliver_many(runtime, stranger, 30)  # 90 reports owed first
        ids = await deliver_many(runtime, other, 10)
        store = WebhookStore(runtime.engines)
        async with running_worker(store, config):
            try:
                async with asyncio.timeout(10):
                    await posts_reach(fast, len(ids))
                held = [
                    d
                    for d in await store.deliveries(stranger.account_id, limit=500)
                    if d.state is WebhookState.SENDING
                ]
                in_flight = slow.now
            finally:
                slow.release.set()

    assert posted_ids(fast) == sorted(ids)
    assert 0 < len(held) <= config.held_per_account
    assert len({d.url for d in held}) > 1  # its URLs share the account's room
    assert 0 < in_flight <= config.per_account
    assert slow.most <= config.per_account


async def test_a_fast_url_past_its_share_is_not_held_back(unguarded: Runtime) -> None:
    """
    Many reports to one fast URL, far past its share of the held: each waits its turn for
    a moment, none is handed back to wait out a pause; all arrive promptly, posted once.
    """
    runtime = unguarded
    seeded = await seed(runtime)
    fast = Counting()
    config = WebhookConfig(per_url=4, held_per_url=4, batch=20, held=60, idle_poll=0.05)
    async with serving(fast.app()) as base:
        await local_relays(runtime).create(seeded.account_id, f"{base}/hook")
        ids = await deliver_many(runtime, seeded, 40)
        store = WebhookStore(runtime.engines)
        async with running_worker(store, config):
            async with asyncio.timeout(config.crowded_pause.total_seconds() / 2):
                await posts_reach(fast, len(ids))

    assert posted_ids(fast) == sorted(ids)
