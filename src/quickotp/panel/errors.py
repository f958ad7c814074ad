"""
What the panel tells a person when the gateway refuses something: one sentence per error
class, in their language. The classes come from quickotp.domain.errors; the most specific wins.
"""

from __future__ import annotations

from quickotp.domain import errors
from quickotp.panel import forms
from quickotp.panel.i18n import N_, Translator

TOO_LARGE = N_("This form is too large to be sent. Shorten what you wrote and try again.")
FORGED = N_("This form has expired or was not sent from this panel. Reload the page and try again.")

ACCOUNT_DISABLED = N_("The operator has disabled this account: it can be read, not changed.")
PASSWORD_RULE = N_("A password has 10 to 200 characters, 5 of them different; not a common one.")
MESSAGES: dict[type[Exception], str] = {
    errors.SignInFailed: N_("Wrong email or password."),
    errors.WrongPassword: N_("The current password is wrong."),
    errors.SignInThrottled: N_("Too many failed attempts. Try again in {minutes} minutes."),
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
    errors.EmailInvalid: N_("Enter a valid email address."),
    errors.PasswordRejected: PASSWORD_RULE,
    errors.AccountNameInvalid: N_("An account name is 2 to 100 characters long."),
    errors.ExpiryInPast: N_("The last day has passed: choose today or a later day."),
    errors.CreditOverdrawn: N_(
        "This would take the credit below zero, past the account's overdraft."
    ),
    errors.AmountInvalid: N_(
        "Write the amount as a whole number of rial, not zero and not too large."
    ),
    errors.Conflict: N_("That is taken already: {detail}."),
    errors.NotFound: N_("There is nothing here."),
    errors.PatternTextEmpty: N_("Write the pattern's text."),
    errors.PatternWithoutVariables: N_("An OTP pattern must contain %code%."),
    errors.PatternVariablesInvalid: N_("An OTP pattern may contain only the variable %code%."),
    errors.PatternDuplicate: N_("You have a pattern with this text already."),
    errors.PatternLimitReached: N_(
        "You have many patterns waiting for approval already. Wait for the operator's decision."
    ),
    errors.AccountRateLimited: N_(
        "Too many requests from your account. Try again in {minutes} minutes."
    ),
    forms.DayUnreadable: N_(
        "“{detail}” is not a date: write the day as 1405/09/15 (Jalali) or 2026-12-06."
    ),
    forms.DayNotInCalendar: N_("The calendar has no day “{detail}”: check its month and day."),
    forms.DayOutOfRange: N_("“{detail}” is too far from today to be used as a date."),
    errors.InvalidInput: N_("This cannot be used: {detail}."),
    errors.RequestRejected: N_("This request was refused: {detail}."),
    # A failure of the gateway's own: its text may name a backend, so it is not shown.
    errors.GatewayError: N_("Something went wrong. Try again later."),
}


def describe(tr: Translator, exc: errors.GatewayError) -> str:
    """The sentence for `exc`, filled in (minutes to wait, the detail in English)."""
    for cls in type(exc).__mro__:
        if cls in MESSAGES:
            minutes = -(-getattr(exc, "retry_after", 60) // 60)
            return tr(MESSAGES[cls], minutes=minutes, detail=str(exc))
    return tr(MESSAGES[errors.GatewayError], detail=str(exc))
