"""POST /v1/messages: free text or a pattern to one number, idempotent, every answer documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime
from tests.conftest import Seeded, approved_order_pattern
from tests.web.v1.test_api import bearer, check_every_answer, problem

pytestmark = pytest.mark.anyio

NUMBER = "09121234567"


@pytest.fixture(autouse=True)
def _every_answer_is_documented(client: httpx.AsyncClient) -> None:
    """Each answer in these tests must have a documented status and match its schema."""
    check_every_answer(client)


async def send(client: httpx.AsyncClient, token: str, body: Any, **headers: str) -> httpx.Response:
    return await client.post("/v1/messages", json=body, headers=bearer(token) | headers)


@pytest.fixture
async def order_pattern(runtime: Runtime, seeded: Seeded) -> int:
    return await approved_order_pattern(runtime, seeded, "order %order% for %name%")


async def test_free_text_answers_201(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Free text, with the permission: 201, the message's id, and Location pointing at it."""
    await runtime.admin.set_free_text(seeded.account_id, True)

    response = await send(client, seeded.token, {"to": NUMBER, "text": "hello"})

    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/messages/{body['id']}"
    assert (body["to"], body["verification_id"], body["sandbox"]) == ("+989121234567", None, False)
    looked_up = await client.get(response.headers["location"], headers=bearer(seeded.token))
    assert looked_up.json()["status"] == "queued"


async def test_a_pattern_with_its_values(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """A pattern's values fill its variables in order; no free-text permission needed."""
    response = await send(
        client, seeded.token, {"to": NUMBER, "pattern_id": order_pattern, "values": [42, "A, B"]}
    )

    message_id = response.json()["id"]
    found = await runtime.store.get_messages(seeded.account_id, [message_id])
    assert response.status_code == 201
    assert found[message_id].text == "order 42 for A, B"


async def test_an_otp_pattern_makes_a_verification(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """An OTP pattern's one value is the caller's code: the answer names its verification."""
    response = await send(
        client, seeded.token, {"to": NUMBER, "pattern_id": seeded.pattern_id, "values": ["2468"]}
    )
    verification_id = response.json()["verification_id"]

    checked = await client.post(
        "/v1/verifications/check",
        json={"id": verification_id, "code": "2468"},
        headers=bearer(seeded.token),
    )

    assert checked.json()["status"] == "approved"


async def test_a_repeat_with_the_same_key_sends_nothing_new(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """The same Idempotency-Key and body: the first answer; another body: 409."""
    await runtime.admin.set_free_text(seeded.account_id, True)
    body = {"to": NUMBER, "text": "hello"}

    first = await send(client, seeded.token, body, **{"Idempotency-Key": "k1"})
    again = await send(client, seeded.token, body, **{"Idempotency-Key": "k1"})
    other = await send(client, seeded.token, {**body, "text": "bye"}, **{"Idempotency-Key": "k1"})

    assert again.json() == first.json()
    assert problem(other) == (409, "idempotency-conflict")
    assert len(await runtime.store.list_messages(seeded.account_id, 10)) == 1


async def test_a_scheduled_send(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """send_at in the future: stored for then."""
    await runtime.admin.set_free_text(seeded.account_id, True)
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)

    response = await send(
        client, seeded.token, {"to": NUMBER, "text": "later", "send_at": at.isoformat()}
    )

    message_id = response.json()["id"]
    found = await runtime.store.get_messages(seeded.account_id, [message_id])
    assert found[message_id].not_before == at


PROBLEMS: list[tuple[dict[str, Any], tuple[int, str]]] = [
    ({"to": NUMBER}, (400, "invalid-request")),
    ({"to": NUMBER, "text": "x", "pattern_id": 1}, (400, "invalid-request")),
    ({"to": NUMBER, "text": "x", "values": ["a"]}, (400, "invalid-request")),
    ({"to": NUMBER, "text": "   "}, (400, "text-empty")),
    ({"to": NUMBER, "text": "x", "send_at": "soon"}, (400, "send-time-invalid")),
    ({"to": NUMBER, "text": "x", "line": "3000999"}, (422, "line-not-owned")),
    ({"to": NUMBER, "text": "x", "backup_line": "3000999"}, (422, "backup-line-not-owned")),
    ({"to": NUMBER, "text": "x", "line": ""}, (400, "line-empty")),
    ({"to": "12345", "text": "x"}, (400, "mobile-invalid")),
    ({"to": NUMBER, "pattern_id": 99999, "values": []}, (422, "pattern-not-found")),
    ({"to": NUMBER, "text": "x", "surprise": 1}, (400, "invalid-request")),
]


async def test_problems(client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded) -> None:
    """Each bad request is its documented problem."""
    await runtime.admin.set_free_text(seeded.account_id, True)

    found = [problem(await send(client, seeded.token, body)) for body, _ in PROBLEMS]

    assert found == [expected for _, expected in PROBLEMS]


async def test_pattern_value_problems(
    client: httpx.AsyncClient, seeded: Seeded, order_pattern: int
) -> None:
    """A wrong count, a non-digit for a digit variable, an empty value: each its problem."""
    cases = [
        (["1"], (422, "pattern-values-invalid")),
        (["x", "A"], (422, "pattern-values-invalid")),
        (["1", ""], (422, "pattern-values-empty")),
    ]

    found = [
        problem(
            await send(
                client, seeded.token, {"to": NUMBER, "pattern_id": order_pattern, "values": values}
            )
        )
        for values, _ in cases
    ]

    assert found == [expected for _, expected in cases]


async def test_free_text_without_the_permission(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """An account the operator has not granted free text: 403 free-text-not-allowed."""
    response = await send(client, seeded.token, {"to": NUMBER, "text": "hello"})

    assert problem(response) == (403, "free-text-not-allowed")


async def test_a_pending_pattern(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """The account's pattern before approval: 422 pattern-not-approved."""
    pattern = await runtime.gateway.create_account_pattern(
        seeded.account_id, text="hi %name%", is_otp=False
    )

    response = await send(
        client, seeded.token, {"to": NUMBER, "pattern_id": pattern.id, "values": ["x"]}
    )

    assert problem(response) == (422, "pattern-not-approved")


async def test_a_token_limited_to_patterns_may_not_send_text(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """Text needs SendSimple among a limited token's methods, patterns SendWithPattern."""
    await runtime.admin.set_free_text(seeded.account_id, True)
    issued = await runtime.admin.issue_token(
        account_id=seeded.account_id, allowed_methods=["SendWithPattern"]
    )

    text = await send(client, issued.secret, {"to": NUMBER, "text": "x"})
    pattern = await send(
        client, issued.secret, {"to": NUMBER, "pattern_id": order_pattern, "values": ["1", "a"]}
    )

    assert problem(text) == (403, "token-method-not-allowed")
    assert pattern.status_code == 201
