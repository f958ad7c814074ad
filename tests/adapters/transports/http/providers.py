"""
The HTTP providers these tests drive, Amoot and Kavenegar: how to make each one's transport
against a fake, and the answers its fake gives, so that what holds for both is tested once
(test_polled_reports.py) and each file keeps what is its provider's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from quickotp.adapters.transports.http import report_polling
from quickotp.adapters.transports.http.amoot import AmootConfig, AmootTransport
from quickotp.adapters.transports.http.kavenegar import KavenegarConfig, KavenegarTransport
from tests.clock import WallClock

from .conftest import Reports, Rounds, Upstream, otp_sms

TOKEN = "amoot-token-0123456789"
API_KEY = "4B6F6E672D4B65792D30313233"
LOOKUP = f"/v1/{API_KEY}/verify/lookup.json"
STATUS = f"/v1/{API_KEY}/sms/status.json"


def amoot(
    client: httpx.AsyncClient,
    base: str,
    query: str = "",
    *,
    clock: WallClock | None = None,
    rounds: Rounds | None = None,
    max_waiting: int = report_polling.MAX_WAITING,
) -> AmootTransport:
    """An Amoot transport to the fake at `base`; report rounds run when `rounds` says."""
    host = urlsplit(base).netloc
    config, _ = AmootConfig.from_url(f"amoot://{TOKEN}@{host}?scheme=http&timeout=0.5{query}")
    return AmootTransport(
        client,
        config,
        clock=clock or WallClock(),
        name="amoot-main",
        sleep=(rounds or Rounds()).sleep,
        max_waiting=max_waiting,
    )


def kavenegar(
    client: httpx.AsyncClient,
    base: str,
    query: str = "",
    *,
    clock: WallClock | None = None,
    rounds: Rounds | None = None,
) -> KavenegarTransport:
    """A Kavenegar transport to the fake at `base`; report rounds run when `rounds` says."""
    host = urlsplit(base).netloc
    config, _ = KavenegarConfig.from_url(
        f"kavenegar://{API_KEY}@{host}?scheme=http&timeout=0.5&template=login{query}"
    )
    return KavenegarTransport(
        client, config, clock=clock or WallClock(), name="kave", sleep=(rounds or Rounds()).sleep
    )


# Amoot's answers ---------------------------------------------------------------------------


def sent_as(message_id: int) -> dict[str, Any]:
    """SendQuickOTP's answer: one message sent, as `message_id`."""
    data = {"Mobile": 9120000000, "MessageID": message_id, "Status": "Success"}
    return {"Status": "Success", "Data": data}


def deliveries(*items: tuple[int, int]) -> dict[str, Any]:
    """GetDeliveries' answer: each (MessageID, DeliveryType)."""
    data = [{"MessageID": m, "DeliveryType": t, "Cost": 1000} for m, t in items]
    return {"Status": "Success", "Data": data}


def amoot_asked(upstream: Upstream) -> list[tuple[str, str]]:
    """(ListMessageID, Authorization) of each GetDeliveries the fake was sent."""
    return [
        (form["ListMessageID"], headers["authorization"])
        for path, form, headers in upstream.requests
        if path == "/rest/GetDeliveries"
    ]


# Kavenegar's answers -----------------------------------------------------------------------


def answer(status: int, entries: Any = None) -> dict[str, Any]:
    """A Kavenegar answer: its return status, and its entries."""
    return {"return": {"status": status, "message": "..."}, "entries": entries}


def looked_up(message_id: int) -> dict[str, Any]:
    """verify/lookup's answer: one message queued, as `message_id`."""
    return answer(200, [{"messageid": message_id, "status": 5}])


def statuses(*entries: tuple[Any, Any]) -> dict[str, Any]:
    """An sms/status.json answer: each (messageid, status)."""
    return answer(200, [{"messageid": m, "status": s, "statustext": "..."} for m, s in entries])


def kavenegar_asked(upstream: Upstream) -> list[str]:
    """The messageid field of each sms/status.json the fake was sent."""
    return [form["messageid"] for path, form, _ in upstream.requests if path == STATUS]


# both --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """One provider as the shared tests see it: its transport and its fake's answers."""

    name: str
    route: str  # the route name its transport reports under
    make: Callable[..., AmootTransport | KavenegarTransport]  # as `amoot` and `kavenegar`
    send_path: str
    sent_as: Callable[[int], dict[str, Any]]  # the send's answer naming the provider's id
    status_path: str
    reports: Callable[..., dict[str, Any]]  # the report answer: each (id, provider's state)
    asked: Callable[[Upstream], list[Any]]  # what each report request asked about
    asking: Callable[[str], Any]  # what `asked` holds for a request about one id

    async def sent_reporting(
        self, upstream: Upstream, client: httpx.AsyncClient, message_id: int
    ) -> tuple[AmootTransport | KavenegarTransport, Reports, Rounds]:
        """
        A transport asking for reports every second, with one message sent as `message_id`;
        its rounds run when the Rounds returned says.
        """
        rounds = Rounds()
        transport = self.make(client, upstream.url, "&reports=1", rounds=rounds)
        reports = Reports()
        await transport.start(reports)
        upstream.by_path[self.send_path] = self.sent_as(message_id)
        await transport.send(otp_sms())
        return transport, reports, rounds


AMOOT = Provider(
    "amoot",
    "amoot-main",
    amoot,
    "/rest/SendQuickOTP",
    sent_as,
    "/rest/GetDeliveries",
    deliveries,
    amoot_asked,
    lambda message_id: (message_id, TOKEN),
)
KAVENEGAR = Provider(
    "kavenegar",
    "kave",
    kavenegar,
    LOOKUP,
    looked_up,
    STATUS,
    statuses,
    kavenegar_asked,
    lambda message_id: message_id,
)
PROVIDERS = [AMOOT, KAVENEGAR]
