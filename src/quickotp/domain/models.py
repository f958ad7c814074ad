"""
The records the service and the store hand each other: frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from quickotp.domain.delivery import SendReceipt


class PatternState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # accepted and durable, waiting for the dispatcher
    SENDING = "sending"  # claimed by a dispatcher, which holds a lease on it
    SENT = "sent"  # an upstream took it
    DELIVERED = "delivered"  # the handset got it
    UNDELIVERED = "undelivered"  # the network gave up on it
    FAILED = "failed"  # no upstream would take it
    EXPIRED = "expired"  # its code went stale before any upstream took it


class FailureKind(StrEnum):
    """
    What a message's last failed attempt came to, as stored in messages.failure_kind: a
    code that stays the same whatever words the route answered with (those are kept in
    messages.error, for the operator). The dispatcher names it from the error's class.
    """

    REFUSED = "refused"  # the upstream refused the message or its line (TransportRejected)
    UNAVAILABLE = "unavailable"  # no route could take it just then (TransportUnavailable)
    UNCERTAIN = "uncertain"  # no answer came: it may have been sent (DeliveryUncertain)
    EXPIRED = "expired"  # its validity ended before it could be tried
    CANCELED = "canceled"  # the operator canceled it before its send time
    OTHER = "other"  # a failure of none of these kinds


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    credit: int  # rial
    unlimited: bool
    sender: str  # the default sender line
    active: bool
    created_at: datetime
    free_text: bool = False  # may send text of its own (SendSimple, SendOTP), not only patterns
    overdraft: int = 0  # rial the operator may take the credit below zero; 0: not below zero


@dataclass(frozen=True)
class Token:
    id: int
    account_id: int
    label: str
    active: bool
    expires_at: datetime | None
    allowed_ips: tuple[str, ...]  # CIDR networks; empty = any address
    allowed_methods: tuple[str, ...]  # API method names; empty = every method
    created_at: datetime
    last_used_at: datetime | None
    prefix: str = ""  # the secret's first characters (`qotp_ab12`); "" for an older token
    last_address: str | None = None  # where its last send came from


@dataclass(frozen=True)
class Caller:
    """An authenticated request's token and account, and the address it came from."""

    token: Token
    account: Account
    ip: str | None = None


@dataclass(frozen=True)
class Pattern:
    id: int
    account_id: int
    text: str
    is_otp: bool
    number_patterns: tuple[str, ...]
    state: PatternState
    reason: str
    description: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class NewMessage:
    """
    A message about to be accepted in one transaction, with its verification when it
    carries a code (`verification_id` set); free text and plain patterns carry none.
    """

    account_id: int
    token_id: int | None
    pattern_id: int | None  # None for free text
    mobile: str
    sender: str
    text: str
    code: str | None  # masked in the text once an upstream took the message
    encoding: str
    parts: int
    cost: int
    expires_at: datetime
    created_at: datetime
    verification_id: str | None = None
    code_digest: bytes = b""
    attempts_left: int = 0
    code_sealed: bytes | None = None  # the code sealed for re-sends (see verification.py)
    sandbox: bool = False  # a test number: stored as delivered, never dispatched
    metadata: str | None = None  # the caller's metadata, as JSON text
    resend_of: str | None = None  # re-sends this pending verification's code, if still pending
    # Leased to this process's dispatcher until then: stored as sending (its first attempt),
    # and handed over in memory once committed, with no claim (see Dispatcher.reserve).
    lease_until: datetime | None = None
    not_before: datetime | None = None  # scheduled: no dispatcher takes it before this time
    backup_sender: str | None = None  # the line to try when `sender` cannot send
    ref: str | None = None  # the request's idempotency reference (sends without a verification)
    address: str | None = None  # the caller's address: its token's last address

    def claimed(self, message_id: int) -> Claimed:
        """The message as its dispatcher holds it once stored under `lease_until`."""
        message = Message(
            id=message_id,
            account_id=self.account_id,
            mobile=self.mobile,
            sender=self.sender,
            text=self.text,
            encoding=self.encoding,
            parts=self.parts,
            cost=self.cost,
            status=MessageStatus.SENDING,
            attempts=1,
            possible_duplicate=False,
            expires_at=self.expires_at,
            created_at=self.created_at,
            submitted_at=None,
            reported_at=None,
            transport=None,
            provider_message_id=None,
            error=None,
            backup_sender=self.backup_sender,
        )
        return Claimed(message, self.code)


class VerificationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    CANCELED = "canceled"


def verification_as_of(status: str, expires_at: datetime | None, now: datetime) -> str:
    """
    A verification's status as of `now`: a pending one whose validity has ended is
    expired, though its row says pending until a check or a prune touches it.
    """
    if status == VerificationStatus.PENDING and expires_at is not None and expires_at <= now:
        return VerificationStatus.EXPIRED
    return status


