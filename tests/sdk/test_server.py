"""Client and AsyncClient against a real `quickotp serve` process on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

import quickotp_client
from quickotp_client import AsyncClient, Client
from tests.sdk.conftest import Served

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def handed_on(otp: Client, message_id: int) -> quickotp_client.Message:
    """The message once the server's dispatcher is done with it (it is queued at first)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = otp.get_message(message_id)
        if message.status not in {"queued", "sending"}:
            return message
        time.sleep(0.05)
    raise AssertionError(f"message {message_id} is still {message.status}")


def test_sync_send_then_verify(sync_otp: Client) -> None:
    """A code sent over /rest is accepted by VerifyQuickOTP, blocking."""
    sent = sync_otp.send_quick_otp("09121110001", code_length=5)

    verified = sync_otp.verify_quick_otp("09121110001", sent.code)

    assert (len(sent.code), verified.message_id) == (5, sent.message_id)


def test_sync_start_then_check(sync_otp: Client) -> None:
    """A /v1 verification is approved by its code, checked by number, blocking."""
    started = sync_otp.start_verification("+989121110002", code="7311")

    checked = sync_otp.check_verification("7311", to="09121110002")

    assert (checked.id, checked.status) == (started.id, "approved")
    assert sync_otp.get_verification(started.id).status == "approved"


def test_sync_delivery_of_a_sent_message(sync_otp: Client) -> None:
    """Once the server's dispatcher hands a message on, GetDelivery reports it sent."""
    sent = sync_otp.send_quick_otp("09121110003")
    message = handed_on(sync_otp, sent.message_id)

    (delivery,) = sync_otp.get_deliveries([sent.message_id])

    assert message.status in {"sent", "delivered"}
    assert delivery.message_id == sent.message_id
    assert delivery.delivery_type in {0, 1}  # SendToTci, or RecievedPhone once a receipt came
    assert delivery.sent_at is not None


def test_sync_errors_are_the_clients_own(served: Served) -> None:
    """A refused token from the real server is TokenNotExists, blocking."""
    with (
        Client(base_url=served.url, token="wrong") as otp,
        pytest.raises(quickotp_client.TokenNotExists),
    ):
        otp.account_status()


async def test_async_send_then_verify(async_otp: AsyncClient) -> None:
    """A code sent over /rest is accepted by VerifyQuickOTP, awaited."""
    sent = await async_otp.send_quick_otp("09121110004")

    verified = await async_otp.verify_quick_otp("09121110004", sent.code)

    assert verified.message_id == sent.message_id


async def test_async_start_check_and_cancel(async_otp: AsyncClient) -> None:
    """A wrong code, then a cancel, then the right code: CodeInvalid, canceled, canceled."""
    started = await async_otp.start_verification("09121110005", code="5555")

    with pytest.raises(quickotp_client.CodeInvalidProblem):
        await async_otp.check_verification("0000", verification_id=started.id)
    await async_otp.cancel_verification(started.id)

    with pytest.raises(quickotp_client.VerificationCanceledProblem):
        await async_otp.check_verification("5555", verification_id=started.id)


async def test_async_account_and_patterns(async_otp: AsyncClient) -> None:
    """AccountStatus and PatternCodeList from the real server, awaited."""
    account = await async_otp.account_status()
    patterns = await async_otp.pattern_list()

    assert account.name == "shop"
    assert [p.status for p in patterns if p.is_otp] == [1]
