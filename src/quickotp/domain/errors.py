"""
Every exception the gateway raises on purpose, in one tree (tests/domain/test_errors_tree.py
holds this drawing to the classes below):

- GatewayError
  - RequestRejected             the caller asked for something we refuse
    - MobileEmpty
    - InvalidMobile
    - InvalidCodeLength
    - PatternUnavailable        no approved OTP pattern to send with
    - InvalidPattern            a pattern text we will not store
      - PatternTextEmpty
      - PatternWithoutVariables
      - PatternVariablesInvalid
      - PatternDuplicate
    - PatternLimitReached       the account has its most patterns awaiting approval already
    - CreditNotEnough
    - InvalidMessageId
    - MalformedRequest          a body that cannot be read (broken JSON, wrong encoding)
    - InvalidInput              an operator's or a panel user's input that cannot be used
      - EmailInvalid
      - PasswordRejected        too short, too long
      - AccountNameInvalid
      - WebhookUrlInvalid       not an http(s) URL we will post delivery reports to
      - ExpiryInPast            a token's expiry that has passed already
      - CreditOverdrawn         taking credit below zero, past the account's overdraft
      - AmountInvalid           an amount of rial that is not a whole number, zero, or too large
    - WebhookUrlEmpty           a delivery-report URL was not given
    - WebhookUrlDuplicate       the account has this delivery-report URL already
    - RelayLimitReached         the account keeps as many delivery-report URLs as it may
    - RelayNotFound             no such delivery-report URL of the caller's
    - InvalidSendTime           a send time that cannot be read, or too far ahead
    - LineEmpty                 no sender line
    - BackupLineEmpty           no backup line
    - LineNotOwned              a sender line that is not the caller's (nor a shared one)
      - BackupLineNotOwned
    - FreeTextNotAllowed        text of the caller's own, from an account without the permission
    - MessageTextEmpty          no message text
    - MessageTooLong
    - MobilesEmpty              no recipient
    - InvalidMobiles            a recipient list with a number we cannot send to
      - TooManyMobiles          more recipients than one request may hold
    - PatternNotFound           no such pattern of the caller's
    - PatternNotApproved        the caller's pattern, not (or no longer) approved
    - PatternValuesInvalid      the wrong number of values, or a non-digit for a digit variable
    - PatternValueEmpty
    - InvalidFromDate           the start of a statistics window
    - InvalidToDate             its end (or a window too long)
    - DatesReversed             a window that ends before it starts
    - InvalidFromDateTime       the start of a message listing's window
    - InvalidToDateTime         its end
    - DateTimesReversed         a listing window that ends before it starts
    - InvalidFromRow            the first row of a page of messages
    - InvalidCount              the number of rows of a page
    - InvalidRequest            a /v1 body or parameter of the wrong shape
    - CodeEmpty                 a check without a code
    - VerificationFailed        a code check that approved nothing (carries the verification)
      - CodeMismatch            wrong code; attempts remain
      - CodeExpired
      - TooManyAttempts         the wrong-code cap is reached: even the right code fails now
      - CodeAlreadyUsed         approved before: a code works once
      - VerificationCanceled    a newer send replaced it, or the caller canceled it
      - VerificationNotFound    nothing to check (for this number, or by this id)
    - VerificationNotPending    cancel of a verification that is already over
    - GuardRefused              the fraud guard said no (carries retry_after)
      - MobileCooldown          a send to this number a moment ago
      - MobileLimitReached      this number's hourly or daily cap
      - AccountRateLimited
      - TokenRateLimited
      - IpRateLimited
      - MobileBlocked           on the blocklist
      - CountryNotAllowed       a valid mobile number of a country not allowed
      - PumpingSuspected        a prefix or country far above the account's normal rate
    - IdempotencyConflict       an Idempotency-Key reused with another body
    - RequestInProgress         the same request is being answered elsewhere right now
    - RequestRepeated           a repeat whose first answer can no longer be shown
  - AccessDenied                who is asking is not allowed
    - TokenMissing
    - TokenUnknown
    - TokenDisabled
    - TokenExpired
    - TokenIpNotAllowed
    - TokenMethodNotAllowed
    - AccountDisabled
    - SignInFailed              wrong email or password
    - WrongPassword             a password change with a wrong current password
    - SignInThrottled           too many failed sign-ins of late
    - UserDisabled
    - SignUpClosed              open sign-up is off: an invitation is needed
    - InvitationInvalid         unknown, used or expired
    - NotAllowed                the signed-in user's role may not do this
    - ResetLinkInvalid          a password reset link that is unknown, used or expired
    - SecondStepExpired         a two-step sign-in whose first step is unknown or too old
    - SecondFactorFailed        a wrong two-step code (or recovery code)
  - NotFound                    an operator named something that does not exist
  - Conflict                    an operator asked for something that clashes with what exists
  - DeliveryError               a transport failed us
    - TransportUnavailable      transient, nothing was sent: the dispatcher retries
      - DeliveryUncertain       no answer: it may have been sent; a retry is a possible duplicate
    - TransportRejected         permanent: the message is marked failed
      - LineRefused             the upstream refused the sender line (its backup line may do)
  - LimitsUnavailable           the limits backend (Redis) cannot be reached
  - RouteOverloaded             the route's queue would hold a new code past its validity
  - PasswordHashingBusy         the password worker's short queue is full
  - ConfigurationError          settings the gateway refuses to start with

Nothing here knows about HTTP, exit codes or Status strings; the edges map these. An error's
text (str(exc)) is English for the API, the CLI and the log; an InvalidInput or a Conflict also
names its `subject` (what the input or the clash is about) and carries the facts its sentence
names as `values`, so the panel can say it in the person's own language and terms.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quickotp.domain.models import Verification


class Subject(StrEnum):
    """What an InvalidInput or a Conflict is about: a stable code the panel words itself."""

    # InvalidInput: a form's field or a value that cannot be used
    DATE = "date"  # `typed`, in no form a date field reads
    DAY_MISSING = "day_missing"  # `typed`, a day its calendar has not (1404/12/30)
    DATE_RANGE = "date_range"  # `typed`, a day outside the years a date field takes
    DATES_REVERSED = "dates_reversed"  # the last day is before the first
    SEARCH = "search"  # a search box's text that is neither a number nor a message id
    SEARCH_SHORT = "search_short"  # a part of a number with fewer than `least` digits
    MESSAGE_ID = "message_id"  # "#" and no whole number after it
    THRESHOLD = "threshold"  # a low-credit threshold outside 1 to `high` rial
    CREDIT_RANGE = "credit_range"  # a starting credit outside 0 to `high` rial
    ACCOUNT_NAME = "account_name"  # empty, too long, or holding characters a name cannot
    LINE = "line"  # a sender line that is empty, too long, or holds unusable characters
    LINE_SHARED = "line_shared"  # a sender line named like the shared lines
    LINE_DEFAULT = "line_default"  # removing the account's default line
    NETWORK = "network"  # a token's allowed network that is no IP network
    API_METHOD = "api_method"  # a token's allowed method that is no API method
    EXPIRY = "expiry"  # a token's expiry without a time zone, or outside the years
    REJECTION_REASON = "rejection_reason"  # rejecting a pattern without a reason
    LIMIT_NAME = "limit_name"  # a fraud-guard limit that does not exist
    LIMIT_VALUE = "limit_value"  # a value a fraud-guard limit cannot take
    LIST_SIZE = "list_size"  # how many rows to list, outside 1 to 10,000
    SETTINGS_LINE = "settings_line"  # a settings line that is not `name = value`
    SEND_AS = "send_as"  # no token chosen to send with
    ROUTE_NAME = "route_name"  # a route name that is not 1-40 letters, digits, '.', '_', '-'
    ROUTE_URL = "route_url"  # a route URL that is missing, no URL, or of an unknown kind
    ROUTE_SETTINGS = "route_settings"  # a route URL whose settings cannot be used
    ROUTE_CREDENTIAL = "route_credential"  # a route without its password, token or API key
    ROUTE_CREDENTIAL_AGAIN = "route_credential_again"  # a URL that leads elsewhere now
    ROUTE_ACCOUNT = "route_account"  # a route's account id that is no account's
    ROUTE_PREFIX = "route_prefix"  # a route's number prefix that is not 1-15 digits
    ROUTE_PREFIXES = "route_prefixes"  # more than `most` prefixes
    ROUTE_PRIORITY = "route_priority"  # a priority that is no whole number within the range
    ROUTE_LINES = "route_lines"  # more than `most` lines, or a line that cannot be used
    TRIAL_LINE = "trial_line"  # an SMPP route tested without a sender line
    REPORT_URL_REFUSED = "report_url_refused"  # a report URL malformed, or not a public address
    REPORT_URL_GONE = "report_url_gone"  # a retry to a URL the account no longer keeps
    ACTIVE_FLAG = "active_flag"  # Active that is neither true nor false
    AGE = "age"  # an age of stored rows that is no whole number of days in range
    PASSWORDS_DIFFER = "passwords_differ"  # a password typed twice, differently
    CONTROL_CHARACTERS = "control_characters"  # a password holding control characters
    NOTHING_TO_SET = "nothing_to_set"  # a change that names nothing to change
    FILE_MISSING = "file_missing"  # no database, or no directory, where one was named
    # Conflict: what clashes with what exists
    EMAIL_TAKEN = "email_taken"
    ACCOUNT_NAME_TAKEN = "account_name_taken"
    ROUTE_NAME_TAKEN = "route_name_taken"
    LINE_TAKEN = "line_taken"  # the account has this line already
    LINES_FULL = "lines_full"  # the account has as many lines as it may (`most`)
    CANCEL_TOO_LATE = "cancel_too_late"  # a scheduled message sent or canceled already
    TWO_STEP_ON = "two_step_on"  # turning two-step sign-in on when it is on
    TWO_STEP_OFF = "two_step_off"  # turning it off, or using it, when it is off
    TWO_STEP_NOT_STARTED = "two_step_not_started"  # confirming an enrolment never begun
    FILE_EXISTS = "file_exists"  # a backup or archive file that is there already
    PRUNE_RUNNING = "prune_running"  # another process is pruning


class GatewayError(Exception):
    """
    Base for every error the gateway raises on purpose: `message` is its English text;
    `subject` and `values` (for an InvalidInput or a Conflict) what it is about, as data.
    """

    subject: Subject | None = None

    def __init__(
        self, message: str = "", *, subject: Subject | None = None, **values: object
    ) -> None:
        super().__init__(message)
        if subject is not None:
            self.subject = subject
        self.values = values


class RequestRejected(GatewayError):
    """The caller asked for something we refuse."""


class MobileEmpty(RequestRejected):
    """No mobile number was given."""


class InvalidMobile(RequestRejected):
    """The mobile number is not a mobile number of an allowed country."""


class InvalidCodeLength(RequestRejected):
    """CodeLength is not a number in 4..8, or the caller's own code is not 4..8 digits."""