@dataclass(frozen=True)
class Verification:
    """A code sent to a number, kept as a keyed hash, and what became of it."""

    id: str
    account_id: int
    message_id: int
    mobile: str
    status: VerificationStatus  # as stored: a pending one may be past expires_at
    attempts_left: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    sandbox: bool
    metadata: str | None
    code_digest: bytes
    code_sealed: bytes | None

    def status_at(self, now: datetime) -> VerificationStatus:
        """The status as of `now`: a pending verification past its expiry is expired."""
        if self.status is VerificationStatus.PENDING and self.expires_at <= now:
            return VerificationStatus.EXPIRED
        return self.status


@dataclass(frozen=True)
class Message:
    id: int
    account_id: int
    mobile: str
    sender: str
    text: str
    encoding: str
    parts: int
    cost: int
    status: MessageStatus
    attempts: int
    possible_duplicate: bool
    expires_at: datetime
    created_at: datetime
    submitted_at: datetime | None
    reported_at: datetime | None
    transport: str | None
    provider_message_id: str | None
    error: str | None
    not_before: datetime | None = None  # a scheduled send's time
    backup_sender: str | None = None  # the line tried when `sender` cannot send
    failure_kind: FailureKind | None = None  # its last failure's kind; None: none, or sent


@dataclass(frozen=True)
class Claimed:
    """A message a dispatcher holds a lease on, with the code it must mask once sent."""

    message: Message
    code: str | None


@dataclass(frozen=True)
class Submitted:
    """An upstream took message `message_id` `at` (its answer came back); its stored text
    becomes `masked_text`. `sender` is set when it went out on its backup line."""

    message_id: int
    receipt: SendReceipt
    masked_text: str
    at: datetime
    sender: str | None = None


@dataclass(frozen=True)
class Retry:
    message_id: int
    at: datetime
    error: str
    possible_duplicate: bool
    route: str = ""  # the route the attempt failed on ("": none named)
    kind: FailureKind = FailureKind.OTHER


@dataclass(frozen=True)
class GiveUp:
    """Nothing more will be tried: the message ends FAILED or EXPIRED and its charge returns."""

    message_id: int
    status: MessageStatus
    error: str
    route: str = ""  # the route the last attempt failed on ("": none named)
    kind: FailureKind = FailureKind.OTHER


# the panel: people, their sessions, and what the operator did ------------------------------


class Role(StrEnum):
    USER = "user"  # belongs to one account and sees only it
    OPERATOR = "operator"  # runs the gateway: every account, approvals, credit


@dataclass(frozen=True)
class User:
    """A person who signs in to the panel. A USER has an account; an OPERATOR has none."""

    id: int
    email: str  # lower-cased
    role: Role
    account_id: int | None
    active: bool
    locale: str  # "fa" or "en"
    created_at: datetime
    last_sign_in_at: datetime | None


@dataclass(frozen=True)
class Actor:
    """A signed-in user doing something, and the address they did it from (for the audit)."""

    user: User
    ip: str | None


@dataclass(frozen=True)
class Console:
    """
    An operator at the command line, named by their login on the machine. Whoever can run
    `quickotp` with the gateway's settings holds its secret key, so may do what an operator does.
    """

    login: str

    @property
    def name(self) -> str:
        """Who the audit log says did it: `cli:<login>`."""
        return f"cli:{self.login}"


@dataclass(frozen=True)
class Invitation:
    """
    An operator's invitation to the panel. With an `account_id` the invitee joins that
    account; a USER invitation without one makes a new account; an OPERATOR one makes an
    operator.
    """

    id: int
    email: str
    role: Role
    account_id: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One action, as the audit log keeps it: an operator's, or a user's choice of live pattern."""

    id: int
    actor_id: int | None  # None for the command line
    actor: str  # the actor's email then, or "cli:<login>" (Console.name)
    action: str  # e.g. "pattern.approve"
    target: str  # e.g. "pattern:12"
    detail: str
    ip: str | None
    created_at: datetime


@dataclass(frozen=True)
class CreditChange:
    amount: int  # rial; negative takes credit away
    reason: str
    created_at: datetime
    id: int = 0


@dataclass(frozen=True)
class Webhook:
    """Where an account's delivery reports are posted, and the secret they are signed with."""

    account_id: int
    url: str
    secret: str
    updated_at: datetime


@dataclass(frozen=True)
class LogCursor:
    """Where a page of the message log ends: its last message's time and id."""

    created_at: datetime
    id: int


