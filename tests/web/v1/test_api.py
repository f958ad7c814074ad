"""The /v1 JSON API: verifications, checks, messages, idempotency, tenants, problems."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
import schemathesis

from quickotp.bootstrap import Runtime
from quickotp.web.openapi import DOCUMENT
from tests.conftest import Seeded, seed

pytestmark = pytest.mark.anyio

NUMBER = "09121234567"
PROBLEM = "application/problem+json"
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(autouse=True)
def _every_answer_is_documented(client: httpx.AsyncClient) -> None:
    """Each /v1 answer in these tests must have a documented status and match its schema."""
    check_every_answer(client)


def check_every_answer(client: httpx.AsyncClient) -> None:
    """Make `client` fail any /v1 answer the OpenAPI document does not describe."""

    async def validate(response: httpx.Response) -> None:
        request = response.request
        if not request.url.path.startswith("/v1/"):
            return
        await response.aread()
        operation = SCHEMA.find_operation_by_path(request.method, request.url.path)
        if operation is None:  # another method on a resource: 405, an unknown path: 404
            resource = any(
                SCHEMA.find_operation_by_path(method, request.url.path) is not None
                for method in ("GET", "POST")
            )
            expected = 405 if resource else 404
            assert (response.status_code, response.headers["content-type"]) == (expected, PROBLEM)
            return
        documented = DOCUMENT["paths"][operation.path][operation.method.lower()]["responses"]
        assert str(response.status_code) in documented
        operation.validate_response(response)

    client.event_hooks["response"].append(validate)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(
    client: httpx.AsyncClient, token: str, body: Any = None, **headers: str
) -> httpx.Response:
    payload = {"to": NUMBER, "code": "24680"} if body is None else body
    return await client.post("/v1/verifications", json=payload, headers=bearer(token) | headers)


async def check(client: httpx.AsyncClient, token: str, **body: str) -> httpx.Response:
    return await client.post("/v1/verifications/check", json=body, headers=bearer(token))


def problem(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == response.status_code
    return response.status_code, body["type"].removeprefix("urn:quickotp:problem:")


async def test_create_answers_201_with_the_verification(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """A send answers 201: id, number, pending, expiry, message id; Location points at it."""
    before_ms = time.time_ns() // 1_000_000
    response = await create(
        client, seeded.token, {"to": NUMBER, "code_length": 4, "metadata": {"user": "42"}}
    )

    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/verifications/{body['id']}"
    made = uuid.UUID(hex=body["id"])  # a UUIDv7, of the moment of the send (domain/ids.py)
    assert (made.version, len(body["id"])) == (7, 32)
    assert before_ms <= made.int >> 80 <= time.time_ns() // 1_000_000
    assert body["to"] == "+989121234567"
    assert body["status"] == "pending"
    assert body["expires_at"].endswith("Z")
    assert body["metadata"] == {"user": "42"}
    assert body["sandbox"] is False
    assert "code" not in body


async def test_check_by_id_then_by_number(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """Checked by id the right code approves; a second check by number is code-already-used."""
    created = (await create(client, seeded.token)).json()

    wrong = await check(client, seeded.token, id=created["id"], code="13579")
    right = await check(client, seeded.token, id=created["id"], code="24680")
    again = await check(client, seeded.token, to="+989121234567", code="24680")

    assert problem(wrong) == (422, "code-invalid")
    assert wrong.json()["attempts_left"] == 4
    assert wrong.json()["code"] == "Code_Invalid"
    assert right.status_code == 200
    assert right.json()["status"] == "approved"
    assert problem(again) == (409, "code-already-used")


async def test_get_and_cancel(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A lookup shows the status; cancel cancels it; a check then is verification-canceled."""
    created = (await create(client, seeded.token)).json()
    path = f"/v1/verifications/{created['id']}"

    looked = await client.get(path, headers=bearer(seeded.token))
    canceled = await client.post(f"{path}/cancel", headers=bearer(seeded.token))
    twice = await client.post(f"{path}/cancel", headers=bearer(seeded.token))
    checked = await check(client, seeded.token, id=created["id"], code="24680")

    assert looked.json()["status"] == "pending"
    assert looked.json()["attempts_left"] == 5
    assert canceled.json()["status"] == "canceled"
    assert problem(twice) == (409, "verification-not-pending")
    assert problem(checked) == (410, "verification-canceled")


async def test_expired_code(client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime) -> None:
    """Past its validity the right code is code-expired (410), and the lookup says expired."""
    await runtime.admin.set_limits(seeded.account_id, {"validity_seconds": 1})
    created = (await create(client, seeded.token)).json()
    await asyncio.sleep(1.05)

    checked = await check(client, seeded.token, id=created["id"], code="24680")
    looked = await client.get(f"/v1/verifications/{created['id']}", headers=bearer(seeded.token))

    assert problem(checked) == (410, "code-expired")
    assert looked.json()["status"] == "expired"


