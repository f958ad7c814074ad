"""KavenegarTransport against a fake verify/lookup on 127.0.0.1, shaped as Kavenegar documents."""

from __future__ import annotations

import logging

import httpx
import pytest

from quickotp.adapters.transports.http.kavenegar import KavenegarConfig
from quickotp.domain.delivery import SendReceipt
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)

from .conftest import Upstream, otp_sms
from .providers import API_KEY, KAVENEGAR, LOOKUP, STATUS, answer, kavenegar, statuses

pytestmark = pytest.mark.anyio


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
    assert path == LOOKUP
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
    from quickotp.adapters.transports.http.upstream import new_client

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


@pytest.mark.parametrize(
    "query", ["&reports=soon", "&reports=0.5", "&reports=7200", "&reports=1&reports=2"]
)
def test_bad_report_intervals_are_refused(query: str) -> None:
    with pytest.raises(ConfigurationError, match="reports"):
        KavenegarConfig.from_url(f"kavenegar://{API_KEY}@api.kavenegar.com?template=t{query}")


async def test_an_id_kavenegar_does_not_know_is_dropped_with_a_warning(
    upstream: Upstream, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    transport, reports, rounds = await KAVENEGAR.sent_reporting(upstream, client, 99)
    upstream.by_path[STATUS] = statuses((99, 100))
    with caplog.at_level(logging.WARNING):
        await rounds.run(2)
    await transport.aclose()

    assert reports.got == []
    assert KAVENEGAR.asked(upstream) == ["99"]  # once: not asked again
    assert "does not know message 99" in caplog.text


async def test_the_key_in_a_status_request_never_reaches_the_log(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    from quickotp.adapters.transports.http.upstream import new_client

    caplog.set_level(logging.DEBUG)
    http = new_client()
    try:
        transport, reports, rounds = await KAVENEGAR.sent_reporting(upstream, http, 5)
        upstream.by_path[STATUS] = statuses((5, 10))
        await rounds.run()
        await transport.aclose()
    finally:
        await http.aclose()

    assert KAVENEGAR.asked(upstream) == ["5"]
    assert len(reports.got) == 1
    assert API_KEY not in caplog.text
