"""
An account user's use cases in the panel: tokens, patterns and their preview, the message
log, traffic at a glance, credit and the delivery-report webhook.

Every method takes the signed-in User and works inside that user's account only; an
operator (who has no account) gets NotAllowed. I/O only through the Store and PanelStore
ports; time and randomness come in from the composition root.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from quickotp.domain import sms
from quickotp.domain.errors import (
    AccountDisabled,
    ExpiryInPast,
    GatewayError,
    NotAllowed,
    Subject,
    WebhookUrlInvalid,
)
from quickotp.domain.models import (
    Account,
    Actor,
    CreditChange,
    MessageRecord,
    MessageStatus,
    Pattern,
    Role,
    Token,
    TrafficRow,
    User,
    VerificationStatus,
    Webhook,
    WebhookDelivery,
)
from quickotp.domain.retention import day_start
from quickotp.ports.people import DeliveryLog, IdentityStore, PanelStore
from quickotp.ports.store import AccountStore
from quickotp.ports.webhooks import UrlCheck
from quickotp.services.admin import Admin, IssuedToken, checked_methods, checked_networks
from quickotp.services.audit import write_audit
from quickotp.services.cache import TtlCache
from quickotp.services.gateway import Gateway
from quickotp.services.patterns import LiveOtp, live_otp

log = logging.getLogger(__name__)

PERIODS: dict[str, tuple[timedelta, Literal["hour", "day"]]] = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}
# How the traffic chart groups the message states.
SERIES: dict[str, tuple[MessageStatus, ...]] = {
    "delivered": (MessageStatus.DELIVERED,),
    "in_flight": (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT),
    "not_delivered": (MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.EXPIRED),
}
SAMPLE_CODE = "48213765"
FIGURES_SECONDS = 60  # how long a page's sums over days of messages are kept


@dataclass(frozen=True)
class Preview:
    """How a pattern's text travels with a sample code: alphabet, length, parts, price."""

    text: str  # rendered with the sample code
    encoding: sms.Encoding
    units: int
    parts: int
    cost: int  # rial
    problem: GatewayError | None  # why the pattern would be refused, if it would


@dataclass(frozen=True)
class Traffic:
    """Messages and verifications over a period, ready to be drawn."""

    period: str
    bucket: Literal["hour", "day"]
    starts: list[datetime]  # each bucket's start, in the display zone
    series: dict[str, list[int]]  # SERIES name -> a count per bucket
    totals: dict[MessageStatus, int]
    delivery_rate: float | None  # delivered among the messages whose fate is known
    verifications: dict[str, int]  # by status
    conversion: float | None  # approved among the verifications begun
    counted_at: datetime | None = None  # when the figures were counted (they are kept a while)


@dataclass(frozen=True)
class Credit:
    account: Account
    price_per_part: int
    messages: int  # over the last 30 days
    parts: int
    spent: int  # rial
    changes: list[CreditChange]
    counted_at: datetime | None = None  # when the 30 days' figures were counted


