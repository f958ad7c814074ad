"""
Delivery-report URLs cannot aim the gateway at its own host or network: a name is resolved
once, every address it resolves to is checked, and the connection goes to a checked address;
the same rule refuses URLs at entry (RelayMessageDeliveryCreate, the panel's webhook field).

The resolvers here are fakes handed to the runtime (build_runtime's `resolver`): no test
asks real DNS, and a connection to any address but 127.0.0.1 is recorded, never made.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme

from quickotp.adapters.public_http import NAME_REFUSED
from quickotp.adapters.report_client import Opener, ReportClient
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.errors import WebhookUrlInvalid
from quickotp.domain.models import POST_NO_ANSWER, POST_REFUSED, Posted, WebhookState
from quickotp.services.webhooks import WebhookWorker
from quickotp.web.amoot_wire import report_body
from tests.conftest import PUBLIC_ADDRESS, NamesResolver, make_settings, seed
from tests.http_peer import serving
from tests.services.webhooks.test_webhooks import Quiet, Receiver, deliver_one, posting

pytestmark = pytest.mark.anyio


class LoopbackOnly(Opener):
    """Connects to 127.0.0.1 only; records every address asked for (tests never go out)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(
        self, protocol: Callable[[], asyncio.Protocol], address: str, *args: Any, **kwargs: Any
    ) -> asyncio.BaseTransport:
        self.asked.append(address)
        if address != "127.0.0.1":
            raise ConnectionRefusedError(f"the test does not connect to {address}")
        return await super().__call__(protocol, address, *args, **kwargs)


async def _runtime(database_url: str, resolver: NamesResolver, **env: str) -> Runtime:
    built = build_runtime(make_settings(database_url, **env), dispatch=False, resolver=resolver)
    await upgrade(built.engines)
    await built.start()
    return built


@pytest.fixture
async def resolver() -> NamesResolver:
    return NamesResolver(
        {
            "mixed.example": [[PUBLIC_ADDRESS, "127.0.0.1"]],  # public first, loopback second
            "rebind.example": [[PUBLIC_ADDRESS], ["127.0.0.1"]],  # public, then loopback
            "inside.example": [["10.0.0.7"]],
            "mapped.example": [["::ffff:127.0.0.1"]],
            "public.example": [[PUBLIC_ADDRESS]],
        }
    )


@pytest.fixture
async def listener() -> AsyncIterator[Receiver]:
    """A local HTTP listener that keeps every request it gets."""
    async with Receiver().listening() as made:
        yield made


@pytest.fixture
async def guarded(database_url: str, resolver: NamesResolver) -> AsyncIterator[Runtime]:
    """A runtime that refuses private targets (the production default)."""
    built = await _runtime(database_url, resolver)
    yield built
    await built.aclose()


async def _store_relay(runtime: Runtime, account_id: int, url: str) -> None:
    """A relay URL stored as an older release (without today's checks) could have."""
    await WebhookStore(runtime.engines).add_relay(account_id, url, "whsec_t", datetime.now(UTC))


async def _post_owed(runtime: Runtime, resolver: NamesResolver, inner: LoopbackOnly) -> None:
    """One round of a webhook worker whose client is the runtime's kind, on `inner`."""
    async with posting(ReportClient(resolver, opener=inner)) as poster:
        worker = WebhookWorker(
            WebhookStore(runtime.engines),
            poster,
            lambda: datetime.now(UTC),
            render=report_body,
        )
        assert await worker.run_once() >= 1


async def test_a_name_with_any_loopback_address_gets_nothing(
    guarded: Runtime, resolver: NamesResolver, listener: Receiver
) -> None:
    """
    A name answering a public address first and 127.0.0.1 second is refused at entry, and
    when stored anyway, the worker posts nothing: the local listener receives nothing.
    """
    seeded = await seed(guarded)
    url = listener.url.replace("127.0.0.1", "mixed.example")
    with pytest.raises(WebhookUrlInvalid, match=NAME_REFUSED):
        await guarded.relays.create(seeded.account_id, url)
    await _store_relay(guarded, seeded.account_id, url)
    await deliver_one(guarded, seeded)
    inner = LoopbackOnly()

    await _post_owed(guarded, resolver, inner)

    assert listener.got == []
    assert inner.asked == []  # refused before any connection
    [refused] = await WebhookStore(guarded.engines).deliveries(seeded.account_id)
    assert (refused.state, refused.last_error) == (WebhookState.PENDING, POST_REFUSED)


