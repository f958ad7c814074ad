"""
The exception tree's trunk: the root, the families, transport and response errors, and the
two bases that every Status and every problem type subclasses (`_statuses`, `_problems`).

Only this module and `_client` know httpx's exceptions; callers never see one.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class QuickOTPError(Exception):
    """Base of every exception this client raises."""


# Families: each Status class and each problem class is also exactly one of these (or, for
# the unspecific `Failed` and `request-rejected`, none), so one `except` covers both APIs.


class AuthError(QuickOTPError):
    """Who is asking may not: no token, an unknown, disabled or expired one, a user switched off."""


class InvalidRequestError(QuickOTPError):
    """The request cannot be used as given: a bad number, code length, id or body."""


class AccountError(QuickOTPError):
    """The account cannot do this now: no credit, no approved OTP pattern, a demo account."""


class VerificationError(QuickOTPError):
    """A code check approved nothing: wrong, expired, too many attempts, used, canceled, none."""


class GuardError(QuickOTPError):
    """The fraud guard refused: a cooldown, a cap, a rate, a blocklist, a country, pumping."""


class ConflictError(QuickOTPError):
    """The request clashes with an earlier one: a reused idempotency key, a repeat in progress."""


class ServiceError(QuickOTPError):
    """The gateway failed on its side (an internal error, a part of it down); not your request."""


# No answer ------------------------------------------------------------------------------


class TransportError(QuickOTPError):
    """No answer came: the connection failed or broke. Wraps httpx's error as `__cause__`."""


class ConnectError(TransportError):
    """No connection could be made, so the request never reached the server."""


class TimeoutError(TransportError):  # shadows the builtin in this module only
    """No answer within the timeout. Unless it is also a ConnectError, the request may have
    reached the server."""


class ConnectTimeout(ConnectError, TimeoutError):
    """No connection within the timeout: the request never reached the server."""


def transport_error(exc: httpx.TransportError) -> TransportError:
    """Ours for one of httpx's transport errors (the caller raises it `from exc`)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimeout(f"no connection within the timeout: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"cannot connect: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"no answer within the timeout: {exc}")
    return TransportError(f"{type(exc).__name__}: {exc}")


def reached_server(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server before `exc` (anything but connecting)."""
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


# An answer that is not the API's ----------------------------------------------------------


class ResponseError(QuickOTPError):
    """
    An answer the API does not document: an unexpected HTTP status, not JSON, a missing
    field. `http_status` is the answer's (None when its body could not even be decoded).
    """

    def __init__(self, message: str, *, http_status: int | None) -> None:
        super().__init__(message)
        self.http_status = http_status


# The API said no ------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """PatternCodeCreate's `ValidationResult`: Amoot's number for what was wrong, and a message."""

    status: int
    message: str | None


class StatusError(QuickOTPError):
    """
    A /rest method answered a Status other than Success. `status` is the name as sent
    (`Mobile_Invalid`), `method` the /rest method, `validation` PatternCodeCreate's
    ValidationResult when there is one. A Status this client does not know raises
    StatusError itself.
    """

    def __init__(self, status: str, *, method: str, validation: Validation | None = None) -> None:
        super().__init__(status, method)
        self.status = status
        self.method = method
        self.validation = validation

    def __str__(self) -> str:
        summary = _description(type(self)) if type(self) is not StatusError else ""
        detail = self.validation.message if self.validation and self.validation.message else ""
        return ": ".join(part for part in (self.status, summary, detail) if part)


class ProblemError(QuickOTPError):
    """
    A /v1 call answered an RFC 9457 problem. `type` is the stable URI
    (`urn:quickotp:problem:code-invalid`), `http_status` the HTTP status, `code` the /rest
    Status name for the same outcome; `retry_after` (seconds), `verification_id` and
    `attempts_left` are set when the server says them. A type this client does not know
    raises ProblemError itself.
    """

    def __init__(
        self,
        type: str,  # RFC 9457's name for it
        *,
        http_status: int,
        title: str = "",
        detail: str = "",
        instance: str = "",
        code: str | None = None,
        retry_after: int | None = None,
        verification_id: str | None = None,
        attempts_left: int | None = None,
    ) -> None:
        super().__init__(type, http_status)
        self.type = type
        self.http_status = http_status
        self.title = title
        self.detail = detail
        self.instance = instance
        self.code = code
        self.retry_after = retry_after
        self.verification_id = verification_id
        self.attempts_left = attempts_left

    def __str__(self) -> str:
        text = ": ".join(part for part in (self.title, self.detail) if part) or self.type
        return f"{text} (HTTP {self.http_status})"


def _description(cls: type) -> str:
    """A class's docstring as a phrase for a message: one line, no full stop (empty under -OO)."""
    text = " ".join((cls.__doc__ or "").split()).rstrip(".")
    return text[:1].lower() + text[1:]
