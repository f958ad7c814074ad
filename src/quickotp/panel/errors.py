"""
What the panel tells a person when the gateway refuses something: one sentence per error
class, and per subject of an InvalidInput or a Conflict, in their language and in their
terms. The classes come from quickotp.domain.errors; the most specific wins. An error's own
English text (str(exc)) is for the API, the CLI and the log, and never shown here: a failure
of the gateway's own may name a backend, a class or an address.
"""

from __future__ import annotations

import math

from quickotp.domain import errors
from quickotp.domain.errors import Subject
from quickotp.domain.models import FailureKind
from quickotp.panel.i18n import N_, Translator

TOO_LARGE = N_("This form is too large to be sent. Shorten what you wrote and try again.")
FORGED = N_("This form has expired or was not sent from this panel. Reload the page and try again.")
UNEXPECTED = N_("Something went wrong on our side. It was logged; try again later.")

ACCOUNT_DISABLED = N_("The operator has disabled this account: it can be read, not changed.")
PASSWORD_RULE = N_("A password has 10 to 200 characters, 5 of them different; not a common one.")
NOT_A_MOBILE = N_("That is not a mobile number the gateway sends to.")
MINUTE = N_("{n} minute")  # a wait of one minute, in "Try again in {wait}."
MINUTES = N_("{n} minutes")
NOT_SENT_NOW = N_("The message could not be sent right now. Try again later.")
MESSAGES: dict[type[Exception], str] = {
    errors.SignInFailed: N_("Wrong email or password."),
    errors.WrongPassword: N_("The current password is wrong."),
    errors.SignInThrottled: N_("Too many failed attempts. Try again in {wait}."),
    errors.PasswordHashingBusy: N_("The panel is busy right now. Try again in a few seconds."),
    errors.UserDisabled: N_("This user has been disabled by the operator."),
    errors.AccountDisabled: ACCOUNT_DISABLED,
    errors.SignUpClosed: N_("Sign-up is by invitation only. Ask the operator for one."),
    errors.InvitationInvalid: N_("This invitation is unknown, used already, or expired."),
    errors.NotAllowed: N_("This page is not for your role."),
    errors.ResetLinkInvalid: N_("This password reset link is unknown, used already, or expired."),
    errors.SecondStepExpired: N_("This sign-in took too long. Sign in again."),
    errors.SecondFactorFailed: N_(
        "Wrong code. Type the code your app shows now, or a recovery code."
    ),
    errors.TokenDisabled: N_("This token is disabled."),
    errors.TokenExpired: N_("This token has expired."),
    errors.TokenMethodNotAllowed: N_("This token may not send codes."),
    errors.TokenIpNotAllowed: N_("This token may not be used from your address."),
    errors.AccessDenied: N_("You may not do this."),
    errors.EmailInvalid: N_("Enter a valid email address."),
    errors.PasswordRejected: PASSWORD_RULE,
    errors.AccountNameInvalid: N_("An account name is 2 to 100 characters long."),
    errors.WebhookUrlInvalid: N_(
        "Enter the full web address, beginning with its scheme, that receives the reports."
    ),
    errors.ExpiryInPast: N_("The last day has passed: choose today or a later day."),
    errors.CreditOverdrawn: N_(
        "This would take the credit below zero, past the account's overdraft."
    ),
    errors.AmountInvalid: N_(
        "Write the amount as a whole number of rial, not zero and not too large."
    ),
    errors.InvalidInput: N_("This value cannot be used. Check what you typed."),
    errors.Conflict: N_("This clashes with what exists already."),
    errors.NotFound: N_("There is nothing here."),
    errors.MobileEmpty: N_("Enter a mobile number."),
    errors.InvalidMobile: NOT_A_MOBILE,
    errors.InvalidCodeLength: N_("A code has 4 to 8 digits."),
    errors.PatternUnavailable: N_("The account has no approved OTP pattern yet."),
    errors.CreditNotEnough: N_("The credit does not cover this message."),
    errors.InvalidMessageId: N_("There is no such message."),
    errors.PatternTextEmpty: N_("Write the pattern's text."),
    errors.PatternWithoutVariables: N_("An OTP pattern must contain %code%."),
    errors.PatternVariablesInvalid: N_("An OTP pattern may contain only the variable %code%."),
    errors.PatternDuplicate: N_("You have a pattern with this text already."),
    errors.InvalidPattern: N_("This pattern text cannot be stored."),
    errors.PatternLimitReached: N_(
        "You have many patterns waiting for approval already. Wait for the operator's decision."
    ),
    errors.PatternNotFound: N_("There is no such pattern."),
    errors.PatternNotApproved: N_("This pattern is not approved."),
    errors.WebhookUrlEmpty: N_("Enter the address that receives the reports."),
    errors.WebhookUrlDuplicate: N_("You have this address already."),
    errors.RelayLimitReached: N_(
        "You keep as many report addresses as an account may. Remove one first."
    ),
    errors.RelayNotFound: N_("There is no such report address."),
    errors.MobileCooldown: N_("A code went to this number a moment ago. Try again in {wait}."),
    errors.MobileLimitReached: N_(
        "This number has had as many codes as it may for now. Try again in {wait}."
    ),
    errors.AccountRateLimited: N_("Too many requests from your account. Try again in {wait}."),
    errors.TokenRateLimited: N_("Too many requests with this token. Try again in {wait}."),
    errors.IpRateLimited: N_("Too many requests from your address. Try again in {wait}."),
    errors.MobileBlocked: N_("Sending to this number is blocked."),
    errors.CountryNotAllowed: N_("The account may not send to this number's country."),
    errors.PumpingSuspected: N_(
        "Far more codes than usual go to numbers like this one: the fraud guard holds them."
    ),
    errors.GuardRefused: N_("The fraud guard refused this send. Try again later."),
    errors.RequestRejected: N_("This request was refused."),
    errors.RouteOverloaded: N_("The route to this number is busy. Try again in a minute."),
    errors.DeliveryError: NOT_SENT_NOW,
    errors.ConfigurationError: N_("These settings cannot be used."),
    # A failure of the gateway's own: its text may name a backend, so it is not shown.
    errors.GatewayError: N_("Something went wrong. Try again later."),
}

