"""
The gateway's /metrics after one send, as Prometheus would scrape it: the real app and its
dispatcher in process, an SMPP route to a simulator SMSC on 127.0.0.1 that answers with a
delivery receipt, and a relay URL where nothing listens (so one webhook is owed).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.transports.routed import check_url
from quickotp.bootstrap import Runtime, build_app, build_runtime
from quickotp.domain.routing import checked_route
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.conftest import make_settings, seed
from tests.http_peer import free_port
from tests.waits import until


@dataclass(frozen=True)
class Scrape:
    """One /metrics answer: its text, each family's type, each sample's value."""

    text: str
    types: dict[str, str]  # family name (a counter's without _total) -> type
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    route: str  # the SMPP route the send went through
    account_id: int
    credit: int  # the account's credit after the send

    def value(self, metric: str, **labels: str) -> float | None:
        return self.samples.get((metric, frozenset(labels.items())))

    def names(self) -> set[str]:
        """Every sample name these families can have, whether or not one has a sample yet."""
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created"),
            "gauge": ("",),
            "info": ("_info",),
        }
        possible = {f"{name}{end}" for name, kind in self.types.items() for end in suffixes[kind]}
        return possible | {name for name, _ in self.samples}


def parse(text: str) -> tuple[dict[str, str], dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    types, samples = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return types, samples


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    async with Simulator(free_port()) as simulator:
        yield simulator


METRICS_TOKEN = "scrape-token-0123456789"  # /metrics on the API's port asks for it


@pytest.fixture
async def scrape(tmp_path: Path, smsc: Simulator) -> AsyncIterator[Scrape]:
    """/metrics after one OTP went out over SMPP and came back delivered."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'quickotp.db'}",
        QUICKOTP_WEBHOOK_PRIVATE_URLS="1",
        QUICKOTP_METRICS_TOKEN=METRICS_TOKEN,  # /metrics on the API's port, for this scrape
        QUICKOTP_METRICS_ADDRESS="",
    )
    runtime: Runtime = build_runtime(settings, dispatch=True)
    await upgrade(runtime.engines)
    seeded = await seed(runtime)
    name = f"smsc-{uuid.uuid4().hex[:8]}"  # the counters are the process's: a route of its own
    url = f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?timeout=5"
    kind, shown = check_url(url)
    await runtime.route_book.add(
        checked_route(name=name, kind=kind, url=url, shown=shown), runtime.admin.clock()
    )
    transport = httpx.ASGITransport(app=build_app(runtime), client=("127.0.0.1", 40000))
    headers = {"Authorization": seeded.token}
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        await runtime.start()  # the app's lifespan, as uvicorn would run it
        try:
            relay = await http.post(
                "/rest/RelayMessageDeliveryCreate",
                data={"URLAddress": f"http://127.0.0.1:{free_port()}/dlr"},
                headers=headers,
            )
            assert relay.json()["Status"] == "Success"
            sent = await http.post(
                "/rest/SendQuickOTP",
                data={"Mobile": "09120000000", "CodeLength": "6"},
                headers=headers,
            )
            assert sent.json()["Status"] == "Success"
            message_id = str(sent.json()["Data"]["MessageID"])

            async def delivered() -> bool:
                answer = await http.post(
                    "/rest/GetDelivery", data={"MessageID": message_id}, headers=headers
                )
                return bool(answer.json()["Data"]["DeliveryType"] == 1)

            await until(delivered)
            # The background readings, now rather than on their own schedules.
            assert runtime.admission is not None
            assert runtime.credit_watch is not None
            assert runtime.webhooks is not None
            await runtime.admission.refresh()
            await runtime.credit_watch.refresh()
            await runtime.webhooks.read_backlog()
            scraped = await http.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            assert scraped.status_code == 200
            text = scraped.text
            credit = (await runtime.store.get_account(seeded.account_id)).credit
            yield Scrape(text, *parse(text), name, seeded.account_id, credit)
        finally:
            await runtime.aclose()
