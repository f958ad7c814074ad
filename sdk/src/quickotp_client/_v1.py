"""
QuickOTP's /v1 JSON API: bearer token, real HTTP statuses, errors as RFC 9457 problems, an
Idempotency-Key on every send. Pure: builds `Call`s; each builder is one method of
`Client` and `AsyncClient`, whose signature and docstring it gives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from quickotp_client._call import Call, Fields, json_body
from quickotp_client._errors import ProblemError, ResponseError
from quickotp_client._models import AcceptedMessage, Message, StartedVerification, Verification
from quickotp_client._problems import ERROR_FOR_PROBLEM

T = TypeVar("T")


def start_verification(
    to: str,
    *,
    code_length: int | None = None,
    code: str | None = None,
    pattern_id: int | None = None,
    metadata: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> Call[StartedVerification]:
    """
    Send a code to `to` and start a verification of it; the server keeps the code and
    checks it (`check_verification`). Sent with an Idempotency-Key, new for each call
    unless you give one, and the same on each retry: a repeat never sends a second SMS.
    """
    body: dict[str, Any] = {"to": to}
    optional = {"code_length": code_length, "code": code, "pattern_id": pattern_id}
    body.update({name: value for name, value in optional.items() if value is not None})
    if metadata is not None:
        body["metadata"] = dict(metadata)
    return _idempotent("/v1/verifications", body, _started, idempotency_key)


def check_verification(
    code: str, *, verification_id: str | None = None, to: str | None = None
) -> Call[Verification]:
    """
    Check `code` against a verification, by its id or the newest one sent `to` a number.
    Returns the approved verification; any other outcome raises its VerificationError.
    """
    body = {"code": code}
    if verification_id is not None:
        body["id"] = verification_id
    if to is not None:
        body["to"] = to
    return Call(
        "POST", "/v1/verifications/check", _reader(200, _verification), json=body, bearer=True
    )


def get_verification(verification_id: str) -> Call[Verification]:
    """A verification and its outcome so far."""
    path = f"/v1/verifications/{quote(verification_id, safe='')}"
    return Call("GET", path, _reader(200, _verification), bearer=True)


def cancel_verification(verification_id: str) -> Call[Verification]:
    """Cancel a pending verification: its code no longer works."""
    path = f"/v1/verifications/{quote(verification_id, safe='')}/cancel"
    return Call("POST", path, _reader(200, _verification), bearer=True)


def send_message(
    to: str,
    *,
    text: str | None = None,
    pattern_id: int | None = None,
    values: Sequence[str | int] | None = None,
    line: str | None = None,
    backup_line: str | None = None,
    send_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Call[AcceptedMessage]:
    """
    Send free `text`, or pattern `pattern_id` with its `values`, to `to` (/v1). Sent with an
    Idempotency-Key, new for each call unless you give one: a retry never sends twice.
    """
    if send_at is not None and send_at.tzinfo is None:
        raise ValueError("send_at needs its time zone (an aware datetime)")
    body: dict[str, Any] = {"to": to}
    optional = {
        "text": text,
        "pattern_id": pattern_id,
        "values": list(values) if values is not None else None,
        "line": line,
        "backup_line": backup_line,
        "send_at": send_at.isoformat() if send_at is not None else None,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return _idempotent("/v1/messages", body, _accepted, idempotency_key)


def get_message(message_id: int) -> Call[Message]:
    """A message: its status, delivery, parts and cost."""
    return Call("GET", f"/v1/messages/{message_id}", _reader(200, _message), bearer=True)


def _idempotent(
    path: str, body: dict[str, Any], read: Callable[[Fields], T], idempotency_key: str | None
) -> Call[T]:
    """A send: a POST answered 201, with its Idempotency-Key (a new one unless given)."""
    key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    return Call("POST", path, _reader(201, read), json=body, bearer=True, idempotency_key=key)


# reading ---------------------------------------------------------------------------------


def _reader(expected: int, read: Callable[[Fields], T]) -> Callable[[httpx.Response], T]:
    def read_answer(response: httpx.Response) -> T:
        if response.status_code == expected:
            what = f"{response.request.method} {response.request.url.path}"
            return read(Fields(json_body(response), what=what, http_status=expected))
        raise _problem(response)

    return read_answer


def _problem(response: httpx.Response) -> ProblemError | ResponseError:
    """The exception for an answer that is not the expected one: its problem, if it is one."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in {"application/problem+json", "application/json"}:
        return ResponseError(
            f"HTTP {response.status_code} ({content_type or 'no content type'})",
            http_status=response.status_code,
        )
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return ResponseError(
            f"HTTP {response.status_code}: not a problem document", http_status=response.status_code
        )
    problem = Fields(body, what="problem", http_status=response.status_code)
    retry_after = problem.integer("retry_after") if problem.has("retry_after") else None
    header = response.headers.get("retry-after", "")
    if retry_after is None and header.isdigit():
        retry_after = int(header)
    kind = problem.text("type")
    return ERROR_FOR_PROBLEM.get(kind, ProblemError)(
        kind,
        http_status=response.status_code,
        title=problem.optional_text("title") or "",
        detail=problem.optional_text("detail") or "",
        instance=problem.optional_text("instance") or "",
        code=problem.optional_text("code"),
        retry_after=retry_after,
        verification_id=problem.optional_text("verification_id"),
        attempts_left=problem.integer("attempts_left") if problem.has("attempts_left") else None,
    )


def _started(data: Fields) -> StartedVerification:
    return StartedVerification(
        id=data.text("id"),
        to=data.text("to"),
        status=data.text("status"),
        expires_at=data.moment("expires_at"),
        message_id=data.integer("message_id"),
        sandbox=data.flag("sandbox"),
        metadata=data.labels("metadata"),
    )


def _accepted(data: Fields) -> AcceptedMessage:
    return AcceptedMessage(
        id=data.integer("id"),
        to=data.text("to"),
        verification_id=data.optional_text("verification_id"),
        expires_at=data.moment("expires_at"),
        sandbox=data.flag("sandbox"),
    )


def _verification(data: Fields) -> Verification:
    return Verification(
        id=data.text("id"),
        to=data.text("to"),
        status=data.text("status"),
        attempts_left=data.integer("attempts_left"),
        expires_at=data.moment("expires_at"),
        created_at=data.moment("created_at"),
        updated_at=data.moment("updated_at"),
        message_id=data.integer("message_id"),
        sandbox=data.flag("sandbox"),
        metadata=data.labels("metadata"),
    )


def _message(data: Fields) -> Message:
    delivery = data.nested("delivery")
    return Message(
        id=data.integer("id"),
        to=data.text("to"),
        status=data.text("status"),
        amoot_delivery_type=delivery.integer("amoot_delivery_type"),
        transport=delivery.optional_text("transport"),
        submitted_at=delivery.optional_moment("submitted_at"),
        reported_at=delivery.optional_moment("reported_at"),
        parts=data.integer("parts"),
        encoding=data.text("encoding"),
        cost=data.integer("cost"),
        attempts=data.integer("attempts"),
        created_at=data.moment("created_at"),
    )
