"""
One exception class per Status a /rest method can answer: every name in Amoot's table (SOAP
contract and REST docs) and QuickOTP's own, and the table from Status name to class (with
Amoot's number for each of its names). A class's name is its Status without underscores.
"""

from __future__ import annotations

from quickotp_client._errors import (
    AccountError,
    AuthError,
    ConflictError,
    GuardError,
    InvalidRequestError,
    ServiceError,
    StatusError,
    VerificationError,
)


class Failed(StatusError):
    """
    Refused, for a reason the server does not name (on QuickOTP: no approved OTP pattern, an
    unreadable body, a pattern it will not store).
    """


class ServerError(StatusError, ServiceError):
    """The server failed on its side."""


class AccountIsDemo(StatusError, AccountError):
    """A demo account may not do this."""


class CreditNotEnough(StatusError, AccountError):
    """The account's credit does not cover the message."""


class LineNumberNotExist(StatusError, AccountError):
    """The account has no such sender line."""


class BackupLineNumberNotExist(StatusError, AccountError):
    """The account has no such backup sender line."""


class AvanakNotAvailable(StatusError, AccountError):
    """Voice messages (Avanak) are not available to the account."""


class UserNameEmpty(StatusError, AuthError):
    """No user name was given."""


class PasswordEmpty(StatusError, AuthError):
    """No password was given."""


class LineNumberEmpty(StatusError, InvalidRequestError):
    """No sender line was given."""


class BackupLineNumberEmpty(StatusError, InvalidRequestError):
    """No backup sender line was given."""


class SMSMessageTextEmpty(StatusError, InvalidRequestError):
    """No message text was given."""


class AvanakMessageTextEmpty(StatusError, InvalidRequestError):
    """No voice message text was given."""


class MobileEmpty(StatusError, InvalidRequestError):
    """No mobile number was given."""


class MobilesEmpty(StatusError, InvalidRequestError):
    """No mobile numbers were given."""


class TitleEmpty(StatusError, InvalidRequestError):
    """No title was given."""


class FirstNameOrLastNameEmpty(StatusError, InvalidRequestError):
    """No first or last name was given."""


class URLAddressEmpty(StatusError, InvalidRequestError):
    """No URL was given."""


class UserNameOrPasswordInvalid(StatusError, AuthError):
    """The user name or the password is wrong."""


class MobileInvalid(StatusError, InvalidRequestError):
    """Not a mobile number the gateway serves (or a blacklisted one)."""


class MobilesInvalid(StatusError, InvalidRequestError):
    """A mobile number in the list is not valid."""


class CountInvalid(StatusError, InvalidRequestError):
    """The count is not valid."""


class FromRowInvalid(StatusError, InvalidRequestError):
    """The first row is not valid."""


class FromDateInvalid(StatusError, InvalidRequestError):
    """The start date is not valid."""


class FromDateTimeInvalid(StatusError, InvalidRequestError):
    """The start time is not valid."""


class ToDateInvalid(StatusError, InvalidRequestError):
    """The end date is not valid."""


class ToDateTimeInvalid(StatusError, InvalidRequestError):
    """The end time is not valid."""


class FromDateIsAfterThanToDate(StatusError, InvalidRequestError):
    """The start date is after the end date."""


class FromDateTimeIsAfterThanToDateTime(StatusError, InvalidRequestError):
    """The start time is after the end time."""


class MessageIDInvalid(StatusError, InvalidRequestError):
    """Not a message id of this account."""


class BulkIDInvalid(StatusError, InvalidRequestError):
    """Not a bulk id of this account."""


class ContactIDInvalid(StatusError, InvalidRequestError):
    """Not a contact id of this account."""


class ContactGroupIDInvalid(StatusError, InvalidRequestError):
    """Not a contact group id of this account."""


class CourseIDInvalid(StatusError, InvalidRequestError):
    """Not a course id of this account."""


class CourseGroupIDInvalid(StatusError, InvalidRequestError):
    """Not a course group id of this account."""


class URLAddressDuplicate(StatusError, ConflictError):
    """The URL is registered already."""


class RelayMessageDeliveryIDInvalid(StatusError, InvalidRequestError):
    """Not a delivery relay id of this account."""


class RelayRecieveMessageIDInvalid(StatusError, InvalidRequestError):
    """Not a received-message relay id of this account."""


class LengthInvalid(StatusError, InvalidRequestError):
    """A code length, or a code, outside 4 to 8 digits."""


class LengthExceeded(StatusError, InvalidRequestError):
    """A value is longer than allowed."""


class UserNotExists(StatusError, AuthError):
    """No such user (Amoot also answers this for an unknown token)."""


class UserMobileNotVerified(StatusError, AuthError):
    """The user's mobile number is not verified."""


class UserDisabled(StatusError, AuthError):
    """The user, or on QuickOTP the account, is switched off."""


class UserExpired(StatusError, AuthError):
    """The user's subscription has expired."""


class UserWebServiceBanned(StatusError, AuthError):
    """The user is banned from the web service."""


