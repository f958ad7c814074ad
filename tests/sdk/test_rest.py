"""The Amoot-compatible calls of AsyncClient against the real app, in process."""

from __future__ import annotations

from datetime import timedelta

import pytest

import quickotp_client
from quickotp.bootstrap import Runtime
from quickotp_client import AsyncClient
from tests.conftest import Seeded
from tests.sdk.conftest import IN_PROCESS_URL, asgi

pytestmark = pytest.mark.anyio

MOBILE = "09121112233"


async def test_send_quick_otp_returns_the_message_number_and_code(otp: AsyncClient) -> None:
    """The server makes a six-digit code by default and says where it went."""
    sent = await otp.send_quick_otp(MOBILE)

    assert sent.mobile == "9121112233"
    assert sent.message_id > 0
    assert len(sent.code) == 6
    assert sent.code.isdigit()


async def test_send_quick_otp_with_an_own_code(otp: AsyncClient) -> None:
    """An own code is sent as given, its length taken for CodeLength."""
    sent = await otp.send_quick_otp("+98 912 111 2233", code="04821")

    assert (sent.mobile, sent.code) == ("9121112233", "04821")


async def test_send_quick_otp_reads_the_array_form(runtime: Runtime, seeded: Seeded) -> None:
    """A server answering Data as a one-element array gives the same result."""
    transport = asgi(runtime, data_as_array=True)
    async with AsyncClient(base_url=IN_PROCESS_URL, token=seeded.token, transport=transport) as otp:
        sent = await otp.send_quick_otp(MOBILE, code_length=4)

    assert (sent.mobile, len(sent.code)) == ("9121112233", 4)


async def test_a_refused_send_raises_its_status(otp: AsyncClient) -> None:
    """Mobile_Invalid comes back as MobileInvalid, naming the Status and the method."""
    with pytest.raises(quickotp_client.MobileInvalid) as raised:
        await otp.send_quick_otp("12")

    assert (raised.value.status, raised.value.method) == ("Mobile_Invalid", "SendQuickOTP")
    assert isinstance(raised.value, quickotp_client.InvalidRequestError)


async def test_a_code_length_out_of_range_raises_length_invalid(otp: AsyncClient) -> None:
    """CodeLength 3 is Length_Invalid."""
    with pytest.raises(quickotp_client.LengthInvalid):
        await otp.send_quick_otp(MOBILE, code_length=3)


async def test_an_unknown_token_raises_an_auth_error(runtime: Runtime) -> None:
    """A token the gateway never issued is Token_NotExists, an AuthError."""
    async with AsyncClient(base_url=IN_PROCESS_URL, token="nope", transport=asgi(runtime)) as otp:
        with pytest.raises(quickotp_client.TokenNotExists) as raised:
            await otp.account_status()

    assert isinstance(raised.value, quickotp_client.AuthError)


async def test_verify_quick_otp_accepts_the_right_code_once(otp: AsyncClient) -> None:
    """The right code is accepted; the same code again is Code_AlreadyUsed."""
    sent = await otp.send_quick_otp(MOBILE)

    verified = await otp.verify_quick_otp(MOBILE, sent.code)

    assert (verified.mobile, verified.message_id) == ("9121112233", sent.message_id)
    assert verified.verification_id
    with pytest.raises(quickotp_client.CodeAlreadyUsed):
        await otp.verify_quick_otp(MOBILE, sent.code)


async def test_verify_quick_otp_refuses_a_wrong_code(otp: AsyncClient) -> None:
    """A wrong code is Code_Invalid, a VerificationError."""
    await otp.send_quick_otp(MOBILE, code="1234")

    with pytest.raises(quickotp_client.CodeInvalid) as raised:
        await otp.verify_quick_otp(MOBILE, "4321")

    assert isinstance(raised.value, quickotp_client.VerificationError)


async def test_account_status(otp: AsyncClient) -> None:
    """The account's name, credit after one send, price and sender line."""
    await otp.send_quick_otp(MOBILE)

    account = await otp.account_status()

    assert (account.name, account.credit, account.line_numbers) == ("shop", 999_000, ("10004321",))
    assert account.base_sms_persian_price == 1000


async def test_get_delivery_of_a_queued_message(otp: AsyncClient) -> None:
    """A message not yet dispatched is DeliveryType 900, registered in Tehran time, unsent."""
    sent = await otp.send_quick_otp(MOBILE)

    delivery = await otp.get_delivery(sent.message_id)

    assert (delivery.message_id, delivery.delivery_type, delivery.cost) == (
        sent.message_id,
        900,
        1000,
    )
    assert delivery.sent_at is None
    assert delivery.registered_at is not None
    assert delivery.registered_at.utcoffset() == timedelta(hours=3, minutes=30)


async def test_get_deliveries_in_the_order_asked(otp: AsyncClient) -> None:
    """GetDeliveries answers each id in the order asked."""
    first, second = await otp.send_quick_otp(MOBILE), await otp.send_quick_otp(MOBILE)

    found = await otp.get_deliveries([second.message_id, first.message_id])

    assert [d.message_id for d in found] == [second.message_id, first.message_id]


async def test_get_delivery_of_an_unknown_message(otp: AsyncClient) -> None:
    """An id that is not the account's is MessageID_Invalid."""
    with pytest.raises(quickotp_client.MessageIDInvalid):
        await otp.get_delivery(999_999)


async def test_pattern_create_then_list(otp: AsyncClient, seeded: Seeded) -> None:
    """A created pattern is pending, with its variables, and listed after the seeded one."""
    created = await otp.pattern_create(
        "کد تایید شما %code%", is_otp=True, number_patterns=["code"], description="login"
    )
    listed = await otp.pattern_list()

    assert (created.status, created.is_otp, created.variables) == (0, True, ("code",))
    assert created.number_variables == ("code",)
    assert [p.id for p in listed] == [seeded.pattern_id, created.id]


async def test_a_refused_pattern_carries_amoots_validation_result(otp: AsyncClient) -> None:
    """A pattern without variables is Failed with ValidationResult 3 (Patterns_Empty)."""
    with pytest.raises(quickotp_client.Failed) as raised:
        await otp.pattern_create("no variables here")

    assert raised.value.validation is not None
    assert raised.value.validation.status == 3
    assert raised.value.validation.message


async def test_the_fraud_guard_refuses_a_quick_resend(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """With the resend cooldown on, a second send to the number is Mobile_Cooldown."""
    await runtime.admin.set_limits(seeded.account_id, {"cooldown_seconds": 60})
    await otp.send_quick_otp(MOBILE)

    with pytest.raises(quickotp_client.MobileCooldown) as raised:
        await otp.send_quick_otp(MOBILE)

    assert isinstance(raised.value, quickotp_client.GuardError)
