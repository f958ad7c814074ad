"""KavenegarTransport against a fake verify/lookup on 127.0.0.1, shaped as Kavenegar documents."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from quickotp.errors import (
    ConfigurationError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.ports import SendReceipt
from quickotp.transports.kavenegar import KavenegarConfig, KavenegarTransport
from tests.http_peer import free_port

from .conftest import Upstream, otp_sms

pytestmark = pytest.mark.anyio

API_KEY = "4B6F6E672D4B65792D30313233"


def kavenegar(client: httpx.AsyncClient, base: str) -> KavenegarTransport:
    host = urlsplit(base).netloc
    config, _ = KavenegarConfig.from_url(
        f"kavenegar://{API_KEY}@{host}?scheme=http&timeout=0.5&template=login"
    )
    return KavenegarTransport(client, config, name="kave")


def answer(status: int, entries: Any = None) -> dict[str, Any]:
    return {"return": {"status": status, "message": "..."}, "entries": entries}


async def test_lookup_sends_receptor_template_and_code(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """The key is in the path; receptor, template and token (our code) in the form."""
    upstream.body = answer(
        200,
        [
            {
                "messageid": 8792343,
                "message": "...",
                "status": 5,
                "statustext": "ارسال به مخابرات",
                "sender": "10004346",
                "receptor": "09120000000",
                "date": 1356619709,
                "cost": 120,
            }
        ],
    )

    receipt = await kavenegar(client, upstream.url).send(otp_sms("048213"))

    [(path, form, _)] = upstream.requests
    assert path == f"/v1/{API_KEY}/verify/lookup.json"
    assert form == {"receptor": "09120000000", "template": "login", "token": "048213"}
    assert receipt == SendReceipt("kave", "8792343")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (411, TransportRejected),  # receptor invalid
        (431, TransportRejected),  # code malformed
        (403, TransportUnavailable),  # API key invalid
        (418, TransportUnavailable),  # credit
        (424, TransportUnavailable),  # template not found
        (409, TransportUnavailable),  # server busy
        (599, DeliveryUncertain),  # a code nobody documented
    ],
)
async def test_return_status_maps_onto_our_errors(
    upstream: Upstream, client: httpx.AsyncClient, status: int, error: type[Exception]
) -> None:
    """Kavenegar answers its status as the HTTP status too; the JSON's return.status decides."""
    upstream.status_code = status if status < 599 else 200
    upstream.body = answer(status)

    with pytest.raises(error) as raised:
        await kavenegar(client, upstream.url).send(otp_sms())

    assert type(raised.value) is error


async def test_no_answer_in_time_is_uncertain(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """A lookup that got no answer may have sent the SMS."""
    upstream.delay = 2.0
    upstream.body = answer(200, [{"messageid": 1}])

    with pytest.raises(DeliveryUncertain):
        await kavenegar(client, upstream.url).send(otp_sms())


async def test_nothing_listening_is_unavailable(client: httpx.AsyncClient) -> None:
    """A refused connection is unavailable, not uncertain."""
    with pytest.raises(TransportUnavailable) as raised:
        await kavenegar(client, f"http://127.0.0.1:{free_port()}").send(otp_sms())

    assert not isinstance(raised.value, DeliveryUncertain)


async def test_a_bare_gateway_error_is_uncertain(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """A 502 without Kavenegar's JSON came from something in between: it may have been sent."""
    upstream.status_code = 502
    upstream.body = b"Bad Gateway"

    with pytest.raises(DeliveryUncertain):
        await kavenegar(client, upstream.url).send(otp_sms())


async def test_the_key_in_the_url_never_reaches_the_log(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs request URLs, and this URL holds the key: the route's own client is quiet."""
    from quickotp.transports.http_upstream import new_client

    caplog.set_level(logging.DEBUG)
    upstream.body = answer(200, [{"messageid": 1}])
    http = new_client()
    try:
        await kavenegar(http, upstream.url).send(otp_sms())
    finally:
        await http.aclose()

    assert API_KEY not in caplog.text


def test_a_route_needs_a_template() -> None:
    """verify/lookup sends a template: a URL without one is refused."""
    with pytest.raises(ConfigurationError):
        KavenegarConfig.from_url(f"kavenegar://{API_KEY}@api.kavenegar.com")