class UserNotAllowWebService(StatusError, AuthError):
    """The user may not use the web service."""


class UserNotAllowIP(StatusError, AuthError):
    """The user may not call from this address."""


class UserNotAllowMethod(StatusError, AuthError):
    """The user may not call this method."""


class UserNotAllowHttp(StatusError, AuthError):
    """The user may not call over plain HTTP."""


class TokenNotExists(StatusError, AuthError):
    """The token is not known."""


class TokenInvalid(StatusError, AuthError):
    """No token, or not a well-formed one."""


class TokenDisabled(StatusError, AuthError):
    """The token is switched off."""


class TokenExpired(StatusError, AuthError):
    """The token has expired."""


class TokenNotAllowIP(StatusError, AuthError):
    """The token may not be used from this address."""


class TokenNotAllowMethod(StatusError, AuthError):
    """The token may not call this method."""


class SystemDisabled(StatusError, ServiceError):
    """The service is switched off for now."""


# QuickOTP's own ---------------------------------------------------------------------------


class CodeEmpty(StatusError, InvalidRequestError):
    """No code was given."""


class CodeInvalid(StatusError, VerificationError):
    """The code is wrong; attempts remain."""


class CodeExpired(StatusError, VerificationError):
    """The code has expired."""


class CodeTooManyAttempts(StatusError, VerificationError):
    """Too many wrong codes: even the right one fails now."""


class CodeAlreadyUsed(StatusError, VerificationError):
    """The code was accepted before: a code works once."""


class CodeCanceled(StatusError, VerificationError):
    """A newer code, or a cancel, replaced this one."""


class CodeNotFound(StatusError, VerificationError):
    """No code was sent to this number (or none is left to check)."""


class VerificationNotPending(StatusError, VerificationError):
    """Only a pending verification can be canceled."""


class MobileCooldown(StatusError, GuardError):
    """A code was sent to this number a moment ago."""


class MobileLimitReached(StatusError, GuardError):
    """This number had its hourly or daily number of codes."""


class MobileBlocked(StatusError, GuardError):
    """The number is on the blocklist."""


class CountryNotAllowed(StatusError, GuardError):
    """The account may not send to this number's country."""


class PumpingSuspected(StatusError, GuardError):
    """Sends to this range are far above normal (SMS pumping)."""


class AccountRateLimited(StatusError, GuardError):
    """The account's request rate is exceeded."""


class TokenRateLimited(StatusError, GuardError):
    """The token's request rate is exceeded."""


class IPRateLimited(StatusError, GuardError):
    """This address's request rate is exceeded."""


class GuardUnavailable(StatusError, ServiceError):
    """The fraud guard is unavailable, and refuses until it is back."""


class PatternLimitReached(StatusError, AccountError):
    """The account has its most patterns awaiting approval: wait for the operator's decisions."""


class RouteOverloaded(StatusError, ServiceError):
    """More is offered than the gateway's route can deliver in time: try again shortly."""


class RequestInProgress(StatusError, ConflictError):
    """The same request is being answered right now."""


class RequestRepeated(StatusError, ConflictError):
    """A repeat of a request whose answer is gone."""


class RequestConflict(StatusError, ConflictError):
    """The request clashes with an earlier one of the same key."""


class RequestInvalid(StatusError, InvalidRequestError):
    """The request is not of the documented shape."""


class SendDateTimeInvalid(StatusError, InvalidRequestError):
    """SendDateTime is not a date and time the gateway reads, or it is too far ahead."""


class FreeTextNotAllowed(StatusError, AccountError):
    """The account may send its approved patterns only: the operator has not allowed free text."""


class PatternCodeIDInvalid(StatusError, InvalidRequestError):
    """No pattern with this id among the account's."""


class PatternNotApproved(StatusError, AccountError):
    """The pattern waits for the operator's approval, or was rejected."""


class PatternValuesInvalid(StatusError, InvalidRequestError):
    """Not one value per pattern variable, or a non-digit for a digits-only variable."""


class PatternValuesEmpty(StatusError, InvalidRequestError):
    """A pattern value is empty."""


class URLAddressLimitReached(StatusError, AccountError):
    """The account keeps as many delivery-report URLs as it may: delete one first."""


