"""The /v1 calls of AsyncClient against the real app, in process."""

from __future__ import annotations

import pytest

import quickotp_client
from quickotp.bootstrap import Runtime
from quickotp_client import AsyncClient
from tests.conftest import Seeded
from tests.sdk.conftest import IN_PROCESS_URL, asgi

pytestmark = pytest.mark.anyio

MOBILE = "09121112233"


async def test_start_verification(otp: AsyncClient) -> None:
    """A started verification is pending, addressed in E.164, with its message and expiry."""
    started = await otp.start_verification(MOBILE, metadata={"order": "17"})

    assert (started.to, started.status, started.sandbox) == ("+989121112233", "pending", False)
    assert started.message_id > 0
    assert started.expires_at.tzinfo is not None
    assert started.metadata == {"order": "17"}


async def test_check_by_id_approves_the_right_code(otp: AsyncClient) -> None:
    """The right code approves the verification named by its id."""
    started = await otp.start_verification(MOBILE, code="4821")

    checked = await otp.check_verification("4821", verification_id=started.id)

    assert (checked.id, checked.status) == (started.id, "approved")


async def test_check_by_number_approves_the_newest(otp: AsyncClient) -> None:
    """Checking by number checks the newest verification sent to it."""
    await otp.start_verification(MOBILE, code="1111")
    newest = await otp.start_verification(MOBILE, code="2222")

    checked = await otp.check_verification("2222", to=MOBILE)

    assert (checked.id, checked.status) == (newest.id, "approved")


async def test_a_wrong_code_says_how_many_attempts_remain(otp: AsyncClient) -> None:
    """code-invalid comes back as CodeInvalidProblem with the attempts left and the Status name."""
    started = await otp.start_verification(MOBILE, code="4821")

    with pytest.raises(quickotp_client.CodeInvalidProblem) as raised:
        await otp.check_verification("0000", verification_id=started.id)

    problem = raised.value
    assert (problem.http_status, problem.code, problem.attempts_left) == (422, "Code_Invalid", 4)
    assert problem.verification_id == started.id
    assert isinstance(problem, quickotp_client.VerificationError)


async def test_get_verification(otp: AsyncClient) -> None:
    """A verification reads back with its attempts and times."""
    started = await otp.start_verification(MOBILE)

    found = await otp.get_verification(started.id)

    assert (found.id, found.status, found.attempts_left) == (started.id, "pending", 5)
    assert found.expires_at == started.expires_at
    assert found.created_at <= found.updated_at


async def test_cancel_verification_then_cancel_again(otp: AsyncClient) -> None:
    """A canceled verification cannot be canceled twice: verification-not-pending."""
    started = await otp.start_verification(MOBILE)

    canceled = await otp.cancel_verification(started.id)

    assert canceled.status == "canceled"
    with pytest.raises(quickotp_client.VerificationNotPendingProblem):
        await otp.cancel_verification(started.id)


async def test_an_unknown_verification_is_not_found(otp: AsyncClient) -> None:
    """An id the account does not have is verification-not-found (HTTP 404)."""
    with pytest.raises(quickotp_client.VerificationNotFoundProblem) as raised:
        await otp.get_verification("0123456789abcdef0123456789abcdef")

    assert raised.value.http_status == 404


async def test_get_message(otp: AsyncClient) -> None:
    """The verification's message: queued, one part, its cost."""
    started = await otp.start_verification(MOBILE)

    message = await otp.get_message(started.message_id)

    assert (message.id, message.to, message.status) == (
        started.message_id,
        "+989121112233",
        "queued",
    )
    assert (message.parts, message.cost, message.amoot_delivery_type) == (1, 1000, 900)
    assert message.submitted_at is None


async def test_the_same_idempotency_key_sends_once(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A start repeated with its idempotency key gets the first answer and sends nothing more."""
    first = await otp.start_verification(MOBILE, idempotency_key="order-17")

    again = await otp.start_verification(MOBILE, idempotency_key="order-17")

    assert again == first
    assert len(await runtime.admin.list_messages(seeded.account_id)) == 1


async def test_each_call_gets_its_own_idempotency_key(otp: AsyncClient) -> None:
    """Two calls without a key of their own are two verifications."""
    first = await otp.start_verification(MOBILE)

    second = await otp.start_verification(MOBILE)

    assert first.id != second.id


async def test_a_bad_number_is_a_problem(otp: AsyncClient) -> None:
    """mobile-invalid comes back as MobileInvalidProblem, an InvalidRequestError."""
    with pytest.raises(quickotp_client.MobileInvalidProblem) as raised:
        await otp.start_verification("12")

    assert isinstance(raised.value, quickotp_client.InvalidRequestError)


async def test_an_unknown_token_is_a_problem(runtime: Runtime) -> None:
    """token-unknown comes back as TokenUnknownProblem (HTTP 401), an AuthError."""
    async with AsyncClient(base_url=IN_PROCESS_URL, token="nope", transport=asgi(runtime)) as otp:
        with pytest.raises(quickotp_client.TokenUnknownProblem) as raised:
            await otp.get_message(1)

    assert raised.value.http_status == 401
    assert isinstance(raised.value, quickotp_client.AuthError)


async def test_a_cooldown_says_when_to_retry(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """mobile-cooldown carries retry_after, the seconds until the number may be sent to."""
    await runtime.admin.set_limits(seeded.account_id, {"cooldown_seconds": 60})
    await otp.start_verification(MOBILE)

    with pytest.raises(quickotp_client.MobileCooldownProblem) as raised:
        await otp.start_verification(MOBILE)

    assert raised.value.retry_after is not None
    assert 0 < raised.value.retry_after <= 60
