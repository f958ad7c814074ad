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
