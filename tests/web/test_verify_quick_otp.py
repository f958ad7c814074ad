"""
/rest/VerifyQuickOTP, and the fraud guard and idempotency on /rest/SendQuickOTP, with the
guard's defaults on, as a deployed gateway runs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.models import MessageStatus
from quickotp.web.app import create_app
from tests.conftest import Seeded, make_settings, seed

pytestmark = pytest.mark.anyio

NUMBER = "09121234567"
# The guard's defaults, back on (tests/conftest.py turns the per-number ones off).
DEFAULTS = {
    "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "10",
    "QUICKOTP_GUARD_COOLDOWN_SECONDS": "60",
    "QUICKOTP_GUARD_PER_NUMBER_HOUR": "5",
    "QUICKOTP_GUARD_PER_NUMBER_DAY": "10",
}

METRICS_TOKEN = "test-metrics-token-0123"
Start = Callable[..., Coroutine[Any, Any, tuple[httpx.AsyncClient, Runtime, Seeded]]]


@pytest.fixture
async def start(database_url: str) -> AsyncIterator[Start]:
    """start(**env) -> a client on a fresh gateway with the guard's defaults plus `env`."""
    opened: list[tuple[httpx.AsyncClient, Runtime]] = []

    async def make(**env: str) -> tuple[httpx.AsyncClient, Runtime, Seeded]:
        runtime = build_runtime(make_settings(database_url, **(DEFAULTS | env)), dispatch=False)
        await upgrade(runtime.engines)
        await runtime.start()
        seeded = await seed(runtime, name=f"shop{len(opened)}")
        transport = httpx.ASGITransport(
            app=create_app(runtime.gateway, metrics_token=METRICS_TOKEN),
            client=("203.0.113.7", 40000),
        )
        http = httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        opened.append((http, runtime))
        return http, runtime, seeded

    yield make
    for http, runtime in opened:
        await http.aclose()
        await runtime.aclose()


async def rest(
    http: httpx.AsyncClient, method: str, token: str | None, **form: str
) -> dict[str, Any]:
    headers = {"Authorization": token} if token is not None else {}
    response = await http.post(f"/rest/{method}", headers=headers, data=form)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def send(http: httpx.AsyncClient, token: str, mobile: str = NUMBER, **form: str) -> Any:
    return await rest(http, "SendQuickOTP", token, Mobile=mobile, CodeLength="5", **form)


async def test_right_code_is_success(start: Start) -> None:
    """The code SendQuickOTP answered verifies, in Amoot's envelope."""
    http, _, seeded = await start()
    sent = await send(http, seeded.token)

    body = await rest(
        http, "VerifyQuickOTP", seeded.token, Mobile="+989121234567", Code=sent["Data"]["Code"]
    )

    assert body["Status"] == "Success"
    assert body["Data"]["Mobile"] == 9121234567
    assert body["Data"]["MessageID"] == sent["Data"]["MessageID"]
    assert body["Data"]["Status"] == "Success"
    assert len(body["Data"]["VerificationID"]) == 32


async def test_each_outcome_has_its_status(start: Start) -> None:
    """Wrong, right, then used again: Code_Invalid, Success, Code_AlreadyUsed."""
    http, _, seeded = await start()
    await send(http, seeded.token, OptionalCode="12345")

    wrong = await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="54321")
    right = await rest(http, "verifyquickotp", seeded.token, Mobile=NUMBER, Code="۱۲۳۴۵")
    again = await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="12345")

    assert wrong == {"Status": "Code_Invalid", "Data": None}
    assert right["Status"] == "Success"
    assert again == {"Status": "Code_AlreadyUsed", "Data": None}


async def test_too_many_attempts(start: Start) -> None:
    """After five wrong codes the right one answers Code_TooManyAttempts."""
    http, _, seeded = await start()
    await send(http, seeded.token, OptionalCode="12345")
    statuses = [
        (await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="00000"))["Status"]
        for _ in range(5)
    ]

    last = await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="12345")

    assert statuses == ["Code_Invalid"] * 4 + ["Code_TooManyAttempts"]
    assert last["Status"] == "Code_TooManyAttempts"


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"Mobile": NUMBER, "Code": "12345"}, "Code_NotFound"),
        ({"Mobile": NUMBER}, "Code_Empty"),
        ({"Mobile": NUMBER, "Code": ""}, "Code_Empty"),
        ({"Mobile": NUMBER, "Code": "12"}, "Length_Invalid"),
        ({"Mobile": NUMBER, "Code": "<script>"}, "Length_Invalid"),
        ({"Code": "12345"}, "Mobile_Empty"),
        ({"Mobile": "12", "Code": "12345"}, "Mobile_Invalid"),
    ],
)
async def test_bad_checks_answer_with_a_status(
    start: Start, form: dict[str, str], status: str
) -> None:
    """Every bad shape of check answers a Status with HTTP 200, never a 500."""
    http, _, seeded = await start()

    body = await rest(http, "VerifyQuickOTP", seeded.token, **form)

    assert body == {"Status": status, "Data": None}


async def test_verify_needs_a_token_allowed_to_verify(start: Start) -> None:
    """No token is Token_Invalid; a token limited to SendQuickOTP may not verify."""
    http, runtime, seeded = await start()
    sender_only = await runtime.admin.issue_token(
        account_id=seeded.account_id, allowed_methods=["SendQuickOTP"]
    )

    anonymous = await rest(http, "VerifyQuickOTP", None, Mobile=NUMBER, Code="12345")
    limited = await rest(http, "VerifyQuickOTP", sender_only.secret, Mobile=NUMBER, Code="12345")

    assert anonymous["Status"] == "Token_Invalid"
    assert limited["Status"] == "Token_NotAllowMethod"