@dataclass
class Workspace:
    store: AccountStore
    panel: PanelStore
    deliveries: DeliveryLog
    gateway: Gateway
    admin: Admin
    clock: Callable[[], datetime]
    token_urlsafe: Callable[[int], str]
    zone: tzinfo  # the zone dates are shown and grouped in
    targets: UrlCheck  # where delivery reports may go: the relay URLs' rule
    identity: IdentityStore  # the audit log, for the choice of the live OTP pattern
    # Sums over up to 30 days of messages, kept FIGURES_SECONDS per account and period: at a
    # million messages one is seconds of reading, too much for every load of a page.
    traffic_figures: TtlCache[tuple[int, str], Traffic] = field(
        default_factory=lambda: TtlCache(FIGURES_SECONDS, max_size=10_000)
    )
    usage_figures: TtlCache[int, tuple[int, int, int, datetime]] = field(
        default_factory=lambda: TtlCache(FIGURES_SECONDS, max_size=10_000)
    )

    # the account ------------------------------------------------------------------------

    async def account(self, user: User) -> Account:
        return await self.store.get_account(account_of(user))

    async def _writable(self, user: User) -> int:
        """
        The user's account, for a change to it. A disabled account can be read but not
        changed (no tokens, patterns or webhook changes): AccountDisabled.
        """
        account_id = account_of(user)
        if not (await self.store.get_account(account_id)).active:
            raise AccountDisabled(f"account {account_id} is disabled: it can be read, not changed")
        return account_id

    # tokens -----------------------------------------------------------------------------

    async def tokens(self, user: User) -> list[Token]:
        return await self.panel.list_tokens(account_of(user))

    async def sends_today(self, user: User) -> dict[int, int]:
        """The account's messages since today began (display zone), by token id."""
        since = day_start(self.clock(), self.zone)
        return await self.panel.sends_by_token(account_of(user), since=since)

    async def token(self, user: User, token_id: int) -> Token:
        return await self.panel.get_token(account_of(user), token_id)

    async def issue_token(
        self,
        user: User,
        *,
        label: str,
        expires_on: date | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
    ) -> IssuedToken:
        """A new token of the user's account; its secret is in the answer and nowhere else."""
        return await self.admin.issue_token(
            account_id=await self._writable(user),
            label=label,
            expires_at=self._end_of(expires_on),
            allowed_ips=allowed_ips,
            allowed_methods=allowed_methods,
        )

    async def update_token(
        self,
        user: User,
        token_id: int,
        *,
        label: str,
        expires_on: date | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
    ) -> Token:
        token = await self.panel.update_token(
            await self._writable(user),
            token_id,
            label=label.strip()[:100],
            expires_at=self._end_of(expires_on),
            allowed_ips=checked_networks(allowed_ips),
            allowed_methods=checked_methods(allowed_methods),
        )
        self.gateway.forget_cached()
        log.info("user %d changed token %d", user.id, token_id)
        return token

    async def set_token_active(self, user: User, token_id: int, active: bool) -> Token:
        token = await self.panel.set_token_active(await self._writable(user), token_id, active)
        self.gateway.forget_cached()
        log.info("user %d %s token %d", user.id, "enabled" if active else "disabled", token_id)
        return token

    async def delete_token(self, user: User, token_id: int) -> None:
        await self.panel.delete_token(await self._writable(user), token_id, self.clock())
        self.gateway.forget_cached()
        log.info("user %d deleted token %d", user.id, token_id)

    def _end_of(self, day: date | None) -> datetime | None:
        """
        A token's last day as its expiry: it lasts to the end of that day in the display
        zone (the next day's start). ExpiryInPast for a day before today.
        """
        if day is None:
            return None
        if day < self.clock().astimezone(self.zone).date():
            raise ExpiryInPast(f"{day.isoformat()} has passed: the token would never work")
        return datetime.combine(day + timedelta(days=1), time(), self.zone)

    def last_day(self, token: Token) -> date | None:
        """The last day a token works, in the display zone: what `_end_of` was given."""
        return last_day(token.expires_at, self.zone)

    # patterns ---------------------------------------------------------------------------

    async def patterns(self, user: User) -> list[Pattern]:
        return list(reversed(await self.store.list_patterns(account_of(user))))

    async def live_pattern(self, user: User) -> LiveOtp:
        """Which approved OTP pattern sends the account's codes, and whether it was chosen."""
        return await live_otp(self.store, account_of(user))

    async def choose_live_pattern(self, actor: Actor, pattern_id: int) -> Pattern:
        """
        Send the account's codes with its approved OTP pattern `pattern_id` (the store says
        what it refuses); written to the audit log, and this process's cached pattern dropped.
        """
        account_id = await self._writable(actor.user)
        pattern = await self.store.choose_otp_pattern(account_id, pattern_id)
        self.gateway.forget_cached()
        await write_audit(
            self.identity,
            self.clock(),
            actor,
            "pattern.live",
            f"pattern:{pattern_id}",
            f"account {account_id}",
        )
        return pattern

    async def create_pattern(
        self, user: User, *, text: str, is_otp: bool, description: str
    ) -> Pattern:
        """A pattern of the user's account, pending the operator's approval."""
        return await self.gateway.create_account_pattern(
            await self._writable(user), text=text, is_otp=is_otp, description=description
        )

    def preview(self, text: str, *, is_otp: bool, code_length: int = 6) -> Preview:
        """The pattern as a handset would get it with a sample code, and what it costs."""
        length = min(max(code_length, 4), 8)
        problem: GatewayError | None = None
        try:
            sms.check_pattern(text, otp=is_otp)
        except GatewayError as exc:
            problem = exc
        rendered = sms.render(text.strip(), {sms.CODE_VARIABLE: SAMPLE_CODE[:length]})
        parts = sms.segment(rendered)
        return Preview(
            text=rendered,
            encoding=parts.encoding,
            units=parts.units,
            parts=parts.parts,
            cost=parts.parts * self.gateway.config.price_per_part,
            problem=problem,
        )

    # messages ---------------------------------------------------------------------------

    async def message(self, user: User, message_id: int) -> MessageRecord:
        return await self.panel.message_record(account_of(user), message_id, now=self.clock())

    async def webhook_posts(self, user: User, message_id: int) -> list[WebhookDelivery]:
        """The delivery reports of one message posted to the account's webhook, newest first."""
        return await self.deliveries.deliveries(account_of(user), message_id=message_id)

    # traffic ----------------------------------------------------------------------------

    async def traffic(self, user: User, period: str) -> Traffic:
        account_id = account_of(user)
        return await self.traffic_figures.get(
            (account_id, period),
            lambda: traffic(self.panel, account_id, period, self.clock(), self.zone),
        )

    # credit and the webhook -------------------------------------------------------------

    async def credit(self, user: User) -> Credit:
        account_id = account_of(user)
        account = await self.store.get_account(account_id)
        now = self.clock()

        async def usage() -> tuple[int, int, int, datetime]:
            found = await self.panel.usage(  # whole days, as a prune removes them
                account_id, since=day_start(now - timedelta(days=30), self.zone)
            )
            return (*found, now)

        count, parts, spent, counted_at = await self.usage_figures.get(account_id, usage)
        return Credit(
            account=account,
            price_per_part=self.gateway.config.price_per_part,
            messages=count,
            parts=parts,
            spent=spent,
            changes=await self.panel.credit_changes(account_id, 20),
            counted_at=counted_at,
        )

    async def webhook(self, user: User) -> Webhook | None:
        return await self.panel.get_webhook(account_of(user))

    async def set_webhook(self, user: User, url: str) -> Webhook:
        """Set the delivery-report URL (empty: none); the first one gets a signing secret."""
        url = url.strip()
        if url and (problem := await self.targets.problem(url)) is not None:
            raise WebhookUrlInvalid(
                f"this URL cannot take delivery reports: {problem}",
                subject=Subject.REPORT_URL_REFUSED,
            )
        account_id = await self._writable(user)
        current = await self.panel.get_webhook(account_id)
        secret = current.secret if current is not None else self._new_secret()
        log.info("user %d set the webhook of account %d", user.id, account_id)
        return await self.panel.set_webhook(account_id, url, secret, self.clock())

    async def rotate_webhook_secret(self, user: User) -> Webhook:
        account_id = await self._writable(user)
        current = await self.panel.get_webhook(account_id)
        log.info("user %d rotated the webhook secret of account %d", user.id, account_id)
        url = current.url if current is not None else ""
        return await self.panel.set_webhook(account_id, url, self._new_secret(), self.clock())

    def _new_secret(self) -> str:
        return "whsec_" + self.token_urlsafe(24)