class PatternUnavailable(RequestRejected):
    """The account has no approved OTP pattern to send with."""


class InvalidPattern(RequestRejected):
    """A pattern text that cannot be stored (empty, or without a usable %code%)."""


class PatternTextEmpty(InvalidPattern):
    """The pattern text is empty."""


class PatternWithoutVariables(InvalidPattern):
    """The pattern defines no variable (an OTP pattern: no %code%)."""


class PatternVariablesInvalid(InvalidPattern):
    """The pattern's variables do not fit its use (an OTP pattern with more than %code%)."""


class PatternDuplicate(InvalidPattern):
    """The account has a pattern with this text already."""


class PatternLimitReached(RequestRejected):
    """The account has as many patterns awaiting approval as it may: wait for decisions."""


class CreditNotEnough(RequestRejected):
    """The account's credit does not cover the message."""


class InvalidMessageId(RequestRejected):
    """A message id that is malformed or not one of the caller's messages."""


class InvalidSendTime(RequestRejected):
    """A SendDateTime that cannot be read as a date and time, or that lies too far ahead."""


class LineEmpty(RequestRejected):
    """No sender line (LineNumber) was given."""


class BackupLineEmpty(RequestRejected):
    """No backup line (BackupLineNumber) was given."""


class LineNotOwned(RequestRejected):
    """A sender line that is neither one of the account's nor a shared line of the gateway."""


