"""
Every exception the gateway raises on purpose, in one tree:

* GatewayError
  x RequestRejected           the caller asked for something we refuse
    - MobileEmpty
    - InvalidMobile
    - InvalidCodeLength
    - PatternUnavailable      no approved OTP pattern to send with
    - InvalidPattern          a pattern text we will not store
      - PatternTextEmpty
      - PatternWithoutVariables
      - PatternVariablesInvalid
      - PatternDuplicate
    - CreditNotEnough
    - InvalidMessageId
    - MalformedRequest        a body that cannot be read (broken JSON, wrong encoding)
    - InvalidInput            an operator's input that cannot be used
  x AccessDenied              who is asking is not allowed
    - TokenMissing
    - TokenUnknown
    - TokenDisabled
    - TokenExpired
    - TokenIpNotAllowed
    - TokenMethodNotAllowed
    - AccountDisabled
  x NotFound                  an operator named something that does not exist
  x Conflict                  an operator asked for something that clashes with what exists
  x DeliveryError             a transport failed us
    - TransportUnavailable    transient, nothing was sent: the dispatcher retries
    - DeliveryUncertain       no answer: it may have been sent; a retry is a possible duplicate
    - TransportRejected       permanent: the message is marked failed
  x ConfigurationError        settings the gateway refuses to start with

Nothing here knows about HTTP, exit codes or Status strings; the edges map these.
"""


class GatewayError(Exception):
    """Base for every error the gateway raises on purpose."""


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


class CreditNotEnough(RequestRejected):
    """The account's credit does not cover the message."""


class InvalidMessageId(RequestRejected):
    """A message id that is malformed or not one of the caller's messages."""


class MalformedRequest(RequestRejected):
    """A request body that cannot be read: broken JSON, a wrong encoding, too large."""


class InvalidInput(RequestRejected):
    """An operator's input that cannot be used (a bad network, method or amount)."""


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


class NotFound(GatewayError):
    """An operator named an account, token, pattern or route that does not exist."""


class Conflict(GatewayError):
    """An operator asked for something that clashes with what exists (a name taken)."""


class DeliveryError(GatewayError):
    """A transport failed to hand a message on."""


class TransportUnavailable(DeliveryError):
    """Transient, and the message was certainly not sent: retrying may help."""


class DeliveryUncertain(TransportUnavailable):
    """No answer came: the message may have been sent. A retry is a possible duplicate."""


class TransportRejected(DeliveryError):
    """Permanent: the upstream refused this message and will refuse it again."""


class ConfigurationError(GatewayError):
    """Settings the gateway refuses to start with."""
