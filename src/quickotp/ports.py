"""
The seams between the service and the outside world: Protocols, and the small frozen
dataclasses that cross them. Adapters implement these without inheriting from them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from quickotp.models import (
        Account,
        AccountSummary,
        AuditEntry,
        Claimed,
        CreditChange,
        GiveUp,
        Invitation,
        Message,
        MessagePage,
        MessageQuery,
        MessageRecord,
        MessageStatus,
        NewMessage,
        Pattern,
        PatternState,
        Retry,
        Role,
        Submitted,
        Token,
        TrafficRow,
        User,
        Verification,
        VerificationStatus,
        Webhook,
        WebhookDelivery,
    )


@dataclass(frozen=True)
class OutboundSms:
    """One SMS for a transport to hand on."""

    message_id: int
    mobile: str  # E.164 digits without '+', already normalised: 989120000000
    sender: str  # the account's sender line, the SMS source address
    text: str
    parts: int
    expires_at: datetime  # the code's validity ends here: never deliver after it (UTC)
    attempt: int = 1  # 1 on the first try; a higher number is a retry
    account_id: int | None = None  # whose message: routes may be chosen by account
    # The code alone, for upstreams that render their own template (Amoot, Kavenegar).
    code: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SendReceipt:
    """The upstream took the message and gave it this id."""

    transport: str
    provider_message_id: str


class DeliveryState(StrEnum):
    """What an upstream's delivery report says became of a message."""

    DELIVERED = "delivered"  # reached the handset
    UNDELIVERED = "undelivered"  # the network gave up on it
    EXPIRED = "expired"  # validity ran out inside the network
    REJECTED = "rejected"  # refused by the network after acceptance
    ACCEPTED = "accepted"  # an intermediate report: still on its way
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery report, keyed by the id the transport's SendReceipt carried."""

    transport: str
    provider_message_id: str
    state: DeliveryState
    at: datetime  # when the upstream says it happened (UTC)


# Takes a report to be recorded; what it returns is done once the report is committed. A
# coroutine or a future: the dispatcher's sink hands back its group commit's future, so a
# transport that keeps many reports in flight needs no task of its own for each.
ReportSink = Callable[[DeliveryReport], Awaitable[None]]


class Transport(Protocol):
    """
    Delivers SMS to one upstream: an SMSC over SMPP, an HTTP provider, or the log sink.

    `send` returns once the upstream has taken the message. It raises
    TransportUnavailable when the message was certainly not sent and retrying may help,
    DeliveryUncertain when no answer came (it may have been sent), and TransportRejected
    when retrying won't help. Any other exception is a bug in the transport.
    Delivery reports, when the upstream sends them, go to the `reports` sink given to
    `start`, possibly before `send` has returned for the same message.
    """

    name: str

    async def start(self, reports: ReportSink) -> None: ...

    async def send(self, sms: OutboundSms) -> SendReceipt: ...

    async def aclose(self) -> None: ...


class Store(Protocol):
    """
    Where accounts, tokens, patterns, messages and verifications live (SQLite or PostgreSQL).

    Lookups of a missing account or pattern by id raise NotFound; creating an account under
    a taken name raises Conflict. Each write is one transaction: when a method returns,
    what it wrote is durable.
    """

    async def create_account(
        self, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
    ) -> Account: ...

    async def get_account(self, account_id: int) -> Account: ...

    async def list_accounts(self) -> list[Account]: ...

    async def set_account_active(self, account_id: int, active: bool) -> Account: ...

    async def add_credit(
        self, account_id: int, amount: int, reason: str, now: datetime, *, ceiling: int
    ) -> Account: ...

    async def create_token(
        self,
        *,
        account_id: int,
        digest: bytes,
        label: str,
        expires_at: datetime | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
        now: datetime,
    ) -> Token: ...

    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None: ...

    async def set_token_active(self, token_id: int, active: bool) -> None: ...

    async def create_pattern(
        self,
        *,
        account_id: int,
        text: str,
        is_otp: bool,
        number_patterns: Sequence[str],
        description: str,
        now: datetime,
        max_pending: int | None = None,
    ) -> Pattern:
        """A pending pattern; PatternLimitReached when the account has `max_pending` already."""
        ...

    async def get_pattern(self, pattern_id: int) -> Pattern: ...

    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]: ...

    async def pattern_text_taken(self, account_id: int, text: str) -> bool: ...

    async def decide_pattern(
        self, pattern_id: int, state: PatternState, reason: str, now: datetime
    ) -> Pattern: ...

    async def otp_pattern(self, account_id: int) -> Pattern | None: ...

    async def accept(self, batch: Sequence[NewMessage], now: datetime) -> list[int | None]:
        """Per item, the new message id, or None where credit fell short (nothing stored)."""
        ...

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]: ...

    async def get_verification(
        self, account_id: int, verification_id: str
    ) -> Verification | None: ...

    async def latest_verification(self, account_id: int, mobile: str) -> Verification | None: ...

    async def approve_verification(self, verification_id: str, now: datetime) -> bool:
        """Pending, unexpired, attempts left -> approved; True for at most one caller, ever."""
        ...

    async def spend_attempt(self, verification_id: str, now: datetime) -> int | None:
        """One wrong code counted: the attempts left, or None if it was not checkable."""
        ...

    async def close_verification(
        self, verification_id: str, status: VerificationStatus, now: datetime
    ) -> bool: ...

    async def get_account_settings(self, account_id: int) -> dict[str, Any]: ...

    async def set_account_settings(
        self, account_id: int, settings: Mapping[str, Any], now: datetime
    ) -> None: ...

    async def list_messages(self, account_id: int | None, limit: int) -> list[Message]: ...

    async def count_by_status(self, account_id: int | None = None) -> dict[MessageStatus, int]: ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]: ...

    async def record(
        self,
        outcomes: Sequence[Submitted | Retry | GiveUp] = (),
        reports: Sequence[DeliveryReport] = (),
        *,
        now: datetime,
    ) -> None: ...

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int: ...


