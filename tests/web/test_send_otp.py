"""SendOTP: Amoot's older OTP method, free text with a server-made code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from quickotp.bootstrap import Runtime
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
async def sender(runtime: Runtime, seeded: Seeded) -> Seeded:
    await runtime.admin.set_free_text(seeded.account_id, True)
    return seeded


async def call(client: httpx.AsyncClient, token: str, **form: Any) -> dict[str, Any]:
    response = await client.post("/rest/SendOTP", headers={"Authorization": token}, data=form)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def otp_form(**extra: str) -> dict[str, str]:
    return {
        "SendDateTime": datetime.now(TEHRAN).strftime("%m/%d/%Y %H:%M:%S"),
        "SMSMessageText": "پیامک تستی من",
        "LineNumber": "public",
        "Mobile": "9120000000",
        "CodeLength": "4",
        **extra,
    }


async def stored_text(runtime: Runtime, seeded: Seeded, body: dict[str, Any]) -> str:
    message_id = body["Data"]["MessageID"]
    return (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id].text


async def test_csharp_sample_answers_the_code(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """The vendor's C# sample: the answer carries the code, as SendQuickOTP's does."""
    body = await call(client, sender.token, **otp_form())

    data = body["Data"]
    assert body["Status"] == "Success"
    assert list(data) == ["Mobile", "MessageID", "Code", "Status"]
    assert data["Mobile"] == 9120000000
    assert len(data["Code"]) == 4
    assert data["Code"].isdigit()
    # No %code% in the text: the code goes on a line of its own after it.
    assert await stored_text(runtime, sender, body) == f"پیامک تستی من\n{data['Code']}"


async def test_php_sample_get(client: httpx.AsyncClient, sender: Seeded) -> None:
    """The vendor's PHP sample: a GET, the token in the query, PHP's format('c')."""
    now = datetime.now(TEHRAN).isoformat(timespec="seconds")

    response = await client.get(
        "/rest/SendOTP", params={"Token": sender.token, **otp_form(SendDateTime=now)}
    )

    assert response.json()["Status"] == "Success"


async def test_json_body_with_the_token_in_it(client: httpx.AsyncClient, sender: Seeded) -> None:
    """A JSON body with the token among its fields."""
    response = await client.post(
        "/rest/SendOTP", json={"Token": sender.token, **otp_form(), "CodeLength": 6}
    )

    assert len(response.json()["Data"]["Code"]) == 6


async def test_the_code_replaces_code_markers(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """`%code%` in the text is where the code goes."""
    body = await call(client, sender.token, **otp_form(SMSMessageText="کد شما %code% است"))

    code = body["Data"]["Code"]
    assert await stored_text(runtime, sender, body) == f"کد شما {code} است"


async def test_a_verification_is_made(client: httpx.AsyncClient, sender: Seeded) -> None:
    """VerifyQuickOTP checks SendOTP's code."""
    body = await call(client, sender.token, **otp_form())

    checked = await client.post(
        "/rest/VerifyQuickOTP",
        headers={"Authorization": sender.token},
        data={"Mobile": "9120000000", "Code": body["Data"]["Code"]},
    )

    assert checked.json()["Status"] == "Success"
    assert checked.json()["Data"]["MessageID"] == body["Data"]["MessageID"]


async def test_a_scheduled_code_is_valid_from_its_send_time(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """Scheduled an hour ahead, the code's validity (120 s) starts when it is sent."""
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)

    body = await call(client, sender.token, **otp_form(SendDateTime=at.isoformat()))

    verification = await runtime.store.latest_verification(sender.account_id, "989120000000")
    message_id = body["Data"]["MessageID"]
    message = (await runtime.store.get_messages(sender.account_id, [message_id]))[message_id]
    assert verification is not None
    assert verification.expires_at == at + timedelta(seconds=120)
    assert message.not_before == at
    assert message.expires_at == at + timedelta(seconds=120)


REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"CodeLength": "3"}, "Length_Invalid"),
    ({"CodeLength": ""}, "Length_Invalid"),
    ({"Mobile": ""}, "Mobile_Empty"),
    ({"Mobile": "12345"}, "Mobile_Invalid"),
    ({"SMSMessageText": ""}, "SMSMessageText_Empty"),
    ({"SMSMessageText": "x" * 1996}, "Length_Exceeded"),  # with the code's line: past 2000
    ({"LineNumber": ""}, "LineNumber_Empty"),
    ({"LineNumber": "123"}, "LineNumber_NotExist"),
    ({"SendDateTime": "not a date"}, "SendDateTime_Invalid"),
]


async def test_refusals(client: httpx.AsyncClient, sender: Seeded) -> None:
    """Each bad input has its Status, in the failure shape."""
    answers = [await call(client, sender.token, **otp_form(**form)) for form, _ in REFUSALS]

    assert answers == [{"Status": status, "Data": None} for _, status in REFUSALS]


async def test_send_otp_needs_free_text(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """SendOTP sends the caller's text: the free-text permission is needed."""
    body = await call(client, seeded.token, **otp_form())

    assert body == {"Status": "FreeText_NotAllowed", "Data": None}
