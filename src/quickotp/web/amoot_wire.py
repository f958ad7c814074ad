"""
Amoot's wire vocabulary, in one place: the `Status` names and the one table that maps our
errors onto them, DeliveryType codes, pattern Status numbers, times as Amoot writes them
(Tehran local time), and the delivery report a relay URL receives.

Only the edges use this module (/rest, /v1's Amoot fields, and the relay reports, whose body
the composition root hands the webhook worker). Names and numbers are Amoot's (its SOAP
contract and REST docs); Amoot has no names for some of our outcomes, and those that we add
are listed in docs/amoot-api.md and never collide with Amoot's.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import orjson

from quickotp.domain import errors, phone
from quickotp.domain.models import MessageStatus, PatternState, WebhookJob

TEHRAN = ZoneInfo("Asia/Tehran")
NEVER = "0001-01-01T00:00:00"  # Amoot's time for "not yet": .NET's DateTime.MinValue

# Amoot's DeliveryType codes (GetDelivery / GetDeliveries, relay reports) for our states.
DELIVERY_TYPE: dict[MessageStatus, int] = {
    MessageStatus.QUEUED: 900,  # SendingQueue
    MessageStatus.SENDING: 900,  # SendingQueue
    MessageStatus.SENT: 0,  # SendToTci: handed to the operator
    MessageStatus.DELIVERED: 1,  # RecievedPhone
    MessageStatus.UNDELIVERED: 2,  # NotRecievedPhone
    MessageStatus.FAILED: 3,  # TciError
    MessageStatus.EXPIRED: 16,  # NotTciReceived: the operator never got it
}
# PatternCodeList / PatternCodeCreate's numeric pattern Status.
PATTERN_STATUS: dict[PatternState, int] = {
    PatternState.PENDING: 0,
    PatternState.APPROVED: 1,
    PatternState.REJECTED: 2,
}


def tehran_time(moment: datetime | None) -> str:
    """A time as Amoot writes it: Tehran local time, ISO 8601 without an offset."""
    if moment is None:
        return NEVER
    return moment.astimezone(TEHRAN).isoformat(timespec="milliseconds").split("+")[0]


def report_body(job: WebhookJob) -> bytes:
    """The JSON a relay URL receives for one delivery report."""
    delivery = job.delivery
    return orjson.dumps(
        {
            "Event": "delivery",
            "MessageID": delivery.message_id,
            "Mobile": phone.national_number(job.mobile),
            "DeliveryType": DELIVERY_TYPE[delivery.status],
            "Status": str(delivery.status),
            "Cost": job.cost,
            "RegDateTime": tehran_time(job.created_at),
            "SendDateTime": tehran_time(job.submitted_at),
            "DeliveryDateTime": tehran_time(job.reported_at),
        }
    )


def test_body(now: datetime) -> bytes:
    """The JSON a report URL receives when its owner asks the panel for a test event."""
    return orjson.dumps({"Event": "test", "MessageID": 0, "SendDateTime": tehran_time(now)})


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
    SMS_MESSAGE_TEXT_EMPTY = "SMSMessageText_Empty"
    MOBILES_EMPTY = "Mobiles_Empty"
    MOBILES_INVALID = "Mobiles_Invalid"
    LENGTH_EXCEEDED = "Length_Exceeded"
    LINE_NUMBER_NOT_EXIST = "LineNumber_NotExist"
    BACKUP_LINE_NUMBER_NOT_EXIST = "BackupLineNumber_NotExist"
    LINE_NUMBER_EMPTY = "LineNumber_Empty"
    BACKUP_LINE_NUMBER_EMPTY = "BackupLineNumber_Empty"
    COUNT_INVALID = "Count_Invalid"
    FROM_ROW_INVALID = "FromRow_Invalid"
    FROM_DATE_INVALID = "FromDate_Invalid"
    FROM_DATE_TIME_INVALID = "FromDateTime_Invalid"
    TO_DATE_INVALID = "ToDate_Invalid"
    TO_DATE_TIME_INVALID = "ToDateTime_Invalid"
    FROM_DATE_AFTER_TO_DATE = "FromDateIsAfterThanToDate"
    FROM_DATE_TIME_AFTER_TO_DATE_TIME = "FromDateTimeIsAfterThanToDateTime"
    # Ours (Amoot has no names for these; listed in docs/amoot-api.md):
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
    SEND_DATETIME_INVALID = "SendDateTime_Invalid"
    FREE_TEXT_NOT_ALLOWED = "FreeText_NotAllowed"
    PATTERN_CODE_ID_INVALID = "PatternCodeID_Invalid"
    PATTERN_NOT_APPROVED = "Pattern_NotApproved"
    PATTERN_VALUES_INVALID = "PatternValues_Invalid"
    PATTERN_VALUES_EMPTY = "PatternValues_Empty"
    URL_ADDRESS_LIMIT_REACHED = "URLAddress_LimitReached"
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
    errors.RelayLimitReached: Status.URL_ADDRESS_LIMIT_REACHED,
    errors.InvalidMobiles: Status.MOBILES_INVALID,
    errors.InvalidFromDate: Status.FROM_DATE_INVALID,
    errors.InvalidToDate: Status.TO_DATE_INVALID,
    errors.DatesReversed: Status.FROM_DATE_AFTER_TO_DATE,
    errors.InvalidFromDateTime: Status.FROM_DATE_TIME_INVALID,
    errors.InvalidToDateTime: Status.TO_DATE_TIME_INVALID,
    errors.DateTimesReversed: Status.FROM_DATE_TIME_AFTER_TO_DATE_TIME,
    errors.InvalidFromRow: Status.FROM_ROW_INVALID,
    errors.InvalidCount: Status.COUNT_INVALID,
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
    errors.InvalidSendTime: Status.SEND_DATETIME_INVALID,
    errors.LineEmpty: Status.LINE_NUMBER_EMPTY,
    errors.BackupLineEmpty: Status.BACKUP_LINE_NUMBER_EMPTY,
    errors.LineNotOwned: Status.LINE_NUMBER_NOT_EXIST,
    errors.BackupLineNotOwned: Status.BACKUP_LINE_NUMBER_NOT_EXIST,
    errors.FreeTextNotAllowed: Status.FREE_TEXT_NOT_ALLOWED,
    errors.MessageTextEmpty: Status.SMS_MESSAGE_TEXT_EMPTY,
    errors.MessageTooLong: Status.LENGTH_EXCEEDED,
    errors.MobilesEmpty: Status.MOBILES_EMPTY,
    errors.TooManyMobiles: Status.MOBILES_INVALID,
    errors.PatternNotFound: Status.PATTERN_CODE_ID_INVALID,
    errors.PatternNotApproved: Status.PATTERN_NOT_APPROVED,
    errors.PatternValuesInvalid: Status.PATTERN_VALUES_INVALID,
    errors.PatternValueEmpty: Status.PATTERN_VALUES_EMPTY,
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