def last_day(expires_at: datetime | None, zone: tzinfo) -> date | None:
    """
    The last day before an expiry, in `zone`: an expiry at midnight (the end of a day) is
    that day's, not the next one's.
    """
    if expires_at is None:
        return None
    return (expires_at.astimezone(zone) - timedelta(microseconds=1)).date()


def account_of(user: User) -> int:
    """The account a user works in; NotAllowed for anyone without one (operators)."""
    if user.role is not Role.USER or user.account_id is None:
        raise NotAllowed(f"user {user.id} has no account")
    return user.account_id


async def traffic(
    panel: PanelStore, account_id: int | None, period: str, now: datetime, zone: tzinfo
) -> Traffic:
    """Traffic over `period` ("24h", "7d", "30d"; anything else reads as "24h")."""
    if period not in PERIODS:
        period = "24h"
    span, bucket = PERIODS[period]
    since = now - span
    offset = now.astimezone(zone).utcoffset() or timedelta()
    starts = bucket_starts(since.astimezone(zone), now.astimezone(zone), bucket)
    if bucket == "day":  # whole days, the first one too: what a prune removes is whole days
        since = starts[0]
    rows = await panel.traffic(account_id, since=since, bucket=bucket, offset=offset)
    verifications = await panel.verification_counts(account_id, since=since, now=now)
    shaped = shape_traffic(period, bucket, starts, rows, verifications)
    return replace(shaped, counted_at=now)


def bucket_starts(
    since: datetime, until: datetime, bucket: Literal["hour", "day"]
) -> list[datetime]:
    """The starts of every bucket from the one holding `since` to `until`'s, in `since`'s zone."""
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    first = since.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        first = first.replace(hour=0)
    starts = []
    while first <= until:
        starts.append(first)
        first += step
    return starts


def shape_traffic(
    period: str,
    bucket: Literal["hour", "day"],
    starts: list[datetime],
    rows: Sequence[TrafficRow],
    verifications: Mapping[str, int],
) -> Traffic:
    """Counts by bucket and status, made into chart series, totals and rates. Pure."""
    index = {start: i for i, start in enumerate(starts)}
    series = {name: [0] * len(starts) for name in SERIES}
    group = {status: name for name, members in SERIES.items() for status in members}
    totals = dict.fromkeys(MessageStatus, 0)
    for row in rows:
        totals[row.status] += row.count
        if (i := index.get(row.bucket)) is not None:
            series[group[row.status]][i] += row.count
    known = sum(totals[s] for s in SERIES["delivered"] + SERIES["not_delivered"])
    begun = sum(verifications.values())
    return Traffic(
        period=period,
        bucket=bucket,
        starts=starts,
        series=series,
        totals=totals,
        delivery_rate=totals[MessageStatus.DELIVERED] / known if known else None,
        verifications=dict(verifications),
        conversion=verifications.get(VerificationStatus.APPROVED, 0) / begun if begun else None,
    )