ERROR_FOR_STATUS: dict[str, type[StatusError]] = {
    "Failed": Failed,  # 0
    "ServerError": ServerError,  # 500
    "AccountIsDemo": AccountIsDemo,  # 2
    "CreditNotEnough": CreditNotEnough,  # 4
    "LineNumber_NotExist": LineNumberNotExist,  # 5
    "BackupLineNumber_NotExist": BackupLineNumberNotExist,  # 6
    "Avanak_NotAvailable": AvanakNotAvailable,  # 7
    "UserName_Empty": UserNameEmpty,  # 10
    "Password_Empty": PasswordEmpty,  # 11
    "LineNumber_Empty": LineNumberEmpty,  # 12
    "BackupLineNumber_Empty": BackupLineNumberEmpty,  # 13
    "SMSMessageText_Empty": SMSMessageTextEmpty,  # 14
    "AvanakMessageText_Empty": AvanakMessageTextEmpty,  # 15
    "Mobile_Empty": MobileEmpty,  # 16
    "Mobiles_Empty": MobilesEmpty,  # 17
    "Title_Empty": TitleEmpty,  # 18
    "FirstNameOrLastName_Empty": FirstNameOrLastNameEmpty,  # 19
    "URLAddress_Empty": URLAddressEmpty,  # 20
    "UserNameOrPassword_Invalid": UserNameOrPasswordInvalid,  # 100
    "Mobile_Invalid": MobileInvalid,  # 101
    "Mobiles_Invalid": MobilesInvalid,  # 102
    "Count_Invalid": CountInvalid,  # 103
    "FromRow_Invalid": FromRowInvalid,  # 104
    "FromDate_Invalid": FromDateInvalid,  # 105
    "FromDateTime_Invalid": FromDateTimeInvalid,  # 106
    "ToDate_Invalid": ToDateInvalid,  # 107
    "ToDateTime_Invalid": ToDateTimeInvalid,  # 108
    "FromDateIsAfterThanToDate": FromDateIsAfterThanToDate,  # 109
    "FromDateTimeIsAfterThanToDateTime": FromDateTimeIsAfterThanToDateTime,  # 110
    "MessageID_Invalid": MessageIDInvalid,  # 111
    "BulkID_Invalid": BulkIDInvalid,  # 112
    "ContactID_Invalid": ContactIDInvalid,  # 113
    "ContactGroupID_Invalid": ContactGroupIDInvalid,  # 114
    "CourseID_Invalid": CourseIDInvalid,  # 115
    "CourseGroupID_Invalid": CourseGroupIDInvalid,  # 116
    "URLAddress_Duplicate": URLAddressDuplicate,  # 117
    "RelayMessageDeliveryID_Invalid": RelayMessageDeliveryIDInvalid,  # 118
    "RelayRecieveMessageID_Invalid": RelayRecieveMessageIDInvalid,  # 119
    "Length_Invalid": LengthInvalid,  # 120
    "Length_Exceeded": LengthExceeded,  # 121
    "User_NotExists": UserNotExists,  # -1
    "User_MobileNotVerified": UserMobileNotVerified,  # -102
    "User_Disabled": UserDisabled,  # -103
    "User_Expired": UserExpired,  # -104
    "User_WebServiceBanned": UserWebServiceBanned,  # -105
    "User_NotAllowWebService": UserNotAllowWebService,  # -106
    "User_NotAllowIP": UserNotAllowIP,  # -107
    "User_NotAllowMethod": UserNotAllowMethod,  # -108
    "User_NotAllowHttp": UserNotAllowHttp,  # -109
    "Token_NotExists": TokenNotExists,  # -201
    "Token_Invalid": TokenInvalid,  # -202
    "Token_Disabled": TokenDisabled,  # -203
    "Token_Expired": TokenExpired,  # -204
    "Token_NotAllowIP": TokenNotAllowIP,  # -207
    "Token_NotAllowMethod": TokenNotAllowMethod,  # -208
    "System_Disabled": SystemDisabled,  # -300
    # QuickOTP's own: Amoot has no names for these outcomes
    "Code_Empty": CodeEmpty,
    "Code_Invalid": CodeInvalid,
    "Code_Expired": CodeExpired,
    "Code_TooManyAttempts": CodeTooManyAttempts,
    "Code_AlreadyUsed": CodeAlreadyUsed,
    "Code_Canceled": CodeCanceled,
    "Code_NotFound": CodeNotFound,
    "Verification_NotPending": VerificationNotPending,
    "Mobile_Cooldown": MobileCooldown,
    "Mobile_LimitReached": MobileLimitReached,
    "Mobile_Blocked": MobileBlocked,
    "Country_NotAllowed": CountryNotAllowed,
    "Pumping_Suspected": PumpingSuspected,
    "Account_RateLimited": AccountRateLimited,
    "Token_RateLimited": TokenRateLimited,
    "IP_RateLimited": IPRateLimited,
    "Guard_Unavailable": GuardUnavailable,
    "Request_InProgress": RequestInProgress,
    "Request_Repeated": RequestRepeated,
    "Request_Conflict": RequestConflict,
    "Request_Invalid": RequestInvalid,
    "Route_Overloaded": RouteOverloaded,
    "SendDateTime_Invalid": SendDateTimeInvalid,
    "FreeText_NotAllowed": FreeTextNotAllowed,
    "PatternCodeID_Invalid": PatternCodeIDInvalid,
    "Pattern_NotApproved": PatternNotApproved,
    "PatternValues_Invalid": PatternValuesInvalid,
    "PatternValues_Empty": PatternValuesEmpty,
    "URLAddress_LimitReached": URLAddressLimitReached,
    "Pattern_LimitReached": PatternLimitReached,
}
