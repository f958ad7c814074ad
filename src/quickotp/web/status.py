"""
The Amoot-style `Status` vocabulary, and the one table that maps our errors onto it.

Only the web edge imports this module. Names and numbers are Amoot's (SOAP contract and
REST docs); Amoot has no names for some of our outcomes, and those that we add are listed
in the README and never collide with Amoot's.
"""

from __future__ import annotations

from enum import StrEnum

from quickotp import errors


class Status(StrEnum):
    SUCCESS = "Success"
    FAILED = "Failed"
    SERVER_ERROR = "ServerError"
    CREDIT_NOT_ENOUGH = "CreditNotEnough"
    MOBILE_EMPTY = "Mobile_Empty"
    MOBILE_INVALID = "Mobile_Invalid"
    MESSAGE_ID_INVALID = "MessageID_Invalid"
    LENGTH_INVALID = "Length_Invalid"
    USER_DISABLED = "User_Disabled"
    TOKEN_NOT_EXISTS = "Token_NotExists"
    TOKEN_INVALID = "Token_Invalid"
    TOKEN_DISABLED = "Token_Disabled"
    TOKEN_EXPIRED = "Token_Expired"
    TOKEN_NOT_ALLOW_IP = "Token_NotAllowIP"
    TOKEN_NOT_ALLOW_METHOD = "Token_NotAllowMethod"
    URL_ADDRESS_EMPTY = "URLAddress_Empty"
    URL_ADDRESS_DUPLICATE = "URLAddress_Duplicate"
    RELAY_ID_INVALID = "RelayMessageDeliveryID_Invalid"
    # Ours (Amoot has no names for these; listed in the README):
    CODE_EMPTY = "Code_Empty"
    CODE_INVALID = "Code_Invalid"
    CODE_EXPIRED = "Code_Expired"
    CODE_TOO_MANY_ATTEMPTS = "Code_TooManyAttempts"
    CODE_ALREADY_USED = "Code_AlreadyUsed"
    CODE_CANCELED = "Code_Canceled"
    CODE_NOT_FOUND = "Code_NotFound"
    VERIFICATION_NOT_PENDING = "Verification_NotPending"
    MOBILE_COOLDOWN = "Mobile_Cooldown"
    MOBILE_LIMIT_REACHED = "Mobile_LimitReached"
    MOBILE_BLOCKED = "Mobile_Blocked"
    COUNTRY_NOT_ALLOWED = "Country_NotAllowed"
    PUMPING_SUSPECTED = "Pumping_Suspected"
    ACCOUNT_RATE_LIMITED = "Account_RateLimited"
    TOKEN_RATE_LIMITED = "Token_RateLimited"
    IP_RATE_LIMITED = "IP_RateLimited"
    GUARD_UNAVAILABLE = "Guard_Unavailable"
    REQUEST_IN_PROGRESS = "Request_InProgress"
    REQUEST_REPEATED = "Request_Repeated"
    REQUEST_CONFLICT = "Request_Conflict"
    REQUEST_INVALID = "Request_Invalid"
    ROUTE_OVERLOADED = "Route_Overloaded"
    PATTERN_LIMIT_REACHED = "Pattern_LimitReached"


STATUS_FOR_ERROR: dict[type[Exception], Status] = {
    errors.MobileEmpty: Status.MOBILE_EMPTY,
    errors.InvalidMobile: Status.MOBILE_INVALID,
    errors.InvalidCodeLength: Status.LENGTH_INVALID,
    errors.CreditNotEnough: Status.CREDIT_NOT_ENOUGH,
    errors.InvalidMessageId: Status.MESSAGE_ID_INVALID,
    errors.TokenMissing: Status.TOKEN_INVALID,
    errors.TokenUnknown: Status.TOKEN_NOT_EXISTS,
    errors.TokenDisabled: Status.TOKEN_DISABLED,
    errors.TokenExpired: Status.TOKEN_EXPIRED,
    errors.TokenIpNotAllowed: Status.TOKEN_NOT_ALLOW_IP,
    errors.TokenMethodNotAllowed: Status.TOKEN_NOT_ALLOW_METHOD,
    errors.AccountDisabled: Status.USER_DISABLED,
    errors.WebhookUrlEmpty: Status.URL_ADDRESS_EMPTY,
    errors.WebhookUrlDuplicate: Status.URL_ADDRESS_DUPLICATE,
    errors.RelayNotFound: Status.RELAY_ID_INVALID,
    errors.CodeEmpty: Status.CODE_EMPTY,
    errors.CodeMismatch: Status.CODE_INVALID,
    errors.CodeExpired: Status.CODE_EXPIRED,
    errors.TooManyAttempts: Status.CODE_TOO_MANY_ATTEMPTS,
    errors.CodeAlreadyUsed: Status.CODE_ALREADY_USED,
    errors.VerificationCanceled: Status.CODE_CANCELED,
    errors.VerificationNotFound: Status.CODE_NOT_FOUND,
    errors.VerificationNotPending: Status.VERIFICATION_NOT_PENDING,
    errors.MobileCooldown: Status.MOBILE_COOLDOWN,
    errors.MobileLimitReached: Status.MOBILE_LIMIT_REACHED,
    errors.MobileBlocked: Status.MOBILE_BLOCKED,
    errors.CountryNotAllowed: Status.COUNTRY_NOT_ALLOWED,
    errors.PumpingSuspected: Status.PUMPING_SUSPECTED,
    errors.AccountRateLimited: Status.ACCOUNT_RATE_LIMITED,
    errors.TokenRateLimited: Status.TOKEN_RATE_LIMITED,
    errors.IpRateLimited: Status.IP_RATE_LIMITED,
    errors.LimitsUnavailable: Status.GUARD_UNAVAILABLE,
    errors.RequestInProgress: Status.REQUEST_IN_PROGRESS,
    errors.RequestRepeated: Status.REQUEST_REPEATED,
    errors.IdempotencyConflict: Status.REQUEST_CONFLICT,
    errors.InvalidRequest: Status.REQUEST_INVALID,
    errors.RouteOverloaded: Status.ROUTE_OVERLOADED,
    errors.PatternLimitReached: Status.PATTERN_LIMIT_REACHED,
    errors.RequestRejected: Status.FAILED,  # the rest of the family: no approved pattern, ...
}

# PatternCodeCreate's ValidationResult.Status numbers (Amoot's PatternCodeCreate docs).
VALIDATION_FOR_ERROR: dict[type[Exception], int] = {
    errors.PatternTextEmpty: 2,  # MessageText_Empty
    errors.PatternWithoutVariables: 3,  # Patterns_Empty
    errors.PatternVariablesInvalid: 5,  # NumberPatterns_HasOutsidePatternNames
    errors.PatternDuplicate: 6,  # MessageText_IsDuplicated
}
VALIDATION_SUCCESS = 1


def status_for(exc: BaseException) -> Status:
    """The most specific Status for `exc`: walk its MRO, like Starlette's handler lookup."""
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[cls]
    return Status.SERVER_ERROR


def validation_for(exc: BaseException) -> int | None:
    for cls in type(exc).__mro__:
        if cls in VALIDATION_FOR_ERROR:
            return VALIDATION_FOR_ERROR[cls]
    return None
