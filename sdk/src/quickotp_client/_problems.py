"""
One exception class per /v1 problem `type` (`urn:quickotp:problem:<slug>`), and the table from
type URI to class. A class's name is its slug in CamelCase, then `Problem`.
"""

from __future__ import annotations

from quickotp_client._errors import (
    AccountError,
    AuthError,
    ConflictError,
    GuardError,
    InvalidRequestError,
    ProblemError,
    ServiceError,
    VerificationError,
)

TYPE_PREFIX = "urn:quickotp:problem:"


class MalformedRequestProblem(ProblemError, InvalidRequestError):
    """The request body cannot be read (broken JSON, too large)."""


class InvalidRequestProblem(ProblemError, InvalidRequestError):
    """The request is not of the documented shape."""


class MobileEmptyProblem(ProblemError, InvalidRequestError):
    """No mobile number was given."""


class MobileInvalidProblem(ProblemError, InvalidRequestError):
    """Not a mobile number the gateway serves."""


class LengthInvalidProblem(ProblemError, InvalidRequestError):
    """A code or a code length outside 4 to 8 digits."""


class CodeEmptyProblem(ProblemError, InvalidRequestError):
    """No code was given."""


class MessageNotFoundProblem(ProblemError, InvalidRequestError):
    """No such message (or another account's)."""


class NotFoundProblem(ProblemError, InvalidRequestError):
    """No such resource: the URL is not one of the API's."""


class TokenMissingProblem(ProblemError, AuthError):
    """No bearer token was given."""


class TokenUnknownProblem(ProblemError, AuthError):
    """The bearer token is not known."""


class TokenDisabledProblem(ProblemError, AuthError):
    """The token is switched off."""


class TokenExpiredProblem(ProblemError, AuthError):
    """The token has expired."""


class TokenIpNotAllowedProblem(ProblemError, AuthError):
    """The token may not be used from this address."""


class TokenMethodNotAllowedProblem(ProblemError, AuthError):
    """The token may not call this operation."""


class AccountDisabledProblem(ProblemError, AuthError):
    """The account is switched off."""


class CreditNotEnoughProblem(ProblemError, AccountError):
    """The account's credit does not cover the message."""


class PatternUnavailableProblem(ProblemError, AccountError):
    """The account has no approved OTP pattern to send with."""


class VerificationNotFoundProblem(ProblemError, VerificationError):
    """No such verification (or another account's)."""


class CodeInvalidProblem(ProblemError, VerificationError):
    """The code is wrong; `attempts_left` says how many remain."""


class CodeExpiredProblem(ProblemError, VerificationError):
    """The code has expired."""


class TooManyAttemptsProblem(ProblemError, VerificationError):
    """Too many wrong codes: even the right one fails now."""


class CodeAlreadyUsedProblem(ProblemError, VerificationError):
    """The verification was approved before: a code works once."""


class VerificationCanceledProblem(ProblemError, VerificationError):
    """A newer send, or a cancel, replaced the verification."""


class VerificationNotPendingProblem(ProblemError, VerificationError):
    """Only a pending verification can be canceled."""


class MobileCooldownProblem(ProblemError, GuardError):
    """A code was sent to this number a moment ago (see `retry_after`)."""


class MobileLimitReachedProblem(ProblemError, GuardError):
    """This number had its hourly or daily number of codes."""


class AccountRateLimitedProblem(ProblemError, GuardError):
    """The account's request rate is exceeded."""


class TokenRateLimitedProblem(ProblemError, GuardError):
    """The token's request rate is exceeded."""


class IpRateLimitedProblem(ProblemError, GuardError):
    """This address's request rate is exceeded."""


class MobileBlockedProblem(ProblemError, GuardError):
    """The number is on the blocklist."""


class CountryNotAllowedProblem(ProblemError, GuardError):
    """The account may not send to this number's country."""


class PumpingSuspectedProblem(ProblemError, GuardError):
    """Sends to this range are far above normal (SMS pumping)."""


class IdempotencyConflictProblem(ProblemError, ConflictError):
    """The Idempotency-Key was used before with another request."""


class RequestInProgressProblem(ProblemError, ConflictError):
    """The same request is being answered right now."""


class RequestRepeatedProblem(ProblemError, ConflictError):
    """A repeat of a request whose answer is gone."""


class LimitsUnavailableProblem(ProblemError, ServiceError):
    """The fraud guard is unavailable, and refuses until it is back."""


class RouteOverloadedProblem(ProblemError, ServiceError):
    """More is offered than the gateway's route can deliver in time: try again shortly."""


class ServerErrorProblem(ProblemError, ServiceError):
    """The server failed on its side."""


class RequestRejectedProblem(ProblemError):
    """Refused, for a reason the server does not name more precisely."""


class SendTimeInvalidProblem(ProblemError, InvalidRequestError):
    """send_at is not a time the gateway can use (unreadable, or more than a year ahead)."""


class TextEmptyProblem(ProblemError, InvalidRequestError):
    """No message text was given."""


class LengthExceededProblem(ProblemError, InvalidRequestError):
    """The message text is longer than the gateway sends."""


class LineEmptyProblem(ProblemError, InvalidRequestError):
    """An empty sender line was given."""


