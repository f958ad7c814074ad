"""AmootTransport against a fake Amoot on 127.0.0.1: the request it makes, each kind of answer."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from quickotp.adapters.transports.http import report_polling
from quickotp.adapters.transports.http.amoot import AmootConfig
from quickotp.domain.delivery import SendReceipt
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)
from tests.clock import WallClock

from .conftest import Reports, Rounds, Upstream, otp_sms
from .providers import AMOOT, TOKEN, amoot, deliveries, sent_as

pytestmark = pytest.mark.anyio


async def test_quick_otp_forwards_our_code_with_the_token_header(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """SendQuickOTP carries the number, our code as OptionalCode and the raw token header."""
    upstream.body = {
        "Status": "Success",
        "Data": {"Mobile": 9120000000, "MessageID": 555, "Code": "048213", "Status": "Success"},
    }

    receipt = await amoot(client, upstream.url).send(otp_sms("048213"))

    [(path, form, headers)] = upstream.requests
    assert receipt == SendReceipt("amoot-main", "555")
    assert path == "/rest/SendQuickOTP"
    assert form == {"Mobile": "09120000000", "CodeLength": "6", "OptionalCode": "048213"}
    assert headers["authorization"] == TOKEN


async def test_send_with_pattern_takes_the_array_answer(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """method=pattern uses SendWithPattern with the code as the pattern's one value."""
    upstream.body = {
        "Status": "Success",
        "Data": [{"Mobile": 9120000000, "MessageID": 777, "Status": "Success"}],
    }

    receipt = await amoot(client, upstream.url, "&method=pattern&pattern=42").send(otp_sms())

    [(path, form, _)] = upstream.requests
    assert (path, form["PatternCodeID"], form["PatternValues"]) == (
        "/rest/SendWithPattern",
        "42",
        "048213",
    )
    assert receipt.provider_message_id == "777"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("Mobile_Invalid", TransportRejected),
        ("Length_Invalid", TransportRejected),
        ("Token_Invalid", TransportUnavailable),
        ("CreditNotEnough", TransportUnavailable),
        ("Failed", TransportUnavailable),
        ("ServerError", DeliveryUncertain),
        ("Something_New", DeliveryUncertain),
    ],
)
async def test_status_names_map_onto_our_errors(
    upstream: Upstream, client: httpx.AsyncClient, status: str, error: type[Exception]
) -> None:
    """A failure Status becomes rejected (this message), unavailable (the route) or uncertain."""
    upstream.body = {"Status": status, "Data": None}

    with pytest.raises(error) as raised:
        await amoot(client, upstream.url).send(otp_sms())

    assert type(raised.value) is error


async def test_an_item_status_counts_too(upstream: Upstream, client: httpx.AsyncClient) -> None:
    """A Success envelope whose one item failed is that item's failure."""
    upstream.body = {"Status": "Success", "Data": [{"MessageID": 0, "Status": "Mobile_Invalid"}]}

    with pytest.raises(TransportRejected):
        await amoot(client, upstream.url).send(otp_sms())


@pytest.mark.parametrize(
    ("status_code", "error"),
    [(503, TransportUnavailable), (429, TransportUnavailable), (500, DeliveryUncertain)],
)
async def test_http_failures(
    upstream: Upstream, client: httpx.AsyncClient, status_code: int, error: type[Exception]
) -> None:
    """503 and 429 say nothing was taken; a 500 may have come after the SMS went out."""
    upstream.status_code = status_code
    upstream.body = b"oops"

    with pytest.raises(error) as raised:
        await amoot(client, upstream.url).send(otp_sms())

    assert type(raised.value) is error


async def test_a_body_that_is_not_amoots_is_uncertain(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """An HTTP 200 we cannot read may still have sent the SMS."""
    upstream.body = b"<html>maintenance</html>"

    with pytest.raises(DeliveryUncertain):
        await amoot(client, upstream.url).send(otp_sms())


async def test_a_message_without_a_code_is_refused_before_sending(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """Amoot renders its own pattern: without our code there is nothing to send."""
    with pytest.raises(TransportRejected):
        await amoot(client, upstream.url).send(otp_sms(None))

    assert upstream.requests == []


async def test_the_token_never_reaches_the_log(
    upstream: Upstream, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither a success nor a failure logs the token."""
    caplog.set_level(logging.DEBUG)
    upstream.body = {"Status": "Success", "Data": {"Status": "Success"}}
    transport = amoot(client, upstream.url)
    await transport.send(otp_sms())
    upstream.body = {"Status": "Token_Invalid"}

    with pytest.raises(TransportUnavailable) as raised:
        await transport.send(otp_sms())

    assert TOKEN not in caplog.text
    assert TOKEN not in str(raised.value)


def test_the_url_is_shown_without_its_token() -> None:
    """The shown form of a route URL blanks the token."""
    _, shown = AmootConfig.from_url(f"amoot://{TOKEN}@portal.amootsms.com")

    assert shown == "amoot://***@portal.amootsms.com"


@pytest.mark.parametrize(
    "url",
    [
        "amoot://portal.amootsms.com",
        "amoot://t@h?method=pattern",
        "amoot://t@h?timeout=0",
        "amoot://t@h?colour=blue",
        "amoot://t:p@h",
        "amoot://t@h?reports=soon",
        "amoot://t@h?reports=0.5",
        "amoot://t@h?reports=7200",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    """A URL without a token, with a bad option or an unknown key is a configuration error."""
    with pytest.raises(ConfigurationError):
        AmootConfig.from_url(url)


async def test_waiting_ids_are_bounded(upstream: Upstream, client: httpx.AsyncClient) -> None:
    """Past max_waiting the oldest id is dropped; past FORGET_AFTER an id is not asked for."""
    clock, rounds = WallClock(), Rounds()
    transport = amoot(client, upstream.url, "&reports=1", clock=clock, rounds=rounds, max_waiting=2)
    await transport.start(Reports())
    for message_id in (1, 2, 3):
        upstream.by_path["/rest/SendQuickOTP"] = sent_as(message_id)
        await transport.send(otp_sms())
    upstream.by_path["/rest/GetDeliveries"] = deliveries()  # nothing final yet
    await rounds.run()
    clock.advance(report_polling.FORGET_AFTER)
    await rounds.run()  # its ids are a day old, to the second: asked for once more
    clock.advance(timedelta(seconds=1))
    await rounds.run()
    await transport.aclose()

    assert [ids for ids, _ in AMOOT.asked(upstream)] == ["2,3", "2,3"]


async def test_delivery_types_that_are_not_numbers_are_not_final(
    upstream: Upstream, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """true (== 1 in Python), 1.0, a list or a string: asked for again, no report, no error."""
    transport, reports, rounds = await AMOOT.sent_reporting(upstream, client, 61)
    odd = [{"MessageID": 61, "DeliveryType": t} for t in (True, 1.0, [1], "1")]
    upstream.by_path["/rest/GetDeliveries"] = {"Status": "Success", "Data": odd}
    with caplog.at_level(logging.WARNING):
        await rounds.run(2)
    await transport.aclose()

    assert reports.got == []
    assert len(AMOOT.asked(upstream)) == 2  # still waiting: asked again
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