class Outbox(Protocol):
    """
    This process's dispatcher, as the gateway sees it. A message stored under a lease
    from `reserve` is handed over in memory once committed (`hand`), or its slot given
    back (`unreserve`); one stored queued is claimed after `wake`.
    """

    def reserve(self) -> datetime | None: ...

    def hand(self, claimed: Claimed) -> None: ...

    def unreserve(self) -> None: ...

    def wake(self) -> None: ...


class NoOutbox:
    """No dispatcher in this process: every message is stored queued, for another to claim."""

    def reserve(self) -> datetime | None:
        return None

    def hand(self, claimed: Claimed) -> None:
        raise RuntimeError("nothing was reserved")

    def unreserve(self) -> None:
        raise RuntimeError("nothing was reserved")

    def wake(self) -> None:
        pass


class AdmissionControl(Protocol):
    """
    Whether a route can take one more message in time, from figures kept fresh in the
    background. `check` does no I/O; it raises RouteOverloaded to refuse the send.
    """

    def check(self, account_id: int, mobile: str, validity_seconds: int) -> None: ...


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


class IdentityStore(Protocol):
    """
    The panel's people: users, sessions, sign-in limits, invitations, the audit log.

    Lookups of a missing user or account by id raise NotFound; a taken email or account
    name raises Conflict; a used, unknown or expired invitation raises InvitationInvalid.
    Each write is one transaction.
    """

    async def create_user(
        self,
        *,
        email: str,
        password_hash: str,
        role: Role,
        account_id: int | None,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User: ...

    async def get_user(self, user_id: int) -> User: ...

    async def user_by_email(self, email: str) -> tuple[User, str] | None: ...

    async def list_users(self, account_id: int | None = None) -> list[User]: ...

    async def set_user_active(self, user_id: int, active: bool) -> User: ...

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, keep_session: bytes | None
    ) -> None: ...

    async def rehash_password(self, user_id: int, password_hash: str) -> None: ...

    async def set_locale(self, user_id: int, locale: str) -> None: ...

    async def create_session(
        self, *, digest: bytes, user_id: int, now: datetime, expires_at: datetime
    ) -> None: ...

    async def session_user(self, digest: bytes, now: datetime) -> User | None: ...

    async def delete_session(self, digest: bytes) -> None: ...

    async def count_sign_in(
        self,
        rules: Sequence[SignInRule],
        *,
        email: str,
        address: str,
        known_since: datetime,
        now: datetime,
        window: timedelta,
    ) -> SignInCount:
        """
        One sign-in attempt, counted as a failure under every rule before its password is
        checked, all in one transaction; or, when a rule is locked, nothing counted and
        the seconds to wait. A rule with `unknown_only` is skipped when the email signed in
        from `address` since `known_since`. A rule's count starts again once it has had
        no failure for `window` and its lock has passed.
        """
        ...

    async def uncount_sign_in(self, keys: Sequence[str]) -> None:
        """Take back one count of each key (the password was never checked)."""
        ...

    async def signed_in_from(
        self,
        *,
        email: str,
        address: str,
        cleared: str,
        uncounted: Sequence[str],
        now: datetime,
        known_since: datetime,
    ) -> None:
        """
        The email signed in from `address`: the address is known from now on, the key
        `cleared` starts again from nothing, each of `uncounted` takes back its count, and
        the email's addresses not seen since `known_since` are forgotten.
        """
        ...

    async def sweep_sign_in_limits(self, *, now: datetime, window: timedelta) -> None:
        """Drop the counts idle past `window` whose wait has passed."""
        ...

    async def create_invitation(
        self,
        *,
        digest: bytes,
        email: str,
        role: Role,
        account_id: int | None,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
    ) -> Invitation: ...

    async def find_invitation(self, digest: bytes, now: datetime) -> Invitation | None: ...

    async def list_invitations(self) -> list[Invitation]: ...

    async def accept_invitation(
        self,
        *,
        digest: bytes,
        password_hash: str,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User: ...

    async def add_audit(
        self,
        *,
        actor_id: int | None,
        actor: str,
        action: str,
        target: str,
        detail: str,
        ip: str | None,
        now: datetime,
    ) -> None: ...

    async def list_audit(self, *, before: int | None, limit: int) -> list[AuditEntry]: ...


class PanelStore(Protocol):
    """
    What the panel reads beyond the Store, and its small writes. Methods that take an
    `account_id` see only that account's rows: another's raise NotFound, like a missing one.
    """

    async def list_tokens(self, account_id: int) -> list[Token]: ...

    async def get_token(self, account_id: int, token_id: int) -> Token: ...

    async def update_token(
        self,
        account_id: int,
        token_id: int,
        *,
        label: str,
        expires_at: datetime | None,
        allowed_ips: list[str],
        allowed_methods: list[str],
    ) -> Token: ...

    async def set_token_active(self, account_id: int, token_id: int, active: bool) -> Token: ...

    async def delete_token(self, account_id: int, token_id: int, now: datetime) -> None: ...

    async def search_messages(self, account_id: int | None, query: MessageQuery) -> MessagePage: ...

    async def message_record(self, account_id: int | None, message_id: int) -> MessageRecord: ...

    async def traffic(
        self,
        account_id: int | None,
        *,
        since: datetime,
        bucket: Literal["hour", "day"],
        offset: timedelta,
    ) -> list[TrafficRow]: ...

    async def verification_counts(
        self, account_id: int | None, *, since: datetime
    ) -> dict[str, int]: ...

    async def usage(self, account_id: int, *, since: datetime) -> tuple[int, int, int]: ...

    async def transport_counts(self, *, since: datetime) -> dict[str, dict[MessageStatus, int]]: ...

    async def credit_changes(self, account_id: int, limit: int) -> list[CreditChange]: ...

    async def get_webhook(self, account_id: int) -> Webhook | None: ...

    async def set_webhook(
        self, account_id: int, url: str, secret: str, now: datetime
    ) -> Webhook: ...

    async def set_account_unlimited(self, account_id: int, unlimited: bool) -> Account: ...

    async def account_summaries(self, *, since: datetime) -> list[AccountSummary]: ...

    async def patterns_in_state(
        self, state: PatternState, *, after: int | None, limit: int
    ) -> tuple[list[Pattern], int]:
        """
        Every account's patterns in `state`, oldest first: at most `limit` with ids past
        `after` (a keyset page), and how many are in the state in all.
        """
        ...


@dataclass(frozen=True)
class RouteState:
    """
    The live state of one route (a transport and its binds), as far as it is known:
    None means "this transport does not say".
    """

    name: str
    up: bool | None  # bound / reachable
    binds_up: int | None = None
    binds: int | None = None
    window_in_use: int | None = None
    window_size: int | None = None
    throughput: float | None = None  # messages per second, recently
    errors: int | None = None  # recent errors the transport counted
    detail: str = ""
    kind: str | None = None  # smpp, amoot, kavenegar, log
    sent: int | None = None  # messages it took since this process started
    breaker: str | None = None  # closed, open (cooling down) or half-open (probing)


class RouteMonitor(Protocol):
    """Reports the live state of the routes this process delivers through. Never raises."""

    def routes(self) -> list[RouteState]: ...


@runtime_checkable
class ReportsRouteState(Protocol):
    """A transport that can say how its binds are doing (SMPP: bound, window, errors)."""

    def route_state(self) -> RouteState: ...


class GuardStats(Protocol):
    """What the fraud guard refused (by reason) and alarmed on (by kind). Never raises."""

    def refusals(self) -> dict[str, int]: ...

    def alarms(self) -> dict[str, int]: ...


class DeliveryLog(Protocol):
    """The delivery-report webhook posts of messages, with their attempts, newest first."""

    async def deliveries(
        self, account_id: int | None, *, message_id: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]: ...