@dataclass(frozen=True)
class MessageQuery:
    """
    A search of the message log, newest first by (created_at, id); `before` pages back from
    the last message of the page before. The number and id conditions, when several are
    given, match a message that meets any of them.
    """

    mobile_digits: str = ""  # ASCII digits found anywhere in the number
    mobile: str = ""  # a whole number as E.164 digits: exactly that number
    message_id: int | None = None
    status: MessageStatus | None = None
    token_id: int | None = None
    verification: VerificationStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: LogCursor | None = None
    limit: int = 50


@dataclass(frozen=True)
class MessagePage:
    items: list[Message]  # codes masked
    older: LogCursor | None  # the `before` of the next page, None on the last one
    outcomes: dict[int, str] = field(default_factory=dict)  # message id -> its verification's
    token_ids: dict[int, int] = field(default_factory=dict)  # message id -> the token it used


@dataclass(frozen=True)
class MessageRecord:
    """One message and what is known around it: its token, pattern and verification."""

    message: Message  # code masked
    token_label: str | None
    token_id: int | None
    pattern_id: int | None
    verification_status: str | None  # as of when the record was read
    verification_attempts_left: int | None


@dataclass(frozen=True)
class TrafficRow:
    """How many of an account's (or every account's) messages began in one time bucket."""

    bucket: datetime  # the bucket's start, in the display zone's wall time
    status: MessageStatus
    count: int


@dataclass(frozen=True)
class AccountSummary:
    account: Account
    users: int
    messages_today: int  # over the last 24 hours


# delivery reports pushed to clients --------------------------------------------------------


@dataclass(frozen=True)
class RelayUrl:
    """One of an account's delivery-report URLs (Amoot's RelayMessageDelivery)."""

    id: int
    account_id: int
    url: str
    active: bool
    created_at: datetime


class WebhookState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker, under a lease
    DELIVERED = "delivered"  # the client answered 2xx
    FAILED = "failed"  # every attempt failed: given up


@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery report to POST to one URL, and how its attempts went."""

    id: int
    account_id: int
    message_id: int
    url: str
    status: MessageStatus  # the message status it reports
    state: WebhookState
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    last_attempt_at: datetime | None = None  # when its last attempt ended


@dataclass(frozen=True)
class WebhookJob:
    """A claimed delivery, what its body tells of the message, and the secret that signs it."""

    delivery: WebhookDelivery
    mobile: str
    cost: int
    created_at: datetime
    submitted_at: datetime | None
    reported_at: datetime | None
    secret: str = field(repr=False)


@dataclass(frozen=True)
class WebhookBacklog:
    """The webhook outbox at a glance: reports owed (counted up to a cap) and the oldest due."""

    owed: int  # pending or being posted, at most the cap it was counted to
    oldest_due: datetime | None  # the due time of the oldest pending delivery that is due


@dataclass(frozen=True)
class WebhookOutcome:
    """
    What one attempt came to: delivered, or retried at `retry_at`, or (None) given up; or,
    `released`, a claimed delivery handed back unposted, due at `retry_at`, its attempt not
    counted.
    """

    delivery_id: int
    delivered: bool
    status_code: int | None
    error: str | None
    retry_at: datetime | None
    released: bool = False


# What a failed post of a delivery report is recorded as: words the account's owner sees in
# the panel. The details (the error's class and text, the address) go to the log alone: shown
# to a client they would let it map the hosts and ports the gateway can reach.
POST_REFUSED = "refused"  # the URL, or the address its host resolves to, is not allowed
POST_NO_ANSWER = "the address did not answer"  # no connection, or no answer in time
POST_BROKEN_OFF = "the connection broke off"  # connected, then the exchange failed
POST_FAILED = "failed"  # anything else


@dataclass(frozen=True)
class Posted:
    """One POST of a delivery report: the HTTP status answered, or why none came."""

    status: int | None  # None: no answer (see `failure`)
    failure: str | None = None  # one of the POST_* summaries when no answer came
    detail: str = ""  # for the log only: the error's class and text


@dataclass(frozen=True)
class DayCount:
    """An account's messages begun on one Tehran day and now in one state."""

    day: datetime  # the day's start, Tehran time
    status: MessageStatus
    count: int
    parts: int
    cost: int  # rial: the price of their parts


@dataclass(frozen=True)
class SignInRule:
    """
    A limit on failed sign-ins under `key`: from the `limit`th failure on, each new one
    locks the key for `first_lock`, doubled for each failure past the limit, at most
    `longest_lock`. `unknown_only`: the rule applies only from addresses the email never
    signed in from.
    """

    key: str
    limit: int
    first_lock: timedelta
    longest_lock: timedelta
    unknown_only: bool = False


@dataclass(frozen=True)
class SignInCount:
    """What count_sign_in did: the keys it counted, or (`wait` > 0) nothing, and why not."""

    keys: tuple[str, ...] = ()
    wait: float = 0.0  # seconds until the locked rule lets an attempt through
