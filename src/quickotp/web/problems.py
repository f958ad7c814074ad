"""
Errors on /v1 as RFC 9457 problem details (`application/problem+json`): one stable `type`
URI per error, the HTTP status it travels with, and the Amoot-style Status name as `code`.

Only the web edge imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from quickotp.domain import errors
from quickotp.web.amoot_wire import status_for

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:quickotp:problem:"


@dataclass(frozen=True)
class ProblemType:
    slug: str  # the stable part of the `type` URI
    status: int
    title: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug


def _p(slug: str, status: int, title: str) -> ProblemType:
    return ProblemType(slug, status, title)


PROBLEM_FOR_ERROR: dict[type[Exception], ProblemType] = {
    errors.MalformedRequest: _p("malformed-request", 400, "The request body cannot be read"),
    errors.InvalidRequest: _p("invalid-request", 400, "The request is not of the documented shape"),
    errors.MobileEmpty: _p("mobile-empty", 400, "No mobile number was given"),
    errors.InvalidMobile: _p("mobile-invalid", 400, "Not a mobile number this gateway serves"),
    errors.InvalidCodeLength: _p("length-invalid", 400, "A code or code length outside 4 to 8"),
    errors.CodeEmpty: _p("code-empty", 400, "No code was given"),
    errors.TokenMissing: _p("token-missing", 401, "No bearer token was given"),
    errors.TokenUnknown: _p("token-unknown", 401, "The bearer token is not known"),
    errors.TokenDisabled: _p("token-disabled", 403, "The token is disabled"),
    errors.TokenExpired: _p("token-expired", 403, "The token has expired"),
    errors.TokenIpNotAllowed: _p("token-ip-not-allowed", 403, "Not allowed from this address"),
    errors.TokenMethodNotAllowed: _p(
        "token-method-not-allowed", 403, "The token may not call this method"
    ),
    errors.AccountDisabled: _p("account-disabled", 403, "The account is disabled"),
    errors.CreditNotEnough: _p("credit-not-enough", 402, "The account's credit is not enough"),
    errors.PatternUnavailable: _p("pattern-unavailable", 422, "No approved OTP pattern to use"),
    errors.InvalidMessageId: _p("message-not-found", 404, "No such message"),
    errors.VerificationNotFound: _p("verification-not-found", 404, "No such verification"),
    errors.CodeMismatch: _p("code-invalid", 422, "The code is wrong"),
    errors.CodeExpired: _p("code-expired", 410, "The code has expired"),
    errors.TooManyAttempts: _p("too-many-attempts", 403, "Too many wrong codes"),
    errors.CodeAlreadyUsed: _p("code-already-used", 409, "The verification was approved before"),
    errors.VerificationCanceled: _p("verification-canceled", 410, "The verification was canceled"),
    errors.VerificationNotPending: _p(
        "verification-not-pending", 409, "Only a pending verification can be canceled"
    ),
    errors.MobileCooldown: _p("mobile-cooldown", 429, "A code was sent to this number just now"),
    errors.MobileLimitReached: _p("mobile-limit-reached", 429, "This number's send cap is reached"),
    errors.AccountRateLimited: _p("account-rate-limited", 429, "The account's rate is exceeded"),
    errors.TokenRateLimited: _p("token-rate-limited", 429, "The token's rate is exceeded"),
    errors.IpRateLimited: _p("ip-rate-limited", 429, "This address's rate is exceeded"),
    errors.MobileBlocked: _p("mobile-blocked", 403, "The number is on the blocklist"),
    errors.CountryNotAllowed: _p("country-not-allowed", 403, "Sending to this country is off"),
    errors.PumpingSuspected: _p(
        "pumping-suspected", 403, "Traffic to this range is far above normal (SMS pumping)"
    ),
    errors.IdempotencyConflict: _p(
        "idempotency-conflict", 409, "The Idempotency-Key was used with another request"
    ),
    errors.RequestInProgress: _p(
        "request-in-progress", 409, "The same request is being answered right now"
    ),
    errors.RequestRepeated: _p("request-repeated", 409, "A repeat whose answer is gone"),
    errors.LimitsUnavailable: _p("limits-unavailable", 503, "The fraud guard is unavailable"),
    errors.RouteOverloaded: _p(
        "route-overloaded", 503, "More is offered than the route can deliver in time"
    ),
    errors.InvalidSendTime: _p("send-time-invalid", 400, "send_at is not a time we can use"),
    errors.MessageTextEmpty: _p("text-empty", 400, "No message text was given"),
    errors.LineEmpty: _p("line-empty", 400, "An empty sender line was given"),
    errors.BackupLineEmpty: _p("line-empty", 400, "An empty sender line was given"),
    errors.MessageTooLong: _p("length-exceeded", 400, "The message text is too long"),
    errors.FreeTextNotAllowed: _p(
        "free-text-not-allowed", 403, "This account may send patterns only, not free text"
    ),
    errors.BackupLineNotOwned: _p(
        "backup-line-not-owned", 422, "The backup line is not one of the account's"
    ),
    errors.LineNotOwned: _p("line-not-owned", 422, "The sender line is not one of the account's"),
    errors.PatternNotFound: _p("pattern-not-found", 422, "No such pattern of this account"),
    errors.PatternNotApproved: _p("pattern-not-approved", 422, "The pattern is not approved"),
    errors.PatternValuesInvalid: _p(
        "pattern-values-invalid", 422, "The values do not fit the pattern's variables"
    ),
    errors.PatternValueEmpty: _p("pattern-values-empty", 422, "A pattern value is empty"),
    errors.RequestRejected: _p("request-rejected", 400, "The request was refused"),
    errors.GatewayError: _p("request-rejected", 400, "The request was refused"),
}
SERVER_ERROR = _p("server-error", 500, "Internal error")
MAX_RETRY_AFTER = 86_400  # seconds
NOT_FOUND = _p("not-found", 404, "No such resource")
METHOD_NOT_ALLOWED = _p("method-not-allowed", 405, "This resource does not take this method")
MALFORMED_HTTP = _p("malformed-http", 400, "The request is not valid HTTP/1.1")
REQUEST_TIMEOUT = _p("request-timeout", 408, "The request was not sent in time")
HEAD_TOO_LARGE = _p("head-too-large", 431, "The request's line and headers are too large")
TOO_MANY_CONNECTIONS = _p(
    "too-many-connections", 429, "Too many connections are open from this address"
)


def problem_for(exc: BaseException) -> ProblemType:
    """The most specific problem type for `exc` (MRO walk); SERVER_ERROR for a bug."""
    for cls in type(exc).__mro__:
        if cls in PROBLEM_FOR_ERROR:
            return PROBLEM_FOR_ERROR[cls]
    return SERVER_ERROR


def problem_response(exc: BaseException, *, instance: str) -> Response:
    """`exc` as a problem+json response, with what the caller needs to react to it."""
    kind = problem_for(exc)
    # A refusal's text describes the request; a failure of ours (5xx) may name a backend's
    # address or carry its exception text, so it is answered with the title alone.
    if kind is SERVER_ERROR:
        detail = "an internal error; it was logged"
    else:
        detail = str(exc) if kind.status < 500 else kind.title
    body = problem_document(kind, detail, instance=instance)
    body["code"] = status_for(exc).value
    headers: dict[str, str] = {}
    if isinstance(exc, errors.VerificationFailed) and exc.verification is not None:
        body["verification_id"] = exc.verification.id
        body["attempts_left"] = exc.verification.attempts_left
    if isinstance(exc, errors.GuardRefused | errors.RouteOverloaded) and exc.retry_after > 0:
        # A rate a hair above zero waits "forever": a day is as long as an answer says.
        seconds = max(1, math.ceil(min(exc.retry_after, MAX_RETRY_AFTER)))
        body["retry_after"] = seconds
        headers["Retry-After"] = str(seconds)
    if kind.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="quickotp"'
    return ProblemResponse(body, status_code=kind.status, headers=headers)


def problem_document(kind: ProblemType, detail: str, *, instance: str | None) -> dict[str, Any]:
    """The RFC 9457 members every problem has; `instance` left out when there is none."""
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    return body


def plain_problem(
    kind: ProblemType, detail: str, *, instance: str, headers: dict[str, str] | None = None
) -> Response:
    body = problem_document(kind, detail, instance=instance)
    return ProblemResponse(body, status_code=kind.status, headers=headers)


class ProblemResponse(Response):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