class BackupLineNotOwned(LineNotOwned):
    """The backup line is neither one of the account's nor a shared line of the gateway."""


class FreeTextNotAllowed(RequestRejected):
    """The account may send patterns only: the operator has not granted it free text."""


class MessageTextEmpty(RequestRejected):
    """No message text (SMSMessageText) was given."""


class MessageTooLong(RequestRejected):
    """The message text is longer than the gateway sends."""


class MobilesEmpty(RequestRejected):
    """No mobile numbers (Mobiles) were given."""


class InvalidMobiles(RequestRejected):
    """A recipient list holding a number we cannot send to, or more numbers than allowed."""


class TooManyMobiles(InvalidMobiles):
    """More mobile numbers in one request than the gateway takes."""


class PatternNotFound(RequestRejected):
    """No pattern with this id among the caller's (another account's is not found either)."""


class PatternNotApproved(RequestRejected):
    """The caller's pattern is pending the operator's approval, or was rejected."""


class PatternValuesInvalid(RequestRejected):
    """Not one value per pattern variable, or a non-digit value for a digit-only variable."""


class PatternValueEmpty(RequestRejected):
    """A pattern value is empty."""


class MalformedRequest(RequestRejected):
    """A request body that cannot be read: broken JSON, a wrong encoding, too large."""