# What an InvalidInput or a Conflict is about, said for the person who typed it.
SUBJECTS: dict[Subject, str] = {
    Subject.DATE: N_(
        "“{typed}” is not a date: write the day as 1405/09/15 (Jalali) or 2026-12-06."
    ),
    Subject.DAY_MISSING: N_("The calendar has no day “{typed}”: check its month and day."),
    Subject.DATE_RANGE: N_("“{typed}” is too far from today to be used as a date."),
    Subject.DATES_REVERSED: N_("The last day is before the first."),
    Subject.SEARCH: N_("Search for a mobile number, or a message by its number written as #123."),
    Subject.SEARCH_SHORT: N_(
        "Type at least {least} digits of the number after its 0, or #123 for a message."
    ),
    Subject.MESSAGE_ID: N_("A message number is written as # and digits, as in #123."),
    Subject.THRESHOLD: N_("The threshold is a whole number of rial, from 1 to {high}."),
    Subject.CREDIT_RANGE: N_("A starting credit is a whole number of rial, from 0 to {high}."),
    Subject.ACCOUNT_NAME: N_(
        "An account name is 1 to 100 characters, without control or invisible characters."
    ),
    Subject.LINE: N_(
        "A sender line is 1 to 20 characters, without control or invisible characters."
    ),
    Subject.LINE_SHARED: N_("That name is kept for the shared lines: choose another line."),
    Subject.LINE_DEFAULT: N_("This is the account's default line: it cannot be removed."),
    Subject.NETWORK: N_("An allowed network is an IP address, or a network as in 10.0.0.0/8."),
    Subject.API_METHOD: N_("Choose the allowed methods from the list."),
    Subject.EXPIRY: N_("Choose an expiry day of this century."),
    Subject.REJECTION_REASON: N_("Give a reason for the rejection."),
    Subject.LIMIT_NAME: N_("There is no such limit."),
    Subject.LIMIT_VALUE: N_("A limit is a whole number of zero or more, or one of its choices."),
    Subject.LIST_SIZE: N_("List from 1 to 10,000 rows."),
    Subject.SETTINGS_LINE: N_("Write each setting on a line of its own, as name = value."),
    Subject.SEND_AS: N_("Choose the token to send with."),
    Subject.ROUTE_NAME: N_(
        "A route name is 1 to 40 Latin letters, digits, dots, dashes or underscores."
    ),
    Subject.ROUTE_URL: N_("Give the route's address in one of the forms the help shows."),
    Subject.ROUTE_SETTINGS: N_(
        "A setting in the route's address cannot be used: check it against the help."
    ),
    Subject.ROUTE_CREDENTIAL: N_("Give the route's password, token or API key."),
    Subject.ROUTE_CREDENTIAL_AGAIN: N_(
        "The address leads elsewhere now: give its password, token or API key again."
    ),
    Subject.ROUTE_ACCOUNT: N_("Give the ids of existing accounts, as numbers."),
    Subject.ROUTE_PREFIX: N_("A prefix is 1 to 15 digits of an international number."),
    Subject.ROUTE_PREFIXES: N_("A route has at most {most} prefixes."),
    Subject.ROUTE_PRIORITY: N_(
        "A priority is a whole number, at most 1,000,000 above or below zero."
    ),
    Subject.ROUTE_LINES: N_("A route has at most {most} sender lines of 1 to 20 characters."),
    Subject.TRIAL_LINE: N_("This route is tested from a sender line: give one."),
    Subject.REPORT_URL_REFUSED: N_(
        "This address cannot take delivery reports: give a public http:// or https:// one."
    ),
    Subject.REPORT_URL_GONE: N_("That address is no longer one of the account's active ones."),
    Subject.ACTIVE_FLAG: N_("Choose on or off."),
    Subject.AGE: N_("An age is a whole number of days."),
    Subject.PASSWORDS_DIFFER: N_("The two new passwords differ."),
    Subject.CONTROL_CHARACTERS: N_("A password holds no control characters."),
    Subject.NOTHING_TO_SET: N_("Nothing was chosen to change."),
    Subject.FILE_MISSING: N_("There is no such file or folder."),
    Subject.EMAIL_TAKEN: N_("A user with this email exists already."),
    Subject.ACCOUNT_NAME_TAKEN: N_("An account with this name exists already."),
    Subject.ROUTE_NAME_TAKEN: N_("A route with this name exists already."),
    Subject.LINE_TAKEN: N_("The account has this line already."),
    Subject.LINES_FULL: N_("An account has at most {most} lines besides its default one."),
    Subject.CANCEL_TOO_LATE: N_("Too late to cancel: the message is on its way already."),
    Subject.TWO_STEP_ON: N_("Two-step sign-in is on already."),
    Subject.TWO_STEP_OFF: N_("Two-step sign-in is off."),
    Subject.TWO_STEP_NOT_STARTED: N_("Start turning on two-step sign-in first."),
    Subject.FILE_EXISTS: N_("That file exists already: give a new one."),
    Subject.PRUNE_RUNNING: N_("Old messages are being removed elsewhere right now."),
}


