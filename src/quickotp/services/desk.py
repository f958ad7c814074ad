"""
The operator's use cases, one set for the panel and the command line: the approval queue and
new patterns, accounts and their users, tokens, credit, sender lines and free text, scheduled
messages, invitations and operators, pruning, traffic and the audit log (routes have a desk
of their own: services/routes.py).

Every method checks that the actor is an operator (NotAllowed otherwise): a signed-in panel
user (Actor) or someone at the command line (Console). Every action that changes something
is written to the audit log with who did it (the operator's email, or `cli:<login>`) and, in
the panel, from where. I/O only through the ports; the clock comes in from the composition
root.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from quickotp.domain.errors import NotAllowed, NotFound
from quickotp.domain.models import (
    Account,
    AccountSummary,
    Actor,
    AuditEntry,
    Console,
    CreditChange,
    Invitation,
    Message,
    MessagePage,
    MessageQuery,
    MessageRecord,
    Pattern,
    PatternState,
    Role,
    User,
    WebhookDelivery,
)
from quickotp.ports.people import DeliveryLog, GuardStats, IdentityStore, PanelStore
from quickotp.ports.retention import Archive
from quickotp.ports.store import AccountStore
from quickotp.ports.transport import RouteMonitor
from quickotp.services.admin import Admin, IssuedToken
from quickotp.services.audit import require_operator, write_audit
from quickotp.services.cache import TtlCache
from quickotp.services.gateway import Gateway
from quickotp.services.guard import Guard
from quickotp.services.patterns import LiveOtp, live_otp
from quickotp.services.pruning import Pruned, Pruning
from quickotp.services.users import IssuedInvitation, IssuedReset, Users, checked_email
from quickotp.services.workspace import FIGURES_SECONDS, Traffic, traffic

log = logging.getLogger(__name__)

AUDIT_PAGE = 100
SCHEDULED_SHOWN = 100  # scheduled messages an account's page lists
QUEUE_PAGE = 50


@dataclass(frozen=True)
class QueuedPattern:
    pattern: Pattern
    account: Account


@dataclass(frozen=True)
class QueuePage:
    """One page of the approval queue, how many wait in all, and where the next page starts."""

    items: list[QueuedPattern]
    waiting: int
    after: int | None  # the last id on this page when more may follow, else None


@dataclass(frozen=True)
class AccountFile:
    """Everything the operator's page of one account shows."""

    account: Account
    users: list[User]
    patterns: list[Pattern]
    credit_changes: list[CreditChange]
    recent: MessagePage
    live: LiveOtp  # the approved OTP pattern its codes go out with
    lines: list[str] = field(default_factory=list)  # its sender lines, the default first
    scheduled: list[Message] = field(default_factory=list)  # waiting for their send time


@dataclass(frozen=True)
class GuardReport:
    """The fraud guard at a glance: what it refused and alarmed on, and its limits."""

    refusals: dict[str, int]  # by reason, this process since it started
    alarms: dict[str, int]  # pumping alarms by kind, likewise
    defaults: dict[str, str]  # every limit's global value
    accounts: list[tuple[Account, dict[str, Any]]]  # accounts with limits of their own