class InvalidInput(RequestRejected):
    """An operator's input that cannot be used (a bad network, method or amount)."""


class EmailInvalid(InvalidInput):
    """Not an email address we can use to sign in."""


class PasswordRejected(InvalidInput):
    """A new password that is too short or too long."""


class AccountNameInvalid(InvalidInput):
    """An account name that is too short or too long."""


class WebhookUrlInvalid(InvalidInput):
    """Not an http(s) URL of a usable length to post delivery reports to."""


class ExpiryInPast(InvalidInput):
    """A token's expiry (its last day) that has passed already: it would be born expired."""


class CreditOverdrawn(InvalidInput):
    """Taking credit would leave the balance below zero by more than the account's overdraft."""


class AmountInvalid(InvalidInput):
    """An amount of rial (a credit change, an overdraft) that is no whole number in range."""


class WebhookUrlEmpty(RequestRejected):
    """No delivery-report URL was given."""


class WebhookUrlDuplicate(RequestRejected):
    """The account has this delivery-report URL already."""


class RelayLimitReached(RequestRejected):
    """The account keeps as many delivery-report URLs as it may."""


class RelayNotFound(RequestRejected):
    """No delivery-report URL with this id among the caller's."""


class InvalidFromDate(RequestRejected):
    """FromDate is missing or no date."""


class InvalidToDate(RequestRejected):
    """ToDate is missing, no date, or too far after FromDate."""


class DatesReversed(RequestRejected):
    """FromDate is after ToDate."""


class InvalidFromDateTime(RequestRejected):
    """FromDateTime is missing or no date."""


class InvalidToDateTime(RequestRejected):
    """ToDateTime is missing or no date."""


class DateTimesReversed(RequestRejected):
    """FromDateTime is after ToDateTime."""


class InvalidFromRow(RequestRejected):
    """A page start that is no whole number in the allowed range."""


class InvalidCount(RequestRejected):
    """A page size that is no whole number in the allowed range."""


class InvalidRequest(RequestRejected):
    """A /v1 request body or parameter of the wrong shape."""


class CodeEmpty(RequestRejected):
    """A code check came without a code."""


class VerificationFailed(RequestRejected):
    """A code check that approved nothing. `verification` is what was checked, if anything."""

    def __init__(self, message: str, verification: Verification | None = None) -> None:
        super().__init__(message)
        self.verification = verification


class CodeMismatch(VerificationFailed):
    """The code is wrong; attempts remain."""


class CodeExpired(VerificationFailed):
    """The verification's validity ran out."""


class TooManyAttempts(VerificationFailed):
    """The cap on wrong codes was reached: even the right code fails now."""


class CodeAlreadyUsed(VerificationFailed):
    """The verification was approved before: a code works once."""


class VerificationCanceled(VerificationFailed):
    """A newer send to the number replaced it, or the caller canceled it."""


class VerificationNotFound(VerificationFailed):
    """No verification to check: none for this number, or none with this id, for the caller."""


class VerificationNotPending(RequestRejected):
    """Only a pending verification can be canceled."""