async def test_message_lookup(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """GET /v1/messages/{id}: status, delivery, parts and cost."""
    created = (await create(client, seeded.token)).json()

    response = await client.get(
        f"/v1/messages/{created['message_id']}", headers=bearer(seeded.token)
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["parts"], body["cost"]) == ("queued", 1, 1000)
    assert body["delivery"]["amoot_delivery_type"] == 900
    assert body["to"] == "+989121234567"


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """The same key and body: the first answer, nothing sent; another body: 409."""
    first = await create(client, seeded.token, **{"Idempotency-Key": "order-17"})
    repeat = await create(client, seeded.token, **{"Idempotency-Key": "order-17"})
    other = await create(
        client, seeded.token, {"to": NUMBER, "code": "11111"}, **{"Idempotency-Key": "order-17"}
    )
    messages = await runtime.store.list_messages(seeded.account_id, 10)

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert problem(other) == (409, "idempotency-conflict")
    assert len(messages) == 1


async def test_twenty_concurrent_requests_with_one_key_send_one_sms(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """20 concurrent requests with one Idempotency-Key: one SMS, 20 identical answers."""
    answers = await asyncio.gather(
        *(create(client, seeded.token, **{"Idempotency-Key": "k"}) for _ in range(20))
    )
    messages = await runtime.store.list_messages(seeded.account_id, 100)

    assert {a.status_code for a in answers} == {201}
    assert all(a.json() == answers[0].json() for a in answers)
    assert len(messages) == 1


async def test_keys_are_per_account(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """Two accounts using the same Idempotency-Key each get their own send."""
    other = await seed(runtime, name="other")

    mine = await create(client, seeded.token, **{"Idempotency-Key": "same"})
    theirs = await create(client, other.token, **{"Idempotency-Key": "same"})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_one_account_never_sees_anothers(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """Another account's verification and message are 404 to look up, check or cancel."""
    created = (await create(client, seeded.token)).json()
    other = await seed(runtime, name="other")
    path = f"/v1/verifications/{created['id']}"

    answers = [
        await client.get(path, headers=bearer(other.token)),
        await client.post(f"{path}/cancel", headers=bearer(other.token)),
        await check(client, other.token, id=created["id"], code="24680"),
        await check(client, other.token, to=NUMBER, code="24680"),
        await client.get(f"/v1/messages/{created['message_id']}", headers=bearer(other.token)),
    ]

    assert [problem(a)[0] for a in answers] == [404] * 5
    mine = await check(client, seeded.token, id=created["id"], code="24680")
    assert mine.status_code == 200


async def test_auth_problems(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """No token or an unknown one: 401 with a Bearer challenge."""
    missing = await client.post("/v1/verifications", json={"to": NUMBER})
    unknown = await create(client, "not-a-token")

    assert problem(missing) == (401, "token-missing")
    assert problem(unknown) == (401, "token-unknown")
    assert missing.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", (400, "malformed-request")),
        ([1, 2], (400, "malformed-request")),
        ({}, (400, "invalid-request")),
        ({"to": 9121234567}, (400, "invalid-request")),
        ({"to": NUMBER, "code_length": 3}, (400, "length-invalid")),
        ({"to": NUMBER, "code_length": True}, (400, "invalid-request")),
        ({"to": NUMBER, "code_length": "6"}, (400, "invalid-request")),
        ({"to": NUMBER, "code": "12ab"}, (400, "length-invalid")),
        ({"to": NUMBER, "extra": 1}, (400, "invalid-request")),
        ({"to": NUMBER, "metadata": {"a": 1}}, (400, "invalid-request")),
        ({"to": NUMBER, "metadata": "x"}, (400, "invalid-request")),
        ({"to": NUMBER, "pattern_id": 0}, (400, "invalid-request")),
        ({"to": NUMBER, "pattern_id": 999}, (422, "pattern-unavailable")),
        ({"to": "12"}, (400, "mobile-invalid")),
        ({"to": ""}, (400, "mobile-empty")),
        ({"to": "+447900123456"}, (400, "mobile-invalid")),
    ],
)
async def test_bad_sends_are_problems(
    client: httpx.AsyncClient, seeded: Seeded, body: Any, expected: tuple[int, str]
) -> None:
    """Every bad shape of send is a 4xx problem naming what is wrong, never a 500."""
    if isinstance(body, str):
        response = await client.post(
            "/v1/verifications", content=body, headers=bearer(seeded.token)
        )
    else:
        response = await create(client, seeded.token, body)

    assert problem(response) == expected


AMOOT_NAMES = ("CodeLength", "OptionalCode", "Mobile", "MessageID", "URLAddress", "PatternCode")


@pytest.mark.parametrize(
    "body",
    [
        {"to": NUMBER, "code_length": 3},
        {"to": NUMBER, "code_length": 40},
        {"to": NUMBER, "code": "12ab"},
        {"to": "12"},
        {"to": ""},
    ],
)
async def test_problem_details_speak_in_v1_terms(
    client: httpx.AsyncClient, seeded: Seeded, body: dict[str, Any]
) -> None:
    """A /v1 problem's detail never names an Amoot parameter, which /v1 callers never send."""
    response = await create(client, seeded.token, body)

    detail = response.json()["detail"]
    assert detail
    assert not [name for name in AMOOT_NAMES if name in detail]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "12345"}, (400, "invalid-request")),
        ({"id": "x" * 40, "code": "12345"}, (404, "verification-not-found")),
        ({"to": NUMBER}, (400, "invalid-request")),
        ({"to": NUMBER, "code": ""}, (400, "code-empty")),
        ({"to": NUMBER, "code": "1"}, (400, "length-invalid")),
        ({"to": NUMBER, "code": "12345"}, (404, "verification-not-found")),
        ({"to": NUMBER, "code": 12345}, (400, "invalid-request")),
    ],
)
async def test_bad_checks_are_problems(
    client: httpx.AsyncClient, seeded: Seeded, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    """Every bad shape of check is a 4xx problem, never a 500."""
    response = await client.post("/v1/verifications/check", json=body, headers=bearer(seeded.token))

    assert problem(response) == expected


async def test_unknown_ids_and_paths_are_404_problems(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Unknown verification and message ids, and unknown /v1 paths, are 404 problems."""
    answers = [
        await client.get("/v1/verifications/nope", headers=bearer(seeded.token)),
        await client.get("/v1/messages/abc", headers=bearer(seeded.token)),
        await client.get("/v1/messages/99999", headers=bearer(seeded.token)),
        await client.get("/v1/nothing/here", headers=bearer(seeded.token)),
    ]

    assert [problem(a)[0] for a in answers] == [404] * 4


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/verifications", "POST"),
        ("TRACE", "/v1/verifications/check", "GET, HEAD, POST"),  # GET reads id "check"
        ("PUT", "/v1/verifications", "POST"),
        ("DELETE", "/v1/verifications/abc", "GET, HEAD"),
        ("PATCH", "/v1/verifications/abc/cancel", "POST"),
        ("POST", "/v1/messages/12", "GET, HEAD"),
    ],
)
async def test_a_method_a_resource_does_not_take_is_a_405_problem(
    client: httpx.AsyncClient, seeded: Seeded, method: str, path: str, allowed: str
) -> None:
    """Any other method on a /v1 resource is a 405 problem naming what it takes (Allow)."""
    answer = await client.request(method, path, headers=bearer(seeded.token))

    assert answer.headers["content-type"] == PROBLEM
    assert problem(answer)[0] == 405
    assert answer.headers["allow"] == allowed


async def test_other_methods_on_unknown_paths_are_404_problems(client: httpx.AsyncClient) -> None:
    """A method on a path that is no resource is a 404 problem whatever the method."""
    answers = [await client.request(m, "/v1/nothing") for m in ("OPTIONS", "PUT", "DELETE")]

    assert [(a.headers["content-type"], problem(a)[0]) for a in answers] == [(PROBLEM, 404)] * 3


async def test_cooldown_is_a_429_with_retry_after(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """A refusal by the guard is a 429 problem with Retry-After."""
    await runtime.admin.set_limits(seeded.account_id, {"cooldown_seconds": 60})
    await create(client, seeded.token)

    again = await create(client, seeded.token)

    assert problem(again) == (429, "mobile-cooldown")
    assert 58 <= int(again.headers["retry-after"]) <= 60
    assert again.json()["code"] == "Mobile_Cooldown"


async def test_blocked_number_is_403(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """A blocklisted number is a 403 problem."""
    await runtime.admin.set_limits(seeded.account_id, {"blocklist": ["989121234567"]})

    response = await create(client, seeded.token)

    assert problem(response) == (403, "mobile-blocked")


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    """/openapi.json is an OpenAPI 3.1 document naming every /v1 operation."""
    document = (await client.get("/openapi.json")).json()

    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert document["openapi"] == "3.1.0"
    assert operations == {
        "createVerification",
        "checkVerification",
        "getVerification",
        "cancelVerification",
        "getMessage",
        "sendMessage",
    }


async def test_checks_are_rate_limited_before_any_lookup(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """Checks share the request buckets: an empty one is a 429 even for an unknown id."""
    await runtime.admin.set_limits(seeded.account_id, {"ip_rate": 0.1, "ip_burst": 1})
    created = await create(client, seeded.token)

    checked = await check(client, seeded.token, id="0" * 32, code="24680")

    assert created.status_code == 201
    assert problem(checked) == (429, "ip-rate-limited")
    assert checked.json()["code"] == "IP_RateLimited"


async def test_a_rate_a_hair_above_zero_waits_a_day_at_most(
    client: httpx.AsyncClient, seeded: Seeded, runtime: Runtime
) -> None:
    """A rate so small its wait is infinite answers 429 with a day's Retry-After, not 500."""
    await runtime.admin.set_limits(seeded.account_id, {"account_rate": 1e-320, "account_burst": 1})
    runtime.gateway.forget_cached()

    first = await create(client, seeded.token)
    second = await create(client, seeded.token, {"to": "09120000099", "code": "13579"})

    assert first.status_code == 201
    assert problem(second)[0] == 429
    assert second.headers["retry-after"] == "86400"
