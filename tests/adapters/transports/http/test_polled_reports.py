"""What Amoot's and Kavenegar's transports do alike: refusals before sending, no answer, and
delivery reports asked for in rounds until final."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from quickotp.domain.delivery import DeliveryState
from quickotp.domain.errors import DeliveryUncertain, TransportRejected, TransportUnavailable
from tests.clock import WallClock
from tests.http_peer import free_port

from .conftest import Reports, Rounds, Upstream, otp_sms
from .providers import AMOOT, KAVENEGAR, PROVIDERS, Provider, answer, statuses

pytestmark = pytest.mark.anyio

each_provider = pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)


@each_provider
async def test_a_code_that_expired_by_the_transports_clock_is_not_sent(
    upstream: Upstream, client: httpx.AsyncClient, provider: Provider
) -> None:
    """Validity is read from the clock the transport was given: past it, nothing goes out."""
    clock = WallClock()
    transport = provider.make(client, upstream.url, clock=clock)
    code = otp_sms(valid_for=120)
    clock.advance(timedelta(seconds=121))

    with pytest.raises(TransportRejected, match="expired"):
        await transport.send(code)

    assert upstream.requests == []


@each_provider
async def test_nothing_listening_is_unavailable(
    client: httpx.AsyncClient, provider: Provider
) -> None:
    """A refused connection means nothing was sent: unavailable, so another route may try."""
    transport = provider.make(client, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(TransportUnavailable) as raised:
        await transport.send(otp_sms())

    assert not isinstance(raised.value, DeliveryUncertain)


@each_provider
async def test_no_answer_in_time_is_uncertain(
    upstream: Upstream, client: httpx.AsyncClient, provider: Provider
) -> None:
    """The request went out and nothing came back before the timeout: it may have been sent."""
    upstream.silent = True
    upstream.body = provider.sent_as(1)

    with pytest.raises(DeliveryUncertain):
        await provider.make(client, upstream.url).send(otp_sms())

    assert len(upstream.requests) == 1


@each_provider
async def test_reports_off_asks_for_nothing(
    upstream: Upstream, client: httpx.AsyncClient, provider: Provider
) -> None:
    """reports=0: no polling at all, so not one round is ever waited for."""
    rounds = Rounds()
    transport = provider.make(client, upstream.url, "&reports=0", rounds=rounds)
    await transport.start(Reports())
    upstream.by_path[provider.send_path] = provider.sent_as(88)
    await transport.send(otp_sms())
    await transport.aclose()

    assert rounds.delays == []
    assert provider.asked(upstream) == []


@pytest.mark.parametrize(
    ("provider", "message_id", "on_its_way", "delivered"),
    [
        (AMOOT, 555, 0, 1),  # DeliveryType 0 SendToTci, 1 RecievedPhone
        (KAVENEGAR, 8792343, 4, 10),  # status 4 sent to the operator, 10 delivered
    ],
    ids=["amoot", "kavenegar"],
)
async def test_delivery_reports_are_asked_for_until_final(
    upstream: Upstream,
    client: httpx.AsyncClient,
    provider: Provider,
    message_id: int,
    on_its_way: int,
    delivered: int,
) -> None:
    """The report request names the ids still waiting; one on its way is asked for again."""
    transport, reports, rounds = await provider.sent_reporting(upstream, client, message_id)
    upstream.by_path[provider.status_path] = provider.reports((message_id, on_its_way))
    await rounds.run()
    assert reports.got == []

    upstream.by_path[provider.status_path] = provider.reports((message_id, delivered))
    await rounds.run()
    assert len(reports.got) == 1
    await rounds.run()  # one more round: nothing is left to ask for
    await transport.aclose()

    [report] = reports.got
    assert (report.transport, report.provider_message_id, report.state) == (
        provider.route,
        str(message_id),
        DeliveryState.DELIVERED,
    )
    assert provider.asked(upstream) == [provider.asking(str(message_id))] * 2
    assert rounds.delays == [1.0] * 4  # `reports=1`: a second before each round


AMOOT_FINAL = {  # DeliveryType
    DeliveryState.DELIVERED: (1,),
    DeliveryState.UNDELIVERED: (2, 3, 16),
    DeliveryState.REJECTED: (35, 300, 950),
}
KAVENEGAR_FINAL = {  # status
    DeliveryState.DELIVERED: (10,),
    DeliveryState.UNDELIVERED: (6, 11, 13),
    DeliveryState.REJECTED: (14,),
}


@pytest.mark.parametrize(
    ("provider", "provider_state", "state"),
    [
        (provider, provider_state, state)
        for provider, final in ((AMOOT, AMOOT_FINAL), (KAVENEGAR, KAVENEGAR_FINAL))
        for state, provider_states in final.items()
        for provider_state in provider_states
    ],
)
async def test_final_states_map_onto_report_states(
    upstream: Upstream,
    client: httpx.AsyncClient,
    provider: Provider,
    provider_state: int,
    state: DeliveryState,
) -> None:
    """Amoot's final DeliveryTypes and Kavenegar's final statuses, as report states."""
    transport, reports, rounds = await provider.sent_reporting(upstream, client, 41)
    upstream.by_path[provider.status_path] = provider.reports((41, provider_state))

    await rounds.run()
    await transport.aclose()

    assert [r.state for r in reports.got] == [state]


@pytest.mark.parametrize(
    ("provider", "broken", "undelivered"),
    [
        # Amoot down, or answering an error name or garbage
        (AMOOT, [{"Status": "ServerError", "Data": None}, b"<html>busy</html>"], 2),
        # Kavenegar busy, garbage, or entries that are not entries
        (
            KAVENEGAR,
            [
                answer(409),
                b"<html>busy</html>",
                answer(200, "not a list"),
                statuses((77, True), (77, "10"), ([77], 10)),
            ],
            11,
        ),
    ],
    ids=["amoot", "kavenegar"],
)
async def test_a_failed_round_is_asked_again(
    upstream: Upstream,
    client: httpx.AsyncClient,
    provider: Provider,
    broken: list[Any],
    undelivered: int,
) -> None:
    """A round that got no answer it could read: the ids wait for the next round."""
    transport, reports, rounds = await provider.sent_reporting(upstream, client, 77)
    for answered in broken:
        upstream.by_path[provider.status_path] = answered
        await rounds.run()
    assert reports.got == []

    upstream.by_path[provider.status_path] = provider.reports((77, undelivered))
    await rounds.run()
    await transport.aclose()

    assert [(r.provider_message_id, r.state) for r in reports.got] == [
        ("77", DeliveryState.UNDELIVERED)
    ]
    assert provider.asked(upstream) == [provider.asking("77")] * (len(broken) + 1)