class GuardRefused(RequestRejected):
    """The fraud guard refused the request; `retry_after` seconds until it may pass (0: never)."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MobileCooldown(GuardRefused):
    """A send to this number went out a moment ago (the resend cooldown)."""


class MobileLimitReached(GuardRefused):
    """This number had its hourly or daily number of sends."""


class AccountRateLimited(GuardRefused):
    """The account's request rate is exceeded."""


class TokenRateLimited(GuardRefused):
    """The token's request rate is exceeded."""


class IpRateLimited(GuardRefused):
    """The client address's request rate is exceeded."""


class MobileBlocked(GuardRefused):
    """The number or its prefix is on the blocklist."""


class CountryNotAllowed(GuardRefused):
    """A valid mobile number of a country the account may not send to."""


class PumpingSuspected(GuardRefused):
    """Sends to this prefix or country are far above the account's normal rate (SMS pumping)."""


class IdempotencyConflict(RequestRejected):
    """An Idempotency-Key was used before with another request body."""


class RequestInProgress(RequestRejected):
    """The same request is being answered elsewhere right now: retry in a moment."""


class RequestRepeated(RequestRejected):
    """A repeat of an answered request whose answer can no longer be shown (its code is gone)."""


class AccessDenied(GatewayError):
    """Who is asking is not allowed to."""


class TokenMissing(AccessDenied):
    """No token was given."""


class TokenUnknown(AccessDenied):
    """The token is not one we issued, or it was deleted."""


class TokenDisabled(AccessDenied):
    """The token was switched off."""


class TokenExpired(AccessDenied):
    """The token is past its expiry."""


class TokenIpNotAllowed(AccessDenied):
    """The request came from an address outside the token's allowed networks."""


class TokenMethodNotAllowed(AccessDenied):
    """The token may not call this method."""


class AccountDisabled(AccessDenied):
    """The token's account is switched off."""


class SignInFailed(AccessDenied):
    """The email or the password is wrong (which of the two is not said)."""


class WrongPassword(AccessDenied):
    """The current password given to change it is wrong."""


class SignInThrottled(AccessDenied):
    """Too many failed sign-ins for this email or from this address of late."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds


class UserDisabled(AccessDenied):
    """The operator switched this user off."""


class SignUpClosed(AccessDenied):
    """Open sign-up is off: only an invitation lets someone in."""


class InvitationInvalid(AccessDenied):
    """The invitation is unknown, used already, or expired."""


class NotAllowed(AccessDenied):
    """The signed-in user's role may not do this."""


class ResetLinkInvalid(AccessDenied):
    """The password reset link is unknown, used already, or expired."""


class SecondStepExpired(AccessDenied):
    """The sign-in's second step has no first step behind it any longer: sign in again."""


class SecondFactorFailed(AccessDenied):
    """The two-step code (or recovery code) is wrong, or was used already."""


class NotFound(GatewayError):
    """An operator named an account, token, pattern or route that does not exist."""


class Conflict(GatewayError):
    """An operator asked for something that clashes with what exists (a name taken)."""


class DeliveryError(GatewayError):
    """
    A transport failed to hand a message on. `route` names the route it failed on, when
    routes were tried: the message is counted under that route until one takes it.
    """

    route: str = ""


class TransportUnavailable(DeliveryError):
    """Transient, and the message was certainly not sent: retrying may help."""


class DeliveryUncertain(TransportUnavailable):
    """No answer came: the message may have been sent. A retry is a possible duplicate."""


class TransportRejected(DeliveryError):
    """Permanent: the upstream refused this message and will refuse it again."""


class LineRefused(TransportRejected):
    """The upstream refused the message's sender line (an SMSC's invalid source address)."""


class LimitsUnavailable(GatewayError):
    """The limits backend (Redis) cannot be reached; the guard fails in the configured direction."""


class RouteOverloaded(GatewayError):
    """
    More is offered than the route can deliver: a code accepted now would wait in the queue
    for most of its validity, so the send is refused at once. `retry_after` seconds until the
    queue is expected to be short enough again.
    """

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PasswordHashingBusy(GatewayError):
    """
    The password worker's short queue is full: the sign-in (or sign-up, password change,
    invitation) is refused at once. `retry_after` seconds to wait.
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(GatewayError):
    """Settings the gateway refuses to start with."""
