"""KavenegarTransport against a fake verify/lookup on 127.0.0.1, shaped as Kavenegar documents."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from quickotp.adapters.transports.http.kavenegar import KavenegarConfig, KavenegarTransport
from quickotp.domain.delivery import DeliveryState, SendReceipt
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)
from tests.clock import WallClock
from tests.http_peer import free_port

from .conftest import Reports, Rounds, Upstream, otp_sms

pytestmark = pytest.mark.anyio

API_KEY = "4B6F6E672D4B65792D30313233"


LOOKUP = f"/v1/{API_KEY}/verify/lookup.json"
STATUS = f"/v1/{API_KEY}/sms/status.json"


def kavenegar(
    client: httpx.AsyncClient,
    base: str,
    query: str = "",
    *,
    clock: WallClock | None = None,
    rounds: Rounds | None = None,
) -> KavenegarTransport:
    """A transport to the fake at `base`; report rounds run when `rounds` says."""
    host = urlsplit(base).netloc
    config, _ = KavenegarConfig.from_url(
        f"kavenegar://{API_KEY}@{host}?scheme=http&timeout=0.5&template=login{query}"
    )
    return KavenegarTransport(
        client, config, clock=clock or WallClock(), name="kave", sleep=(rounds or Rounds()).sleep
    )


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


async def test_no_answer_in_time_is_uncertain(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """A lookup that got no answer may have sent the SMS."""
    upstream.silent = True
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


def statuses(*entries: tuple[Any, Any]) -> dict[str, Any]:
    """An sms/status.json answer: each (messageid, status)."""
    return answer(200, [{"messageid": m, "status": s, "statustext": "..."} for m, s in entries])


async def sent_reporting(
    upstream: Upstream, client: httpx.AsyncClient, message_id: int
) -> tuple[KavenegarTransport, Reports, Rounds]:
    """
    A transport asking for reports every second, with one message sent as `message_id`;
    its rounds run when the Rounds returned says.
    """
    rounds = Rounds()
    transport = kavenegar(client, upstream.url, "&reports=1", rounds=rounds)
    reports = Reports()
    await transport.start(reports)
    upstream.by_path[LOOKUP] = answer(200, [{"messageid": message_id, "status": 5}])
    await transport.send(otp_sms())
    return transport, reports, rounds


async def test_a_code_that_expired_by_the_transports_clock_is_not_sent(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """Validity is read from the clock the transport was given: past it, nothing goes out."""
    clock = WallClock()
    transport = kavenegar(client, upstream.url, clock=clock)
    code = otp_sms(valid_for=120)
    clock.advance(timedelta(seconds=121))

    with pytest.raises(TransportRejected, match="expired"):
        await transport.send(code)

    assert upstream.requests == []


def asked(upstream: Upstream) -> list[str]:
    """The messageid field of each sms/status.json the fake was sent."""
    return [form["messageid"] for path, form, _ in upstream.requests if path == STATUS]


async def test_delivery_reports_are_asked_for_until_final(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    """sms/status.json with the ids still waiting; an intermediate status is asked again."""
    transport, reports, rounds = await sent_reporting(upstream, client, 8792343)
    upstream.by_path[STATUS] = statuses((8792343, 4))  # sent to the operator: on its way
    await rounds.run()
    assert reports.got == []

    upstream.by_path[STATUS] = statuses((8792343, 10))  # delivered
    await rounds.run()
    assert len(reports.got) == 1
    await rounds.run()  # one more round: nothing is left to ask for
    await transport.aclose()

    [report] = reports.got
    assert (report.transport, report.provider_message_id, report.state) == (
        "kave",
        "8792343",
        DeliveryState.DELIVERED,
    )
    assert asked(upstream) == ["8792343", "8792343"]
    assert rounds.delays == [1.0] * 4  # `reports=1`: a second before each round


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (10, DeliveryState.DELIVERED),
        (6, DeliveryState.UNDELIVERED),
        (11, DeliveryState.UNDELIVERED),
        (13, DeliveryState.UNDELIVERED),
        (14, DeliveryState.REJECTED),
    ],
)
async def test_final_statuses_map_onto_report_states(
    upstream: Upstream, client: httpx.AsyncClient, status: int, state: DeliveryState
) -> None:
    transport, reports, rounds = await sent_reporting(upstream, client, 41)
    upstream.by_path[STATUS] = statuses((41, status))

    await rounds.run()
    await transport.aclose()

    assert [r.state for r in reports.got] == [state]


async def test_an_id_kavenegar_does_not_know_is_dropped_with_a_warning(
    upstream: Upstream, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    transport, reports, rounds = await sent_reporting(upstream, client, 99)
    upstream.by_path[STATUS] = statuses((99, 100))
    with caplog.at_level(logging.WARNING):
        await rounds.run(2)
    await transport.aclose()

    assert reports.got == []
    assert asked(upstream) == ["99"]  # once: not asked again
    assert "does not know message 99" in caplog.text


async def test_a_failed_round_is_asked_again(upstream: Upstream, client: httpx.AsyncClient) -> None:
    """Kavenegar busy, garbage, or entries that are not entries: the ids wait for a next round."""
    transport, reports, rounds = await sent_reporting(upstream, client, 77)
    for broken in (
        answer(409),
        b"<html>busy</html>",
        answer(200, "not a list"),
        statuses((77, True), (77, "10"), ([77], 10)),
    ):
        upstream.by_path[STATUS] = broken
        await rounds.run()
    assert reports.got == []

    upstream.by_path[STATUS] = statuses((77, 11))
    await rounds.run()
    await transport.aclose()

    assert [(r.provider_message_id, r.state) for r in reports.got] == [
        ("77", DeliveryState.UNDELIVERED)
    ]
    assert len(asked(upstream)) == 5
    assert all(ids == "77" for ids in asked(upstream))


async def test_reports_off_asks_for_nothing(upstream: Upstream, client: httpx.AsyncClient) -> None:
    """reports=0: no polling at all, so not one round is ever waited for."""
    rounds = Rounds()
    transport = kavenegar(client, upstream.url, "&reports=0", rounds=rounds)
    await transport.start(Reports())
    upstream.by_path[LOOKUP] = answer(200, [{"messageid": 88, "status": 5}])
    await transport.send(otp_sms())
    await transport.aclose()

    assert rounds.delays == []
    assert asked(upstream) == []


async def test_the_key_in_a_status_request_never_reaches_the_log(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    from quickotp.adapters.transports.http.upstream import new_client

    caplog.set_level(logging.DEBUG)
    http = new_client()
    try:
        transport, reports, rounds = await sent_reporting(upstream, http, 5)
        upstream.by_path[STATUS] = statuses((5, 10))
        await rounds.run()
        await transport.aclose()
    finally:
        await http.aclose()

    assert asked(upstream) == ["5"]
    assert len(reports.got) == 1
    assert API_KEY not in caplog.text