def describe(tr: Translator, exc: errors.GatewayError) -> str:
    """The sentence for `exc`, filled in with its values (and the wait, in whole minutes)."""
    if exc.subject is not None:
        return tr(SUBJECTS[exc.subject], **exc.values)
    minutes = max(1, math.ceil(getattr(exc, "retry_after", 60) / 60))
    wait = tr.plural(minutes, MINUTE, MINUTES)
    for cls in type(exc).__mro__:
        if cls in MESSAGES:
            return tr(MESSAGES[cls], wait=wait)
    return tr(MESSAGES[errors.GatewayError])


REFUSED_UPSTREAM = N_("The SMS operator refused this message.")
VALIDITY_ENDED = N_("The code's validity ended before the message could be sent.")
NOT_SENT = N_("No route could take the message, so it was not sent. Send a new code later.")
TRYING_AGAIN = N_("The last attempt did not reach the SMS operator: the message is tried again.")
CANCELED = N_("The operator canceled this message before it was sent.")


def send_failure(tr: Translator, status: str, kind: FailureKind | None) -> str:
    """
    Why a message is not sent (yet), said for its account, from its status and the kind of
    its last failure (messages.failure_kind). The route's own words, kept beside the kind,
    are only the operator's and never read here.
    """
    if status == "expired":
        return tr(VALIDITY_ENDED)
    if status != "failed":
        return tr(TRYING_AGAIN)
    if kind == FailureKind.REFUSED:
        return tr(REFUSED_UPSTREAM)
    if kind == FailureKind.CANCELED:
        return tr(CANCELED)
    return tr(NOT_SENT)
