"""
The /v1 JSON API for new clients: send a verification, check a code, look up a verification
or a message, send a message (free text or a pattern). Bearer tokens (the same as /rest),
real HTTP status codes, errors as problem+json (web/problems.py); `web/openapi.py`
documents every answer, and tests hold it true.

Parse, call the Gateway, shape the answer; nothing else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quickotp.domain.errors import GatewayError, InvalidRequest, MalformedRequest, RouteOverloaded
from quickotp.domain.models import Caller, Message, Verification
from quickotp.services.gateway import Gateway
from quickotp.services.messaging import MAX_TEXT, Messaging
from quickotp.services.sends import SentOtp
from quickotp.support.faults import log_failure
from quickotp.web.amoot_wire import DELIVERY_TYPE
from quickotp.web.problems import problem_for, problem_response

log = logging.getLogger(__name__)

RESPONSES = Counter("quickotp_v1_responses", "Answers on the /v1 API", ["operation", "status"])

MAX_BODY = 16 * 1024
MAX_METADATA_KEYS = 20
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_IDEMPOTENCY_KEY = 255
MAX_VALUES = 50
MAX_VALUE = 500

Operation = Callable[[Caller, Request], Awaitable[Response]]


class JsonBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class V1Api:
    def __init__(self, gateway: Gateway, messaging: Messaging | None = None) -> None:
        self.gateway = gateway
        self.messaging = messaging

    def routes(self) -> list[Route]:
        sending = []
        if self.messaging is not None:  # free text and patterns need the account's lines
            # Its Amoot method (SendSimple or SendWithPattern) is known once the body is read.
            sending = [Route("/v1/messages", self._op("send", None, self.send), methods=["POST"])]
        return [
            *sending,
            Route(
                "/v1/verifications",
                self._op("create", "SendQuickOTP", self.create),
                methods=["POST"],
            ),
            Route(
                "/v1/verifications/check",
                self._op("check", "VerifyQuickOTP", self.check),
                methods=["POST"],
            ),
            Route(
                "/v1/verifications/{id}",
                self._op("get", "VerifyQuickOTP", self.get),
                methods=["GET"],
            ),
            Route(
                "/v1/verifications/{id}/cancel",
                self._op("cancel", "VerifyQuickOTP", self.cancel),
                methods=["POST"],
            ),
            Route(
                "/v1/messages/{id}",
                self._op("message", "GetDelivery", self.message),
                methods=["GET"],
            ),
        ]

    def _op(
        self, name: str, method: str | None, operation: Operation
    ) -> Callable[[Request], Awaitable[Response]]:
        """`operation` behind bearer auth, with every error as problem+json (a bug as a 500)."""

        async def endpoint(request: Request) -> Response:
            try:
                caller = await self.gateway.authenticate(
                    request.headers.get("authorization", ""),
                    method=method,
                    ip=request.client.host if request.client else None,
                )
                response = await operation(caller, request)
            except GatewayError as exc:
                # An overload refusal is expected traffic, counted by admission control.
                if problem_for(exc).status >= 500 and not isinstance(exc, RouteOverloaded):
                    log.error("/v1 %s: %s", name, exc)
                else:
                    log.info("/v1 %s refused: %s (%r)", name, type(exc).__name__, str(exc))
                response = problem_response(exc, instance=request.url.path)
            except Exception as exc:  # a bug or a fault: answered as a problem, and logged
                log_failure(log, "/v1 %s failed", name, exc=exc)
                response = problem_response(exc, instance=request.url.path)
            RESPONSES.labels(name, str(response.status_code)).inc()
            return response

        return endpoint

    # operations -----------------------------------------------------------------------

    async def create(self, caller: Caller, request: Request) -> Response:
        body = await _json_object(request)
        _only(body, {"to", "code_length", "code", "pattern_id", "metadata"})
        metadata = _metadata(body.get("metadata"))
        sent = await self.gateway.start_verification(
            caller,
            to=_string(body, "to", required=True, limit=40) or "",
            code_length=_integer(body, "code_length", default=6),
            code=_string(body, "code", limit=8),
            pattern_id=_integer(body, "pattern_id", default=None, low=1),
            metadata=orjson.dumps(metadata).decode() if metadata is not None else None,
            idempotency_key=_idempotency_key(request),
            fingerprint=hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        )
        return JsonBody(
            _created(sent, metadata),
            status_code=201,
            headers={"Location": f"/v1/verifications/{sent.verification_id}"},
        )

    async def send(self, caller: Caller, request: Request) -> Response:
        if self.messaging is None:  # not routed without it (routes())
            raise RuntimeError("no messaging")
        body = await _json_object(request)
        _only(body, {"to", "text", "pattern_id", "values", "line", "backup_line", "send_at"})
        pattern_id = _integer(body, "pattern_id", default=None, low=1)
        self.gateway.allow(caller, "SendSimple" if pattern_id is None else "SendWithPattern")
        sent = await self.messaging.send_v1(
            caller,
            to=_string(body, "to", required=True, limit=40) or "",
            text=_string(body, "text", limit=MAX_TEXT),
            pattern_id=pattern_id,
            values=_values(body.get("values")),
            line=_string(body, "line", limit=20),
            backup_line=_string(body, "backup_line", limit=20),
            send_at=_string(body, "send_at", limit=64),
            idempotency_key=_idempotency_key(request),
            fingerprint=hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        )
        return JsonBody(
            _sent_message(sent),
            status_code=201,
            headers={"Location": f"/v1/messages/{sent.message_id}"},
        )

    async def check(self, caller: Caller, request: Request) -> Response:
        body = await _json_object(request)
        _only(body, {"id", "to", "code"})
        verification_id = _string(body, "id", limit=64)
        to = _string(body, "to", limit=40)
        if verification_id is None and to is None:
            raise InvalidRequest("give the verification's id or the number it was sent to (to)")
        verification = await self.gateway.verifications.check(
            caller,
            code=_string(body, "code", required=True, limit=40),
            verification_id=verification_id,
            mobile=None if verification_id is not None else to,
        )
        return JsonBody(self._verification(verification))

    async def get(self, caller: Caller, request: Request) -> Response:
        found = await self.gateway.verifications.get(caller, request.path_params["id"])
        return JsonBody(self._verification(found))

    async def cancel(self, caller: Caller, request: Request) -> Response:
        found = await self.gateway.verifications.cancel(caller, request.path_params["id"])
        return JsonBody(self._verification(found))

    async def message(self, caller: Caller, request: Request) -> Response:
        found = await self.gateway.get_delivery(caller, request.path_params["id"])
        return JsonBody(_message(found))

    def _verification(self, verification: Verification) -> dict[str, Any]:
        return {
            "id": verification.id,
            "to": "+" + verification.mobile,
            "status": self.gateway.verifications.status_of(verification).value,
            "attempts_left": verification.attempts_left,
            "expires_at": _time(verification.expires_at),
            "created_at": _time(verification.created_at),
            "updated_at": _time(verification.updated_at),
            "message_id": verification.message_id,
            "sandbox": verification.sandbox,
            "metadata": orjson.loads(verification.metadata) if verification.metadata else None,
        }


def _created(sent: SentOtp, metadata: dict[str, str] | None) -> dict[str, Any]:
    """The answer to a send: the same for the first request and for every repeat of it."""
    return {
        "id": sent.verification_id,
        "to": "+" + sent.mobile.e164,
        "status": "pending",
        "expires_at": _time(sent.expires_at),
        "message_id": sent.message_id,
        "sandbox": sent.sandbox,
        "metadata": metadata,
    }


def _sent_message(sent: SentOtp) -> dict[str, Any]:
    """The answer to POST /v1/messages: the same for the first request and every repeat."""
    return {
        "id": sent.message_id,
        "to": "+" + sent.mobile.e164,
        "verification_id": sent.verification_id or None,
        "expires_at": _time(sent.expires_at),
        "sandbox": sent.sandbox,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "to": "+" + message.mobile,
        "status": message.status.value,
        "delivery": {
            "amoot_delivery_type": DELIVERY_TYPE.get(message.status, 100),
            "transport": message.transport,
            "submitted_at": _time(message.submitted_at),
            "reported_at": _time(message.reported_at),
        },
        "parts": message.parts,
        "encoding": message.encoding,
        "cost": message.cost,
        "attempts": message.attempts,
        "created_at": _time(message.created_at),
    }


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# reading requests ---------------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("the body must be a JSON object")
    return data


def _only(body: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0][:40]!r}")


def _string(
    body: dict[str, Any], name: str, *, required: bool = False, limit: int = 100
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"{name} must be a string of at most {limit} characters")
    return value


def _integer(body: dict[str, Any], name: str, *, default: Any, low: int = 0) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 2**53:
        raise InvalidRequest(f"{name} must be a whole number")
    return value


def _values(value: Any) -> list[str] | None:
    """A pattern's values: an array of strings (numbers are taken as their text)."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_VALUES
        or not all(
            isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= MAX_VALUE
            for v in value
        )
    ):
        raise InvalidRequest(
            f"values is an array of at most {MAX_VALUES} strings of up to {MAX_VALUE} characters"
        )
    return [str(v) for v in value]


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or len(value) > MAX_METADATA_KEYS
        or not all(
            isinstance(v, str) and len(k) <= MAX_METADATA_KEY and len(v) <= MAX_METADATA_VALUE
            for k, v in value.items()
        )
    ):
        raise InvalidRequest(
            f"metadata is an object of at most {MAX_METADATA_KEYS} strings "
            f"(keys up to {MAX_METADATA_KEY}, values up to {MAX_METADATA_VALUE} characters)"
        )
    return value


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise InvalidRequest(f"Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} printable characters")
    return key