async def test_twenty_identical_requests_send_one_sms(start: Start) -> None:
    """20 concurrent identical SendQuickOTP requests: one SMS, 20 identical answers."""
    http, runtime, seeded = await start()

    answers = await asyncio.gather(*(send(http, seeded.token) for _ in range(20)))
    messages = await runtime.store.list_messages(seeded.account_id, 100)

    assert len(messages) == 1
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["Status"] == "Success"


async def test_a_repeat_inside_the_window_gets_the_first_answer(start: Start) -> None:
    """A retried request inside 10 s costs nothing; with another own code it is a new send."""
    http, runtime, seeded = await start(QUICKOTP_GUARD_COOLDOWN_SECONDS="0")
    first = await send(http, seeded.token)

    repeat = await send(http, seeded.token)
    other = await send(http, seeded.token, OptionalCode="77777")
    account = await runtime.store.get_account(seeded.account_id)

    assert repeat == first
    assert other["Data"]["MessageID"] != first["Data"]["MessageID"]
    assert account.credit == 1_000_000 - 2 * 1000


async def test_cooldown_on_rest(start: Start) -> None:
    """A new request for the number inside 60 s is Mobile_Cooldown."""
    http, _, seeded = await start()
    await send(http, seeded.token)

    body = await send(http, seeded.token, OptionalCode="77777")

    assert body == {"Status": "Mobile_Cooldown", "Data": None}


async def test_account_limits_are_per_account(start: Start) -> None:
    """An account's own blocklist refuses its sends (Mobile_Blocked) and no one else's."""
    http, runtime, seeded = await start()
    other = await seed(runtime, name="other")
    await runtime.admin.set_limits(seeded.account_id, {"blocklist": ["98912123"]})

    blocked = await send(http, seeded.token)
    fine = await send(http, other.token)

    assert blocked == {"Status": "Mobile_Blocked", "Data": None}
    assert fine["Status"] == "Success"


async def test_country_not_allowed_on_rest(start: Start) -> None:
    """A gateway serving IR and GB, an account allowed only IR: Country_NotAllowed."""
    http, runtime, seeded = await start(QUICKOTP_ALLOWED_REGIONS="IR,GB")
    await runtime.admin.set_limits(seeded.account_id, {"countries": ["IR"]})

    body = await send(http, seeded.token, "+447900123456")

    assert body == {"Status": "Country_NotAllowed", "Data": None}


async def test_redis_down_fails_closed(start: Start) -> None:
    """With the limits backend unreachable, a send answers Guard_Unavailable."""
    http, runtime, seeded = await start(QUICKOTP_REDIS_URL="redis://127.0.0.1:1/0")

    body = await send(http, seeded.token)
    messages = await runtime.store.list_messages(seeded.account_id, 10)

    assert body == {"Status": "Guard_Unavailable", "Data": None}
    assert messages == []


async def test_test_number_on_rest_is_never_queued(start: Start) -> None:
    """A test number answers its fixed code; GetDelivery reports it delivered (DeliveryType 1)."""
    http, _, seeded = await start(QUICKOTP_GUARD_TEST_NUMBERS="989120000000:2468")

    sent = await send(http, seeded.token, "09120000000")
    delivery = await rest(
        http, "GetDelivery", seeded.token, MessageID=str(sent["Data"]["MessageID"])
    )
    verified = await rest(http, "VerifyQuickOTP", seeded.token, Mobile="09120000000", Code="2468")

    assert sent["Data"]["Code"] == "2468"
    assert delivery["Data"]["DeliveryType"] == 1
    assert verified["Status"] == "Success"


async def test_refusals_and_outcomes_are_counted(start: Start) -> None:
    """/metrics counts guard refusals and verification outcomes."""
    http, _, seeded = await start()
    await send(http, seeded.token)
    await send(http, seeded.token, OptionalCode="77777")
    await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="00000")

    text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text

    assert 'quickotp_guard_refusals_total{reason="MobileCooldown"}' in text
    assert 'quickotp_verification_checks_total{outcome="CodeMismatch"}' in text


async def test_no_code_or_whole_number_in_the_logs(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Sending, refusing and verifying log neither the code nor the whole number nor the token."""
    caplog.set_level(logging.DEBUG, logger="quickotp")
    http, runtime, seeded = await start()
    sent = await send(http, seeded.token, OptionalCode="97531")
    await send(http, seeded.token, OptionalCode="86420")
    await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="11111")
    await rest(http, "VerifyQuickOTP", seeded.token, Mobile=NUMBER, Code="97531")
    message = (await runtime.store.list_messages(seeded.account_id, 1))[0]

    assert sent["Status"] == "Success"
    assert message.status is MessageStatus.QUEUED
    for secret in ("97531", "86420", "11111", "9121234567", seeded.token):
        assert secret not in caplog.text


async def test_get_with_the_token_in_the_query_and_a_json_post(start: Start) -> None:
    """VerifyQuickOTP binds like the other methods: GET query or JSON body, any name case."""
    http, _, seeded = await start(QUICKOTP_GUARD_COOLDOWN_SECONDS="0")
    await send(http, seeded.token, OptionalCode="12345")
    await send(http, seeded.token, "09121234568", OptionalCode="54321")

    by_get = await http.get(
        "/rest/VerifyQuickOTP", params={"Token": seeded.token, "Mobile": NUMBER, "Code": "12345"}
    )
    by_json = await http.post(
        "/rest/VerifyQuickOTP",
        json={"token": seeded.token, "mobile": "09121234568", "code": 54321},
    )

    assert by_get.json()["Status"] == "Success"
    assert by_json.json()["Status"] == "Success"