async def test_the_connection_goes_to_the_address_that_was_checked(
    guarded: Runtime, resolver: NamesResolver, listener: Receiver
) -> None:
    """
    A name that answers a public address and then 127.0.0.1 (DNS rebinding) is looked up
    once per connection, and the connection is made to the address that lookup gave.
    """
    seeded = await seed(guarded)
    url = listener.url.replace("127.0.0.1", "rebind.example")
    await _store_relay(guarded, seeded.account_id, url)
    await deliver_one(guarded, seeded)
    inner = LoopbackOnly()
    resolver.asked.clear()

    await _post_owed(guarded, resolver, inner)

    assert resolver.asked == ["rebind.example"]
    assert inner.asked == [PUBLIC_ADDRESS]
    assert listener.got == []
    [failed] = await WebhookStore(guarded.engines).deliveries(seeded.account_id)
    assert failed.last_error == POST_NO_ANSWER


async def test_a_public_name_is_posted_with_its_own_host_header(
    database_url: str, resolver: NamesResolver, listener: Receiver
) -> None:
    """The URL keeps its name: the receiver sees it in Host, the connection went to its address."""
    resolver.names["local.example"] = [["127.0.0.1"]]
    runtime = await _runtime(database_url, resolver, QUICKOTP_WEBHOOK_PRIVATE_URLS="1")
    try:
        seeded = await seed(runtime)
        url = listener.url.replace("127.0.0.1", "local.example")
        await runtime.relays.create(seeded.account_id, url)
        await deliver_one(runtime, seeded)
        client = ReportClient(resolver, allow_private=True, opener=LoopbackOnly())
        async with posting(client) as poster:
            worker = WebhookWorker(
                WebhookStore(runtime.engines),
                poster,
                lambda: datetime.now(UTC),
                render=report_body,
            )
            assert await worker.run_once() == 1
    finally:
        await runtime.aclose()

    [(headers, _)] = listener.got
    assert headers["host"] == url.split("/")[2]


@pytest.mark.parametrize(
    "url",
    [
        "https://nowhere.example/dlr",  # does not resolve
        "https://inside.example/dlr",  # resolves to a private address
        "https://mapped.example/dlr",  # resolves to ::ffff:127.0.0.1
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[2002:7f00:1::1]/x",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/x",  # IPv4-compatible
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",  # Teredo
        "http://127.0.0.1:8000/x",
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://224.0.0.1/x",
        "http://0.0.0.0/x",
        "http://[::]/x",
        "http://[::1]/x",
        "http://[fe80::1]/x",
    ],
)
async def test_relay_urls_that_lead_inside_are_refused(guarded: Runtime, url: str) -> None:
    """Every form of a non-public target is refused when the URL is given."""
    seeded = await seed(guarded)

    with pytest.raises(WebhookUrlInvalid):
        await guarded.relays.create(seeded.account_id, url)


async def test_a_name_that_does_not_resolve_and_one_that_leads_inside_read_alike(
    guarded: Runtime,
) -> None:
    """The refusal of a name says the same whether it did not resolve or resolved inside."""
    seeded = await seed(guarded)
    reasons = []
    for url in ("https://nowhere.example/", "https://inside.example/"):
        with pytest.raises(WebhookUrlInvalid) as refused:
            await guarded.relays.create(seeded.account_id, url)
        reasons.append(str(refused.value))

    assert reasons[0] == reasons[1]
    assert "10.0.0.7" not in reasons[1]