class FreeTextNotAllowedProblem(ProblemError, AccountError):
    """The account may send its approved patterns only: the operator has not allowed free text."""


class LineNotOwnedProblem(ProblemError, AccountError):
    """The sender line is not one of the account's (nor a shared line)."""


class BackupLineNotOwnedProblem(ProblemError, AccountError):
    """The backup line is not one of the account's (nor a shared line)."""


class PatternNotFoundProblem(ProblemError, InvalidRequestError):
    """No pattern with this id among the account's."""


class PatternNotApprovedProblem(ProblemError, AccountError):
    """The pattern waits for the operator's approval, or was rejected."""


class PatternValuesInvalidProblem(ProblemError, InvalidRequestError):
    """Not one value per pattern variable, or a non-digit for a digits-only variable."""


class PatternValuesEmptyProblem(ProblemError, InvalidRequestError):
    """A pattern value is empty."""


ERROR_FOR_PROBLEM: dict[str, type[ProblemError]] = {
    TYPE_PREFIX + "malformed-request": MalformedRequestProblem,
    TYPE_PREFIX + "invalid-request": InvalidRequestProblem,
    TYPE_PREFIX + "mobile-empty": MobileEmptyProblem,
    TYPE_PREFIX + "mobile-invalid": MobileInvalidProblem,
    TYPE_PREFIX + "length-invalid": LengthInvalidProblem,
    TYPE_PREFIX + "code-empty": CodeEmptyProblem,
    TYPE_PREFIX + "message-not-found": MessageNotFoundProblem,
    TYPE_PREFIX + "not-found": NotFoundProblem,
    TYPE_PREFIX + "token-missing": TokenMissingProblem,
    TYPE_PREFIX + "token-unknown": TokenUnknownProblem,
    TYPE_PREFIX + "token-disabled": TokenDisabledProblem,
    TYPE_PREFIX + "token-expired": TokenExpiredProblem,
    TYPE_PREFIX + "token-ip-not-allowed": TokenIpNotAllowedProblem,
    TYPE_PREFIX + "token-method-not-allowed": TokenMethodNotAllowedProblem,
    TYPE_PREFIX + "account-disabled": AccountDisabledProblem,
    TYPE_PREFIX + "credit-not-enough": CreditNotEnoughProblem,
    TYPE_PREFIX + "pattern-unavailable": PatternUnavailableProblem,
    TYPE_PREFIX + "verification-not-found": VerificationNotFoundProblem,
    TYPE_PREFIX + "code-invalid": CodeInvalidProblem,
    TYPE_PREFIX + "code-expired": CodeExpiredProblem,
    TYPE_PREFIX + "too-many-attempts": TooManyAttemptsProblem,
    TYPE_PREFIX + "code-already-used": CodeAlreadyUsedProblem,
    TYPE_PREFIX + "verification-canceled": VerificationCanceledProblem,
    TYPE_PREFIX + "verification-not-pending": VerificationNotPendingProblem,
    TYPE_PREFIX + "mobile-cooldown": MobileCooldownProblem,
    TYPE_PREFIX + "mobile-limit-reached": MobileLimitReachedProblem,
    TYPE_PREFIX + "account-rate-limited": AccountRateLimitedProblem,
    TYPE_PREFIX + "token-rate-limited": TokenRateLimitedProblem,
    TYPE_PREFIX + "ip-rate-limited": IpRateLimitedProblem,
    TYPE_PREFIX + "mobile-blocked": MobileBlockedProblem,
    TYPE_PREFIX + "country-not-allowed": CountryNotAllowedProblem,
    TYPE_PREFIX + "pumping-suspected": PumpingSuspectedProblem,
    TYPE_PREFIX + "idempotency-conflict": IdempotencyConflictProblem,
    TYPE_PREFIX + "request-in-progress": RequestInProgressProblem,
    TYPE_PREFIX + "request-repeated": RequestRepeatedProblem,
    TYPE_PREFIX + "limits-unavailable": LimitsUnavailableProblem,
    TYPE_PREFIX + "route-overloaded": RouteOverloadedProblem,
    TYPE_PREFIX + "server-error": ServerErrorProblem,
    TYPE_PREFIX + "request-rejected": RequestRejectedProblem,
    TYPE_PREFIX + "send-time-invalid": SendTimeInvalidProblem,
    TYPE_PREFIX + "text-empty": TextEmptyProblem,
    TYPE_PREFIX + "length-exceeded": LengthExceededProblem,
    TYPE_PREFIX + "line-empty": LineEmptyProblem,
    TYPE_PREFIX + "free-text-not-allowed": FreeTextNotAllowedProblem,
    TYPE_PREFIX + "line-not-owned": LineNotOwnedProblem,
    TYPE_PREFIX + "backup-line-not-owned": BackupLineNotOwnedProblem,
    TYPE_PREFIX + "pattern-not-found": PatternNotFoundProblem,
    TYPE_PREFIX + "pattern-not-approved": PatternNotApprovedProblem,
    TYPE_PREFIX + "pattern-values-invalid": PatternValuesInvalidProblem,
    TYPE_PREFIX + "pattern-values-empty": PatternValuesEmptyProblem,
}