@dataclass
class OperatorDesk:
    store: AccountStore
    panel: PanelStore
    deliveries: DeliveryLog
    identity: IdentityStore
    admin: Admin
    users: Users
    monitor: RouteMonitor
    guard_stats: GuardStats
    guard: Guard | None  # None: the gateway runs without a fraud guard
    clock: Callable[[], datetime]
    zone: tzinfo
    gateway: Gateway  # new patterns go the one way every pattern goes
    pruning: Pruning
    # Every account's sums over up to 30 days, kept a minute a period (workspace.py says why).
    figures: TtlCache[str, Traffic] = field(
        default_factory=lambda: TtlCache(FIGURES_SECONDS, max_size=16)
    )

    # the approval queue -----------------------------------------------------------------

    async def queue(self, actor: Actor, *, after: int | None = None) -> QueuePage:
        """Patterns waiting for a decision, oldest first, a page at a time, with their accounts."""
        require_operator(actor)
        pending, waiting = await self.panel.patterns_in_state(
            PatternState.PENDING, after=after, limit=QUEUE_PAGE
        )
        accounts = {i: await self.store.get_account(i) for i in {p.account_id for p in pending}}
        return QueuePage(
            [QueuedPattern(p, accounts[p.account_id]) for p in pending],
            waiting,
            pending[-1].id if len(pending) == QUEUE_PAGE else None,
        )

    async def create_pattern(
        self, actor: Actor | Console, account_id: int, *, text: str, otp: bool
    ) -> Pattern:
        """
        A pattern of the account's, pending approval, made as the account's own are, with the
        same checks (PatternDuplicate for a text it has already); the account's caps on
        pending and hourly patterns are for its own submissions, not the operator's.
        """
        require_operator(actor)
        pattern = await self.gateway.create_account_pattern(
            account_id, text=text, is_otp=otp, capped=False
        )
        await self._audit(actor, "pattern.create", f"pattern:{pattern.id}", f"account {account_id}")
        return pattern

    async def approve_pattern(self, actor: Actor | Console, pattern_id: int) -> Pattern:
        require_operator(actor)
        pattern = await self.admin.approve_pattern(pattern_id)
        await self._audit(actor, "pattern.approve", f"pattern:{pattern_id}")
        return pattern

    async def reject_pattern(self, actor: Actor | Console, pattern_id: int, reason: str) -> Pattern:
        require_operator(actor)
        pattern = await self.admin.reject_pattern(pattern_id, reason)
        await self._audit(actor, "pattern.reject", f"pattern:{pattern_id}", reason.strip())
        return pattern

    async def choose_otp_pattern(
        self, actor: Actor | Console, account_id: int, pattern_id: int
    ) -> Pattern:
        """Send the account's codes with its approved OTP pattern `pattern_id` (the live one)."""
        require_operator(actor)
        pattern = await self.store.choose_otp_pattern(account_id, pattern_id)
        self.gateway.forget_cached()
        await self._audit(actor, "pattern.live", f"pattern:{pattern_id}", f"account {account_id}")
        return pattern

    # accounts ---------------------------------------------------------------------------

    async def create_account(
        self,
        actor: Actor | Console,
        *,
        name: str,
        credit: int = 0,
        unlimited: bool = False,
        sender: str = "10001",
    ) -> Account:
        require_operator(actor)
        account = await self.admin.create_account(
            name=name, credit=credit, unlimited=unlimited, sender=sender
        )
        money = "unlimited" if account.unlimited else f"{account.credit} rial"
        await self._audit(
            actor, "account.create", f"account:{account.id}", f"{account.name} ({money})"
        )
        return account

    async def accounts(self, actor: Actor) -> list[AccountSummary]:
        require_operator(actor)
        return await self.panel.account_summaries(since=self.clock() - timedelta(hours=24))

    async def account(self, actor: Actor, account_id: int) -> AccountFile:
        require_operator(actor)
        return AccountFile(
            account=await self.store.get_account(account_id),
            users=await self.identity.list_users(account_id),
            patterns=list(reversed(await self.store.list_patterns(account_id))),
            credit_changes=await self.panel.credit_changes(account_id, 20),
            recent=await self.panel.search_messages(account_id, MessageQuery(limit=20)),
            lines=await self.admin.account_lines(account_id),
            scheduled=await self.admin.scheduled(account_id, SCHEDULED_SHOWN),
            live=await live_otp(self.store, account_id),
        )

    async def set_free_text(
        self, actor: Actor | Console, account_id: int, allowed: bool
    ) -> Account:
        require_operator(actor)
        account = await self.admin.set_free_text(account_id, allowed)
        action = "account.free_text_on" if allowed else "account.free_text_off"
        await self._audit(actor, action, f"account:{account_id}")
        return account

    async def add_line(self, actor: Actor | Console, account_id: int, line: str) -> list[str]:
        require_operator(actor)
        found = await self.admin.add_line(account_id, line)
        await self._audit(actor, "line.add", f"account:{account_id}", found[-1])
        return found

    async def remove_line(self, actor: Actor | Console, account_id: int, line: str) -> list[str]:
        require_operator(actor)
        found = await self.admin.remove_line(account_id, line)
        await self._audit(actor, "line.remove", f"account:{account_id}", line.strip()[:20])
        return found

    async def cancel_message(self, actor: Actor | Console, message_id: int) -> Message:
        """Cancel a scheduled message before a dispatcher takes it; its charge returns."""
        require_operator(actor)
        message = await self.admin.cancel_message(message_id)
        await self._audit(actor, "message.cancel", f"message:{message_id}")
        return message

    async def add_credit(
        self, actor: Actor | Console, account_id: int, amount: int, reason: str
    ) -> tuple[Account, CreditChange]:
        """Add (negative: take) credit; the account after it and the ledger's new line."""
        require_operator(actor)
        reason = " ".join(reason.split())[:200] or "top-up"
        done = await self.admin.add_credit(account_id, amount, reason)
        await self._audit(actor, "credit.add", f"account:{account_id}", f"{amount:+d} ({reason})")
        return done

    async def set_overdraft(self, actor: Actor, account_id: int, overdraft: int) -> Account:
        require_operator(actor)
        account = await self.admin.set_overdraft(account_id, overdraft)
        await self._audit(actor, "credit.overdraft", f"account:{account_id}", str(overdraft))
        return account

    async def set_unlimited(self, actor: Actor, account_id: int, unlimited: bool) -> Account:
        require_operator(actor)
        account = await self.panel.set_account_unlimited(account_id, unlimited)
        await self._audit(
            actor, "account.unlimited" if unlimited else "account.limited", f"account:{account_id}"
        )
        return account

    async def limits(self, actor: Actor, account_id: int) -> dict[str, Any]:
        """The account's own fraud-guard limits ({}: it follows the global ones)."""
        require_operator(actor)
        return await self.admin.limits(account_id)

    async def set_limits(
        self, actor: Actor, account_id: int, overrides: Mapping[str, str]
    ) -> dict[str, Any]:
        """Replace the account's own limits; InvalidInput names the first unusable one."""
        require_operator(actor)
        await self.store.get_account(account_id)
        limits = await self.admin.set_limits(account_id, overrides)
        if self.guard is not None:
            self.guard.forget(account_id)
        # Names only: a blocklist or test numbers are not for the audit log.
        await self._audit(
            actor, "account.limits", f"account:{account_id}", ", ".join(sorted(limits)) or "-"
        )
        return limits

    def limit_defaults(self) -> dict[str, str]:
        """Every limit the guard knows, with its global value, as the forms show them."""
        if self.guard is None:
            return {}
        return {name: _shown(value) for name, value in asdict(self.guard.defaults).items()}

    async def guard_report(self, actor: Actor) -> GuardReport:
        require_operator(actor)
        accounts = []
        for account in await self.store.list_accounts():
            own = await self.admin.limits(account.id)
            if own:
                accounts.append((account, own))
        return GuardReport(
            refusals=self.guard_stats.refusals(),
            alarms=self.guard_stats.alarms(),
            defaults=self.limit_defaults(),
            accounts=accounts,
        )

    async def set_account_active(self, actor: Actor, account_id: int, active: bool) -> Account:
        require_operator(actor)
        account = await self.admin.set_account_active(account_id, active)
        await self._audit(
            actor, "account.enable" if active else "account.disable", f"account:{account_id}"
        )
        return account

    async def set_user_active(self, actor: Actor, user_id: int, active: bool) -> User:
        """Switch a user on or off; off ends their sessions at once. Not oneself."""
        require_operator(actor)
        if user_id == actor.user.id:
            raise NotAllowed("an operator cannot switch themselves off")
        user = await self.identity.set_user_active(user_id, active)
        await self._audit(actor, "user.enable" if active else "user.disable", f"user:{user_id}")
        return user

    async def reset_password(self, actor: Actor, user_id: int) -> IssuedReset:
        """
        A one-time reset link's secret for a user (Users.issue_reset says what it does at
        once). Not for oneself: the settings page changes one's own password.
        """
        require_operator(actor)
        if user_id == actor.user.id:
            raise NotAllowed("an operator changes their own password on the settings page")
        issued = await self.users.issue_reset(user_id, by=actor.user.id)
        await self._audit(actor, "user.password_reset", f"user:{user_id}", issued.user.email)
        return issued

    async def turn_off_two_factor(self, actor: Actor | Console, user_id: int) -> User:
        """Two-step sign-in off for a user who lost both their app and their recovery codes."""
        require_operator(actor)
        user = await self.identity.get_user(user_id)
        await self.users.two_factor.turn_off(user_id)
        await self._audit(actor, "user.two_factor_off", f"user:{user_id}", user.email)
        return user

    async def turn_off_two_factor_by_email(self, actor: Actor | Console, email: str) -> User:
        """
        `turn_off_two_factor` for the user with this email: how the command line reaches an
        operator locked out of the panel (no panel operator can sign in to do it for them).
        NotFound when no user has it.
        """
        require_operator(actor)
        found = await self.identity.user_by_email(checked_email(email))
        if found is None:
            raise NotFound("no user has this email")
        return await self.turn_off_two_factor(actor, found[0].id)

    async def operators(self, actor: Actor) -> list[User]:
        require_operator(actor)
        return [u for u in await self.identity.list_users() if u.role is Role.OPERATOR]

    async def create_operator(self, actor: Actor | Console, *, email: str, password: str) -> User:
        """A new operator, who signs in with this password."""
        require_operator(actor)
        user = await self.users.create_operator(email=email, password=password)
        await self._audit(actor, "operator.create", f"user:{user.id}", user.email)
        return user

    # tokens -----------------------------------------------------------------------------

    async def issue_token(
        self,
        actor: Actor | Console,
        account_id: int,
        *,
        label: str = "",
        expires_at: datetime | None = None,
        allowed_ips: Sequence[str] = (),
        allowed_methods: Sequence[str] = (),
    ) -> IssuedToken:
        """A new API token of the account's; its secret is in the answer only."""
        require_operator(actor)
        issued = await self.admin.issue_token(
            account_id=account_id,
            label=label,
            expires_at=expires_at,
            allowed_ips=allowed_ips,
            allowed_methods=allowed_methods,
        )
        token = issued.token
        await self._audit(
            actor,
            "token.create",
            f"token:{token.id}",
            f"account {account_id}" + (f" {token.label}" if token.label else ""),
        )
        return issued

    async def disable_token(self, actor: Actor | Console, token_id: int) -> None:
        """Switch a token off; NotFound for a token that does not exist."""
        require_operator(actor)
        await self.store.set_token_active(token_id, False)
        self.gateway.forget_cached()
        await self._audit(actor, "token.disable", f"token:{token_id}")

    # invitations ------------------------------------------------------------------------

    async def invitations(self, actor: Actor) -> list[Invitation]:
        require_operator(actor)
        return await self.identity.list_invitations()

    async def invite(
        self, actor: Actor, *, email: str, role: Role, account_id: int | None
    ) -> IssuedInvitation:
        """An invitation; its link secret is in the answer only."""
        require_operator(actor)
        issued = await self.users.invite(
            email=email, role=role, account_id=account_id, invited_by=actor.user.id
        )
        invitation = issued.invitation
        await self._audit(
            actor,
            "invitation.create",
            f"invitation:{invitation.id}",
            f"{invitation.role} {invitation.email}"
            + (f" to account {invitation.account_id}" if invitation.account_id else ""),
        )
        return issued

    # traffic, messages and the audit log ------------------------------------------------

    async def prune(
        self,
        actor: Actor | Console,
        older_than: timedelta,
        *,
        archive: Archive | None = None,
        dry_run: bool = False,
    ) -> Pruned:
        """Remove (with `dry_run`, count) finished messages older than `older_than`."""
        require_operator(actor)
        pruned = await self.pruning.prune(older_than, archive=archive, dry_run=dry_run)
        if not pruned.dry_run:
            await self._audit(
                actor,
                "messages.prune",
                "messages",
                f"{pruned.counts.messages} from before {pruned.before.isoformat()}",
            )
        return pruned

    async def message(self, actor: Actor, message_id: int) -> MessageRecord:
        require_operator(actor)
        return await self.panel.message_record(None, message_id, now=self.clock())

    async def webhook_posts(self, actor: Actor, message_id: int) -> list[WebhookDelivery]:
        require_operator(actor)
        return await self.deliveries.deliveries(None, message_id=message_id)

    async def traffic(self, actor: Actor, period: str) -> Traffic:
        require_operator(actor)
        found = await self.figures.get(
            period, lambda: traffic(self.panel, None, period, self.clock(), self.zone)
        )
        return found

    async def audit(self, actor: Actor, *, before: int | None = None) -> list[AuditEntry]:
        require_operator(actor)
        return await self.identity.list_audit(before=before, limit=AUDIT_PAGE)

    async def _audit(
        self, actor: Actor | Console, action: str, target: str, detail: str = ""
    ) -> None:
        await write_audit(self.identity, self.clock(), actor, action, target, detail)


def _shown(value: Any) -> str:
    """A limit's value as a form shows it: lists comma-joined, pairs as number:code."""
    if isinstance(value, tuple):
        return ",".join(":".join(v) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)