async def test_a_public_name_is_accepted(guarded: Runtime) -> None:
    """A name whose every address is public is stored."""
    seeded = await seed(guarded)

    relay = await guarded.relays.create(seeded.account_id, "https://public.example/dlr")

    assert relay.url == "https://public.example/dlr"


async def test_private_targets_are_allowed_when_the_setting_says_so(
    database_url: str, resolver: NamesResolver
) -> None:
    """QUICKOTP_WEBHOOK_PRIVATE_URLS=1 (tests, dev) lets loopback and private URLs in."""
    runtime = await _runtime(database_url, resolver, QUICKOTP_WEBHOOK_PRIVATE_URLS="1")
    try:
        seeded = await seed(runtime)
        for url in ("http://127.0.0.1:9/x", "https://inside.example/"):
            assert (await runtime.relays.create(seeded.account_id, url)).url == url
        with pytest.raises(WebhookUrlInvalid):  # a name must still resolve
            await runtime.relays.create(seeded.account_id, "https://nowhere.example/")
    finally:
        await runtime.aclose()


@pytest.fixture
def test_ca() -> trustme.CA:
    return trustme.CA()


async def _post_over_tls(
    tmp_path: Path, ca: trustme.CA, *, certified: str, named: str
) -> tuple[Receiver, Posted]:
    """
    POST one report to https://`named`:port/hook, which resolves to 127.0.0.1, where a TLS
    listener shows a certificate for `certified`; the listener, and what was recorded.
    """
    pem = tmp_path / "server.pem"
    ca.issue_cert(certified).private_key_and_cert_chain_pem.write_to_path(str(pem))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    resolver = NamesResolver({named: [["127.0.0.1"]]})
    got = Receiver()
    async with (
        serving(got.app(), ssl_certfile=str(pem)) as base,
        posting(ReportClient(resolver, allow_private=True, ssl_context=trusted)) as poster,
    ):
        url = base.replace("http://127.0.0.1", f"https://{named}") + "/hook"
        posted = await poster.post(url, b"{}", {}, wait=10)
    return got, posted


async def test_tls_is_checked_by_the_urls_name(tmp_path: Path, test_ca: trustme.CA) -> None:
    """
    Connected to the checked address, the TLS server name and the certificate check are
    the URL's host name (SNI), and so is the Host header.
    """
    got, posted = await _post_over_tls(
        tmp_path, test_ca, certified="relay.example", named="relay.example"
    )

    assert posted.status == 200
    [(headers, _)] = got.got
    assert headers["host"].startswith("relay.example:")


async def test_a_certificate_for_another_name_is_refused(
    tmp_path: Path, test_ca: trustme.CA
) -> None:
    """The same address with a certificate that does not name the URL's host gets nothing."""
    got, posted = await _post_over_tls(
        tmp_path, test_ca, certified="other.example", named="relay.example"
    )

    assert (posted.status, posted.failure) == (None, POST_NO_ANSWER)
    assert "certificate" in posted.detail
    assert got.got == []


async def test_the_runtimes_own_worker_posts_nothing_inside(
    database_url: str, resolver: NamesResolver, listener: Receiver
) -> None:
    """
    The webhook worker the composition root builds, on the resolver handed to it, refuses a
    stored URL whose name has a loopback address among its answers: nothing is received.
    """
    runtime = build_runtime(make_settings(database_url), transport=Quiet(), resolver=resolver)
    await upgrade(runtime.engines)
    await runtime.start()
    try:
        seeded = await seed(runtime)
        await _store_relay(
            runtime, seeded.account_id, listener.url.replace("127.0.0.1", "mixed.example")
        )
        await deliver_one(runtime, seeded)
        store = WebhookStore(runtime.engines)
        async with asyncio.timeout(10):
            while (tried := await store.deliveries(seeded.account_id))[0].last_error is None:
                await asyncio.sleep(0.05)
    finally:
        await runtime.aclose()

    assert listener.got == []
    assert (tried[0].state, tried[0].last_error) == (WebhookState.PENDING, POST_REFUSED)
